package yarn

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spindle-engine/spindle/yarn/pb"
	"google.golang.org/protobuf/proto"
)

// AppID identifies a YARN application: the RM's start time and a sequence number.
type AppID struct {
	ClusterTimestamp int64
	ID               int32
}

// String formats the ID as YARN does: application_<ts>_<id, at least 4 digits>.
func (a AppID) String() string {
	return fmt.Sprintf("application_%d_%04d", a.ClusterTimestamp, a.ID)
}

// ParseAppID parses "application_<ts>_<id>".
func ParseAppID(s string) (AppID, error) {
	parts := strings.Split(s, "_")
	if len(parts) != 3 || parts[0] != "application" {
		return AppID{}, fmt.Errorf("parse application id %q: want application_<timestamp>_<id>", s)
	}
	return parseAppParts(s, parts[1], parts[2])
}

func parseAppParts(s, ts, id string) (AppID, error) {
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return AppID{}, fmt.Errorf("parse id %q: cluster timestamp: %w", s, err)
	}
	n, err := strconv.ParseInt(id, 10, 32)
	if err != nil {
		return AppID{}, fmt.Errorf("parse id %q: application number: %w", s, err)
	}
	return AppID{ClusterTimestamp: t, ID: int32(n)}, nil
}

func (a AppID) proto() *pb.ApplicationIdProto {
	return &pb.ApplicationIdProto{Id: proto.Int32(a.ID), ClusterTimestamp: proto.Int64(a.ClusterTimestamp)}
}

func appIDFromProto(p *pb.ApplicationIdProto) AppID {
	return AppID{ClusterTimestamp: p.GetClusterTimestamp(), ID: p.GetId()}
}

// AttemptID identifies one attempt of an application (one AM run).
type AttemptID struct {
	App     AppID
	Attempt int32
}

// String formats the ID as YARN does: appattempt_<ts>_<app 4 digits>_<attempt 6 digits>.
// It is also the user name under which TOKEN-authenticated AM calls run.
func (a AttemptID) String() string {
	return fmt.Sprintf("appattempt_%d_%04d_%06d", a.App.ClusterTimestamp, a.App.ID, a.Attempt)
}

// ParseAttemptID parses "appattempt_<ts>_<app>_<attempt>".
func ParseAttemptID(s string) (AttemptID, error) {
	parts := strings.Split(s, "_")
	if len(parts) != 4 || parts[0] != "appattempt" {
		return AttemptID{}, fmt.Errorf("parse attempt id %q: want appattempt_<timestamp>_<app>_<attempt>", s)
	}
	app, err := parseAppParts(s, parts[1], parts[2])
	if err != nil {
		return AttemptID{}, err
	}
	n, err := strconv.ParseInt(parts[3], 10, 32)
	if err != nil {
		return AttemptID{}, fmt.Errorf("parse attempt id %q: attempt number: %w", s, err)
	}
	return AttemptID{App: app, Attempt: int32(n)}, nil
}

func (a AttemptID) proto() *pb.ApplicationAttemptIdProto {
	return &pb.ApplicationAttemptIdProto{ApplicationId: a.App.proto(), AttemptId: proto.Int32(a.Attempt)}
}

func attemptIDFromProto(p *pb.ApplicationAttemptIdProto) AttemptID {
	return AttemptID{App: appIDFromProto(p.GetApplicationId()), Attempt: p.GetAttemptId()}
}

// containerSeqBits is how many low bits of a container id hold the sequence
// number; the bits above hold the RM epoch (YARN's ContainerId bitmask).
const containerSeqBits = 40

// ContainerID identifies a container. ID carries the RM epoch in its bits
// above the low 40 (non-zero after an RM restart with work-preserving recovery).
type ContainerID struct {
	Attempt AttemptID
	ID      int64
}

// Epoch is the RM epoch encoded in the id.
func (c ContainerID) Epoch() int64 { return c.ID >> containerSeqBits }

// Seq is the container's sequence number within its attempt.
func (c ContainerID) Seq() int64 { return c.ID & (1<<containerSeqBits - 1) }

// String formats the ID as YARN does:
// container_[e<epoch>_]<ts>_<app 4 digits>_<attempt 2 digits>_<seq 6 digits>.
func (c ContainerID) String() string {
	var b strings.Builder
	b.WriteString("container_")
	if e := c.Epoch(); e > 0 {
		fmt.Fprintf(&b, "e%02d_", e)
	}
	a := c.Attempt
	fmt.Fprintf(&b, "%d_%04d_%02d_%06d", a.App.ClusterTimestamp, a.App.ID, a.Attempt, c.Seq())
	return b.String()
}

// ParseContainerID parses both the plain and the epoch form of a container id.
func ParseContainerID(s string) (ContainerID, error) {
	parts := strings.Split(s, "_")
	if len(parts) < 2 || parts[0] != "container" {
		return ContainerID{}, fmt.Errorf("parse container id %q: want container_[e<epoch>_]<timestamp>_<app>_<attempt>_<seq>", s)
	}
	parts = parts[1:]
	var epoch int64
	if strings.HasPrefix(parts[0], "e") {
		e, err := strconv.ParseInt(parts[0][1:], 10, 64)
		if err != nil {
			return ContainerID{}, fmt.Errorf("parse container id %q: epoch: %w", s, err)
		}
		epoch, parts = e, parts[1:]
	}
	if len(parts) != 4 {
		return ContainerID{}, fmt.Errorf("parse container id %q: want container_[e<epoch>_]<timestamp>_<app>_<attempt>_<seq>", s)
	}
	app, err := parseAppParts(s, parts[0], parts[1])
	if err != nil {
		return ContainerID{}, err
	}
	att, err := strconv.ParseInt(parts[2], 10, 32)
	if err != nil {
		return ContainerID{}, fmt.Errorf("parse container id %q: attempt: %w", s, err)
	}
	seq, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || seq >= 1<<containerSeqBits {
		return ContainerID{}, fmt.Errorf("parse container id %q: bad sequence number %q", s, parts[3])
	}
	return ContainerID{Attempt: AttemptID{App: app, Attempt: int32(att)}, ID: epoch<<containerSeqBits | seq}, nil
}

func (c ContainerID) proto() *pb.ContainerIdProto {
	return &pb.ContainerIdProto{
		AppId:        c.Attempt.App.proto(),
		AppAttemptId: c.Attempt.proto(),
		Id:           proto.Int64(c.ID),
	}
}

func containerIDFromProto(p *pb.ContainerIdProto) ContainerID {
	return ContainerID{Attempt: attemptIDFromProto(p.GetAppAttemptId()), ID: p.GetId()}
}

// NodeID names a NodeManager by the host and port of its RPC server.
type NodeID struct {
	Host string
	Port int32
}

// String formats the ID as YARN does: host:port.
func (n NodeID) String() string { return n.Host + ":" + strconv.Itoa(int(n.Port)) }

// ParseNodeID parses "host:port".
func ParseNodeID(s string) (NodeID, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return NodeID{}, fmt.Errorf("parse node id %q: want host:port", s)
	}
	p, err := strconv.ParseInt(s[i+1:], 10, 32)
	if err != nil {
		return NodeID{}, fmt.Errorf("parse node id %q: port: %w", s, err)
	}
	return NodeID{Host: s[:i], Port: int32(p)}, nil
}

func (n NodeID) proto() *pb.NodeIdProto {
	return &pb.NodeIdProto{Host: proto.String(n.Host), Port: proto.Int32(n.Port)}
}

func nodeIDFromProto(p *pb.NodeIdProto) NodeID {
	return NodeID{Host: p.GetHost(), Port: p.GetPort()}
}

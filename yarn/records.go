package yarn

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/yarn/pb"
	"google.golang.org/protobuf/proto"
)

// Resource is an amount of memory and virtual cores.
type Resource struct {
	MemoryMB int64
	VCores   int32
}

func (r Resource) proto() *pb.ResourceProto {
	return &pb.ResourceProto{Memory: proto.Int64(r.MemoryMB), VirtualCores: proto.Int32(r.VCores)}
}

func resourceFromProto(p *pb.ResourceProto) Resource {
	return Resource{MemoryMB: p.GetMemory(), VCores: p.GetVirtualCores()}
}

// Fits reports whether r is within max in every dimension.
func (r Resource) Fits(max Resource) bool {
	return r.MemoryMB <= max.MemoryMB && r.VCores <= max.VCores
}

// LocalResourceType says how the NodeManager localizes a resource.
type LocalResourceType int32

// Local resource types (LocalResourceTypeProto).
const (
	Archive LocalResourceType = 1 // unpacked into a directory
	File    LocalResourceType = 2 // copied as is
	Pattern LocalResourceType = 3 // archive, only entries matching the pattern unpacked
)

// Visibility says who may share a localized resource.
type Visibility int32

// Local resource visibilities (LocalResourceVisibilityProto).
const (
	Public      Visibility = 1
	Private     Visibility = 2
	Application Visibility = 3
)

// LocalResource is a file the NodeManager copies into the container's work
// directory before launch. Size and Timestamp (milliseconds) must equal the
// source file's length and modification time or localization fails.
type LocalResource struct {
	URL        string // e.g. hdfs://nn:8020/user/x/app or file:///tmp/app
	Size       int64
	Timestamp  int64
	Type       LocalResourceType // 0 means File
	Visibility Visibility        // 0 means Application
	Pattern    string
}

// FileResource describes a file on the local filesystem as a file:// resource,
// which a NodeManager on the same host (a test cluster) can localize.
func FileResource(path string) (LocalResource, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return LocalResource{}, fmt.Errorf("local resource %s: %w", path, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return LocalResource{}, fmt.Errorf("local resource: %w", err)
	}
	return LocalResource{
		URL:       (&url.URL{Scheme: "file", Path: abs}).String(),
		Size:      st.Size(),
		Timestamp: st.ModTime().UnixMilli(),
	}, nil
}

func (r LocalResource) proto() (*pb.LocalResourceProto, error) {
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("local resource url %q: %w", r.URL, err)
	}
	up := &pb.URLProto{Scheme: proto.String(u.Scheme), File: proto.String(u.Path)}
	if h := u.Hostname(); h != "" {
		up.Host = proto.String(h)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("local resource url %q: port: %w", r.URL, err)
		}
		up.Port = proto.Int32(int32(n))
	}
	if u.User != nil {
		up.UserInfo = proto.String(u.User.String())
	}
	typ, vis := r.Type, r.Visibility
	if typ == 0 {
		typ = File
	}
	if vis == 0 {
		vis = Application
	}
	p := &pb.LocalResourceProto{
		Resource:   up,
		Size:       proto.Int64(r.Size),
		Timestamp:  proto.Int64(r.Timestamp),
		Type:       pb.LocalResourceTypeProto(typ).Enum(),
		Visibility: pb.LocalResourceVisibilityProto(vis).Enum(),
	}
	if r.Pattern != "" {
		p.Pattern = proto.String(r.Pattern)
	}
	return p, nil
}

// LaunchContext is what a container runs: files to localize, environment,
// the shell command line(s), credentials and per-aux-service data.
// Commands are joined with spaces and run by bash unescaped, so quote in
// them as in a shell; <LOG_DIR> expands to the container's log directory.
type LaunchContext struct {
	LocalResources map[string]LocalResource
	Env            map[string]string
	Commands       []string
	// Tokens are credentials file bytes (see Credentials.Bytes); the
	// NodeManager writes them to HADOOP_TOKEN_FILE_LOCATION.
	Tokens      []byte
	ServiceData map[string][]byte
}

func (lc *LaunchContext) proto() (*pb.ContainerLaunchContextProto, error) {
	p := &pb.ContainerLaunchContextProto{Command: lc.Commands}
	if lc.Tokens != nil {
		p.Tokens = lc.Tokens
	}
	for _, k := range sortedKeys(lc.LocalResources) {
		r, err := lc.LocalResources[k].proto()
		if err != nil {
			return nil, fmt.Errorf("local resource %q: %w", k, err)
		}
		p.LocalResources = append(p.LocalResources, &pb.StringLocalResourceMapProto{Key: proto.String(k), Value: r})
	}
	for _, k := range sortedKeys(lc.Env) {
		p.Environment = append(p.Environment, &pb.StringStringMapProto{Key: proto.String(k), Value: proto.String(lc.Env[k])})
	}
	for _, k := range sortedKeys(lc.ServiceData) {
		p.ServiceData = append(p.ServiceData, &pb.StringBytesMapProto{Key: proto.String(k), Value: nonNil(lc.ServiceData[k])})
	}
	return p, nil
}

// Container is a container the RM allocated to the application.
type Container struct {
	ID              ContainerID
	Node            NodeID
	NodeHTTPAddress string
	Resource        Resource
	Priority        int32
	// Token is the ContainerToken the NodeManager checks at start.
	Token               *ipc.Token
	AllocationRequestID int64
}

func containerFromProto(p *pb.ContainerProto) Container {
	return Container{
		ID:                  containerIDFromProto(p.GetId()),
		Node:                nodeIDFromProto(p.GetNodeId()),
		NodeHTTPAddress:     p.GetNodeHttpAddress(),
		Resource:            resourceFromProto(p.GetResource()),
		Priority:            p.GetPriority().GetPriority(),
		Token:               tokenFromProto(p.GetContainerToken()),
		AllocationRequestID: p.GetAllocationRequestId(),
	}
}

// ContainerState is a container's life-cycle state.
type ContainerState int32

// Container states (ContainerStateProto).
const (
	ContainerNew       ContainerState = 1
	ContainerRunning   ContainerState = 2
	ContainerComplete  ContainerState = 3
	ContainerScheduled ContainerState = 4
)

// String returns YARN's name for the state, e.g. "COMPLETE".
func (s ContainerState) String() string {
	switch s {
	case ContainerNew:
		return "NEW"
	case ContainerRunning:
		return "RUNNING"
	case ContainerComplete:
		return "COMPLETE"
	case ContainerScheduled:
		return "SCHEDULED"
	}
	return "ContainerState(" + strconv.Itoa(int(s)) + ")"
}

// Exit statuses YARN reports instead of a process exit code
// (ContainerExitStatus); any other value is the process's own exit code.
const (
	ExitSuccess                  = 0
	ExitInvalid                  = -1000
	ExitAborted                  = -100
	ExitDisksFailed              = -101
	ExitPreempted                = -102
	ExitKilledExceededVMem       = -103
	ExitKilledExceededPMem       = -104
	ExitKilledByAppMaster        = -105
	ExitKilledByResourceManager  = -106
	ExitKilledAfterAppCompletion = -107
)

// ContainerStatus is a container's state as the RM or a NodeManager reports it.
type ContainerStatus struct {
	ID          ContainerID
	State       ContainerState
	Diagnostics string
	ExitStatus  int32
	Capability  Resource
}

func containerStatusFromProto(p *pb.ContainerStatusProto) ContainerStatus {
	return ContainerStatus{
		ID:          containerIDFromProto(p.GetContainerId()),
		State:       ContainerState(p.GetState()),
		Diagnostics: p.GetDiagnostics(),
		ExitStatus:  p.GetExitStatus(),
		Capability:  resourceFromProto(p.GetCapability()),
	}
}

// AppState is the RM's state of an application.
type AppState int32

// Application states (YarnApplicationStateProto).
const (
	StateNew       AppState = 1
	StateNewSaving AppState = 2
	StateSubmitted AppState = 3
	StateAccepted  AppState = 4
	StateRunning   AppState = 5
	StateFinished  AppState = 6
	StateFailed    AppState = 7
	StateKilled    AppState = 8
)

var appStateNames = map[AppState]string{
	StateNew: "NEW", StateNewSaving: "NEW_SAVING", StateSubmitted: "SUBMITTED", StateAccepted: "ACCEPTED",
	StateRunning: "RUNNING", StateFinished: "FINISHED", StateFailed: "FAILED", StateKilled: "KILLED",
}

// String returns YARN's name for the state, e.g. "FINISHED".
func (s AppState) String() string {
	if n, ok := appStateNames[s]; ok {
		return n
	}
	return "AppState(" + strconv.Itoa(int(s)) + ")"
}

// Terminal reports whether the application has ended.
func (s AppState) Terminal() bool { return s == StateFinished || s == StateFailed || s == StateKilled }

// FinalStatus is the outcome an application reports (or the RM decides).
type FinalStatus int32

// Final statuses (FinalApplicationStatusProto).
const (
	Undefined FinalStatus = 0
	Succeeded FinalStatus = 1
	Failed    FinalStatus = 2
	Killed    FinalStatus = 3
	Ended     FinalStatus = 4
)

// String returns YARN's name for the status, e.g. "SUCCEEDED".
func (s FinalStatus) String() string {
	switch s {
	case Undefined:
		return "UNDEFINED"
	case Succeeded:
		return "SUCCEEDED"
	case Failed:
		return "FAILED"
	case Killed:
		return "KILLED"
	case Ended:
		return "ENDED"
	}
	return "FinalStatus(" + strconv.Itoa(int(s)) + ")"
}

// AppReport is the RM's view of an application.
type AppReport struct {
	ID                  AppID
	Name, User, Queue   string
	AppType             string
	Tags                []string
	State               AppState
	FinalStatus         FinalStatus
	Diagnostics         string
	TrackingURL         string
	OriginalTrackingURL string
	Host                string
	RPCPort             int32
	Progress            float32
	StartTime           time.Time
	FinishTime          time.Time // zero while running
	CurrentAttempt      AttemptID
}

func appReportFromProto(p *pb.ApplicationReportProto) *AppReport {
	r := &AppReport{
		ID:   appIDFromProto(p.GetApplicationId()),
		Name: p.GetName(), User: p.GetUser(), Queue: p.GetQueue(),
		AppType:             p.GetApplicationType(),
		Tags:                p.GetApplicationTags(),
		State:               AppState(p.GetYarnApplicationState()),
		FinalStatus:         FinalStatus(p.GetFinalApplicationStatus()),
		Diagnostics:         p.GetDiagnostics(),
		TrackingURL:         p.GetTrackingUrl(),
		OriginalTrackingURL: p.GetOriginalTrackingUrl(),
		Host:                p.GetHost(),
		RPCPort:             p.GetRpcPort(),
		Progress:            p.GetProgress(),
		CurrentAttempt:      attemptIDFromProto(p.GetCurrentApplicationAttemptId()),
	}
	if t := p.GetStartTime(); t > 0 {
		r.StartTime = time.UnixMilli(t)
	}
	if t := p.GetFinishTime(); t > 0 {
		r.FinishTime = time.UnixMilli(t)
	}
	return r
}

// NodeReport is the RM's view of a NodeManager.
type NodeReport struct {
	ID            NodeID
	HTTPAddress   string
	Rack          string
	Used          Resource
	Capability    Resource
	NumContainers int32
	State         string // e.g. "RUNNING", "UNHEALTHY"
	HealthReport  string
	Labels        []string
}

func nodeReportFromProto(p *pb.NodeReportProto) NodeReport {
	state := p.GetNodeState().String()
	if len(state) > 3 && state[:3] == "NS_" {
		state = state[3:]
	}
	return NodeReport{
		ID:            nodeIDFromProto(p.GetNodeId()),
		HTTPAddress:   p.GetHttpAddress(),
		Rack:          p.GetRackName(),
		Used:          resourceFromProto(p.GetUsed()),
		Capability:    resourceFromProto(p.GetCapability()),
		NumContainers: p.GetNumContainers(),
		State:         state,
		HealthReport:  p.GetHealthReport(),
		Labels:        p.GetNodeLabels(),
	}
}

// ClusterMetrics counts the cluster's NodeManagers by state.
type ClusterMetrics struct {
	NodeManagers, Active, Decommissioned, Lost, Unhealthy, Rebooted int32
}

// QueueInfo describes a scheduler queue.
type QueueInfo struct {
	Name                                   string
	Capacity, MaxCapacity, CurrentCapacity float32
	State                                  string // "RUNNING", "STOPPED", "DRAINING"
	Children                               []QueueInfo
}

func queueInfoFromProto(p *pb.QueueInfoProto) QueueInfo {
	q := QueueInfo{
		Name: p.GetQueueName(), Capacity: p.GetCapacity(), MaxCapacity: p.GetMaximumCapacity(),
		CurrentCapacity: p.GetCurrentCapacity(),
	}
	if p.State != nil {
		q.State = p.GetState().String()[2:]
	}
	for _, c := range p.GetChildQueues() {
		q.Children = append(q.Children, queueInfoFromProto(c))
	}
	sort.Slice(q.Children, func(i, j int) bool { return q.Children[i].Name < q.Children[j].Name })
	return q
}

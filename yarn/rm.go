package yarn

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/yarn/pb"
	"google.golang.org/protobuf/proto"
)

// ApplicationClientProtocol, as the RM's client service knows it.
const (
	clientProtocol = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"
	rmClientPort   = 8032
)

// ResourceManager is a client of the RM's ApplicationClientProtocol:
// applications are created, submitted, watched and killed through it.
// It is safe for concurrent use.
type ResourceManager struct {
	rpc    *failoverClient
	addrs  []string
	byName bool // hadoop.security.token.service.use_ip=false
}

// NewResourceManager returns a client for the RM(s) named in h
// (yarn.resourcemanager.address, or per-id addresses with HA). It does not
// connect until the first call.
func NewResourceManager(h HadoopConfig, opts ...Option) (*ResourceManager, error) {
	addrs, err := rmAddrs(h, "yarn.resourcemanager.address", rmClientPort)
	if err != nil {
		return nil, err
	}
	o := buildOptions(h, opts)
	base := ipc.Config{
		Protocol: clientProtocol, ProtocolVersion: 1, User: o.user,
		Tokens: o.tokens, TokenKind: RMDelegationTokenKind, TokenServiceByName: tokenServiceByName(h),
		DialTimeout: o.dialTimeout, MaxRetries: o.maxRetries, Pool: o.pool,
	}
	if v, ok := lookup(h, "hadoop.rpc.protection"); ok {
		if base.QOP, err = ipc.ParseProtection(v); err != nil {
			return nil, err
		}
	}
	if o.kerberos != nil {
		k, err := kerberosFor(h, o.kerberos, rmPrincipalKey)
		if err != nil {
			return nil, fmt.Errorf("resourcemanager: %w", err)
		}
		base.Kerberos = k
	}
	policy, err := clientFailover(h, o, addrs, &base)
	if err != nil {
		return nil, err
	}
	base.Dial = o.noticeDial(base.MaxRetries)
	return &ResourceManager{rpc: newFailoverClient(base, addrs, policy), addrs: addrs, byName: base.TokenServiceByName}, nil
}

// Addrs returns the RM addresses the client uses, in failover order.
func (rm *ResourceManager) Addrs() []string { return append([]string(nil), rm.addrs...) }

// Close releases the client's connections.
func (rm *ResourceManager) Close() error { return rm.rpc.close() }

// NewApplication reserves an application ID and returns it with the largest
// container the cluster can allocate.
func (rm *ResourceManager) NewApplication(ctx context.Context) (AppID, Resource, error) {
	var resp pb.GetNewApplicationResponseProto
	if err := rm.rpc.call(ctx, "getNewApplication", &pb.GetNewApplicationRequestProto{}, &resp); err != nil {
		return AppID{}, Resource{}, fmt.Errorf("new application: %w", err)
	}
	return appIDFromProto(resp.GetApplicationId()), resourceFromProto(resp.GetMaximumCapability()), nil
}

// SubmissionContext describes an application to submit.
type SubmissionContext struct {
	App         AppID
	Name        string
	Queue       string // "" means "default"
	Priority    int32
	AMResource  Resource
	AMContainer *LaunchContext // nil for an unmanaged AM
	MaxAttempts int32          // 0 means the RM's yarn.resourcemanager.am.max-attempts
	AppType     string         // "" means "SPINDLE"
	Tags        []string
	// KeepContainers keeps containers across AM attempts.
	KeepContainers bool
	// Unmanaged means the AM runs outside YARN (the RM launches nothing).
	Unmanaged bool
	// AttemptFailuresValidity, when positive, makes the RM count only the AM
	// failures within that window against MaxAttempts, so a long-running
	// application is not failed by AM losses spread over weeks.
	AttemptFailuresValidity time.Duration
}

func (s *SubmissionContext) proto() (*pb.ApplicationSubmissionContextProto, error) {
	p := &pb.ApplicationSubmissionContextProto{
		ApplicationId:                           s.App.proto(),
		ApplicationName:                         proto.String(s.Name),
		Resource:                                s.AMResource.proto(),
		ApplicationType:                         proto.String("SPINDLE"),
		ApplicationTags:                         s.Tags,
		KeepContainersAcrossApplicationAttempts: proto.Bool(s.KeepContainers),
		UnmanagedAm:                             proto.Bool(s.Unmanaged),
		Priority:                                &pb.PriorityProto{Priority: proto.Int32(s.Priority)},
	}
	if s.Queue != "" {
		p.Queue = proto.String(s.Queue)
	}
	if s.AppType != "" {
		p.ApplicationType = proto.String(s.AppType)
	}
	if s.MaxAttempts > 0 {
		p.MaxAppAttempts = proto.Int32(s.MaxAttempts)
	}
	if s.AttemptFailuresValidity > 0 {
		p.AttemptFailuresValidityInterval = proto.Int64(s.AttemptFailuresValidity.Milliseconds())
	}
	if s.AMContainer != nil {
		lc, err := s.AMContainer.proto()
		if err != nil {
			return nil, fmt.Errorf("AM container: %w", err)
		}
		p.AmContainerSpec = lc
	} else {
		p.AmContainerSpec = &pb.ContainerLaunchContextProto{}
	}
	return p, nil
}

// Submit submits the application. The RM accepts it asynchronously: watch
// Report for the state.
func (rm *ResourceManager) Submit(ctx context.Context, s *SubmissionContext) error {
	sc, err := s.proto()
	if err != nil {
		return fmt.Errorf("submit %s: %w", s.App, err)
	}
	req := &pb.SubmitApplicationRequestProto{ApplicationSubmissionContext: sc}
	if err := rm.rpc.call(ctx, "submitApplication", req, &pb.SubmitApplicationResponseProto{}); err != nil {
		return fmt.Errorf("submit %s: %w", s.App, err)
	}
	return nil
}

// Report returns the RM's report of an application.
func (rm *ResourceManager) Report(ctx context.Context, id AppID) (*AppReport, error) {
	var resp pb.GetApplicationReportResponseProto
	req := &pb.GetApplicationReportRequestProto{ApplicationId: id.proto()}
	if err := rm.rpc.call(ctx, "getApplicationReport", req, &resp); err != nil {
		return nil, fmt.Errorf("report %s: %w", id, err)
	}
	return appReportFromProto(resp.GetApplicationReport()), nil
}

// Kill asks the RM to kill the application. The kill completes
// asynchronously; it is done when Report shows a terminal state.
func (rm *ResourceManager) Kill(ctx context.Context, id AppID) error {
	return rm.KillWithReason(ctx, id, "")
}

// KillWithReason is Kill, adding diagnostics to the application's report.
func (rm *ResourceManager) KillWithReason(ctx context.Context, id AppID, diagnostics string) error {
	req := &pb.KillApplicationRequestProto{ApplicationId: id.proto()}
	if diagnostics != "" {
		req.Diagnostics = proto.String(diagnostics)
	}
	if err := rm.rpc.call(ctx, "forceKillApplication", req, &pb.KillApplicationResponseProto{}); err != nil {
		return fmt.Errorf("kill %s: %w", id, err)
	}
	return nil
}

// Nodes returns the cluster's NodeManagers in RUNNING state.
func (rm *ResourceManager) Nodes(ctx context.Context) ([]NodeReport, error) {
	var resp pb.GetClusterNodesResponseProto
	req := &pb.GetClusterNodesRequestProto{NodeStates: []pb.NodeStateProto{pb.NodeStateProto_NS_RUNNING}}
	if err := rm.rpc.call(ctx, "getClusterNodes", req, &resp); err != nil {
		return nil, fmt.Errorf("cluster nodes: %w", err)
	}
	nodes := make([]NodeReport, 0, len(resp.GetNodeReports()))
	for _, n := range resp.GetNodeReports() {
		nodes = append(nodes, nodeReportFromProto(n))
	}
	return nodes, nil
}

// Metrics returns the cluster's NodeManager counts.
func (rm *ResourceManager) Metrics(ctx context.Context) (ClusterMetrics, error) {
	var resp pb.GetClusterMetricsResponseProto
	if err := rm.rpc.call(ctx, "getClusterMetrics", &pb.GetClusterMetricsRequestProto{}, &resp); err != nil {
		return ClusterMetrics{}, fmt.Errorf("cluster metrics: %w", err)
	}
	m := resp.GetClusterMetrics()
	return ClusterMetrics{
		NodeManagers: m.GetNumNodeManagers(), Active: m.GetNumActiveNms(),
		Decommissioned: m.GetNumDecommissionedNms(), Lost: m.GetNumLostNms(),
		Unhealthy: m.GetNumUnhealthyNms(), Rebooted: m.GetNumRebootedNms(),
	}, nil
}

// Queue returns a queue and its child queues.
func (rm *ResourceManager) Queue(ctx context.Context, name string) (QueueInfo, error) {
	var resp pb.GetQueueInfoResponseProto
	req := &pb.GetQueueInfoRequestProto{
		QueueName: proto.String(name), IncludeChildQueues: proto.Bool(true),
		IncludeApplications: proto.Bool(false), Recursive: proto.Bool(false),
	}
	if err := rm.rpc.call(ctx, "getQueueInfo", req, &resp); err != nil {
		return QueueInfo{}, fmt.Errorf("queue %s: %w", name, err)
	}
	return queueInfoFromProto(resp.GetQueueInfo()), nil
}

// DelegationToken obtains an RM delegation token that renewer (a principal or
// short name) may renew, with the service of the RM addresses (all of them,
// comma-separated, with HA), as Hadoop's ClientRMProxy names it. A secure RM
// issues them only to Kerberos-authenticated callers.
func (rm *ResourceManager) DelegationToken(ctx context.Context, renewer string) (*ipc.Token, error) {
	var resp pb.GetDelegationTokenResponseProto
	req := &pb.GetDelegationTokenRequestProto{Renewer: proto.String(renewer)}
	if err := rm.rpc.call(ctx, "getDelegationToken", req, &resp); err != nil {
		return nil, fmt.Errorf("resourcemanager delegation token: %w", err)
	}
	if resp.Token == nil {
		return nil, fmt.Errorf("resourcemanager delegation token: the RM returned none")
	}
	t := tokenFromProto(resp.GetToken())
	var services []string
	for _, a := range rm.addrs {
		s, err := ipc.TokenService(ctx, a, rm.byName)
		if err != nil {
			return nil, fmt.Errorf("resourcemanager delegation token: %w", err)
		}
		services = append(services, s)
	}
	t.Service = strings.Join(services, ",")
	return t, nil
}

package yarn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/yarn/pb"
	"google.golang.org/protobuf/proto"
)

// ApplicationMasterProtocol, served on the RM's scheduler address.
const (
	amProtocol    = "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB"
	schedulerPort = 8030
	// amrmTokenKind is the kind of the token the RM gives every AM.
	amrmTokenKind = "YARN_AM_RM_TOKEN"
)

// AMRMClient is an ApplicationMaster's client of the RM: it registers,
// heartbeats with allocate, and unregisters. It keeps the NMTokens the RM
// hands out (it is an NMTokenSource) and switches to a rolled AMRMToken.
// Allocate calls are serialized; the client is safe for concurrent use.
type AMRMClient struct {
	rpc *failoverClient

	mu         sync.Mutex // serializes register/allocate/finish and guards the fields below
	responseID int32
	reg        *registration
	amrmToken  *ipc.Token

	tokMu    sync.RWMutex
	nmTokens map[NodeID]*ipc.Token
}

type registration struct {
	host        string
	port        int32
	trackingURL string
}

// NewAMRMClient returns a client for the RM scheduler address(es) in h,
// authenticating with amrmToken (from the AM's credentials; see AMContext).
// The RM accepts nothing but this token on this protocol, even when insecure.
func NewAMRMClient(h HadoopConfig, amrmToken *ipc.Token, opts ...Option) (*AMRMClient, error) {
	if amrmToken == nil {
		return nil, fmt.Errorf("AMRM client: no %s token", amrmTokenKind)
	}
	addrs, err := rmAddrs(h, "yarn.resourcemanager.scheduler.address", schedulerPort)
	if err != nil {
		return nil, err
	}
	o := buildOptions(h, opts)
	base := ipc.Config{
		Protocol: amProtocol, ProtocolVersion: 1, Token: amrmToken,
		DialTimeout: o.dialTimeout, MaxRetries: o.maxRetries, Pool: o.pool,
	}
	if v, ok := lookup(h, "hadoop.rpc.protection"); ok {
		if base.QOP, err = ipc.ParseProtection(v); err != nil {
			return nil, err
		}
	}
	policy, err := clientFailover(h, o, addrs, &base)
	if err != nil {
		return nil, err
	}
	return &AMRMClient{
		rpc:       newFailoverClient(base, addrs, policy),
		amrmToken: amrmToken,
		nmTokens:  map[NodeID]*ipc.Token{},
	}, nil
}

// RegisterResponse is what the RM tells a newly registered AM.
type RegisterResponse struct {
	// MaxCapability is the largest container the scheduler allocates.
	MaxCapability Resource
	Queue         string
	// PreviousContainers are still-running containers of earlier attempts
	// (with SubmissionContext.KeepContainers).
	PreviousContainers []Container
}

// Register registers the AM. host and rpcPort are where clients reach it
// (rpcPort -1 for none); trackingURL is shown through the RM's web proxy.
func (c *AMRMClient) Register(ctx context.Context, host string, rpcPort int32, trackingURL string) (*RegisterResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reg := &registration{host: host, port: rpcPort, trackingURL: trackingURL}
	resp, err := c.register(ctx, reg)
	if err != nil {
		return nil, err
	}
	c.reg = reg
	return resp, nil
}

func (c *AMRMClient) register(ctx context.Context, reg *registration) (*RegisterResponse, error) {
	req := &pb.RegisterApplicationMasterRequestProto{
		Host: proto.String(reg.host), RpcPort: proto.Int32(reg.port), TrackingUrl: proto.String(reg.trackingURL),
	}
	var resp pb.RegisterApplicationMasterResponseProto
	if err := c.rpc.call(ctx, "registerApplicationMaster", req, &resp); err != nil {
		return nil, fmt.Errorf("register application master: %w", err)
	}
	c.responseID = 0
	c.addNMTokens(resp.GetNmTokensFromPreviousAttempts())
	out := &RegisterResponse{MaxCapability: resourceFromProto(resp.GetMaximumCapability()), Queue: resp.GetQueue()}
	for _, p := range resp.GetContainersFromPreviousAttempts() {
		out.PreviousContainers = append(out.PreviousContainers, containerFromProto(p))
	}
	return out, nil
}

// AllocateRequest is one heartbeat: changed ask rows, containers to give
// back, node blacklist changes, and the AM's progress (0 to 1).
type AllocateRequest struct {
	Asks            []ResourceRequest
	Releases        []ContainerID
	BlacklistAdd    []string
	BlacklistRemove []string
	Progress        float32
}

// AllocateResponse is the RM's answer to a heartbeat.
type AllocateResponse struct {
	Allocated       []Container
	Completed       []ContainerStatus
	UpdatedNodes    []NodeReport
	Limit           Resource // headroom
	NumClusterNodes int32
	// Resynced reports that the RM had lost this AM (restart or failover)
	// and the client registered again: the RM's ask table is now empty,
	// so the caller must send all outstanding asks and releases again.
	Resynced bool
}

// Allocate sends one heartbeat. It records NMTokens and a rolled AMRMToken,
// and re-registers when the RM asks for a resync. AM_SHUTDOWN yields ErrShutdown.
func (c *AMRMClient) Allocate(ctx context.Context, r *AllocateRequest) (*AllocateResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reg == nil {
		return nil, fmt.Errorf("allocate: %w (call Register first)", ErrAMNotRegistered)
	}
	resynced := false
	for {
		resp, err := c.allocate(ctx, r)
		if errors.Is(err, ErrAMNotRegistered) && !resynced {
			if _, err := c.register(ctx, c.reg); err != nil {
				return nil, fmt.Errorf("allocate: re-register after resync: %w", err)
			}
			resynced = true
			continue
		}
		if err != nil {
			return nil, err
		}
		// Check presence: proto2's default for an unset enum is its first
		// value, AM_RESYNC.
		var cmd pb.AMCommandProto
		if resp.AMCommand != nil {
			cmd = resp.GetAMCommand()
		}
		switch cmd {
		case pb.AMCommandProto_AM_SHUTDOWN:
			return nil, fmt.Errorf("allocate: %w", ErrShutdown)
		case pb.AMCommandProto_AM_RESYNC:
			if resynced {
				return nil, fmt.Errorf("allocate: resource manager asked to resync twice in a row")
			}
			if _, err := c.register(ctx, c.reg); err != nil {
				return nil, fmt.Errorf("allocate: re-register after resync: %w", err)
			}
			resynced = true
			continue
		}
		out := c.absorb(resp)
		out.Resynced = resynced
		return out, nil
	}
}

func (c *AMRMClient) allocate(ctx context.Context, r *AllocateRequest) (*pb.AllocateResponseProto, error) {
	req := &pb.AllocateRequestProto{ResponseId: proto.Int32(c.responseID), Progress: proto.Float32(r.Progress)}
	for _, a := range r.Asks {
		req.Ask = append(req.Ask, a.proto())
	}
	for _, id := range r.Releases {
		req.Release = append(req.Release, id.proto())
	}
	if len(r.BlacklistAdd) > 0 || len(r.BlacklistRemove) > 0 {
		req.BlacklistRequest = &pb.ResourceBlacklistRequestProto{
			BlacklistAdditions: r.BlacklistAdd, BlacklistRemovals: r.BlacklistRemove,
		}
	}
	var resp pb.AllocateResponseProto
	if err := c.rpc.call(ctx, "allocate", req, &resp); err != nil {
		return nil, fmt.Errorf("allocate: %w", err)
	}
	return &resp, nil
}

// absorb updates the client's state from a response and converts it.
func (c *AMRMClient) absorb(resp *pb.AllocateResponseProto) *AllocateResponse {
	c.responseID = resp.GetResponseId()
	c.addNMTokens(resp.GetNmTokens())
	if t := tokenFromProto(resp.GetAmRmToken()); t != nil && !sameToken(t, c.amrmToken) {
		// The RM rolled its master key: the new token must be used for
		// every later connection; the old one stops working once the new
		// key activates.
		c.amrmToken = t
		c.rpc.setToken(t)
	}
	out := &AllocateResponse{
		Limit:           resourceFromProto(resp.GetLimit()),
		NumClusterNodes: resp.GetNumClusterNodes(),
	}
	for _, p := range resp.GetAllocatedContainers() {
		out.Allocated = append(out.Allocated, containerFromProto(p))
	}
	for _, p := range resp.GetCompletedContainerStatuses() {
		out.Completed = append(out.Completed, containerStatusFromProto(p))
	}
	for _, p := range resp.GetUpdatedNodes() {
		out.UpdatedNodes = append(out.UpdatedNodes, nodeReportFromProto(p))
	}
	return out
}

func sameToken(a, b *ipc.Token) bool {
	return b != nil && bytes.Equal(a.Identifier, b.Identifier) && bytes.Equal(a.Password, b.Password)
}

func (c *AMRMClient) addNMTokens(ts []*pb.NMTokenProto) {
	if len(ts) == 0 {
		return
	}
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	for _, t := range ts {
		c.nmTokens[nodeIDFromProto(t.GetNodeId())] = tokenFromProto(t.GetToken())
	}
}

// NMToken returns the latest NMToken the RM issued for node.
func (c *AMRMClient) NMToken(node NodeID) (*ipc.Token, bool) {
	c.tokMu.RLock()
	defer c.tokMu.RUnlock()
	t, ok := c.nmTokens[node]
	return t, ok
}

// AMRMToken returns the token the client currently authenticates with.
func (c *AMRMClient) AMRMToken() *ipc.Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.amrmToken
}

// finishPoll is how often Finish asks again while the RM is still
// unregistering the AM (Hadoop's AMRMClientImpl waits 100 ms too).
const finishPoll = 100 * time.Millisecond

// Finish unregisters the AM with its final status, diagnostics and final
// tracking URL, repeating until the RM confirms.
func (c *AMRMClient) Finish(ctx context.Context, status FinalStatus, diagnostics, trackingURL string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := &pb.FinishApplicationMasterRequestProto{
		FinalApplicationStatus: pb.FinalApplicationStatusProto(status).Enum(),
		Diagnostics:            proto.String(diagnostics),
		TrackingUrl:            proto.String(trackingURL),
	}
	resynced := false
	for {
		var resp pb.FinishApplicationMasterResponseProto
		err := c.rpc.call(ctx, "finishApplicationMaster", req, &resp)
		if errors.Is(err, ErrAMNotRegistered) && c.reg != nil && !resynced {
			if _, err := c.register(ctx, c.reg); err != nil {
				return fmt.Errorf("finish application master: re-register: %w", err)
			}
			resynced = true
			continue
		}
		if err != nil {
			return fmt.Errorf("finish application master: %w", err)
		}
		if resp.GetIsUnregistered() {
			return nil
		}
		t := time.NewTimer(finishPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("finish application master: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Close releases the client's connections.
func (c *AMRMClient) Close() error { return c.rpc.close() }

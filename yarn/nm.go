package yarn

import (
	"context"
	"fmt"
	"sync"

	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/yarn/pb"
)

const nmProtocol = "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB"

// NMTokenSource gives the NMToken for a node; *AMRMClient is one.
type NMTokenSource interface {
	NMToken(node NodeID) (*ipc.Token, bool)
}

// NMClient starts, stops and inspects containers on NodeManagers
// (ContainerManagementProtocol). NodeManagers accept only TOKEN
// authentication with the NMToken the RM issued for that node.
// It is safe for concurrent use.
type NMClient struct {
	tokens NMTokenSource
	opts   options

	mu      sync.Mutex
	clients map[NodeID]*nmConn
}

type nmConn struct {
	token  *ipc.Token
	client *ipc.Client
}

// NewNMClient returns a client that authenticates with tokens from src.
func NewNMClient(src NMTokenSource, opts ...Option) *NMClient {
	return &NMClient{tokens: src, opts: buildOptions(nil, opts), clients: map[NodeID]*nmConn{}}
}

// client returns a connection for node with its current NMToken; a rolled
// token replaces the cached client.
func (n *NMClient) client(node NodeID) (*ipc.Client, error) {
	tok, ok := n.tokens.NMToken(node)
	if !ok {
		return nil, fmt.Errorf("node %s: %w", node, ErrNoNMToken)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.clients[node]; ok {
		if sameToken(tok, c.token) {
			return c.client, nil
		}
		c.client.Close()
		delete(n.clients, node)
	}
	c, err := ipc.NewClient(ipc.Config{
		Addr: node.String(), Protocol: nmProtocol, ProtocolVersion: 1, Token: tok,
		DialTimeout: n.opts.dialTimeout, MaxRetries: n.opts.maxRetries, Pool: n.opts.pool,
	})
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node, err)
	}
	n.clients[node] = &nmConn{token: tok, client: c}
	return c, nil
}

// Start launches lc in container c on its node.
func (n *NMClient) Start(ctx context.Context, c Container, lc *LaunchContext) error {
	_, err := n.StartWithMeta(ctx, c, lc)
	return err
}

// StartWithMeta is Start, also returning the aux services' metadata (e.g.
// a shuffle service's port) the NodeManager reported.
func (n *NMClient) StartWithMeta(ctx context.Context, c Container, lc *LaunchContext) (map[string][]byte, error) {
	cl, err := n.client(c.Node)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", c.ID, err)
	}
	if c.Token == nil {
		return nil, fmt.Errorf("start %s: container has no container token", c.ID)
	}
	lcp, err := lc.proto()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", c.ID, err)
	}
	req := &pb.StartContainersRequestProto{StartContainerRequest: []*pb.StartContainerRequestProto{{
		ContainerLaunchContext: lcp, ContainerToken: tokenProto(c.Token),
	}}}
	var resp pb.StartContainersResponseProto
	if err := mapRemote(cl.Call(ctx, "startContainers", req, &resp)); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.ID, err)
	}
	if err := firstFailure(resp.GetFailedRequests()); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	meta := map[string][]byte{}
	for _, kv := range resp.GetServicesMetaData() {
		meta[kv.GetKey()] = kv.GetValue()
	}
	return meta, nil
}

// Stop stops container id on node.
func (n *NMClient) Stop(ctx context.Context, id ContainerID, node NodeID) error {
	cl, err := n.client(node)
	if err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	req := &pb.StopContainersRequestProto{ContainerId: []*pb.ContainerIdProto{id.proto()}}
	var resp pb.StopContainersResponseProto
	if err := mapRemote(cl.Call(ctx, "stopContainers", req, &resp)); err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	if err := firstFailure(resp.GetFailedRequests()); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}

// Status asks node for the status of container id.
func (n *NMClient) Status(ctx context.Context, id ContainerID, node NodeID) (ContainerStatus, error) {
	cl, err := n.client(node)
	if err != nil {
		return ContainerStatus{}, fmt.Errorf("status of %s: %w", id, err)
	}
	req := &pb.GetContainerStatusesRequestProto{ContainerId: []*pb.ContainerIdProto{id.proto()}}
	var resp pb.GetContainerStatusesResponseProto
	if err := mapRemote(cl.Call(ctx, "getContainerStatuses", req, &resp)); err != nil {
		return ContainerStatus{}, fmt.Errorf("status of %s: %w", id, err)
	}
	if err := firstFailure(resp.GetFailedRequests()); err != nil {
		return ContainerStatus{}, fmt.Errorf("status: %w", err)
	}
	for _, s := range resp.GetStatus() {
		if st := containerStatusFromProto(s); st.ID == id {
			return st, nil
		}
	}
	return ContainerStatus{}, fmt.Errorf("status of %s: node %s returned no status", id, node)
}

func firstFailure(failed []*pb.ContainerExceptionMapProto) error {
	if len(failed) == 0 {
		return nil
	}
	f := failed[0]
	return &ContainerError{
		Container: containerIDFromProto(f.GetContainerId()),
		Class:     f.GetException().GetClassName(),
		Message:   f.GetException().GetMessage(),
	}
}

// Close releases all NodeManager connections.
func (n *NMClient) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for node, c := range n.clients {
		c.client.Close()
		delete(n.clients, node)
	}
	return nil
}

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// RM is one ResourceManager of an HA cluster, by its yarn.resourcemanager.ha.rm-ids id.
type RM struct {
	ID              string `json:"id"`
	Address         string `json:"address"`
	Scheduler       string `json:"scheduler"`
	ResourceTracker string `json:"resourceTracker"`
	Admin           string `json:"admin"`
	Webapp          string `json:"webapp"`
}

// DataNode is one DataNode of the faults cluster, by its index at the start; a
// restart keeps its ports.
type DataNode struct {
	Index    int    `json:"index"`
	XferAddr string `json:"xferAddr"` // host:port of data transfer, as block locations name it
	UUID     string `json:"uuid"`
	Running  bool   `json:"running"`
}

// Control is where the faults cluster's harness takes orders: an HTTP endpoint on
// the loopback interface that wants the bearer token (cluster.json is mode 0600).
type Control struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

// RMState says which ResourceManager is active, and each one's HA state.
type RMState struct {
	Active string            `json:"active"` // the active RM's id, "" when none is
	Index  int               `json:"index"`  // its index in Info.ResourceManagers, -1 when none
	States map[string]string `json:"states"` // id → ACTIVE, STANDBY, ...
}

// ActiveAddr is the client address of the active RM, "" when none is active.
func (c *Cluster) ActiveAddr(st RMState) string {
	for _, rm := range c.Info.ResourceManagers {
		if rm.ID == st.Active {
			return rm.Address
		}
	}
	return ""
}

// ErrNoControl: the cluster has no control endpoint (it is not the faults cluster).
var ErrNoControl = errors.New("the cluster has no control endpoint: start it with `scripts/minicluster up --faults`")

// ControlError is an operation the harness refused or failed.
type ControlError struct {
	Op      string // e.g. "POST /rm/failover"
	Status  int    // the HTTP status: 409 when the cluster's state does not allow it
	Message string
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("cluster control %s: %d %s: %s", e.Op, e.Status, http.StatusText(e.Status), e.Message)
}

// StopDataNode shuts DataNode i down; it returns once its ports are closed. The
// NameNode goes on listing it as a replica's location (until its heartbeats are
// ~10 minutes overdue), as with a real crash.
func (c *Cluster) StopDataNode(ctx context.Context, i int) (DataNode, error) {
	var dn DataNode
	return dn, c.control(ctx, http.MethodPost, fmt.Sprintf("/datanodes/%d/stop", i), &dn)
}

// RestartDataNode starts stopped DataNode i again on its ports; it returns once the
// DataNode has registered with the NameNode.
func (c *Cluster) RestartDataNode(ctx context.Context, i int) (DataNode, error) {
	var dn DataNode
	return dn, c.control(ctx, http.MethodPost, fmt.Sprintf("/datanodes/%d/restart", i), &dn)
}

// DataNodesNow lists the DataNodes and whether each runs.
func (c *Cluster) DataNodesNow(ctx context.Context) ([]DataNode, error) {
	var dns []DataNode
	return dns, c.control(ctx, http.MethodGet, "/datanodes", &dns)
}

// FailoverRM makes the active ResourceManager standby and the other active, as
// `yarn rmadmin -failover` does: the old one stops serving clients, AMs and
// NodeManagers (its ports close). It returns the new state once the new RM is
// active and every NodeManager has registered with it.
func (c *Cluster) FailoverRM(ctx context.Context) (RMState, error) {
	var st RMState
	return st, c.control(ctx, http.MethodPost, "/rm/failover", &st)
}

// ActiveRM reports which ResourceManager is active.
func (c *Cluster) ActiveRM(ctx context.Context) (RMState, error) {
	var st RMState
	return st, c.control(ctx, http.MethodGet, "/rm", &st)
}

// control calls the endpoint and decodes its JSON answer into out.
func (c *Cluster) control(ctx context.Context, method, path string, out any) error {
	ctl := c.Info.Control
	if ctl == nil || ctl.URL == "" {
		return ErrNoControl
	}
	op := method + " " + path
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(ctl.URL, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("cluster control %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+ctl.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cluster control %s: %w", op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("cluster control %s: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &ControlError{Op: op, Status: resp.StatusCode, Message: strings.TrimSpace(string(body))}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("cluster control %s: %w: %s", op, err, body)
	}
	return nil
}

package yarnlogs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spindle-engine/spindle/yarn"
)

// Live reads running containers' logs from the NodeManagers' web services.
type Live struct {
	// HTTP is the client; nil means http.DefaultClient.
	HTTP *http.Client
	// HTTPS reaches the NodeManagers over https (yarn.http.policy=HTTPS_ONLY).
	HTTPS bool
}

// ErrNotOnNode says a NodeManager does not have a container (or application).
var ErrNotOnNode = errors.New("not on this NodeManager")

// javaDate is how Hadoop's web services print a log's modification time
// (Java's Date.toString with a numeric zone).
const javaDate = "Mon Jan 02 15:04:05 -0700 2006"

func (l *Live) get(ctx context.Context, nodeHTTP, path string, accept string) ([]byte, error) {
	scheme := "http"
	if l.HTTPS {
		scheme = "https"
	}
	u := scheme + "://" + nodeHTTP + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	c := l.HTTP
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %w", u, ErrNotOnNode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return body, nil
}

// NodeID asks a NodeManager which node it is (host:port).
func (l *Live) NodeID(ctx context.Context, nodeHTTP string) (string, error) {
	b, err := l.get(ctx, nodeHTTP, "/ws/v1/node/info", "application/json")
	if err != nil {
		return "", err
	}
	// Hadoop wraps the object in {"nodeInfo": ...} unless its JSON provider is
	// configured to leave the root out; both are read.
	var v struct {
		NodeID   string `json:"nodeId"`
		NodeInfo *struct {
			NodeID string `json:"nodeId"`
		} `json:"nodeInfo"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("node info of %s: %w", nodeHTTP, err)
	}
	if v.NodeInfo != nil {
		return v.NodeInfo.NodeID, nil
	}
	return v.NodeID, nil
}

// Containers lists an application's containers on a NodeManager; none (and no
// error) when the application has none there.
func (l *Live) Containers(ctx context.Context, nodeHTTP, app string) ([]string, error) {
	b, err := l.get(ctx, nodeHTTP, "/ws/v1/node/apps/"+url.PathEscape(app), "application/json")
	if errors.Is(err, ErrNotOnNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	type appInfo struct {
		Containers   []string `json:"containers"`
		ContainerIDs []string `json:"containerids"`
	}
	var v struct {
		appInfo
		App *appInfo `json:"app"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("application %s on %s: %w", app, nodeHTTP, err)
	}
	a := v.appInfo
	if v.App != nil {
		a = *v.App
	}
	return append(a.Containers, a.ContainerIDs...), nil
}

// Files lists a container's log files on its NodeManager.
func (l *Live) Files(ctx context.Context, nodeHTTP, container string) ([]LogFile, error) {
	b, err := l.get(ctx, nodeHTTP, "/ws/v1/node/containers/"+url.PathEscape(container)+"/logs", "application/json")
	if err != nil {
		return nil, err
	}
	type fileInfo struct {
		FileName         string `json:"fileName"`
		FileSize         string `json:"fileSize"`
		LastModifiedTime string `json:"lastModifiedTime"`
	}
	type logsInfo struct {
		Files     []fileInfo `json:"containerLogsInfo"`
		LogType   string     `json:"logType"`
		Container string     `json:"containerId"`
		NodeID    string     `json:"nodeId"`
	}
	var list []logsInfo
	if err := json.Unmarshal(b, &list); err != nil {
		// The wrapped form: {"containerLogsInfoes": {"containerLogsInfo": [...]}}.
		var wrapped struct {
			Infos struct {
				List []logsInfo `json:"containerLogsInfo"`
			} `json:"containerLogsInfoes"`
		}
		if werr := json.Unmarshal(b, &wrapped); werr != nil {
			return nil, fmt.Errorf("logs of %s on %s: %w", container, nodeHTTP, err)
		}
		list = wrapped.Infos.List
	}
	var out []LogFile
	for _, li := range list {
		if li.LogType != "" && li.LogType != "LOCAL" {
			continue // already aggregated: read from HDFS instead
		}
		for _, f := range li.Files {
			n, _ := strconv.ParseInt(f.FileSize, 10, 64)
			mod, _ := time.Parse(javaDate, f.LastModifiedTime)
			out = append(out, LogFile{Container: container, Node: li.NodeID, Name: f.FileName, Length: n, Modified: mod})
		}
	}
	return out, nil
}

// Read reads one log file of a container from its NodeManager.
func (l *Live) Read(ctx context.Context, nodeHTTP, container, file string) ([]byte, error) {
	b, err := l.get(ctx, nodeHTTP, "/ws/v1/node/containerlogs/"+url.PathEscape(container)+"/"+url.PathEscape(file)+"?format=octet-stream", "*/*")
	if err != nil {
		return nil, err
	}
	b, err = unframe(b)
	if err != nil {
		return nil, fmt.Errorf("log %s of %s on %s: %w", file, container, nodeHTTP, err)
	}
	return b, nil
}

// Node is a NodeManager that answers for itself: in a MiniYARNCluster every
// NodeManager's web app serves the last one's (their Guice filters share a
// static pipeline), which Nodes detects by the node id each answers with.
type Node struct {
	ID, HTTP string
}

// Nodes are the running NodeManagers among reports whose web services answer as
// themselves; warn hears of those that do not (or do not answer).
func (l *Live) Nodes(ctx context.Context, reports []yarn.NodeReport, warn func(string)) []Node {
	var out []Node
	for _, r := range reports {
		if r.State != "RUNNING" || r.HTTPAddress == "" {
			continue
		}
		id, err := l.NodeID(ctx, r.HTTPAddress)
		switch {
		case err != nil:
			warn(fmt.Sprintf("NodeManager %s: %v", r.ID, err))
			continue
		case id != r.ID.String():
			warn(fmt.Sprintf("NodeManager %s: its web services at %s answer as %s; live logs of its containers cannot be read", r.ID, r.HTTPAddress, id))
			continue
		}
		out = append(out, Node{ID: id, HTTP: r.HTTPAddress})
	}
	return out
}

// ReadLive reads the live logs of an application's containers (only the one
// named, when container is not ""), node by node, calling fn with each file's
// content.
func (l *Live) ReadLive(ctx context.Context, nodes []Node, app, container string, fn func(LogFile, []byte) error) error {
	found := false
	for _, n := range nodes {
		cs, err := l.Containers(ctx, n.HTTP, app)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if container != "" && c != container {
				continue
			}
			found = true
			files, err := l.Files(ctx, n.HTTP, c)
			if errors.Is(err, ErrNotOnNode) {
				continue // it ended since the listing
			}
			if err != nil {
				return err
			}
			for _, f := range files {
				b, err := l.Read(ctx, n.HTTP, c, f.Name)
				if errors.Is(err, ErrNotOnNode) {
					continue
				}
				if err != nil {
					return err
				}
				f.Node, f.Length = n.ID, int64(len(b))
				if err := fn(f, b); err != nil {
					return err
				}
			}
		}
	}
	if container != "" && !found {
		return fmt.Errorf("container %s of %s: %w", container, app, ErrNotOnNode)
	}
	return nil
}

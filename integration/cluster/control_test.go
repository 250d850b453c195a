package cluster

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// fakeControl answers as the harness's control endpoint does, from fixed replies.
func fakeControl(t *testing.T, token string) *httptest.Server {
	t.Helper()
	replies := map[string]struct {
		status int
		body   string
	}{
		"GET /rm":                   {200, `{"active": "rm0", "index": 0, "states": {"rm0": "ACTIVE", "rm1": "STANDBY"}}`},
		"POST /rm/failover":         {200, `{"active": "rm1", "index": 1, "states": {"rm0": "STANDBY", "rm1": "ACTIVE"}}`},
		"POST /datanodes/1/stop":    {200, `{"index": 1, "xferAddr": "127.0.0.1:33487", "uuid": "u1", "running": false}`},
		"POST /datanodes/2/restart": {409, "DataNode 2 is running"},
		"GET /datanodes":            {200, `[{"index": 0, "xferAddr": "127.0.0.1:34263", "uuid": "u0", "running": true}]`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		rep, ok := replies[r.Method+" "+r.URL.Path]
		if !ok {
			http.Error(w, "no such operation", http.StatusNotFound)
			return
		}
		w.WriteHeader(rep.status)
		w.Write([]byte(rep.body + "\n"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestControl(t *testing.T) {
	srv := fakeControl(t, "s3cret")
	c := &Cluster{Info: Info{Control: &Control{URL: srv.URL, Token: "s3cret"}}}
	wrong := &Cluster{Info: Info{Control: &Control{URL: srv.URL, Token: "guess"}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		name       string
		call       func() (any, error)
		want       any
		wantStatus int // a *ControlError's status; 0 for success
	}{
		{"active", func() (any, error) { return c.ActiveRM(ctx) },
			RMState{Active: "rm0", Index: 0, States: map[string]string{"rm0": "ACTIVE", "rm1": "STANDBY"}}, 0},
		{"failover", func() (any, error) { return c.FailoverRM(ctx) },
			RMState{Active: "rm1", Index: 1, States: map[string]string{"rm0": "STANDBY", "rm1": "ACTIVE"}}, 0},
		{"stop", func() (any, error) { return c.StopDataNode(ctx, 1) },
			DataNode{Index: 1, XferAddr: "127.0.0.1:33487", UUID: "u1", Running: false}, 0},
		{"list", func() (any, error) { return c.DataNodesNow(ctx) },
			[]DataNode{{Index: 0, XferAddr: "127.0.0.1:34263", UUID: "u0", Running: true}}, 0},
		{"conflict", func() (any, error) { return c.RestartDataNode(ctx, 2) }, nil, http.StatusConflict},
		{"wrong token", func() (any, error) { return wrong.ActiveRM(ctx) }, nil, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if tt.wantStatus != 0 {
				var ce *ControlError
				if !errors.As(err, &ce) || ce.Status != tt.wantStatus || ce.Message == "" {
					t.Fatalf("got %v, want a *ControlError with status %d and a message", err, tt.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestControlAbsent(t *testing.T) {
	c := &Cluster{}
	if _, err := c.FailoverRM(context.Background()); !errors.Is(err, ErrNoControl) {
		t.Fatalf("got %v, want ErrNoControl", err)
	}
}

// TestLoadFaults reads a faults cluster's cluster.json as the harness writes it.
func TestLoadFaults(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("testdata", "faults-cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cluster.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	i := c.Info
	if len(i.ResourceManagers) != 2 || i.ResourceManagers[1].ID != "rm1" || i.ResourceManagers[1].Scheduler != "localhost:35065" {
		t.Errorf("resource managers %+v", i.ResourceManagers)
	}
	if len(i.DataNodes) != 3 || i.DataNodes[2].XferAddr != "127.0.0.1:40197" || !i.DataNodes[2].Running {
		t.Errorf("data nodes %+v", i.DataNodes)
	}
	if !i.MemoryEnforced || i.Control == nil || i.Control.Token != "test-token" {
		t.Errorf("memory enforced %v, control %+v", i.MemoryEnforced, i.Control)
	}
	if got := c.ActiveAddr(RMState{Active: "rm1"}); got != "localhost:35693" {
		t.Errorf("active address %q, want localhost:35693", got)
	}
	if got := c.ActiveAddr(RMState{Index: -1}); got != "" {
		t.Errorf("active address with none active %q, want empty", got)
	}
}

// Command testam is a minimal YARN ApplicationMaster used by the yarn
// package's end-to-end tests. It runs inside an AM container started by the
// test, speaks to the RM and NMs only through package yarn, and prints what
// it observed as one JSON line on stdout for the test to check.
//
// Usage: testam succeed|fail|hang|overask|shuffle
//
// Environment (set by the test in the launch context): HADOOP_CONF_DIR
// names the cluster's configuration; TESTAM_NODES the two node names to ask
// for strictly (comma-separated).
//
// shuffle starts one container on each node with the application secret
// (credentials' spindle.secret) as the spindle_shuffle aux service's service
// data, prints the report with each node's shuffle port from startContainers'
// metadata at once, and heartbeats until the test kills the application.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/shuffle"
	"github.com/spindle-engine/spindle/yarn"
)

// Report is what the AM prints; the test decodes it.
type Report struct {
	Attempt    string      `json:"attempt"`
	MaxMemory  int64       `json:"max_memory_mb"`
	Containers []Container `json:"containers"`
	Released   string      `json:"released"`
	StatusSeen string      `json:"nm_status_seen"`
	Error      string      `json:"error,omitempty"`
	Overask    string      `json:"overask,omitempty"`
	// Credentials lists the container_tokens file as "token <alias> <kind>"
	// and "secret <alias> <value>" entries.
	Credentials []string `json:"credentials"`
	// Shuffle is, per container of the shuffle mode, the node's spindle_shuffle
	// port from the service metadata, or why there is none.
	Shuffle []ShufflePort `json:"shuffle,omitempty"`
}

// ShufflePort is one node's shuffle service as startContainers reported it.
type ShufflePort struct {
	Node  string `json:"node"`
	Port  int    `json:"port"`
	Error string `json:"error,omitempty"`
}

// Container is one allocated container and how it ended.
type Container struct {
	ID       string `json:"id"`
	Node     string `json:"node"`
	Priority int32  `json:"priority"`
	Wanted   int    `json:"wanted_exit"`
	Exit     int32  `json:"exit"`
	Diag     string `json:"diagnostics"`
}

const heartbeat = 250 * time.Millisecond

func main() {
	mode := "succeed"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := run(ctx, mode); err != nil {
		fmt.Fprintln(os.Stderr, "testam:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, mode string) error {
	env, err := yarn.AMContext()
	if err != nil {
		return err
	}
	rep := &Report{Attempt: env.Attempt.String()}
	for alias, t := range env.Credentials.Tokens {
		rep.Credentials = append(rep.Credentials, "token "+alias+" "+t.Kind)
	}
	for alias, v := range env.Credentials.Secrets {
		rep.Credentials = append(rep.Credentials, "secret "+alias+" "+string(v))
	}
	sort.Strings(rep.Credentials)
	h, err := conf.HadoopFromEnv()
	if err != nil {
		return err
	}
	amrm, err := yarn.NewAMRMClient(h, env.AMRMToken)
	if err != nil {
		return err
	}
	defer amrm.Close()
	tracking := fmt.Sprintf("http://%s:%d/testam/%s", env.NMHost, env.NMHTTPPort, mode)
	reg, err := amrm.Register(ctx, env.NMHost, -1, tracking)
	if err != nil {
		return err
	}
	rep.MaxMemory = reg.MaxCapability.MemoryMB
	// The report goes out before unregistering: once the RM shows the app
	// finished, the test may read stdout while this process still exits.
	finish := func(st yarn.FinalStatus, diag string) error {
		b, _ := json.Marshal(rep)
		fmt.Println(string(b))
		return amrm.Finish(ctx, st, diag, tracking)
	}

	switch mode {
	case "fail":
		return finish(yarn.Failed, "testam: failing on purpose")
	case "overask":
		// An ask above the maximum must come back as the RM's typed error.
		big := yarn.Resource{MemoryMB: reg.MaxCapability.MemoryMB * 2, VCores: 1}
		ask := yarn.ResourceRequest{Priority: 1, ResourceName: yarn.AnyHost, Capability: big, NumContainers: 1, RelaxLocality: true}
		_, err := amrm.Allocate(ctx, &yarn.AllocateRequest{Asks: []yarn.ResourceRequest{ask}})
		if !errors.Is(err, yarn.ErrInvalidResourceRequest) {
			rep.Error = fmt.Sprintf("oversized ask: want ErrInvalidResourceRequest, got %v", err)
			return finish(yarn.Failed, "testam: "+rep.Error)
		}
		var re *ipc.RemoteError
		if errors.As(err, &re) {
			rep.Overask = re.Class + ": " + re.Message
		}
		return finish(yarn.Succeeded, "testam: oversized ask refused")
	case "hang":
		// Heartbeat until the RM kills the application (or ctx ends).
		for ctx.Err() == nil {
			if _, err := amrm.Allocate(ctx, &yarn.AllocateRequest{Progress: 0.5}); err != nil {
				return err
			}
			time.Sleep(heartbeat)
		}
		return ctx.Err()
	case "shuffle":
		if err := shuffleContainers(ctx, env, amrm, rep); err != nil {
			rep.Error = err.Error()
			return errors.Join(err, finish(yarn.Failed, "testam: "+err.Error()))
		}
		b, _ := json.Marshal(rep)
		fmt.Println(string(b))
		for ctx.Err() == nil {
			if _, err := amrm.Allocate(ctx, &yarn.AllocateRequest{Progress: 0.5}); err != nil {
				return err
			}
			time.Sleep(heartbeat)
		}
		return ctx.Err()
	case "succeed":
		if err := runContainers(ctx, env, amrm, rep); err != nil {
			rep.Error = err.Error()
			return errors.Join(err, finish(yarn.Failed, "testam: "+err.Error()))
		}
		var exits []string
		for _, c := range rep.Containers {
			exits = append(exits, fmt.Sprintf("%s=%d", c.ID, c.Exit))
		}
		return finish(yarn.Succeeded, "testam: all containers done: "+strings.Join(exits, " "))
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// runContainers asks for two containers pinned to the given nodes and one
// anywhere, runs a command with a distinct exit code in the pinned ones and
// a long sleep in the third, releases the third early, and waits for all
// three to complete.
func runContainers(ctx context.Context, env *yarn.AMEnv, amrm *yarn.AMRMClient, rep *Report) error {
	nodes := strings.Split(os.Getenv("TESTAM_NODES"), ",")
	if len(nodes) != 2 {
		return fmt.Errorf("TESTAM_NODES=%q: want two node names", os.Getenv("TESTAM_NODES"))
	}
	small := yarn.Resource{MemoryMB: 128, VCores: 1}
	// Priority 1: one container on each node, nowhere else (the rack and
	// AnyHost rows count both and refuse to relax); priority 2: one anywhere.
	asks := []yarn.ResourceRequest{
		{Priority: 1, ResourceName: nodes[0], Capability: small, NumContainers: 1, RelaxLocality: true},
		{Priority: 1, ResourceName: nodes[1], Capability: small, NumContainers: 1, RelaxLocality: true},
		{Priority: 1, ResourceName: yarn.DefaultRack, Capability: small, NumContainers: 2},
		{Priority: 1, ResourceName: yarn.AnyHost, Capability: small, NumContainers: 2},
		{Priority: 2, ResourceName: yarn.AnyHost, Capability: small, NumContainers: 1, RelaxLocality: true},
	}
	nm := yarn.NewNMClient(amrm)
	defer nm.Close()

	byID := map[yarn.ContainerID]*Container{}
	var pinnedExit = 11
	var sleeper *yarn.Container
	req := &yarn.AllocateRequest{Asks: asks, Progress: 0.1}
	done := 0
	for done < 3 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for containers (%d of 3 done): %w", done, err)
		}
		resp, err := amrm.Allocate(ctx, req)
		if err != nil {
			return err
		}
		req = &yarn.AllocateRequest{Progress: 0.1 + 0.3*float32(done)}
		if resp.Resynced {
			req.Asks = asks
		}
		for _, c := range resp.Allocated {
			if len(byID) == 3 {
				req.Releases = append(req.Releases, c.ID)
				continue
			}
			rc := &Container{ID: c.ID.String(), Node: c.Node.String(), Priority: c.Priority}
			byID[c.ID] = rc
			cmd := "/bin/bash -c 'sleep 600'"
			if c.Priority == 1 {
				rc.Wanted = pinnedExit
				cmd = fmt.Sprintf("/bin/bash -c 'echo container $CONTAINER_ID; exit %d'", pinnedExit)
				pinnedExit++
			} else {
				c := c
				sleeper = &c
			}
			lc := &yarn.LaunchContext{Commands: []string{cmd + " 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"}}
			if err := nm.Start(ctx, c, lc); err != nil {
				return err
			}
			if sleeper != nil && sleeper.ID == c.ID {
				st, err := nm.Status(ctx, c.ID, c.Node)
				if err != nil {
					return err
				}
				rep.StatusSeen = st.State.String()
				// Give it back early: the RM kills it.
				req.Releases = append(req.Releases, c.ID)
				rep.Released = c.ID.String()
			}
		}
		for _, st := range resp.Completed {
			rc, ok := byID[st.ID]
			if !ok {
				continue
			}
			rc.Exit, rc.Diag = st.ExitStatus, st.Diagnostics
			done++
		}
		time.Sleep(heartbeat)
	}
	for _, c := range byID {
		rep.Containers = append(rep.Containers, *c)
	}
	sort.Slice(rep.Containers, func(i, j int) bool { return rep.Containers[i].ID < rep.Containers[j].ID })
	return nil
}

// shuffleContainers starts a sleeping container on each of the two nodes, its
// launch context carrying the application secret for the spindle_shuffle aux
// service, and records each node's shuffle port from the metadata.
func shuffleContainers(ctx context.Context, env *yarn.AMEnv, amrm *yarn.AMRMClient, rep *Report) error {
	nodes := strings.Split(os.Getenv("TESTAM_NODES"), ",")
	if len(nodes) != 2 {
		return fmt.Errorf("TESTAM_NODES=%q: want two node names", os.Getenv("TESTAM_NODES"))
	}
	secret, ok := env.Credentials.Secrets["spindle.secret"]
	if !ok {
		return errors.New("no spindle.secret in the AM's credentials")
	}
	small := yarn.Resource{MemoryMB: 128, VCores: 1}
	asks := []yarn.ResourceRequest{
		{Priority: 1, ResourceName: nodes[0], Capability: small, NumContainers: 1, RelaxLocality: true},
		{Priority: 1, ResourceName: nodes[1], Capability: small, NumContainers: 1, RelaxLocality: true},
		{Priority: 1, ResourceName: yarn.DefaultRack, Capability: small, NumContainers: 2},
		{Priority: 1, ResourceName: yarn.AnyHost, Capability: small, NumContainers: 2},
	}
	nm := yarn.NewNMClient(amrm)
	defer nm.Close()
	req := &yarn.AllocateRequest{Asks: asks, Progress: 0.1}
	for len(rep.Shuffle) < 2 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for containers (%d of 2 started): %w", len(rep.Shuffle), err)
		}
		resp, err := amrm.Allocate(ctx, req)
		if err != nil {
			return err
		}
		req = &yarn.AllocateRequest{Progress: 0.2}
		if resp.Resynced {
			req.Asks = asks
		}
		for _, c := range resp.Allocated {
			if len(rep.Shuffle) == 2 {
				req.Releases = append(req.Releases, c.ID)
				continue
			}
			lc := &yarn.LaunchContext{
				Commands:    []string{"/bin/bash -c 'sleep 600' 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"},
				ServiceData: map[string][]byte{shuffle.AuxServiceName: secret},
			}
			meta, err := nm.StartWithMeta(ctx, c, lc)
			if err != nil {
				return err
			}
			p := ShufflePort{Node: c.Node.String()}
			if m, ok := meta[shuffle.AuxServiceName]; !ok {
				p.Error = "no spindle_shuffle metadata"
			} else if p.Port, err = shuffle.ParseServiceMeta(m); err != nil {
				p.Error = err.Error()
			}
			rep.Shuffle = append(rep.Shuffle, p)
		}
		time.Sleep(heartbeat)
	}
	sort.Slice(rep.Shuffle, func(i, j int) bool { return rep.Shuffle[i].Node < rep.Shuffle[j].Node })
	return nil
}

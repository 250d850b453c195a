package allocator

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/yarn"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testConfig() Config {
	return Config{ExecutorMemoryMB: 2048, ExecutorVcores: 2, Priority: 1, MaxExecutorFailures: 3,
		InitialInterval: 200 * time.Millisecond, HeartbeatInterval: 3 * time.Second}
}

// harness drives an Allocator and records every decision as a line of text, so a
// scenario's expectations read as a transcript.
type harness struct {
	a   *Allocator
	now time.Time
	log []string
}

func newHarness(cfg Config) *harness { return &harness{a: New(cfg), now: t0} }

func (h *harness) record(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf(format, args...))
}

func (h *harness) target(n int, hints map[string]int) { h.a.SetTarget(n, hints) }

// beat advances the clock to the next heartbeat the allocator asked for and
// records the request and the interval until the one after.
func (h *harness) beat() Request {
	h.now = h.a.NextHeartbeat(h.now)
	req := h.a.Heartbeat(h.now)
	var parts []string
	if len(req.Asks) > 0 {
		parts = append(parts, "ask "+rows(req.Asks))
	}
	if len(req.Cancels) > 0 {
		parts = append(parts, "cancel "+rows(req.Cancels))
	}
	if req.Cancelled > 0 {
		parts = append(parts, fmt.Sprintf("cancelled=%d", req.Cancelled))
	}
	if len(req.BlacklistAdd) > 0 {
		parts = append(parts, "exclude "+strings.Join(req.BlacklistAdd, ","))
	}
	if len(req.BlacklistRemove) > 0 {
		parts = append(parts, "include "+strings.Join(req.BlacklistRemove, ","))
	}
	parts = append(parts, "next "+h.a.NextHeartbeat(h.now).Sub(h.now).String())
	h.record("beat: %s", strings.Join(parts, "; "))
	return req
}

func rows(rs []yarn.ResourceRequest) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.ResourceName+"="+strconv.Itoa(int(r.NumContainers)))
	}
	return strings.Join(s, " ")
}

// alloc hands containers "id@host" or "id@host/rack" of the executor size.
func (h *harness) alloc(specs ...string) {
	var cs []Container
	for _, s := range specs {
		id, node, _ := strings.Cut(s, "@")
		host, rack, _ := strings.Cut(node, "/")
		if rack != "" {
			rack = "/" + rack
		}
		cs = append(cs, Container{ID: id, NodeHost: host, NodeRack: rack,
			MemoryMB: h.a.cfg.ExecutorMemoryMB, Vcores: h.a.cfg.ExecutorVcores})
	}
	h.actions("alloc "+strings.Join(specs, " "), h.a.OnAllocated(h.now, cs))
}

// nodes reports nodes given as "host/rack", as the RM's node reports would.
func (h *harness) nodes(specs ...string) {
	var ns []Node
	for _, s := range specs {
		host, rack, _ := strings.Cut(s, "/")
		ns = append(ns, Node{Host: host, Rack: "/" + rack})
	}
	h.a.OnNodes(ns)
	h.record("nodes %s", strings.Join(specs, " "))
}

func (h *harness) registered(ids ...string) {
	for _, id := range ids {
		h.a.OnExecutorRegistered(id)
	}
}

// done completes containers given as "id:status".
func (h *harness) done(specs ...string) {
	var cs []Completed
	for _, s := range specs {
		id, st, _ := strings.Cut(s, ":")
		n, _ := strconv.Atoi(st)
		cs = append(cs, Completed{ContainerID: id, ExitStatus: int32(n), Diagnostics: "diag"})
	}
	h.actions("done "+strings.Join(specs, " "), h.a.OnCompleted(cs))
}

func (h *harness) idle(ids ...string) {
	h.actions("idle "+strings.Join(ids, " "), h.a.ReleaseIdle(ids))
}

func (h *harness) launchFailed(id string) {
	h.actions("launch failed "+id, h.a.OnLaunchFailed(id, errors.New("connection refused")))
}

func (h *harness) actions(what string, as []Action) {
	var s []string
	for _, a := range as {
		switch a := a.(type) {
		case Launch:
			s = append(s, "launch "+a.Container.ID+"="+a.ExecutorID)
		case Release:
			s = append(s, "release "+a.ContainerID+" ("+a.Reason+")")
		case Exit:
			s = append(s, fmt.Sprintf("exit %s %s counts=%v", a.ExecutorID, a.Kind, a.CountsAsFailure))
		case Failed:
			s = append(s, "FAILED")
		}
	}
	h.record("%s: %s", what, strings.Join(s, ", "))
}

func (h *harness) check(t *testing.T, want []string) {
	t.Helper()
	if !slices.Equal(h.log, want) {
		t.Errorf("decisions:\n  %s\nwant:\n  %s", strings.Join(h.log, "\n  "), strings.Join(want, "\n  "))
	}
}

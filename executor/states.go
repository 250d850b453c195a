package executor

import (
	"slices"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/scheduler"
)

// State is what the driver last knew of an executor: where it ran, its last
// heartbeat and the tasks it was running. YARN reports a container it killed (for
// memory, say) seconds after its connection broke; this is what makes that report
// one a user can act on.
type State struct {
	ID, Host, Container string
	Memory              int64     // bytes the executor was given (spindle.executor.memory)
	Heartbeat           Heartbeat // the last one; zero before the first
	HeartbeatAt         time.Time
	Running             []TaskRef // by task ID
	Removed             bool      // the executor is gone
}

// TaskRef names one task attempt.
type TaskRef struct {
	ID                        int64
	Stage, Partition, Attempt int
}

// goneStates is how many removed executors' states are kept.
const goneStates = 256

// states keeps every executor's State: the live ones, and the last goneStates
// removed ones.
type states struct {
	mu   sync.Mutex
	byID map[string]*State
	gone []string // removed, oldest first
}

func (s *states) update(id string, f func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID == nil {
		s.byID = map[string]*State{}
	}
	st := s.byID[id]
	if st == nil {
		st = &State{ID: id}
		s.byID[id] = st
	}
	f(st)
}

func (s *states) registered(id, host, container string, memory int64) {
	s.update(id, func(st *State) { st.Host, st.Container, st.Memory = host, container, memory })
}

func (s *states) heartbeat(id string, hb Heartbeat) {
	s.update(id, func(st *State) { st.Heartbeat, st.HeartbeatAt = hb, time.Now() })
}

func (s *states) launched(id string, t *scheduler.Task) {
	s.update(id, func(st *State) {
		st.Running = append(st.Running, TaskRef{ID: t.ID, Stage: t.StageID, Partition: t.Partition, Attempt: t.Attempt})
	})
}

func (s *states) ended(id string, task int64) {
	s.update(id, func(st *State) {
		st.Running = slices.DeleteFunc(st.Running, func(r TaskRef) bool { return r.ID == task })
	})
}

// removed keeps the executor's state, with the tasks it was running then.
func (s *states) removed(id string) {
	first := false
	s.update(id, func(st *State) { first, st.Removed = !st.Removed, true })
	if !first {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gone = append(s.gone, id)
	for len(s.gone) > goneStates {
		delete(s.byID, s.gone[0])
		s.gone = s.gone[1:]
	}
}

func (s *states) get(id string) (State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.byID[id]
	if st == nil {
		return State{}, false
	}
	out := *st
	out.Running = slices.Clone(st.Running)
	return out, true
}

// ExecutorState returns what the backend last knew of an executor, live or among
// the last removed ones.
func (b *Backend) ExecutorState(id string) (State, bool) { return b.states.get(id) }

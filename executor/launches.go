package executor

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
)

// Launch is the ApplicationMaster's record of one executor it started: the driver
// accepts a registration only for a launched executor, in the container it was
// launched in, holding the credential put there, and only once.
type Launch struct {
	ExecutorID, ContainerID, Host string
	// Credential is the per-container secret the AM put in the container's
	// credentials; the executor proves it over its connection (see Config).
	Credential []byte
	// ShuffleService is the address of the shuffle service on the executor's node,
	// when the application uses one ("" when executors serve their own outputs).
	ShuffleService string
}

// NewCredential makes a launch's per-container credential.
func NewCredential() ([]byte, error) {
	c := make([]byte, 32)
	if _, err := rand.Read(c); err != nil {
		return nil, fmt.Errorf("executor credential: %w", err)
	}
	return c, nil
}

// launches are the AM's records, awaited by registrations that outrun them.
type launches struct {
	mu      sync.Mutex
	byID    map[string]*launchState
	changed chan struct{} // closed and replaced on every Expect
}

type launchState struct {
	Launch
	used bool
}

func newLaunches() *launches {
	return &launches{byID: map[string]*launchState{}, changed: make(chan struct{})}
}

func (l *launches) expect(x Launch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.byID[x.ExecutorID]; !ok {
		l.byID[x.ExecutorID] = &launchState{Launch: x}
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// claim waits, until ctx ends, for the launch of id and marks it used; a launch is
// claimed once.
func (l *launches) claim(ctx context.Context, id string, check func(Launch) error) (Launch, error) {
	for {
		l.mu.Lock()
		st, ok := l.byID[id]
		changed := l.changed
		if ok {
			defer l.mu.Unlock()
			if st.used {
				return Launch{}, fmt.Errorf("executor %s registered already: a second registration of the same executor is refused", id)
			}
			if err := check(st.Launch); err != nil {
				return Launch{}, err
			}
			st.used = true
			return st.Launch, nil
		}
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Launch{}, fmt.Errorf("executor %s was never launched by the ApplicationMaster: %w", id, ctx.Err())
		}
	}
}

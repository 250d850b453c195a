package external

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/spindle-engine/spindle/shuffle"
)

// StoreFile is the store's file in the state directory.
const StoreFile = "registrations.db"

// ErrStoreLocked is returned by OpenStore when another daemon holds the store: two
// daemons must never share a state directory.
var ErrStoreLocked = errors.New("shuffle service store is in use by another process")

var (
	bucketApps      = []byte("apps")      // app id → secret
	bucketExecutors = []byte("executors") // app id \x00 executor id → executorRecord
)

// executorRecord is how an executor's registration is stored.
type executorRecord struct {
	Dirs   []string `json:"dirs"`
	Layout string   `json:"layout"`
}

// Store keeps the service's registrations (application → secret; application and
// executor → directories and layout) in a bbolt file, so that a restarted daemon
// serves running applications at once. Every change is committed (fsynced) before
// it takes effect; reads are served from memory. It implements shuffle.Secrets and
// shuffle.Registrations and is safe for concurrent use.
type Store struct {
	db *bolt.DB

	mu      sync.RWMutex
	secrets map[string][]byte
	execs   map[string]map[string]shuffle.Executor
}

// OpenStore opens (creating) the store in dir, which it makes mode 0700, with its
// file at mode 0600: the file holds application secrets.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	// MkdirAll leaves an existing directory's mode alone.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	path := filepath.Join(dir, StoreFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrStoreLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	s := &Store{db: db, secrets: map[string][]byte{}, execs: map[string]map[string]shuffle.Executor{}}
	if err := s.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("load store %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) load() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		apps, err := tx.CreateBucketIfNotExists(bucketApps)
		if err != nil {
			return err
		}
		execs, err := tx.CreateBucketIfNotExists(bucketExecutors)
		if err != nil {
			return err
		}
		if err := apps.ForEach(func(k, v []byte) error {
			s.secrets[string(k)] = append([]byte(nil), v...)
			return nil
		}); err != nil {
			return err
		}
		return execs.ForEach(func(k, v []byte) error {
			app, exec, ok := splitKey(k)
			if !ok {
				return fmt.Errorf("bad executor key %q", k)
			}
			var r executorRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("executor %s of %s: %w", exec, app, err)
			}
			if s.execs[app] == nil {
				s.execs[app] = map[string]shuffle.Executor{}
			}
			s.execs[app][exec] = shuffle.Executor(r)
			return nil
		})
	})
}

func executorKey(app, exec string) []byte { return []byte(app + "\x00" + exec) }

func splitKey(k []byte) (app, exec string, ok bool) {
	for i, b := range k {
		if b == 0 {
			return string(k[:i]), string(k[i+1:]), true
		}
	}
	return "", "", false
}

// Close closes the store's file.
func (s *Store) Close() error { return s.db.Close() }

// Secret returns an application's secret.
func (s *Store) Secret(app string) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.secrets[app]
	return b, ok
}

// PutApp records (or replaces) an application's secret.
func (s *Store) PutApp(app string, secret []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).Put([]byte(app), secret)
	}); err != nil {
		return fmt.Errorf("store application %s: %w", app, err)
	}
	s.secrets[app] = append([]byte(nil), secret...)
	return nil
}

// RemoveApp forgets an application: its secret and its executors.
func (s *Store) RemoveApp(app string) error {
	if _, err := s.RemoveApplication(app); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApps).Delete([]byte(app))
	}); err != nil {
		return fmt.Errorf("remove application %s: %w", app, err)
	}
	delete(s.secrets, app)
	return nil
}

// RegisterExecutor records an executor of app, refusing another application's
// directories (shuffle.ErrDirOwned).
func (s *Store) RegisterExecutor(app, exec string, e shuffle.Executor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := shuffle.CheckOwnership(app, e.Dirs, s.execs); err != nil {
		return err
	}
	v, err := json.Marshal(executorRecord(e))
	if err != nil {
		return err
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketExecutors).Put(executorKey(app, exec), v)
	}); err != nil {
		return fmt.Errorf("store executor %s of %s: %w", exec, app, err)
	}
	if s.execs[app] == nil {
		s.execs[app] = map[string]shuffle.Executor{}
	}
	s.execs[app][exec] = e
	return nil
}

// Executor returns a registered executor.
func (s *Store) Executor(app, exec string) (shuffle.Executor, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.execs[app][exec]
	return e, ok
}

// RemoveApplication forgets app's executors (not its secret) and returns them.
func (s *Store) RemoveApplication(app string) (map[string]shuffle.Executor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	execs := s.execs[app]
	if err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExecutors)
		for exec := range execs {
			if err := b.Delete(executorKey(app, exec)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("remove executors of %s: %w", app, err)
	}
	delete(s.execs, app)
	return execs, nil
}

// Counts returns how many applications and executors are registered.
func (s *Store) Counts() (apps, executors int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.execs {
		executors += len(e)
	}
	return len(s.secrets), executors
}

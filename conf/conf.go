package conf

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Conf holds the explicitly set values, by canonical key name. The zero value is not
// usable; call New. Conf is not safe for concurrent writes; a session treats it as
// read-only once it starts.
type Conf struct {
	set map[string]string
}

// New returns an empty configuration: every key at its default.
func New() *Conf { return &Conf{set: map[string]string{}} }

// ValueError is a bad value for a key.
type ValueError struct {
	Key, Value string
	Err        error
}

func (e *ValueError) Error() string { return fmt.Sprintf("conf %s=%q: %v", e.Key, e.Value, e.Err) }

// Unwrap returns the parse error.
func (e *ValueError) Unwrap() error { return e.Err }

// UnknownKeyError is a key Spindle does not know. It is a warning: the value is kept
// (a user's own keys may be read by their job).
type UnknownKeyError struct {
	Key, Suggestion string
}

func (e *UnknownKeyError) Error() string {
	if e.Suggestion != "" {
		return fmt.Sprintf("unknown configuration key %s (did you mean %s?)", e.Key, e.Suggestion)
	}
	return fmt.Sprintf("unknown configuration key %s", e.Key)
}

// Set validates and stores a value; an alias (a spark.* name) sets its spindle.* key.
// An unknown key is stored and reported as *UnknownKeyError.
func (c *Conf) Set(key, value string) error {
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	k, ok := lookup(key)
	if !ok {
		c.set[key] = value
		return &UnknownKeyError{Key: key, Suggestion: nearest(key)}
	}
	if err := validate(k, value); err != nil {
		return &ValueError{Key: key, Value: value, Err: err}
	}
	c.set[k.Name] = value
	return nil
}

func validate(k *Key, v string) error {
	var err error
	switch k.Kind {
	case Int:
		_, err = strconv.Atoi(v)
	case Bool:
		_, err = strconv.ParseBool(v)
	case Float:
		var f float64
		if f, err = strconv.ParseFloat(v, 64); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			err = errors.New("not a finite number")
		}
	case Size:
		_, err = ParseSize(v)
	case Duration:
		_, err = ParseDuration(v)
	case Enum:
		for _, a := range k.Allowed {
			if strings.EqualFold(a, v) {
				return nil
			}
		}
		err = fmt.Errorf("want one of %s", strings.Join(k.Allowed, ", "))
	}
	return err
}

// SetAll sets every pair and returns the errors and warnings, in key order.
func (c *Conf) SetAll(pairs map[string]string) []error {
	names := make([]string, 0, len(pairs))
	for k := range pairs {
		names = append(names, k)
	}
	sort.Strings(names)
	var errs []error
	for _, k := range names {
		if err := c.Set(k, pairs[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// ParseFlag sets a "key=value" pair from a --conf flag.
func (c *Conf) ParseFlag(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("--conf %q: want key=value", kv)
	}
	return c.Set(k, v)
}

// LoadProperties reads a spark-defaults.conf style file: "key value" or "key=value"
// lines, '#' comments. Unknown keys are kept and reported together with bad values;
// every error names the file and line.
func (c *Conf) LoadProperties(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var errs []error
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "!") {
			continue
		}
		i := strings.IndexAny(line, "= \t:")
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s:%d: %q has no value", path, n, line))
			continue
		}
		key, value := line[:i], strings.TrimLeft(line[i:], "= \t:")
		if err := c.Set(key, value); err != nil {
			var unknown *UnknownKeyError
			if errors.As(err, &unknown) {
				continue // kept, as a spark-defaults.conf holds keys for other tools
			}
			errs = append(errs, fmt.Errorf("%s:%d: %w", path, n, err))
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return errors.Join(errs...)
}

// Clone copies the configuration.
func (c *Conf) Clone() *Conf {
	n := New()
	for k, v := range c.set {
		n.set[k] = v
	}
	return n
}

// Explicit returns the explicitly set values, to ship to other processes.
func (c *Conf) Explicit() map[string]string {
	out := make(map[string]string, len(c.set))
	for k, v := range c.set {
		out[k] = v
	}
	return out
}

// Get returns a key's value, or its default; aliases resolve.
func (c *Conf) Get(key string) string {
	if k, ok := lookup(key); ok {
		if v, ok := c.set[k.Name]; ok {
			return v
		}
		return k.Default
	}
	return c.set[key]
}

// String returns a key's value.
func (c *Conf) String(key string) string { return c.Get(key) }

// Int returns a key's value as an int; 0 when unset.
func (c *Conf) Int(key string) int {
	n, _ := strconv.Atoi(c.Get(key))
	return n
}

// Bool returns a key's value as a bool.
func (c *Conf) Bool(key string) bool {
	b, _ := strconv.ParseBool(c.Get(key))
	return b
}

// Float returns a key's value as a float64.
func (c *Conf) Float(key string) float64 {
	f, _ := strconv.ParseFloat(c.Get(key), 64)
	return f
}

// Size returns a key's value in bytes; 0 when unset.
func (c *Conf) Size(key string) int64 {
	n, _ := ParseSize(c.Get(key))
	return n
}

// Duration returns a key's value; 0 when unset.
func (c *Conf) Duration(key string) time.Duration {
	d, _ := ParseDuration(c.Get(key))
	return d
}

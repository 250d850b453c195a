package conf

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Hadoop is the merged Hadoop configuration of a HADOOP_CONF_DIR: core-site.xml, then
// hdfs-site.xml, then yarn-site.xml, later files overriding earlier ones except where
// a property was marked <final>.
type Hadoop struct {
	props map[string]string
	final map[string]bool
	dir   string // where it was loaded from; "" when built in memory
}

// hadoopFiles are read in this order, as Hadoop's Configuration adds its resources.
var hadoopFiles = []string{"core-site.xml", "hdfs-site.xml", "yarn-site.xml"}

type xmlConf struct {
	Properties []struct {
		Name  string `xml:"name"`
		Value string `xml:"value"`
		Final string `xml:"final"`
	} `xml:"property"`
}

// NewHadoop returns an empty Hadoop configuration, for tests and overrides.
func NewHadoop() *Hadoop { return &Hadoop{props: map[string]string{}, final: map[string]bool{}} }

// LoadHadoop reads the site files in dir; missing files are fine, malformed XML is an
// error naming the file.
func LoadHadoop(dir string) (*Hadoop, error) {
	h := NewHadoop()
	h.dir = dir
	for _, name := range hadoopFiles {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var doc xmlConf
		if err := xml.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, p := range doc.Properties {
			name := strings.TrimSpace(p.Name)
			if name == "" || h.final[name] {
				continue
			}
			h.props[name] = p.Value
			if strings.TrimSpace(p.Final) == "true" {
				h.final[name] = true
			}
		}
	}
	return h, nil
}

// HadoopFromEnv loads the configuration HADOOP_CONF_DIR (or else YARN_CONF_DIR)
// names.
func HadoopFromEnv() (*Hadoop, error) {
	for _, env := range []string{"HADOOP_CONF_DIR", "YARN_CONF_DIR"} {
		if dir := os.Getenv(env); dir != "" {
			h, err := LoadHadoop(dir)
			if err != nil {
				return nil, fmt.Errorf("%s=%s: %w", env, dir, err)
			}
			return h, nil
		}
	}
	return nil, errors.New("neither HADOOP_CONF_DIR nor YARN_CONF_DIR is set")
}

var varRef = regexp.MustCompile(`\$\{([^}$\s]+)\}`)

// maxExpansion bounds ${var} substitution depth, as Hadoop's MAX_SUBST does.
const maxExpansion = 20

// Get returns a property with ${var} references expanded from other properties,
// then from the environment (${env.NAME} too); values are trimmed.
func (h *Hadoop) Get(key string) (string, bool) {
	v, ok := h.props[key]
	if !ok {
		return "", false
	}
	v = strings.TrimSpace(v)
	for range maxExpansion {
		if !strings.Contains(v, "${") {
			break
		}
		next := varRef.ReplaceAllStringFunc(v, func(ref string) string {
			name := ref[2 : len(ref)-1]
			if r, ok := h.props[name]; ok {
				return strings.TrimSpace(r)
			}
			if e, ok := os.LookupEnv(strings.TrimPrefix(name, "env.")); ok {
				return e
			}
			return ref
		})
		if next == v {
			break
		}
		v = next
	}
	return v, true
}

// GetDefault returns a property, or def when it is not set.
func (h *Hadoop) GetDefault(key, def string) string {
	if v, ok := h.Get(key); ok {
		return v
	}
	return def
}

// Strings returns a comma-separated property's items, trimmed, empty ones dropped.
func (h *Hadoop) Strings(key string) []string {
	v, _ := h.Get(key)
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Set overrides a property.
func (h *Hadoop) Set(key, value string) { h.props[key] = value }

// Dir is the directory the configuration was loaded from ("" if built in memory),
// whose files a submission ships to containers.
func (h *Hadoop) Dir() string { return h.dir }

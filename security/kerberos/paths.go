package kerberos

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spindle-engine/spindle/conf"
)

// DefaultConfig is krb5.conf's place when KRB5_CONFIG is unset, as in MIT Kerberos.
const DefaultConfig = "/etc/krb5.conf"

// ConfigPath is the krb5.conf to read given KRB5_CONFIG's value: its first file
// (MIT reads a colon-separated list; gokrb5 reads one), else DefaultConfig.
func ConfigPath(krb5Config string) string {
	for _, p := range strings.Split(krb5Config, ":") {
		if p = strings.TrimSpace(p); p != "" {
			return p
		}
	}
	return DefaultConfig
}

// CachePath is the ticket cache to read given KRB5CCNAME's value, the krb5.conf at
// configPath and the user's uid, as MIT's libkrb5 picks it: KRB5CCNAME, else
// krb5.conf's default_ccache_name, else /tmp/krb5cc_<uid>. Only FILE caches can be
// read (gokrb5); another type is an *UnsupportedCacheError.
func CachePath(ccname, configPath string, uid int) (string, error) {
	name := ccname
	if name == "" {
		name = defaultCCacheName(configPath)
	}
	if name == "" {
		name = "FILE:/tmp/krb5cc_%{uid}"
	}
	name = expandCCacheName(name, uid)
	if typ, rest, ok := strings.Cut(name, ":"); ok && !strings.Contains(typ, "/") {
		if !strings.EqualFold(typ, "FILE") {
			return "", &UnsupportedCacheError{Name: name, UID: uid}
		}
		name = rest
	}
	return name, nil
}

// defaultCCacheName reads [libdefaults] default_ccache_name from krb5.conf (gokrb5
// does not parse it); "" when absent or unreadable.
func defaultCCacheName(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = strings.Trim(line, "[] ")
			continue
		}
		if section != "libdefaults" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "default_ccache_name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// expandCCacheName expands the parameters MIT allows in cache names that matter
// for a FILE cache.
func expandCCacheName(name string, uid int) string {
	r := strings.NewReplacer(
		"%{uid}", strconv.Itoa(uid), "%{euid}", strconv.Itoa(uid), "%{USERID}", strconv.Itoa(uid),
		"%{TEMP}", "/tmp", "%{null}", "",
	)
	return r.Replace(name)
}

// UnsupportedCacheError is a ticket cache gokrb5 cannot read (KEYRING, KCM, DIR, ...).
type UnsupportedCacheError struct {
	Name string
	UID  int
}

// Error says how to get a FILE cache instead.
func (e *UnsupportedCacheError) Error() string {
	return fmt.Sprintf("ticket cache %s is not a file, and only FILE caches can be read: set KRB5CCNAME=FILE:/tmp/krb5cc_%d and run kinit again (or pass --principal and --keytab)", e.Name, e.UID)
}

// Env is what a process's environment says about its Kerberos login: KRB5_CONFIG
// and KRB5CCNAME (empty when unset) and the user's uid. The process roles and the
// CLI read it; this package reads no environment.
type Env struct {
	KRB5Config, KRB5CCName string
	UID                    int
}

// LoginOptions are the options of a login as principal from keytab when a keytab is
// given, else from the ticket cache the environment names, with the krb5.conf it
// names: the rules Hadoop's and MIT's tools follow.
func LoginOptions(principal, keytab string, env Env) (Options, error) {
	opts := Options{Principal: principal, Keytab: keytab, Config: ConfigPath(env.KRB5Config)}
	if keytab == "" {
		cache, err := CachePath(env.KRB5CCName, opts.Config, env.UID)
		if err != nil {
			return Options{}, err
		}
		opts.Cache = cache
	}
	return opts, nil
}

// Kerberized reports whether a Hadoop configuration says its cluster runs Kerberos
// (hadoop.security.authentication=kerberos); h may be nil.
func Kerberized(h *conf.Hadoop) bool {
	if h == nil {
		return false
	}
	v, _ := h.Get("hadoop.security.authentication")
	return strings.EqualFold(v, "kerberos")
}

package scheduler

import (
	"net"
	"strings"
)

// Locality is how close a task runs to its preferred data, best first.
type Locality int

// The locality levels delay scheduling walks through.
const (
	ProcessLocal Locality = iota // on the executor that holds the data
	NodeLocal                    // on the host that holds the data
	NoPref                       // the task has no preference
	AnyLocality                  // anywhere
)

func (l Locality) String() string {
	switch l {
	case ProcessLocal:
		return "PROCESS_LOCAL"
	case NodeLocal:
		return "NODE_LOCAL"
	case NoPref:
		return "NO_PREF"
	case AnyLocality:
		return "ANY"
	}
	return "Locality(?)"
}

const executorLocPrefix = "executor:"

// ExecutorLocation is a preferred location naming one executor on host, for data
// cached in that executor; a task preferring it is PROCESS_LOCAL there and
// NODE_LOCAL on the rest of host.
func ExecutorLocation(host, executor string) string {
	return executorLocPrefix + executor + "@" + host
}

// parseLocation splits a preferred location into its executor (empty for a plain
// host) and host.
func parseLocation(loc string) (executor, host string) {
	rest, ok := strings.CutPrefix(loc, executorLocPrefix)
	if !ok {
		return "", CanonicalHost(loc)
	}
	i := strings.LastIndexByte(rest, '@')
	if i < 0 {
		return "", CanonicalHost(loc)
	}
	return rest[:i], CanonicalHost(rest[i+1:])
}

// CanonicalHost names a host the same way whoever reported it: HDFS names a
// DataNode by the address it registered with, YARN a NodeManager by its host name,
// so that a test cluster's DataNode "127.0.0.1" and NodeManager "localhost" are one
// host. Host names are case-insensitive and may end in a dot; every loopback
// address is "localhost".
func CanonicalHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "localhost" {
		return h
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return "localhost"
	}
	return h
}

package am

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/yarn"
)

// serveTracking serves the tracking page the RM links to, on the container's host.
// Only requests through the RM's web proxy get the page; others are redirected to
// the proxy, as Hadoop's AmIpFilter does, so that the proxy's authentication and
// its user's view are the only way in.
func (m *Master) serveTracking() error {
	if m.cfg.TrackingURL != "" {
		m.tracking = m.cfg.TrackingURL
		return nil
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(m.cfg.Env.NMHost, "0"))
	if err != nil {
		return fmt.Errorf("tracking page: %w", err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	m.tracking = "http://" + net.JoinHostPort(m.cfg.Env.NMHost, strconv.Itoa(port)) + "/"
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Spindle application %s\n\n", m.cfg.Env.Attempt.App)
		if m.cfg.Status != nil {
			fmt.Fprintln(w, m.cfg.Status())
		}
	})
	var handler http.Handler = mux
	if m.cfg.UI != nil {
		handler = m.cfg.UI
	}
	// The RM gives the AM's container the proxy's path for it; executors' containers
	// have none, and neither does a test's fake environment.
	handler = ProxyFilter(m.cfg.Hadoop, m.cfg.Env.WebProxyBase)(handler)
	m.web = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	m.serving.Add(1)
	go func() {
		defer m.serving.Done()
		if err := m.web.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			m.log.Warn().Err(err).Msg("tracking page stopped")
		}
	}()
	return nil
}

// ProxyFilter is Hadoop's AmIpFilter for a web UI below the RM's proxy at base
// (/proxy/<appId>): requests from the proxies' addresses pass, the rest are
// redirected through the proxy. With no proxy known, or no base, it lets all
// through. Client mode's driver UI, outside the AM, filters with it too.
func ProxyFilter(h yarn.HadoopConfig, base string) func(http.Handler) http.Handler {
	proxies := proxyAddrs(h)
	if len(proxies) == 0 || base == "" {
		return func(next http.Handler) http.Handler { return next }
	}
	return newProxyFilter(proxies, base, net.LookupHost).wrap
}

// proxyAddrs are the RM web proxy's addresses, as Hadoop's
// WebAppUtils.getProxyHostsAndPortsForAmFilter finds them: the standalone proxy
// (yarn.web-proxy.address) if there is one, else every RM's web app, HTTPS ones
// when yarn.http.policy is HTTPS_ONLY.
func proxyAddrs(h yarn.HadoopConfig) []string {
	if h == nil {
		return nil
	}
	if v, ok := h.Get("yarn.web-proxy.address"); ok && v != "" {
		return []string{v}
	}
	key, port := "yarn.resourcemanager.webapp.address", "8088"
	if p, _ := h.Get("yarn.http.policy"); strings.EqualFold(p, "HTTPS_ONLY") {
		key, port = "yarn.resourcemanager.webapp.https.address", "8090"
	}
	addr := func(suffix string) string {
		if v, ok := h.Get(key + suffix); ok && v != "" && !strings.Contains(v, "${") {
			return v
		}
		if host, ok := h.Get("yarn.resourcemanager.hostname" + suffix); ok && host != "" {
			return net.JoinHostPort(host, port)
		}
		return ""
	}
	var out []string
	if ha, _ := h.Get("yarn.resourcemanager.ha.enabled"); strings.EqualFold(ha, "true") {
		ids, _ := h.Get("yarn.resourcemanager.ha.rm-ids")
		for _, id := range strings.Split(ids, ",") {
			if a := addr("." + strings.TrimSpace(id)); a != "" {
				out = append(out, a)
			}
		}
		return out
	}
	if a := addr(""); a != "" {
		out = append(out, a)
	}
	return out
}

// proxyFilter lets through requests from the proxies' addresses and redirects the
// rest to the first proxy, keeping the path below the application's base.
type proxyFilter struct {
	proxies []string // host:port
	base    string   // "/proxy/<appId>"
	resolve func(host string) ([]string, error)

	mu       sync.Mutex
	ips      map[string]bool
	resolved time.Time
}

// proxyRefresh is how long resolved proxy addresses are trusted, as AmIpFilter's
// update interval: an RM failover or a DNS change is seen within it.
const proxyRefresh = 5 * time.Minute

func newProxyFilter(proxies []string, base string, resolve func(string) ([]string, error)) *proxyFilter {
	return &proxyFilter{proxies: proxies, base: strings.TrimSuffix(base, "/"), resolve: resolve}
}

func (f *proxyFilter) allowed(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ips == nil || time.Since(f.resolved) > proxyRefresh {
		ips := map[string]bool{}
		for _, p := range f.proxies {
			h, _, err := net.SplitHostPort(p)
			if err != nil {
				h = p
			}
			addrs, err := f.resolve(h)
			if err != nil {
				continue
			}
			for _, a := range addrs {
				ips[a] = true
			}
		}
		f.ips, f.resolved = ips, time.Now()
	}
	return f.ips[host]
}

func (f *proxyFilter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.allowed(r.RemoteAddr) {
			next.ServeHTTP(w, r)
			return
		}
		target := "http://" + f.proxies[0] + f.base + r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusFound)
	})
}

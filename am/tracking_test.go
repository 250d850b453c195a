package am

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestProxyAddrs(t *testing.T) {
	tests := []struct {
		name string
		conf hadoopMap
		want []string
	}{
		{"standalone proxy", hadoopMap{"yarn.web-proxy.address": "proxy:9046", "yarn.resourcemanager.webapp.address": "rm:8088"}, []string{"proxy:9046"}},
		{"the RM's web app", hadoopMap{"yarn.resourcemanager.webapp.address": "rm:8088"}, []string{"rm:8088"}},
		{"an unexpanded default falls back to the hostname", hadoopMap{"yarn.resourcemanager.webapp.address": "${yarn.resourcemanager.hostname}:8088", "yarn.resourcemanager.hostname": "rm1"}, []string{"rm1:8088"}},
		{"HTTPS only", hadoopMap{"yarn.http.policy": "HTTPS_ONLY", "yarn.resourcemanager.webapp.https.address": "rm:8090", "yarn.resourcemanager.webapp.address": "rm:8088"}, []string{"rm:8090"}},
		{"RM HA: every RM", hadoopMap{"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "rm1, rm2",
			"yarn.resourcemanager.webapp.address.rm1": "a:8088", "yarn.resourcemanager.hostname.rm2": "b"}, []string{"a:8088", "b:8088"}},
		{"nothing known", hadoopMap{}, nil},
	}
	for _, tt := range tests {
		if got := proxyAddrs(tt.conf); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestTrackingPageOnlyThroughTheProxy: a request from the proxy's address gets the
// page; a direct one is redirected to the proxy, path and query kept.
func TestTrackingPageOnlyThroughTheProxy(t *testing.T) {
	resolve := func(host string) ([]string, error) {
		return map[string][]string{"proxy.example": {"10.1.2.3"}}[host], nil
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("the page")) })
	h := newProxyFilter([]string{"proxy.example:8088"}, "/proxy/application_1_0002/", resolve).wrap(page)
	tests := []struct {
		remote, path string
		wantCode     int
		wantLocation string
	}{
		{"10.1.2.3:51000", "/jobs", http.StatusOK, ""},
		{"127.0.0.1:51000", "/jobs?id=3", http.StatusFound, "http://proxy.example:8088/proxy/application_1_0002/jobs?id=3"},
		{"10.9.9.9:51000", "/", http.StatusFound, "http://proxy.example:8088/proxy/application_1_0002/"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, tt.path, nil)
		r.RemoteAddr = tt.remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.wantCode || w.Header().Get("Location") != tt.wantLocation {
			t.Errorf("%s %s: %d %q, want %d %q", tt.remote, tt.path, w.Code, w.Header().Get("Location"), tt.wantCode, tt.wantLocation)
		}
		if tt.wantCode == http.StatusOK && w.Body.String() != "the page" {
			t.Errorf("%s: body %q", tt.remote, w.Body.String())
		}
	}
}

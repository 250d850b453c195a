package yarn

import (
	"reflect"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
)

// mapConf is a HadoopConfig backed by a map.
type mapConf map[string]string

func (m mapConf) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }

func TestRMAddrs(t *testing.T) {
	tests := []struct {
		name    string
		conf    mapConf
		key     string
		port    int
		want    []string
		wantErr bool
	}{
		{"explicit", mapConf{"yarn.resourcemanager.address": "rm:1234"}, "yarn.resourcemanager.address", 8032, []string{"rm:1234"}, false},
		{"hostname default", mapConf{"yarn.resourcemanager.hostname": "rmhost"}, "yarn.resourcemanager.scheduler.address", 8030, []string{"rmhost:8030"}, false},
		{"expanded", mapConf{"yarn.resourcemanager.hostname": "h", "yarn.resourcemanager.address": "${yarn.resourcemanager.hostname}:9"}, "yarn.resourcemanager.address", 8032, []string{"h:9"}, false},
		{"nothing", mapConf{}, "yarn.resourcemanager.address", 8032, []string{"0.0.0.0:8032"}, false},
		{"ha", mapConf{
			"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "rm1, rm2",
			"yarn.resourcemanager.address.rm1": "a:1", "yarn.resourcemanager.hostname.rm2": "b",
		}, "yarn.resourcemanager.address", 8032, []string{"a:1", "b:8032"}, false},
		{"ha missing host", mapConf{
			"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "rm1",
		}, "yarn.resourcemanager.address", 8032, nil, true},
		{"ha no ids", mapConf{"yarn.resourcemanager.ha.enabled": "true"}, "yarn.resourcemanager.address", 8032, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rmAddrs(tt.conf, tt.key, tt.port)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestKerberosPrincipalPerRM: every RM's connection expects
// yarn.resourcemanager.principal (ipc substitutes each RM's host for _HOST) or its
// .pattern, and a Kerberized client without either key is an error.
func TestKerberosPrincipalPerRM(t *testing.T) {
	cl := client.NewWithPassword("alice", "EXAMPLE.COM", "pw", config.New())
	tests := []struct {
		name            string
		conf            mapConf
		principal, glob string
		wantErr         bool
	}{
		{"_HOST", mapConf{
			"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "a,b",
			"yarn.resourcemanager.address.a": "RM1.example.com:8032", "yarn.resourcemanager.address.b": "rm2.example.com:8032",
			"yarn.resourcemanager.principal": "rm/_HOST@EXAMPLE.COM",
		}, "rm/_HOST@EXAMPLE.COM", "", false},
		{"pattern", mapConf{"yarn.resourcemanager.address": "a:1", "yarn.resourcemanager.principal.pattern": "rm/*@EXAMPLE.COM"}, "", "rm/*@EXAMPLE.COM", false},
		{"no principal", mapConf{"yarn.resourcemanager.address": "a:1"}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rm, err := NewResourceManager(tt.conf, WithKerberos(cl))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "yarn.resourcemanager.principal") {
					t.Fatalf("err = %v, want one naming yarn.resourcemanager.principal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rm.Close()
			for i := range rm.addrs {
				k := rm.rpc.config(i).Kerberos
				if k.ServicePrincipal != tt.principal || k.Pattern != tt.glob || k.Key != "yarn.resourcemanager.principal" || k.Client != cl {
					t.Fatalf("RM %d: %+v", i, k)
				}
			}
		})
	}
}

// TestRMPrincipal is the renewer submitters name in delegation tokens.
func TestRMPrincipal(t *testing.T) {
	for _, tt := range []struct {
		conf mapConf
		want string
	}{
		{mapConf{"yarn.resourcemanager.address": "RM.example.com:8032", "yarn.resourcemanager.principal": "yarn/_HOST@R"}, "yarn/rm.example.com@R"},
		{mapConf{"yarn.resourcemanager.principal": "yarn/fixed@R"}, "yarn/fixed@R"},
		{mapConf{}, ""},
	} {
		if got, err := RMPrincipal(tt.conf); err != nil || got != tt.want {
			t.Errorf("RMPrincipal(%v) = %q, %v; want %q", tt.conf, got, err, tt.want)
		}
	}
}

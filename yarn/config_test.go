package yarn

import (
	"reflect"
	"testing"

	"github.com/spindle-engine/spindle/ipc"
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

func TestKerberosPrincipalPerRM(t *testing.T) {
	k := &ipc.Kerberos{}
	rm, err := NewResourceManager(mapConf{
		"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "a,b",
		"yarn.resourcemanager.address.a": "RM1.example.com:8032", "yarn.resourcemanager.address.b": "rm2.example.com:8032",
		"yarn.resourcemanager.principal": "rm/_HOST@EXAMPLE.COM",
	}, WithKerberos(k))
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	var got []string
	for i := range rm.addrs {
		got = append(got, rm.rpc.config(i).Kerberos.ServicePrincipal)
	}
	want := []string{"rm/rm1.example.com@EXAMPLE.COM", "rm/rm2.example.com@EXAMPLE.COM"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("principals %v, want %v", got, want)
	}
	if _, err := NewResourceManager(mapConf{"yarn.resourcemanager.address": "a:1"}, WithKerberos(k)); err == nil {
		t.Fatal("want an error without yarn.resourcemanager.principal")
	}
}

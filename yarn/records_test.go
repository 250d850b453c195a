package yarn

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/yarn/pb"
	"google.golang.org/protobuf/proto"
)

func TestLocalResourceProto(t *testing.T) {
	tests := []struct {
		url                      string
		scheme, host, file, user string
		port                     int32
	}{
		{"hdfs://nn:8020/user/a/app", "hdfs", "nn", "/user/a/app", "", 8020},
		{"file:///tmp/x y", "file", "", "/tmp/x y", "", 0},
		{"hdfs://bob@ha-ns/p", "hdfs", "ha-ns", "/p", "bob", 0},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			p, err := LocalResource{URL: tt.url, Size: 5, Timestamp: 7}.proto()
			if err != nil {
				t.Fatal(err)
			}
			u := p.GetResource()
			if u.GetScheme() != tt.scheme || u.GetHost() != tt.host || u.GetFile() != tt.file ||
				u.GetPort() != tt.port || u.GetUserInfo() != tt.user {
				t.Fatalf("url proto %v", u)
			}
			if p.GetType() != pb.LocalResourceTypeProto_FILE || p.GetVisibility() != pb.LocalResourceVisibilityProto_APPLICATION {
				t.Fatalf("defaults: %v %v", p.GetType(), p.GetVisibility())
			}
		})
	}
}

func TestFileResource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(path, []byte("12345"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	r, err := FileResource(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != 5 || r.Timestamp != st.ModTime().UnixMilli() || r.URL != "file://"+path {
		t.Fatalf("FileResource = %+v", r)
	}
}

// The submission context must survive the wire with every field in place,
// including explicit false for relax-locality-style proto2 defaults.
func TestSubmissionContextWire(t *testing.T) {
	s := &SubmissionContext{
		App: AppID{ClusterTimestamp: 99, ID: 3}, Name: "job", Queue: "q", AMResource: Resource{512, 1},
		AMContainer: &LaunchContext{
			Env: map[string]string{"B": "2", "A": "1"}, Commands: []string{"./am 1><LOG_DIR>/stdout"},
			Tokens: []byte("HDTS\x00\x00\x00"), ServiceData: map[string][]byte{"svc": nil},
		},
		MaxAttempts: 1, Tags: []string{"t"}, AttemptFailuresValidity: time.Hour,
	}
	p, err := s.proto()
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back pb.ApplicationSubmissionContextProto
	if err := proto.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.GetApplicationType() != "SPINDLE" || back.GetQueue() != "q" || back.GetMaxAppAttempts() != 1 ||
		back.GetAttemptFailuresValidityInterval() != 3600000 ||
		back.GetResource().GetMemory() != 512 || back.GetApplicationId().GetId() != 3 {
		t.Fatalf("context %v", &back)
	}
	env := back.GetAmContainerSpec().GetEnvironment()
	if len(env) != 2 || env[0].GetKey() != "A" {
		t.Fatalf("env %v", env)
	}
	if sd := back.GetAmContainerSpec().GetServiceData(); len(sd) != 1 || sd[0].Value == nil {
		t.Fatalf("service data %v", sd)
	}

	rr := ResourceRequest{Priority: 1, ResourceName: "*", NumContainers: 2, RelaxLocality: false}
	b, _ = proto.Marshal(rr.proto())
	var rp pb.ResourceRequestProto
	if err := proto.Unmarshal(b, &rp); err != nil || rp.RelaxLocality == nil || rp.GetRelaxLocality() {
		t.Fatalf("relax_locality=false must be on the wire: %v %v", &rp, err)
	}
}

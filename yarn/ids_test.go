package yarn

import "testing"

func TestContainerIDRoundTrip(t *testing.T) {
	app := AppID{ClusterTimestamp: 1732828800000, ID: 7}
	tests := []struct {
		name string
		id   ContainerID
		want string
	}{
		{"plain", ContainerID{Attempt: AttemptID{App: app, Attempt: 1}, ID: 2}, "container_1732828800000_0007_01_000002"},
		{"epoch", ContainerID{Attempt: AttemptID{App: app, Attempt: 3}, ID: 17<<40 | 1234567}, "container_e17_1732828800000_0007_03_1234567"},
		{"wide app", ContainerID{Attempt: AttemptID{App: AppID{1, 12345}, Attempt: 1}, ID: 1}, "container_1_12345_01_000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.id.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			back, err := ParseContainerID(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if back != tt.id {
				t.Fatalf("ParseContainerID(%q) = %+v, want %+v", tt.want, back, tt.id)
			}
		})
	}
}

func TestParseIDs(t *testing.T) {
	tests := []struct {
		in      string
		parse   func(string) (string, error)
		wantErr bool
	}{
		{"application_1732828800000_0042", func(s string) (string, error) { a, err := ParseAppID(s); return a.String(), err }, false},
		{"appattempt_1732828800000_0042_000002", func(s string) (string, error) { a, err := ParseAttemptID(s); return a.String(), err }, false},
		{"localhost:45454", func(s string) (string, error) { a, err := ParseNodeID(s); return a.String(), err }, false},
		{"application_x_0042", func(s string) (string, error) { a, err := ParseAppID(s); return a.String(), err }, true},
		{"app_1_1", func(s string) (string, error) { a, err := ParseAppID(s); return a.String(), err }, true},
		{"container_1_1_1", func(s string) (string, error) { a, err := ParseContainerID(s); return a.String(), err }, true},
		{"container_ex_1_1_1_1", func(s string) (string, error) { a, err := ParseContainerID(s); return a.String(), err }, true},
		{"localhost", func(s string) (string, error) { a, err := ParseNodeID(s); return a.String(), err }, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parse %q: want error, got %q", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.in {
				t.Fatalf("round trip %q -> %q", tt.in, got)
			}
		})
	}
}

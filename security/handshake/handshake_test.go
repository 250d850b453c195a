package handshake

import "testing"

func TestProofBindsPurposeAndFields(t *testing.T) {
	secret := []byte("s3cret")
	p := Proof(secret, ExecutorRegister, "app_1", "7")
	tests := []struct {
		name   string
		secret []byte
		proof  []byte
		use    string
		fields []string
		want   bool
	}{
		{"same everything", secret, p, ExecutorRegister, []string{"app_1", "7"}, true},
		{"other secret", []byte("other"), p, ExecutorRegister, []string{"app_1", "7"}, false},
		{"other purpose", secret, p, AMAttach, []string{"app_1", "7"}, false},
		{"other executor", secret, p, ExecutorRegister, []string{"app_1", "8"}, false},
		{"fields shifted across the boundary", secret, p, ExecutorRegister, []string{"app_17", ""}, false},
		{"one field fewer", secret, p, ExecutorRegister, []string{"app_1"}, false},
		{"truncated proof", secret, p[:16], ExecutorRegister, []string{"app_1", "7"}, false},
	}
	for _, tt := range tests {
		if got := Verify(tt.secret, tt.proof, tt.use, tt.fields...); got != tt.want {
			t.Errorf("%s: Verify = %v, want %v", tt.name, got, tt.want)
		}
	}
}

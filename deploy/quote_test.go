package deploy

import (
	"os/exec"
	"strings"
	"testing"
)

// nmExpand is the NodeManager's expansion of values and commands on Linux
// (ContainerLaunch.expandEnvironment).
var nmExpand = strings.NewReplacer("<LOG_DIR>", "/nm/logs", "<CPS>", ":", "<add-opens>", "--add-opens=x", "{{", "$", "}}", "")

// launchScript runs a script written the way the NodeManager writes
// launch_container.sh: env as export K="v", the command as exec bash -c "cmd",
// both after its expansion of markers.
func launchScript(t *testing.T, env map[string]string, command string) string {
	t.Helper()
	var b strings.Builder
	for k, v := range env {
		b.WriteString("export " + k + "=\"" + nmExpand.Replace(v) + "\"\n")
	}
	b.WriteString("exec /bin/bash -c \"" + nmExpand.Replace(command) + "\"\n")
	out, err := exec.Command("bash", "-c", b.String()).Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return string(out)
}

var awkward = []string{"plain", "two words", "it's", `"double"`, "$HOME", "${HOME}", "`id`", "$(id)", "a;b|c&d>e", "new\nline",
	"", `back\slash`, `\"`, "'''", `{"spindle.master":"yarn","x":"a\"b"}`, "tab\there", "!bang",
	"{{PWD}}", "}}", "{{{", "<LOG_DIR>/x", "a<CPS>b", "<add-opens>", `{"a":{"b":{}}}`, "<<<"}

// TestCommandArg runs quoted arguments through the NodeManager's two shells.
func TestCommandArg(t *testing.T) {
	cmd := doubleQuoted.Replace(`printf '%s\0'`)
	for _, a := range awkward {
		cmd += " " + CommandArg(a)
	}
	got := strings.Split(strings.TrimSuffix(launchScript(t, nil, cmd), "\x00"), "\x00")
	if len(got) != len(awkward) {
		t.Fatalf("the container saw %q, want %q", got, awkward)
	}
	for i := range awkward {
		if got[i] != awkward[i] {
			t.Errorf("argument %d: the container saw %q, want %q", i, got[i], awkward[i])
		}
	}
}

// TestEnvValue checks values through the NodeManager's export lines.
func TestEnvValue(t *testing.T) {
	for _, v := range awkward {
		got := launchScript(t, map[string]string{"V": EnvValue(v)}, doubleQuoted.Replace(`printf '%s' "$V"`))
		if got != v {
			t.Errorf("the container saw %q, want %q", got, v)
		}
	}
}

func TestEscapeEnv(t *testing.T) {
	conf := `{"spindle.master":"yarn"}`
	env := EscapeEnv(map[string]string{"SPINDLE_CONF": conf, "A": "plain"})
	got := launchScript(t, env, doubleQuoted.Replace(`printf '%s|%s' "$SPINDLE_CONF" "$A"`))
	if got != conf+"|plain" {
		t.Fatalf("the container saw %q", got)
	}
}

// TestShellQuote is the single-quoting alone, through one shell.
func TestShellQuote(t *testing.T) {
	for _, v := range awkward {
		out, err := exec.Command("bash", "-c", "printf '%s' "+ShellQuote(v)).Output()
		if err != nil || string(out) != v {
			t.Errorf("bash printed %q (%v), want %q", out, err, v)
		}
	}
}

func TestAMCommand(t *testing.T) {
	got := amCommand([]string{"in put", "it's", "$x"})
	want := `{{PWD}}/job 'in put' 'it'\\''s' '\$x' 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr`
	if got := amCommand([]string{"{{x}}"}); !strings.Contains(got, `'{""{x}""}'`) {
		t.Errorf("amCommand leaves {{ or }} for the NodeManager: %s", got)
	}
	if got != want {
		t.Fatalf("amCommand = %s\nwant        %s", got, want)
	}
}

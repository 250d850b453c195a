package deploy

import "strings"

// The NodeManager writes a container's launch script with the environment as
// `export KEY="value"` and the command as `exec /bin/bash -c "command"`, copying
// both verbatim (Hadoop's ContainerLaunch.UnixShellScriptBuilder). So every value
// passes through one double-quoted layer of bash, and command arguments through a
// second, unquoted one. Before that it expands its own markers in both: {{ and }}
// (parameter expansion), <LOG_DIR>, <CPS> and the like; values break them up with ""
// (an empty double-quoted string) so that bash joins what the NodeManager left alone.

// ShellQuote quotes s for bash in single quotes, inside which nothing is special; a
// single quote is closed, escaped, reopened.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// doubleQuoted escapes what bash expands inside double quotes.
var doubleQuoted = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")

// EnvValue is v as a LaunchContext environment value, escaped so that the process
// sees exactly v (JSON values such as SPINDLE_CONF need it for their quotes and
// braces).
func EnvValue(v string) string { return breakMarkers(doubleQuoted.Replace(v)) }

// EscapeEnv returns env with every value passed through EnvValue: use it on any
// LaunchContext.Env (an executor's too) whose values are not plain words.
func EscapeEnv(env map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = EnvValue(v)
	}
	return out
}

// CommandArg is an argument for a LaunchContext command: single-quoted for the inner
// shell, escaped for the NodeManager's double quotes around the whole command.
func CommandArg(s string) string { return breakMarkers(doubleQuoted.Replace(ShellQuote(s))) }

// breakMarkers puts "" between two equal braces and after every <, where the
// NodeManager would otherwise see {{, }} or <NAME>. s is already escaped for double
// quotes, so its quotes are escaped ones and "" is a real empty string.
func breakMarkers(s string) string {
	var b strings.Builder
	var prev rune
	for _, r := range s {
		if (r == '{' || r == '}') && r == prev {
			b.WriteString(`""`)
		}
		b.WriteRune(r)
		if r == '<' {
			b.WriteString(`""`)
		}
		prev = r
	}
	return b.String()
}

// amCommand is the AM container's command line.
func amCommand(args []string) string {
	var b strings.Builder
	b.WriteString("{{PWD}}/" + JobResource)
	for _, a := range args {
		b.WriteString(" " + CommandArg(a))
	}
	b.WriteString(" 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr")
	return b.String()
}

// ProcessEnv is what every Spindle container's environment gets so that the
// process stays inside YARN's virtual-memory check (yarn.nodemanager.vmem-check-
// enabled, 2.1 × the container by default). A Go binary that links libc gets a
// 64 MiB glibc malloc arena reserved for nearly every thread that ever calls malloc
// (cgo thread starts, the resolver): seven of them, 450 MiB of address space, were
// a quarter of an idle executor's virtual size. Two arenas are plenty for the little
// C code Spindle runs. What remains is Go's own reservation (about 1.1 GiB on
// linux/amd64, PROT_NONE, fixed) plus the heap.
var ProcessEnv = map[string]string{"MALLOC_ARENA_MAX": "2"}

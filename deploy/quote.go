package deploy

import "strings"

// ShellQuote quotes s for bash, which runs container commands unescaped: inside
// single quotes nothing is special, and a single quote is closed, escaped, reopened.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// amCommand is the AM container's command line.
func amCommand(args []string) string {
	var b strings.Builder
	b.WriteString("{{PWD}}/" + JobResource)
	for _, a := range args {
		b.WriteString(" " + ShellQuote(a))
	}
	b.WriteString(" 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr")
	return b.String()
}

// Command spindle submits Spindle jobs and manages them.
//
//	spindle submit [options] <job binary> [job arguments]
//	spindle version
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "submit":
		return submit(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "spindle %s %s\n", version, goVersion())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "spindle: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return ""
}

const usage = `Usage: spindle submit [options] <job binary> [job arguments]
Usage: spindle version

Commands:
  submit    Run a job binary built against package spindle.
  version   Print the version of Spindle.

Run 'spindle submit --help' for the options of submit.
`

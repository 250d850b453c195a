// Command spindle submits Spindle jobs and manages them.
//
//	spindle submit [options] <job binary> [job arguments]
//	spindle status [--verbose] [--principal P --keytab F] <application id>
//	spindle kill [--verbose] [--principal P --keytab F] <application id>
//	spindle conf [--markdown] [word...]
//	spindle logs [--container ID] [--follow] <application id>
//	spindle history [--dir DIR] [--port N]
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
	case "status":
		return status(args[1:], stdout, stderr)
	case "kill":
		return kill(args[1:], stdout, stderr)
	case "conf":
		return confCmd(args[1:], stdout, stderr)
	case "logs":
		return logsCmd(args[1:], stdout, stderr)
	case "history":
		return historyCmd(args[1:], stdout, stderr)
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
Usage: spindle status [--verbose] [--principal P --keytab F] <application id>
Usage: spindle kill [--verbose] [--principal P --keytab F] <application id>
Usage: spindle conf [--markdown] [WORD...]
Usage: spindle logs [--container ID] [--follow] [--principal P --keytab F] <application id>
Usage: spindle history [--dir DIR] [--port N] [--bind ADDR] [--conf K=V]...
Usage: spindle version

Commands:
  submit    Run a job binary built against package spindle.
  status    Print a YARN application's state, final status and diagnostics.
  kill      Kill a YARN application and wait until it has ended.
  conf      List the configuration keys: default, Spark name, meaning.
  logs      Print a YARN application's container logs, as yarn logs does: live from
            the NodeManagers while it runs (--follow: as they grow), else from
            YARN's aggregated logs in HDFS.
  history   Serve the web UI and Spark's REST API of ended (and running)
            applications from their event logs (spindle.eventLog.dir).
  version   Print the version of Spindle.

status and kill find the ResourceManager through HADOOP_CONF_DIR (or YARN_CONF_DIR);
on a Kerberized cluster they log in as submit does (--principal and --keytab, else
the ticket cache); --verbose adds the server's stack trace to their errors.

Run 'spindle submit --help' for the options of submit.
`

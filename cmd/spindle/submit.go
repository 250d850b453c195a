package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/scheduler"
)

const submitUsage = `Usage: spindle submit [options] <job binary> [job arguments]

Options:
  --master MASTER_URL         local, local[N] (N slots), local[*] (one slot per core)
                              or yarn. Default: local[*].
  --deploy-mode DEPLOY_MODE   Where the driver runs on YARN: client (here) or cluster
                              (in the ApplicationMaster). Default: client.
  --name NAME                 A name for the application.
  --conf, -c KEY=VALUE        Any configuration key (repeatable). spark.* names of
                              keys Spindle shares with Spark are accepted.
  --properties-file FILE      Configuration file of "key value" lines, as
                              spark-defaults.conf. Flags override it.
  --driver-memory MEM         Memory for the driver (e.g. 1000M, 2G). Default: 1g.
                              In local mode this is the memory of the whole job.
  --driver-cores NUM          Cores for the driver in cluster mode. Default: 1.
  --executor-memory MEM       Memory per executor (e.g. 1000M, 2G). Default: 1g.
  --executor-cores NUM        Cores per executor. Default: 1.
  --num-executors NUM         Number of executors to launch. Default: 2.
  --queue QUEUE_NAME          The YARN queue to submit to. Default: "default".
  --files FILES               Comma-separated files placed in the working directory
                              of each executor (and of the driver in cluster mode);
                              path#name renames one, hdfs:// paths are not copied.
  --archives ARCHIVES         Comma-separated archives (.zip, .tar.gz, .tgz, .tar)
                              extracted into the working directory of each executor.
  --principal PRINCIPAL       Kerberos principal to log in as on a Kerberized cluster,
                              with --keytab. Without both, the ticket cache of kinit
                              (KRB5CCNAME, else the default cache) is used; krb5.conf
                              is KRB5_CONFIG, else /etc/krb5.conf.
  --keytab KEYTAB             The principal's keytab. In cluster mode it is shipped to
                              the ApplicationMaster alone, which renews the job's
                              delegation tokens with it.
  --verbose, -v               Print debug logs.
  --help, -h                  Show this help message and exit.

On YARN, HADOOP_CONF_DIR (or YARN_CONF_DIR) names the cluster. In cluster mode submit
prints the application's state changes and exits 0 only if it SUCCEEDED; with
--conf spindle.yarn.submit.waitAppCompletion=false it returns once the application
runs. Ctrl-C stops waiting but leaves the application running (spindle kill ends it).
`

// flagKeys maps spark-submit style flags to the configuration keys they set.
var flagKeys = []struct{ flag, key, help string }{
	{"master", "spindle.master", ""},
	{"deploy-mode", "spindle.submit.deployMode", ""},
	{"name", "spindle.app.name", ""},
	{"driver-memory", "spindle.driver.memory", ""},
	{"driver-cores", "spindle.driver.cores", ""},
	{"executor-memory", "spindle.executor.memory", ""},
	{"executor-cores", "spindle.executor.cores", ""},
	{"num-executors", "spindle.executor.instances", ""},
	{"queue", "spindle.yarn.queue", ""},
	{"files", "spindle.yarn.dist.files", ""},
	{"archives", "spindle.yarn.dist.archives", ""},
	{"principal", "spindle.kerberos.principal", ""},
	{"keytab", "spindle.kerberos.keytab", ""},
}

// confList collects repeated --conf flags.
type confList []string

func (c *confList) String() string     { return strings.Join(*c, ",") }
func (c *confList) Set(v string) error { *c = append(*c, v); return nil }

// submitArgs is a parsed submit command line.
type submitArgs struct {
	conf    *conf.Conf
	verbose bool
	binary  string
	args    []string
}

func parseSubmit(args []string, stderr io.Writer) (*submitArgs, error) {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var confs confList
	var propsFile string
	var verbose, help bool
	values := map[string]*string{}
	for _, f := range flagKeys {
		values[f.flag] = fs.String(f.flag, "", f.help)
	}
	fs.Var(&confs, "conf", "")
	fs.Var(&confs, "c", "")
	fs.StringVar(&propsFile, "properties-file", "", "")
	fs.BoolVar(&verbose, "verbose", false, "")
	fs.BoolVar(&verbose, "v", false, "")
	fs.BoolVar(&help, "help", false, "")
	fs.BoolVar(&help, "h", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if help {
		return nil, flag.ErrHelp
	}
	c := conf.New()
	if propsFile != "" {
		if err := c.LoadProperties(propsFile); err != nil {
			return nil, fmt.Errorf("--properties-file: %w", err)
		}
		warnUnknown(c, "--properties-file "+propsFile, stderr)
	}
	for _, f := range flagKeys {
		if v := *values[f.flag]; v != "" {
			if err := c.Set(f.key, v); err != nil {
				return nil, fmt.Errorf("--%s %s: %w", f.flag, v, err)
			}
		}
	}
	for _, kv := range confs {
		if err := c.ParseFlag(kv); err != nil {
			var unknown *conf.UnknownKeyError
			if errors.As(err, &unknown) {
				fmt.Fprintf(stderr, "spindle: warning: --conf: %v\n", err)
				continue
			}
			return nil, fmt.Errorf("--conf %s: %w", kv, err)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := absKeytab(c); err != nil {
		return nil, err
	}
	if fs.NArg() == 0 {
		return nil, errors.New("no job binary given")
	}
	return &submitArgs{conf: c, verbose: verbose, binary: fs.Arg(0), args: fs.Args()[1:]}, nil
}

// warnUnknown warns once about each key in c that Spindle does not know (kept: the
// job may read its own keys). Submit is where unknown keys are warned about: the
// driver it starts does not warn again.
func warnUnknown(c *conf.Conf, from string, stderr io.Writer) {
	explicit := c.Explicit()
	names := make([]string, 0, len(explicit))
	for k := range explicit {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		// Setting the value again is how conf names the nearest known key.
		var unknown *conf.UnknownKeyError
		if err := c.Set(k, explicit[k]); errors.As(err, &unknown) {
			fmt.Fprintf(stderr, "spindle: warning: %s: %v\n", from, err)
		}
	}
}

func submit(args []string, stdout, stderr io.Writer) int {
	sa, err := parseSubmit(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, submitUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "spindle submit: %v\n\nRun 'spindle submit --help' for usage.\n", err)
		return 2
	}
	master := sa.conf.String("spindle.master")
	if master == "yarn" {
		return submitYARN(sa, stdout, stderr)
	}
	if !strings.HasPrefix(master, "local") {
		fmt.Fprintf(stderr, "spindle submit: --master %s: want yarn, local, local[N] or local[*]\n", master)
		return 2
	}
	if _, err := scheduler.ParseLocalMaster(master); err != nil {
		fmt.Fprintf(stderr, "spindle submit: --master %s: %v\n", master, err)
		return 2
	}
	if deployMode(sa.conf) == "cluster" {
		fmt.Fprintf(stderr, "spindle submit: --deploy-mode cluster needs --master yarn (a local master runs the driver here)\n")
		return 2
	}
	return runLocal(sa, stderr)
}

// jobBinary checks that the job binary is an executable file and returns a path
// exec can run (./job for a bare name).
func jobBinary(name string, stderr io.Writer) (string, bool) {
	bin := name
	if !strings.ContainsRune(bin, filepath.Separator) {
		bin = "." + string(filepath.Separator) + bin
	}
	st, err := os.Stat(bin)
	if err != nil {
		fmt.Fprintf(stderr, "spindle submit: job binary %s: %v\n", name, err)
		return "", false
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		fmt.Fprintf(stderr, "spindle submit: job binary %s is not an executable file (build it with 'go build')\n", name)
		return "", false
	}
	return bin, true
}

// runLocal runs the job binary as the driver, with the configuration in its
// environment, and passes its exit code on: local mode, and YARN client mode, where
// the driver submits its own ApplicationMaster.
func runLocal(sa *submitArgs, stderr io.Writer) int {
	bin, ok := jobBinary(sa.binary, stderr)
	if !ok {
		return 2
	}
	explicit, err := json.Marshal(sa.conf.Explicit())
	if err != nil {
		fmt.Fprintf(stderr, "spindle submit: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := exec.Command(bin, sa.args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = driverProcAttr()
	cmd.Env = append(os.Environ(), deploy.EnvConf+"="+string(explicit))
	if sa.verbose {
		cmd.Env = append(cmd.Env, deploy.EnvLogLevel+"=debug")
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "spindle submit: start %s: %v\n", sa.binary, err)
		return 2
	}
	// Pass an interrupt on to the job so that it can abort its output cleanly.
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
		case <-done:
		}
	}()
	err = cmd.Wait()
	close(done)
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if code := exitErr.ExitCode(); code > 0 {
			return code
		}
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "spindle submit: %v\n", err)
		return 1
	}
	return 0
}

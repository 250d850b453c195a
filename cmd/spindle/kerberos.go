package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/security/kerberos"
)

// loginTimeout bounds a Kerberos login: gokrb5 gives each KDC 5 s to connect and
// 5 s to answer, so a dead KDC fails the command in seconds.
const loginTimeout = 30 * time.Second

// login logs in to a Kerberized cluster: from keytab as principal when given
// (--principal and --keytab), else from the ticket cache (KRB5CCNAME, then the
// default cache), with krb5.conf from KRB5_CONFIG or /etc/krb5.conf. It returns nil
// on an open cluster.
func login(h *conf.Hadoop, principal, keytab string) (*kerberos.User, error) {
	if !kerberos.Kerberized(h) {
		return nil, nil
	}
	opts, err := kerberos.LoginOptions(principal, keytab, kerberos.Env{
		KRB5Config: os.Getenv("KRB5_CONFIG"), KRB5CCName: os.Getenv("KRB5CCNAME"), UID: os.Getuid()})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	defer cancel()
	return kerberos.Login(ctx, opts)
}

// absKeytab makes --keytab absolute, so that it names the same file for the
// driver process a client-mode submit starts.
func absKeytab(c *conf.Conf) error {
	kt := c.Get("spindle.kerberos.keytab")
	if kt == "" {
		return nil
	}
	abs, err := filepath.Abs(kt)
	if err != nil {
		return fmt.Errorf("--keytab %s: %w", kt, err)
	}
	return c.Set("spindle.kerberos.keytab", abs)
}

// appArgs is a parsed "status" or "kill" command line.
type appArgs struct {
	id                string
	principal, keytab string
	verbose           bool // errors with the server's stack trace
}

// parseAppArgs parses "[--verbose] [--principal P --keytab F] <application id>".
func parseAppArgs(name string, args []string, stderr io.Writer) (appArgs, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var a appArgs
	fs.StringVar(&a.principal, "principal", "", "")
	fs.StringVar(&a.keytab, "keytab", "", "")
	fs.BoolVar(&a.verbose, "verbose", false, "")
	fs.BoolVar(&a.verbose, "v", false, "")
	err := fs.Parse(args)
	if err == nil && fs.NArg() != 1 {
		err = errors.New("want one application id")
	}
	if err != nil {
		fmt.Fprintf(stderr, "usage: spindle %s [--verbose] [--principal PRINCIPAL --keytab KEYTAB] <application id>: %v\n", name, err)
		return a, false
	}
	a.id = fs.Arg(0)
	return a, true
}

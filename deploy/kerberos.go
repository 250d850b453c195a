package deploy

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/security/tokens"
	"github.com/spindle-engine/spindle/yarn"
)

// KeytabResource is the keytab's name in the ApplicationMaster's working directory
// (cluster mode with --keytab): the AM logs in from it to renew the tokens. It is
// localized for the AM only, as a private resource, and no executor gets it.
const KeytabResource = "__spindle__.keytab"

// amKeytab is the keytab staged for the AM and the principal it logs in as.
type amKeytab struct {
	resource  yarn.LocalResource
	principal string
}

// fsOptions is how the submitter reaches HDFS: as the user, with its login.
func (s *Spec) fsOptions(user string) (hdfs.Options, error) {
	o, err := hdfs.OptionsFrom(s.Hadoop, user)
	if err != nil {
		return o, err
	}
	if s.Kerberos != nil {
		o.Kerberos = s.Kerberos.Client()
	}
	return o, nil
}

// rmOptions is how the submitter reaches the RM: it warns once when the RM does not
// answer, as the retries take a while.
func (s *Spec) rmOptions(user string) []yarn.Option {
	opts := []yarn.Option{yarn.WithUser(user), yarn.WithRetryNotice(func(addr string, retries int, err error) {
		s.Log.Warn().Msgf("the ResourceManager at %s does not answer (%v); retrying up to %d times (spindle.yarn.rm.connect.maxRetries)", addr, err, retries)
	})}
	if v := s.Conf.Get("spindle.yarn.rm.connect.maxRetries"); v != "" {
		// ipc's 0 means its default: no retries is a negative count there.
		n := s.Conf.Int("spindle.yarn.rm.connect.maxRetries")
		if n == 0 {
			n = -1
		}
		opts = append(opts, yarn.WithMaxRetries(n))
	}
	if s.Kerberos != nil {
		opts = append(opts, yarn.WithKerberos(s.Kerberos.Client()))
	}
	return opts
}

// obtainTokens gets the application's delegation tokens on a Kerberized cluster:
// HDFS tokens for the default FS, the staging FS and
// spindle.kerberos.access.hadoopFileSystems, and an RM token (the AM's node reports
// and, in client mode, its only way to the RM's client protocol), all renewable by
// the RM. Nil without a login.
func obtainTokens(ctx context.Context, spec *Spec, fsOpts hdfs.Options, staging string) ([]*ipc.Token, error) {
	if spec.Kerberos == nil {
		return nil, nil
	}
	fss := []string{fsOpts.DefaultFS, staging}
	fss = append(fss, SplitList(spec.Conf.Get("spindle.kerberos.access.hadoopFileSystems"))...)
	ts, err := tokens.Obtain(ctx, tokens.Config{
		Kerberos: spec.Kerberos.Client(), Principal: spec.Kerberos.Principal(), Hadoop: spec.Hadoop,
		FS: fsOpts, FileSystems: fss, RM: true, Log: spec.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("delegation tokens: %w", err)
	}
	return ts, nil
}

// keytabUpload is the keytab to stage for the AM, or nil: only in cluster mode,
// where the AM renews the tokens; in client mode the driver renews them here.
func keytabUpload(spec *Spec) (*upload, error) {
	if spec.Kerberos == nil || spec.Kerberos.Keytab() == "" || spec.Mode != ModeCluster {
		return nil, nil
	}
	// The login read it a moment ago; a vanished keytab is still worth a clear error.
	if _, err := os.Stat(spec.Kerberos.Keytab()); err != nil {
		return nil, fmt.Errorf("keytab: %w", err)
	}
	return &upload{key: KeytabResource, stagedName: KeytabResource, local: spec.Kerberos.Keytab(), typ: yarn.File}, nil
}

// AccessNote says until when the application can reach HDFS and the RM: the
// earliest max date of its tokens when no keytab renews them (a ticket-cache
// submission), "" otherwise.
func (a *App) AccessNote() string {
	if a.AccessEnds.IsZero() {
		return ""
	}
	return fmt.Sprintf("no keytab: YARN renews the application's delegation tokens until %s (their max lifetime); a job still running then loses access to HDFS. Pass --principal and --keytab for longer jobs.",
		a.AccessEnds.Local().Format(time.RFC3339))
}

package roles

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/internal/cluster"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/security/delegation"
	"github.com/spindle-engine/spindle/security/kerberos"
	"github.com/spindle-engine/spindle/security/tokens"
	"github.com/spindle-engine/spindle/yarn"
)

// loginTimeout bounds a Kerberos login (gokrb5 bounds each KDC at 5 s + 5 s).
const loginTimeout = 30 * time.Second

// driverLogin is the driver process's Kerberos login on a Kerberized cluster:
// from spindle.kerberos.principal and keytab, else (outside YARN) the ticket cache
// KRB5CCNAME or the default one, with krb5.conf from KRB5_CONFIG or /etc/krb5.conf.
// The ApplicationMaster logs in only with the keytab submit shipped it; without
// one it has its container's tokens alone. A local job on such a cluster runs
// without a login when there is none, and its HDFS access fails saying why.
func driverLogin(c *conf.Conf, h *conf.Hadoop, inAM bool, log zerolog.Logger) (*kerberos.User, error) {
	if !kerberos.Kerberized(h) {
		return nil, nil
	}
	principal, keytab := c.Get("spindle.kerberos.principal"), c.Get("spindle.kerberos.keytab")
	if inAM && keytab == "" {
		return nil, nil
	}
	opts, err := kerberos.LoginOptions(principal, keytab, kerberos.Env{
		KRB5Config: os.Getenv("KRB5_CONFIG"), KRB5CCName: os.Getenv("KRB5CCNAME"), UID: os.Getuid()})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	defer cancel()
	u, err := kerberos.Login(ctx, opts)
	if err != nil && c.String("spindle.master") != "yarn" && !inAM {
		log.Warn().Err(err).Msg("no Kerberos login: HDFS on this Kerberized cluster will refuse the job")
		return nil, nil
	}
	return u, err
}

// containerTokens are the delegation tokens in a container's credentials,
// without the AMRMToken, which only the AM's RM client uses.
func containerTokens(creds *yarn.Credentials) []*ipc.Token {
	if creds == nil {
		return nil
	}
	var out []*ipc.Token
	for _, t := range creds.Tokens {
		if t.Kind == delegation.KindHDFS || t.Kind == delegation.KindRM {
			out = append(out, t)
		}
	}
	return out
}

// fsOptions is how this process reaches HDFS: as user, with its tokens and login.
func fsOptions(h *conf.Hadoop, user string, ts []*ipc.Token, login *kerberos.User) (hdfs.Options, error) {
	var hc hdfs.HadoopConfig
	if h != nil {
		hc = h
	}
	o, err := hdfs.OptionsFrom(hc, user)
	if err != nil {
		return o, fmt.Errorf("Hadoop configuration: %w", err)
	}
	o.Tokens = ts
	if login != nil {
		o.Kerberos = login.Client()
	}
	return o, nil
}

// renewer renews the application's tokens from the driver's keytab login: in the
// AM (cluster mode) and in a client-mode driver. Nil without a keytab: a ticket
// cache cannot log in again, and YARN renews the tokens up to their max lifetime.
func renewer(c *conf.Conf, h *conf.Hadoop, fsOpts hdfs.Options, login *kerberos.User, staging string, log zerolog.Logger) cluster.TokenRenewer {
	if login == nil || login.Keytab() == "" {
		return nil
	}
	fss := append([]string{fsOpts.DefaultFS, staging}, deploy.SplitList(c.Get("spindle.kerberos.access.hadoopFileSystems"))...)
	return tokens.NewRenewer(tokens.Config{
		Kerberos: login.Client(), Principal: login.Principal(), Hadoop: h, FS: fsOpts,
		FileSystems: fss, RM: true, Log: log,
	}, login, c.Float("spindle.kerberos.renewal.ratio"), c.Duration("spindle.kerberos.renewal.retryWait"))
}

// executorTokens returns an executor's handler of renewed tokens: they replace
// those its HDFS clients use.
func executorTokens(fs *hdfs.FileSystems, log zerolog.Logger) func([]byte) {
	return func(b []byte) {
		creds, err := yarn.ParseCredentials(b, "renewed tokens")
		if err != nil {
			log.Warn().Err(err).Msg("renewed delegation tokens unreadable; keeping the current ones")
			return
		}
		ts := containerTokens(creds)
		fs.SetTokens(ts)
		log.Info().Int("tokens", len(ts)).Time("until", tokens.AccessEnds(ts)).Msg("delegation tokens replaced")
	}
}

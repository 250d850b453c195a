// Package tokens obtains the delegation tokens an application needs on a
// Kerberized cluster and renews them the way Spark's HadoopDelegationTokenManager
// does: HDFS tokens for every filesystem the job touches and an RM token, all with
// the ResourceManager as renewer so that YARN keeps them alive; and, with a keytab,
// fresh tokens at a ratio of their renew interval, handed to whoever must use them.
package tokens

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/security/delegation"
	"github.com/spindle-engine/spindle/yarn"
)

// HadoopConfig is the part of conf.Hadoop the package reads.
type HadoopConfig interface {
	Get(key string) (string, bool)
}

// Config says whose tokens to obtain, and for what.
type Config struct {
	// Kerberos is the logged-in user's client: NameNodes and the RM issue tokens
	// only over Kerberos.
	Kerberos *client.Client
	// Principal is the user's principal, the renewer of the tokens that only
	// measure the renew interval.
	Principal string
	Hadoop    HadoopConfig
	// FS reaches HDFS (DefaultFS, Security); its Kerberos and Tokens are ignored.
	FS hdfs.Options
	// FileSystems are the hdfs:// URLs to obtain tokens for: the default FS, the
	// staging FS and spindle.kerberos.access.hadoopFileSystems. One token per
	// NameNode.
	FileSystems []string
	// RM also obtains an RM delegation token.
	RM bool
	// Renewer is who may renew the tokens; "" means the RM's principal
	// (yarn.RMPrincipal), which YARN needs to renew them for the application.
	Renewer string
	Log     zerolog.Logger
}

// Obtain gets a delegation token for every distinct NameNode of cfg.FileSystems
// and, with cfg.RM, one from the ResourceManager.
func Obtain(ctx context.Context, cfg Config) ([]*ipc.Token, error) {
	if cfg.Kerberos == nil {
		return nil, errors.New("delegation tokens need a Kerberos login")
	}
	renewer, err := cfg.renewer()
	if err != nil {
		return nil, err
	}
	fss := cfg.fileSystems()
	defer fss.Close()
	var out []*ipc.Token
	for _, fs := range distinct(cfg.FileSystems, cfg.FS.DefaultFS) {
		t, err := fss.DelegationToken(ctx, fs, renewer)
		if err != nil {
			return nil, fmt.Errorf("HDFS delegation token for %s: %w", fs, err)
		}
		if t == nil {
			cfg.Log.Debug().Str("fs", fs).Msg("the NameNode issues no delegation tokens (an open cluster)")
			continue
		}
		out = append(out, t)
		cfg.Log.Info().Str("fs", fs).Str("service", t.Service).Str("renewer", renewer).Str("until", describe(t)).Msg("obtained an HDFS delegation token")
	}
	if cfg.RM {
		rm, err := yarn.NewResourceManager(cfg.Hadoop, yarn.WithKerberos(cfg.Kerberos))
		if err != nil {
			return nil, err
		}
		defer rm.Close()
		t, err := rm.DelegationToken(ctx, renewer)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		cfg.Log.Info().Str("service", t.Service).Str("renewer", renewer).Str("until", describe(t)).Msg("obtained an RM delegation token")
	}
	return out, nil
}

func (cfg *Config) renewer() (string, error) {
	if cfg.Renewer != "" {
		return cfg.Renewer, nil
	}
	r, err := yarn.RMPrincipal(cfg.Hadoop)
	if err != nil {
		return "", fmt.Errorf("token renewer: %w", err)
	}
	if r == "" {
		return "", errors.New("token renewer: yarn.resourcemanager.principal is not set (the ResourceManager must be able to renew the application's tokens)")
	}
	return r, nil
}

// fileSystems is a FileSystems that authenticates with Kerberos only: a NameNode
// refuses to issue tokens over a token-authenticated connection.
func (cfg *Config) fileSystems() *hdfs.FileSystems {
	o := cfg.FS
	o.Kerberos, o.Tokens = cfg.Kerberos, nil
	return hdfs.NewFileSystems(o)
}

// RenewInterval learns the NameNodes' delegation token renew interval the way
// Spark does: it obtains a token the user may renew, renews it, and takes the new
// expiry less the issue date; the token is cancelled after. With several
// NameNodes the shortest interval counts. Zero when no NameNode issues tokens.
func RenewInterval(ctx context.Context, cfg Config) (time.Duration, error) {
	if cfg.Kerberos == nil {
		return 0, errors.New("delegation tokens need a Kerberos login")
	}
	fss := cfg.fileSystems()
	defer fss.Close()
	var interval time.Duration
	for _, fs := range distinct(cfg.FileSystems, cfg.FS.DefaultFS) {
		t, err := fss.DelegationToken(ctx, fs, cfg.Principal)
		if err != nil {
			return 0, fmt.Errorf("renew interval of %s: %w", fs, err)
		}
		if t == nil {
			continue
		}
		expiry, err := fss.RenewDelegationToken(ctx, fs, t)
		if err != nil {
			return 0, fmt.Errorf("renew interval of %s: %w", fs, err)
		}
		if err := fss.CancelDelegationToken(ctx, fs, t); err != nil {
			cfg.Log.Debug().Err(err).Str("fs", fs).Msg("cancel the token that measured the renew interval")
		}
		id, err := delegation.Parse(t.Kind, t.Identifier)
		if err != nil {
			return 0, fmt.Errorf("renew interval of %s: %w", fs, err)
		}
		if d := expiry.Sub(id.IssueDate); d > 0 && (interval == 0 || d < interval) {
			interval = d
		}
	}
	return interval, nil
}

// distinct is the filesystems to obtain tokens for, one per NameNode: hdfs:///
// means the default FS; non-HDFS ones need none.
func distinct(fss []string, defaultFS string) []string {
	seen := map[string]bool{}
	var out []string
	for _, fs := range fss {
		u, err := url.Parse(strings.TrimSpace(fs))
		if err != nil || u.Scheme != "hdfs" {
			continue
		}
		host := u.Host
		if host == "" {
			d, err := url.Parse(defaultFS)
			if err != nil || d.Host == "" {
				continue
			}
			host = d.Host
		}
		if !seen[host] {
			seen[host] = true
			out = append(out, "hdfs://"+host)
		}
	}
	sort.Strings(out)
	return out
}

// describe is a token's max date, for logs (never its identifier or password).
func describe(t *ipc.Token) string {
	id, err := delegation.Parse(t.Kind, t.Identifier)
	if err != nil {
		return "unknown"
	}
	return id.MaxDate.UTC().Format(time.RFC3339)
}

// AccessEnds is the earliest max date among tokens: YARN renews them up to it and
// no further, so an application that no keytab renews (a ticket-cache submission)
// loses access to that service then. Zero when none has a readable max date.
func AccessEnds(tokens []*ipc.Token) time.Time {
	var end time.Time
	for _, t := range tokens {
		id, err := delegation.Parse(t.Kind, t.Identifier)
		if err != nil || id.MaxDate.IsZero() {
			continue
		}
		if end.IsZero() || id.MaxDate.Before(end) {
			end = id.MaxDate
		}
	}
	return end
}

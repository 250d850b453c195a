package tokens

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/security/delegation"
)

// Renewal defaults, Spark's (spark.security.credentials.renewalRatio, retryWait).
const (
	DefaultRatio     = 0.75
	DefaultRetryWait = time.Hour
)

// source is where a Renewer gets tokens; the cluster in production, a fake in
// tests.
type source interface {
	// Obtain logs in again and gets a new set of tokens.
	Obtain(ctx context.Context) ([]*ipc.Token, error)
	// Interval is the tokens' renew interval.
	Interval(ctx context.Context) (time.Duration, error)
}

// Relogin is a login that can get a fresh ticket-granting ticket, as
// *kerberos.User does from its keytab.
type Relogin interface {
	Relogin(ctx context.Context) error
}

// clusterSource obtains tokens from the cluster as cfg says.
type clusterSource struct {
	cfg   Config
	login Relogin
}

func (s clusterSource) Obtain(ctx context.Context) ([]*ipc.Token, error) {
	if err := s.login.Relogin(ctx); err != nil {
		return nil, err
	}
	return Obtain(ctx, s.cfg)
}

func (s clusterSource) Interval(ctx context.Context) (time.Duration, error) {
	return RenewInterval(ctx, s.cfg)
}

// Renewer replaces an application's delegation tokens before they expire: at
// Ratio of the way from now to the earliest expiry (issue date plus the renew
// interval, capped by the max date) it logs in again from the keytab and obtains
// new ones; a failure is retried after RetryWait. It runs where the keytab is: the
// ApplicationMaster in cluster mode, the driver in client mode.
type Renewer struct {
	src       source
	ratio     float64
	retryWait time.Duration
	log       zerolog.Logger
	now       func() time.Time
	after     func(time.Duration) <-chan time.Time
}

// NewRenewer returns a Renewer that obtains tokens as cfg says after login logs
// in again. ratio ≤ 0 or ≥ 1 means DefaultRatio; retryWait ≤ 0 DefaultRetryWait.
func NewRenewer(cfg Config, login Relogin, ratio float64, retryWait time.Duration) *Renewer {
	return newRenewer(clusterSource{cfg: cfg, login: login}, ratio, retryWait, cfg.Log)
}

func newRenewer(src source, ratio float64, retryWait time.Duration, log zerolog.Logger) *Renewer {
	if ratio <= 0 || ratio >= 1 {
		ratio = DefaultRatio
	}
	if retryWait <= 0 {
		retryWait = DefaultRetryWait
	}
	return &Renewer{src: src, ratio: ratio, retryWait: retryWait, log: log, now: time.Now, after: time.After}
}

// Run renews until ctx ends, starting from current (the tokens the application
// has now), and hands every new set to deliver. It returns ctx's error.
func (r *Renewer) Run(ctx context.Context, current []*ipc.Token, deliver func(context.Context, []*ipc.Token)) error {
	var interval time.Duration
	for interval == 0 {
		var err error
		if interval, err = r.src.Interval(ctx); err != nil || interval == 0 {
			r.log.Warn().Err(err).Dur("retryIn", r.retryWait).Msg("cannot learn the delegation tokens' renew interval; retrying")
			interval = 0
			if err := r.wait(ctx, r.retryWait); err != nil {
				return err
			}
		}
	}
	next := NextRenewal(current, interval, r.ratio, r.now())
	for {
		r.log.Info().Time("at", next).Msg("next delegation token renewal")
		if err := r.wait(ctx, next.Sub(r.now())); err != nil {
			return err
		}
		tokens, err := r.src.Obtain(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.log.Warn().Err(err).Dur("retryIn", r.retryWait).Msg("obtaining new delegation tokens failed; retrying")
			next = r.now().Add(r.retryWait)
			continue
		}
		r.log.Info().Int("tokens", len(tokens)).Msg("obtained new delegation tokens")
		deliver(ctx, tokens)
		next = NextRenewal(tokens, interval, r.ratio, r.now())
	}
}

func (r *Renewer) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-r.after(d):
		return nil
	}
}

// NextRenewal is when to obtain new tokens: now plus ratio of the time left to the
// earliest expiry among tokens, where a token expires at its issue date plus the
// renew interval unless its max date comes first. Tokens whose identifier cannot
// be read do not count; with none left it is now.
func NextRenewal(tokens []*ipc.Token, interval time.Duration, ratio float64, now time.Time) time.Time {
	var first time.Time
	for _, t := range tokens {
		id, err := delegation.Parse(t.Kind, t.Identifier)
		if err != nil {
			continue
		}
		exp := id.IssueDate.Add(interval)
		if !id.MaxDate.IsZero() && id.MaxDate.Before(exp) {
			exp = id.MaxDate
		}
		if first.IsZero() || exp.Before(first) {
			first = exp
		}
	}
	if first.IsZero() || !first.After(now) {
		return now
	}
	return now.Add(time.Duration(ratio * float64(first.Sub(now))))
}

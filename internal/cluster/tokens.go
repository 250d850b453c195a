package cluster

import (
	"context"
	"time"

	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/yarn"
)

// TokenRenewer replaces an application's delegation tokens before they expire;
// *tokens.Renewer is one.
type TokenRenewer interface {
	Run(ctx context.Context, current []*ipc.Token, deliver func(context.Context, []*ipc.Token)) error
}

// startRenewer runs the renewer until Close, from the tokens the application has:
// the AM container's (cluster mode) or those submit obtained (client mode).
func (cl *Cluster) startRenewer(ctx context.Context) {
	if cl.cfg.Renewer == nil {
		return
	}
	var current []*ipc.Token
	switch {
	case cl.cfg.AM != nil:
		for _, t := range cl.cfg.AM.delegationTokens() {
			current = append(current, t)
		}
	case cl.app != nil:
		current = cl.app.Tokens
	}
	cl.wg.Add(1)
	go func() {
		defer cl.wg.Done()
		if err := cl.cfg.Renewer.Run(ctx, current, cl.deliverTokens); err != nil && ctx.Err() == nil {
			cl.cfg.Log.Error().Err(err).Msg("delegation token renewal stopped")
		}
	}()
}

// tokenSendTimeout bounds handing renewed tokens to the executors' streams.
const tokenSendTimeout = 30 * time.Second

// deliverTokens hands renewed tokens to the driver's own clients, to executors
// launched from now on and to the running ones.
func (cl *Cluster) deliverTokens(ctx context.Context, ts []*ipc.Token) {
	if cl.cfg.OnTokens != nil {
		cl.cfg.OnTokens(ts)
	}
	if cl.cfg.AM != nil {
		cl.cfg.AM.SetTokens(ts)
	}
	creds := yarn.NewCredentials()
	for _, t := range ts {
		creds.Tokens[tokenAlias(t)] = t
	}
	sctx, cancel := context.WithTimeout(ctx, tokenSendTimeout)
	defer cancel()
	if err := cl.backend.UpdateTokens(sctx, creds.Bytes()); err != nil {
		cl.cfg.Log.Warn().Err(err).Msg("renewed delegation tokens not sent to every executor")
		return
	}
	cl.cfg.Log.Info().Int("tokens", len(ts)).Int("executors", cl.backend.NumExecutors()).Msg("sent renewed delegation tokens to the executors")
}

// tokenAlias names a token in a credentials file.
func tokenAlias(t *ipc.Token) string { return t.Kind + "@" + t.Service }

// SetTokens replaces the delegation tokens of executors launched from now on.
func (ct *Container) SetTokens(ts []*ipc.Token) {
	m := make(map[string]*ipc.Token, len(ts))
	for _, t := range ts {
		m[tokenAlias(t)] = t
	}
	ct.mu.Lock()
	ct.renewed = m
	ct.mu.Unlock()
}

// delegationTokens are the tokens executors get: the renewed ones, else the AM
// container's own, without its AMRMToken, which is the AM's alone.
func (ct *Container) delegationTokens() map[string]*ipc.Token {
	ct.mu.Lock()
	renewed := ct.renewed
	ct.mu.Unlock()
	if renewed != nil {
		return renewed
	}
	out := map[string]*ipc.Token{}
	if ct.Env == nil || ct.Env.Credentials == nil {
		return out
	}
	for alias, t := range ct.Env.Credentials.Tokens {
		if t != ct.Env.AMRMToken {
			out[alias] = t
		}
	}
	return out
}

// removeStaging removes the staging directory through the driver's filesystems.
func (cl *Cluster) removeStaging(ctx context.Context) error {
	if cl.cfg.FS != nil {
		return deploy.RemoveStagingIn(ctx, cl.cfg.FS, cl.cfg.AM.StagingDir)
	}
	opts, err := hdfs.OptionsFrom(cl.cfg.Hadoop, cl.cfg.User)
	if err != nil {
		return err
	}
	return deploy.RemoveStagingURL(ctx, cl.cfg.AM.StagingDir, opts)
}

// Package kerberos logs a user in to Kerberos for Hadoop's RPC: from a keytab
// (Spark's --principal and --keytab) or from the ticket cache `kinit` wrote, with
// krb5.conf from KRB5_CONFIG or /etc/krb5.conf. It reads no environment itself: the
// process roles and the CLI pass KRB5_CONFIG and KRB5CCNAME in (see ConfigPath and
// CachePath). Failures are typed errors whose text says what to do.
//
// It is built on jcmturner/gokrb5, which reads FILE ticket caches only and has no
// RFC 1964 wrap tokens, so rc4-hmac cannot protect Hadoop RPC: realms must offer
// AES keys (see docs/kerberos.md).
package kerberos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Options choose how to log in: Principal and Keytab together log in from the
// keytab; neither uses the ticket cache.
type Options struct {
	Principal string // e.g. alice@EXAMPLE.COM; without a realm, krb5.conf's default realm
	Keytab    string
	// Config is the krb5.conf path (ConfigPath).
	Config string
	// Cache is the ticket cache's path without a keytab (CachePath).
	Cache string
}

// User is a logged-in Kerberos principal. Its client renews its ticket-granting
// ticket by itself when it logged in from a keytab; one from a ticket cache lasts
// as long as the cache's ticket (see Expires). Close it when done.
type User struct {
	cl        *client.Client
	principal string
	realm     string
	keytab    string
	cache     string
	expires   time.Time
	renewTill time.Time
}

// Login logs in as opts say. It checks what it can before asking the KDC (the
// files, the principal in the keytab, the cached ticket's end), and turns the
// KDC's refusals into errors that say what to do. gokrb5 takes no context: each
// KDC it tries is bounded by its own timeouts (5 s to connect, 5 s to answer),
// so ctx is checked before the exchange only.
func Login(ctx context.Context, opts Options) (*User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if (opts.Principal == "") != (opts.Keytab == "") {
		return nil, errors.New("--principal and --keytab (spindle.kerberos.principal, spindle.kerberos.keytab) go together: give both, or neither to use the ticket cache")
	}
	cfg, err := loadConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	if opts.Keytab != "" {
		return keytabLogin(cfg, opts)
	}
	return cacheLogin(cfg, opts)
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		path = ConfigPath("")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, &ConfigError{Path: path, Err: err}
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, &ConfigError{Path: path, Err: err}
	}
	return cfg, nil
}

func keytabLogin(cfg *config.Config, opts Options) (*User, error) {
	b, err := os.ReadFile(opts.Keytab)
	if err != nil {
		return nil, &KeytabError{Path: opts.Keytab, Err: err}
	}
	kt := keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		return nil, &KeytabError{Path: opts.Keytab, Err: fmt.Errorf("not a keytab: %w", err)}
	}
	name, realm := splitPrincipal(opts.Principal, cfg.LibDefaults.DefaultRealm)
	if realm == "" {
		return nil, &ConfigError{Path: opts.Config, Err: fmt.Errorf("principal %s names no realm and krb5.conf has no default_realm", opts.Principal)}
	}
	full := name + "@" + realm
	var held []string
	found := false
	for _, e := range kt.Entries {
		p := strings.Join(e.Principal.Components, "/") + "@" + e.Principal.Realm
		if p == full {
			found = true
			break
		}
		if !contains(held, p) {
			held = append(held, p)
		}
	}
	if !found {
		return nil, &PrincipalNotInKeytabError{Principal: full, Keytab: opts.Keytab, Held: held}
	}
	cl := client.NewWithKeytab(name, realm, kt, cfg, client.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		cl.Destroy()
		return nil, classify(err, full, realm, cfg)
	}
	return &User{cl: cl, principal: full, realm: realm, keytab: opts.Keytab}, nil
}

func cacheLogin(cfg *config.Config, opts Options) (*User, error) {
	path := opts.Cache
	if path == "" {
		return nil, &NoCredentialsError{}
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, &NoCredentialsError{Cache: path}
	}
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		return nil, &CacheError{Path: path, Err: err}
	}
	full := cc.DefaultPrincipal.PrincipalName.PrincipalNameString() + "@" + cc.DefaultPrincipal.Realm
	tgt, ok := cc.GetEntry(types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", cc.DefaultPrincipal.Realm}})
	if !ok {
		return nil, &NoCredentialsError{Cache: path, Principal: full}
	}
	if now := time.Now(); !now.Before(tgt.EndTime) {
		return nil, &ExpiredError{Principal: full, Cache: path, At: tgt.EndTime}
	}
	cl, err := client.NewFromCCache(cc, cfg, client.DisablePAFXFAST(true))
	if err != nil {
		return nil, &CacheError{Path: path, Err: err}
	}
	return &User{cl: cl, principal: full, realm: cc.DefaultPrincipal.Realm, cache: path, expires: tgt.EndTime, renewTill: tgt.RenewTill}, nil
}

// splitPrincipal splits name[@REALM], defaulting the realm.
func splitPrincipal(p, defaultRealm string) (name, realm string) {
	if i := strings.LastIndexByte(p, '@'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, defaultRealm
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Client is the logged-in gokrb5 client, for ipc.Kerberos.
func (u *User) Client() *client.Client { return u.cl }

// Principal is the full principal name, e.g. alice@EXAMPLE.COM.
func (u *User) Principal() string { return u.principal }

// Realm is the principal's realm.
func (u *User) Realm() string { return u.realm }

// ShortName is the principal's name as Hadoop's DEFAULT auth_to_local rule maps it:
// its first component, e.g. alice for alice/host@EXAMPLE.COM. Clusters with other
// rules name their users differently; callers may override it.
func (u *User) ShortName() string { return ShortName(u.principal) }

// Keytab is the keytab the user logged in from, "" for a ticket cache.
func (u *User) Keytab() string { return u.keytab }

// Cache is the ticket cache the user logged in from, "" for a keytab.
func (u *User) Cache() string { return u.cache }

// Expires is when a ticket-cache login's ticket-granting ticket ends, and until
// when `kinit -R` may renew it; both zero for a keytab login, which never ends.
func (u *User) Expires() (end, renewTill time.Time) { return u.expires, u.renewTill }

// Relogin gets a new ticket-granting ticket from the keytab; a ticket-cache login
// cannot, and returns an error saying so once its ticket has ended.
func (u *User) Relogin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if u.keytab == "" {
		if !time.Now().Before(u.expires) {
			return &ExpiredError{Principal: u.principal, Cache: u.cache, At: u.expires}
		}
		return nil
	}
	if err := u.cl.Login(); err != nil {
		return classify(err, u.principal, u.realm, u.cl.Config)
	}
	return nil
}

// Close ends the client's sessions and its renewal.
func (u *User) Close() { u.cl.Destroy() }

// ShortName maps a principal by Hadoop's DEFAULT auth_to_local rule: the first
// component of its name.
func ShortName(principal string) string {
	name, _ := splitPrincipal(principal, "")
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return name
}

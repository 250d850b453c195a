package kerberos

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
)

// The errors a login may end with. Each says what the user can do; callers that
// act on one (the CLI's exit code, a retry) match it with errors.As.

// NoCredentialsError is a login with neither a keytab nor a ticket cache.
type NoCredentialsError struct {
	Cache     string // the cache looked for, if any
	Principal string // set when the cache exists but holds no ticket-granting ticket
}

// Error is the "how to log in" message.
func (e *NoCredentialsError) Error() string {
	where := ""
	switch {
	case e.Principal != "":
		where = fmt.Sprintf(" (ticket cache %s holds no ticket-granting ticket for %s)", e.Cache, e.Principal)
	case e.Cache != "":
		where = fmt.Sprintf(" (no ticket cache at %s)", e.Cache)
	}
	return "no Kerberos credentials" + where + ": run kinit or pass --principal and --keytab"
}

// ConfigError is a krb5.conf that is missing or unreadable.
type ConfigError struct {
	Path string
	Err  error
}

// Error names the file and how to point at another.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("krb5.conf %s: %v (set KRB5_CONFIG to the realm's krb5.conf)", e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// KeytabError is a keytab that is missing, unreadable or not a keytab.
type KeytabError struct {
	Path string
	Err  error
}

// Error names the keytab.
func (e *KeytabError) Error() string {
	return fmt.Sprintf("keytab %s: %v (check --keytab, and that this user may read the file)", e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *KeytabError) Unwrap() error { return e.Err }

// PrincipalNotInKeytabError is a principal the keytab has no key for.
type PrincipalNotInKeytabError struct {
	Principal, Keytab string
	Held              []string // the principals the keytab does hold
}

// Error names the principal, the keytab and what it holds.
func (e *PrincipalNotInKeytabError) Error() string {
	held := "no principals"
	if len(e.Held) > 0 {
		h := append([]string(nil), e.Held...)
		sort.Strings(h)
		held = strings.Join(h, ", ")
	}
	return fmt.Sprintf("principal %s is not in keytab %s (it holds %s): check --principal and --keytab", e.Principal, e.Keytab, held)
}

// ExpiredError is a ticket cache whose ticket-granting ticket has ended.
type ExpiredError struct {
	Principal, Cache string
	At               time.Time
}

// Error says when and what to run.
func (e *ExpiredError) Error() string {
	return fmt.Sprintf("the Kerberos ticket of %s in %s expired at %s: run kinit again (or pass --principal and --keytab)",
		e.Principal, e.Cache, e.At.Local().Format(time.RFC3339))
}

// CacheError is a ticket cache that cannot be read.
type CacheError struct {
	Path string
	Err  error
}

// Error names the cache.
func (e *CacheError) Error() string {
	return fmt.Sprintf("ticket cache %s: %v (run kinit again)", e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *CacheError) Unwrap() error { return e.Err }

// KDCError is the KDC refusing or not answering a login, classified.
type KDCError struct {
	Principal, Realm string
	Kind             KDCFailure
	KDCs             []string // the KDCs krb5.conf names for the realm
	Err              error    // gokrb5's error
}

// KDCFailure classifies a KDCError.
type KDCFailure int

// The failures a user can do something about.
const (
	KDCOther            KDCFailure = iota
	KDCUnreachable                 // no KDC answered within the bound
	KDCClockSkew                   // this clock and the KDC's differ too much
	KDCUnknownPrincipal            // the KDC does not know the principal
	KDCWrongKey                    // the keytab's key is not the KDC's (re-exported since)
	KDCNoCommonEnctype             // no encryption type both sides allow
)

// Error says what happened and what to do.
func (e *KDCError) Error() string {
	switch e.Kind {
	case KDCUnreachable:
		return fmt.Sprintf("no KDC of realm %s answered (tried %s, 5 s each): check the realm's kdc entries in krb5.conf and that the KDC runs and is reachable: %v",
			e.Realm, strings.Join(e.KDCs, ", "), e.Err)
	case KDCClockSkew:
		return fmt.Sprintf("the KDC of realm %s refused %s for clock skew: this machine's clock differs from the KDC's by more than the allowed skew (5 minutes by default); synchronise it (NTP)",
			e.Realm, e.Principal)
	case KDCUnknownPrincipal:
		return fmt.Sprintf("the KDC of realm %s does not know principal %s: check --principal", e.Realm, e.Principal)
	case KDCWrongKey:
		return fmt.Sprintf("the KDC of realm %s rejected the key of %s (pre-authentication failed): the keytab is stale, export it again", e.Realm, e.Principal)
	case KDCNoCommonEnctype:
		return fmt.Sprintf("the KDC of realm %s and this client share no encryption type for %s: Spindle needs AES keys (aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96); rc4-hmac cannot be used", e.Realm, e.Principal)
	}
	return fmt.Sprintf("Kerberos login of %s: %v", e.Principal, e.Err)
}

// Unwrap returns gokrb5's error.
func (e *KDCError) Unwrap() error { return e.Err }

// classify turns gokrb5's error (which flattens the KDC's error into text) into
// a *KDCError.
func classify(err error, principal, realm string, cfg *config.Config) error {
	e := &KDCError{Principal: principal, Realm: realm, Err: err}
	for _, r := range cfg.Realms {
		if r.Realm == realm {
			e.KDCs = append(e.KDCs, r.KDC...)
		}
	}
	msg := err.Error()
	has := func(code int32) bool { return strings.Contains(msg, errorcode.Lookup(code)) }
	switch {
	case has(errorcode.KRB_AP_ERR_SKEW):
		e.Kind = KDCClockSkew
	case has(errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN):
		e.Kind = KDCUnknownPrincipal
	case has(errorcode.KDC_ERR_PREAUTH_FAILED), has(errorcode.KRB_AP_ERR_BAD_INTEGRITY):
		e.Kind = KDCWrongKey
	case has(errorcode.KDC_ERR_ETYPE_NOSUPP):
		e.Kind = KDCNoCommonEnctype
	case strings.Contains(msg, "communication error with KDC"), strings.Contains(msg, "failed to communicate with KDC"),
		strings.Contains(msg, "error sending to a KDC"), strings.Contains(msg, "Networking_Error"):
		e.Kind = KDCUnreachable
	}
	return e
}

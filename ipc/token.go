package ipc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Token is a Hadoop security token (org.apache.hadoop.security.token.Token).
// Identifier and Password are the raw bytes; Kind names the identifier's
// format (e.g. "YARN_AM_RM_TOKEN") and Service the address it is for.
type Token struct {
	Identifier, Password []byte
	Kind, Service        string
}

// identity is a stable key for pooling: two tokens with the same identity
// may share a connection; a rolled token (new password) may not.
func (t *Token) identity() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s:%d:", len(t.Kind), t.Kind, len(t.Identifier))
	h.Write(t.Identifier)
	h.Write(t.Password)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// QOP is a SASL quality of protection: "auth", "auth-int" or "auth-conf".
type QOP string

// The SASL qualities of protection, weakest first.
const (
	QOPAuth     QOP = "auth"
	QOPAuthInt  QOP = "auth-int"
	QOPAuthConf QOP = "auth-conf"
)

// rank orders QOPs by strength; unknown values rank below auth.
func (q QOP) rank() int {
	switch q {
	case QOPAuth, "":
		return 0
	case QOPAuthInt:
		return 1
	case QOPAuthConf:
		return 2
	}
	return -1
}

// ParseProtection maps a hadoop.rpc.protection value (authentication,
// integrity, privacy; a comma list picks the strongest) to a QOP.
// The empty string means authentication.
func ParseProtection(s string) (QOP, error) {
	best := QOPAuth
	for _, part := range strings.Split(s, ",") {
		var q QOP
		switch strings.ToLower(strings.TrimSpace(part)) {
		case "", "authentication":
			q = QOPAuth
		case "integrity":
			q = QOPAuthInt
		case "privacy":
			q = QOPAuthConf
		default:
			return "", fmt.Errorf("parse hadoop.rpc.protection %q: unknown value %q", s, part)
		}
		if q.rank() > best.rank() {
			best = q
		}
	}
	return best, nil
}

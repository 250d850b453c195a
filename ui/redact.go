package ui

import "regexp"

// Redacted stands for a secret's value on the environment page and in event logs.
const Redacted = "*********(redacted)"

// DefaultRedaction is Spark's spark.redaction.regex default, the keys (or values)
// whose values are secrets.
const DefaultRedaction = `(?i)secret|password|token|access[.]key`

// Redact returns a copy of conf whose values are Redacted wherever the key or the
// value matches re, as Spark redacts its environment page and event log.
func Redact(conf map[string]string, re *regexp.Regexp) map[string]string {
	out := make(map[string]string, len(conf))
	for k, v := range conf {
		if re.MatchString(k) || re.MatchString(v) {
			v = Redacted
		}
		out[k] = v
	}
	return out
}

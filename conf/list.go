package conf

import (
	"fmt"
	"io"
	"strings"
)

// testingPrefix marks keys that only Spindle's own tests set (fault injection):
// listings leave them out.
const testingPrefix = "spindle.testing."

// Listed returns the keys users set, sorted by name: every key but the test-only
// spindle.testing.* ones. `spindle conf` and the README's table list these.
func Listed() []Key {
	var out []Key
	for _, k := range Keys() {
		if !strings.HasPrefix(k.Name, testingPrefix) {
			out = append(out, k)
		}
	}
	return out
}

// unsetMeans introduces, in a key's Doc, what an unset key means.
const unsetMeans = "unset means "

// DefaultText is the key's default as a person reads it: the value, or for a key
// without one what its Doc says unset means (e.g. "max(384m, 10% of executor
// memory)"), or "unset".
func (k Key) DefaultText() string {
	if k.Default != "" {
		return k.Default
	}
	if _, unset, ok := k.splitDoc(); ok {
		return unset
	}
	return "unset"
}

// Meaning is the key's Doc without the clause DefaultText already shows.
func (k Key) Meaning() string {
	if k.Default == "" {
		if meaning, _, ok := k.splitDoc(); ok {
			return meaning
		}
	}
	return k.Doc
}

// splitDoc cuts "what it does; unset means X. More." into "what it does. More."
// and "X".
func (k Key) splitDoc() (meaning, unset string, ok bool) {
	i := strings.Index(k.Doc, unsetMeans)
	if i < 0 {
		return "", "", false
	}
	before := strings.TrimRight(strings.TrimSpace(k.Doc[:i]), ";,")
	rest := k.Doc[i+len(unsetMeans):]
	after := ""
	if j := strings.Index(rest, ". "); j >= 0 {
		rest, after = rest[:j], rest[j+2:]
	}
	unset = strings.TrimSuffix(rest, ".")
	switch {
	case before == "":
		meaning = after
	case after == "":
		meaning = before
	default:
		meaning = before + ". " + after
	}
	return meaning, unset, true
}

// WriteText writes the keys for a terminal: each key with its default and Spark
// alias on one line, its meaning indented below.
func WriteText(w io.Writer, ks []Key) error {
	for _, k := range ks {
		line := k.Name + " = " + k.Default
		if k.Default == "" {
			line = k.Name + " (unset)"
			if _, unset, ok := k.splitDoc(); ok {
				line = k.Name + " (unset: " + unset + ")"
			}
		}
		if len(k.Aliases) > 0 {
			line += "  [Spark: " + strings.Join(k.Aliases, ", ") + "]"
		}
		if _, err := fmt.Fprintf(w, "%s\n    %s\n", line, k.Meaning()); err != nil {
			return err
		}
	}
	return nil
}

// WriteMarkdown writes the keys as the README's configuration table: key, default,
// Spark alias, meaning.
func WriteMarkdown(w io.Writer, ks []Key) error {
	var b strings.Builder
	b.WriteString("| key | default | Spark name | meaning |\n| --- | --- | --- | --- |\n")
	for _, k := range ks {
		def := "`" + k.Default + "`"
		if k.Default == "" {
			def = cell(k.DefaultText())
		}
		var aliases []string
		for _, a := range k.Aliases {
			aliases = append(aliases, "`"+a+"`")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, def, strings.Join(aliases, ", "), cell(k.Meaning()))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell escapes text for a Markdown table cell: the column separator, and what
// would start emphasis or an HTML tag.
var cell = strings.NewReplacer("|", `\|`, "*", `\*`, "<", "&lt;").Replace

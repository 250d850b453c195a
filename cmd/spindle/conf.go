package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/spindle-engine/spindle/conf"
)

const confUsage = `Usage: spindle conf [--markdown] [WORD...]

Lists every configuration key with its default, its Spark name (accepted as well) and
what it means; with words, only the keys whose name or meaning contains one of them
(case-insensitive), e.g. 'spindle conf memory yarn.am'. --markdown prints the table
the README shows.
`

// confCmd lists the configuration keys.
func confCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conf", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	markdown := fs.Bool("markdown", false, "")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "spindle conf: %v\n\n%s", err, confUsage)
		return 2
	}
	if *help {
		fmt.Fprint(stdout, confUsage)
		return 0
	}
	keys := matching(conf.Listed(), fs.Args())
	if len(keys) == 0 {
		fmt.Fprintf(stderr, "spindle conf: no key matches %s\n", strings.Join(fs.Args(), " "))
		return 1
	}
	write := conf.WriteText
	if *markdown {
		write = conf.WriteMarkdown
	}
	if err := write(stdout, keys); err != nil {
		fmt.Fprintf(stderr, "spindle conf: %v\n", err)
		return 1
	}
	return 0
}

// matching keeps the keys whose name, Spark name or meaning contains one of words;
// all of them without words.
func matching(keys []conf.Key, words []string) []conf.Key {
	if len(words) == 0 {
		return keys
	}
	var out []conf.Key
	for _, k := range keys {
		text := strings.ToLower(k.Name + " " + strings.Join(k.Aliases, " ") + " " + k.Doc)
		for _, w := range words {
			if strings.Contains(text, strings.ToLower(w)) {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

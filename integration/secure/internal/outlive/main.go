// Command outlive is a job that outlives its first delegation tokens, for the
// secure end-to-end tests:
//
//	outlive <input> <middle> <output>
//
// It counts the words of input into middle, waits until every HDFS delegation
// token it started with is past its max lifetime (so that the NameNode would
// refuse them), then reads middle again on the same executors and writes it to
// output. Only tokens renewed by the ApplicationMaster and delivered to the
// executors let the second half reach HDFS.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spindle-engine/spindle"
	"github.com/spindle-engine/spindle/security/delegation"
	"github.com/spindle-engine/spindle/yarn"
)

// Count counts whitespace-separated words.
var Count = spindle.Register("outlive-count", func(s *spindle.Session, in string) spindle.Dataset[spindle.KV[string, int]] {
	words := spindle.FlatMap(spindle.ReadText(s, in), strings.Fields)
	ones := spindle.Map(words, func(w string) spindle.KV[string, int] { return spindle.KV[string, int]{Key: w, Value: 1} })
	return spindle.ReduceByKey(ones, func(a, b int) int { return a + b })
})

// Copy reads lines back, through a shuffle so that executors read and write.
var Copy = spindle.Register("outlive-copy", func(s *spindle.Session, in string) spindle.Dataset[string] {
	return spindle.Repartition(spindle.ReadText(s, in), 2)
})

// tokensEnd is the latest max date of the HDFS delegation tokens this process
// (the ApplicationMaster) started with.
func tokensEnd() (time.Time, error) {
	creds, err := yarn.ReadCredentials(os.Getenv("HADOOP_TOKEN_FILE_LOCATION"))
	if err != nil {
		return time.Time{}, err
	}
	var end time.Time
	for _, t := range creds.Tokens {
		if t.Kind != delegation.KindHDFS {
			continue
		}
		id, err := delegation.Parse(t.Kind, t.Identifier)
		if err != nil {
			return time.Time{}, err
		}
		if id.MaxDate.After(end) {
			end = id.MaxDate
		}
	}
	if end.IsZero() {
		return end, errors.New("no HDFS delegation token in the container's credentials")
	}
	return end, nil
}

func main() {
	spindle.Main(func(ctx context.Context, s *spindle.Session) error {
		if len(os.Args) != 4 {
			return fmt.Errorf("usage: outlive <input> <middle> <output>")
		}
		end, err := tokensEnd()
		if err != nil {
			return err
		}
		if err := spindle.SaveAsText(ctx, Count.Build(ctx, s, os.Args[1]), os.Args[2]); err != nil {
			return err
		}
		// The workload itself: run until the first tokens are dead, plus a margin
		// for the NameNode's clock.
		fmt.Printf("outlive: waiting until %s, past the first tokens' max lifetime\n", end.Add(5*time.Second).UTC().Format(time.RFC3339))
		select {
		case <-time.After(time.Until(end.Add(5 * time.Second))):
		case <-ctx.Done():
			return ctx.Err()
		}
		return spindle.SaveAsText(ctx, Copy.Build(ctx, s, os.Args[2]), os.Args[3])
	})
}

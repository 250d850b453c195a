package yarnlogs

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Print writes one log file as `yarn logs` prints it: a header naming the
// container, its node and the file, the content, and a footer. An aggregated
// file is framed as LogsCLI frames it; a live one (running says its container
// still runs, so the log may grow) as the NodeManager's web services frame it,
// which LogsCLI prints as they come: without the newline before the footer.
func Print(w io.Writer, f LogFile, content []byte, running bool) error {
	kind := "LOCAL"
	if f.Aggregated {
		kind = "AGGREGATED"
	}
	head := fmt.Sprintf("Container: %s on %s", f.Container, f.Node)
	endOfFile := "End of LogType:" + f.Name
	end := endOfFile
	if running {
		end += ".This log file belongs to a running container (" + f.Container + ") and so may not be complete."
	}
	if f.Aggregated {
		end = "\n" + end
	}
	modified := ""
	if !f.Modified.IsZero() {
		modified = f.Modified.Format(javaDate)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nLogAggregationType: %s\n%s\nLogType:%s\nLogLastModifiedTime:%s\nLogLength:%d\nLogContents:\n",
		head, kind, strings.Repeat("=", len(head)), f.Name, modified, len(content))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if _, err := w.Write(content); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s\n%s\n\n", end, strings.Repeat("*", len(endOfFile)+50))
	return err
}

// unframe takes a log file's content out of the NodeManager's framing of it
// (Hadoop 3's /ws/v1/node/containerlogs answers in `yarn logs` form): the
// LogLength bytes after "LogContents:". An answer without the framing (older
// NodeManagers) is the content itself.
func unframe(b []byte) ([]byte, error) {
	s := string(b)
	if !strings.HasPrefix(s, "Container: ") {
		return b, nil
	}
	const lenKey, contents = "\nLogLength:", "\nLogContents:\n"
	i, j := strings.Index(s, lenKey), strings.Index(s, contents)
	if i < 0 || j < i {
		return nil, fmt.Errorf("a NodeManager's log answer without LogLength and LogContents: %.200q", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s[i+len(lenKey) : j]))
	body := b[j+len(contents):]
	if err != nil || n < 0 || n > len(body) {
		return nil, fmt.Errorf("a NodeManager's log answer whose LogLength %q does not fit its %d bytes", s[i+len(lenKey):j], len(body))
	}
	return body[:n], nil
}

// Block is one log file's content as Parse finds it in `yarn logs` output.
type Block struct {
	Container, Node, Name string
	Content               string
}

// Parse splits `yarn logs` output (Hadoop's or Print's) into its log files, for
// comparing two tools' output. A file's content is the LogLength bytes after its
// LogContents line (else what comes before its footer). Lines outside blocks
// (Hadoop's warnings) are skipped.
func Parse(out string) []Block {
	var blocks []Block
	for {
		i := strings.Index(out, "Container: ")
		if i < 0 {
			return blocks
		}
		out = out[i:]
		line, rest, _ := strings.Cut(out, "\n")
		container, node, _ := strings.Cut(strings.TrimPrefix(line, "Container: "), " on ")
		t := strings.Index(rest, "\nLogType:")
		c := strings.Index(rest, "\nLogContents:\n")
		if t < 0 || c < 0 || t > c {
			return blocks
		}
		name, _, _ := strings.Cut(rest[t+len("\nLogType:"):], "\n")
		body := rest[c+len("\nLogContents:\n"):]
		n := -1
		if l := strings.Index(rest[:c], "\nLogLength:"); l >= 0 {
			if v, err := strconv.Atoi(strings.TrimSpace(rest[l+len("\nLogLength:") : c])); err == nil && v >= 0 && v <= len(body) {
				n = v
			}
		}
		if n < 0 {
			n = strings.Index(body, "\nEnd of LogType:"+name)
			if n < 0 {
				return blocks
			}
		}
		blocks = append(blocks, Block{Container: container, Node: node, Name: name, Content: body[:n]})
		out = body[n:]
	}
}

// Command score summarises a `go test -json` run of protocol-tests read
// from standard input: the upstream score (the leaf subtests of
// TestUpstream, one per test of the official suite), the score of the other
// tests, and every failed test with its first error line. It exits 1 when
// the input holds no test result.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// event is the part of a test2json event that matters here.
type event struct {
	Action string
	Test   string
	Output string
}

// errLine matches the location prefix of a t.Error or t.Fatal line.
var errLine = regexp.MustCompile(`^[A-Za-z0-9_]+_test\.go:[0-9]+: `)

func main() {
	name := flag.String("name", "server", "name printed before the scores")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *name); err != nil {
		fmt.Fprintln(os.Stderr, "score:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, name string) error {
	status := map[string]string{}
	firstErr := map[string]string{}
	var order []string
	dec := json.NewDecoder(bufio.NewReader(in))
	for {
		var e event
		err := dec.Decode(&e)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if e.Test == "" {
			continue
		}
		switch e.Action {
		case "pass", "fail", "skip":
			if _, seen := status[e.Test]; !seen {
				order = append(order, e.Test)
			}
			status[e.Test] = e.Action
		case "output":
			line := strings.TrimSpace(e.Output)
			if firstErr[e.Test] == "" && errLine.MatchString(line) && !strings.Contains(line, "NOTE:") {
				firstErr[e.Test] = line
			}
		}
	}
	if len(order) == 0 {
		return fmt.Errorf("%s: no test results in the input", name)
	}
	parent := map[string]bool{}
	for _, t := range order {
		for i := strings.LastIndex(t, "/"); i > 0; i = strings.LastIndex(t[:i], "/") {
			parent[t[:i]] = true
		}
	}
	type tally struct{ pass, fail, skip int }
	var up, other tally
	var failed []string
	for _, t := range order {
		if parent[t] {
			continue
		}
		c := &other
		if strings.HasPrefix(t, "TestUpstream/") {
			c = &up
		}
		switch status[t] {
		case "pass":
			c.pass++
		case "fail":
			c.fail++
			failed = append(failed, t)
		case "skip":
			c.skip++
		}
	}
	fmt.Fprintf(out, "%s: upstream %d/%d passed", name, up.pass, up.pass+up.fail)
	if up.skip > 0 {
		fmt.Fprintf(out, " (%d skipped)", up.skip)
	}
	fmt.Fprintf(out, "; other tests %d/%d passed", other.pass, other.pass+other.fail)
	if other.skip > 0 {
		fmt.Fprintf(out, " (%d skipped)", other.skip)
	}
	fmt.Fprintln(out)
	for _, t := range failed {
		fmt.Fprintf(out, "  FAIL %s: %s\n", t, firstErr[t])
	}
	return nil
}

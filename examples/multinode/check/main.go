// Command check is the client side of the multi-node test (../run.sh). For
// every transport it opens receivers through the load balancer (-url),
// learns from each one's first message which node it landed on, connects a
// publisher straight to another node (-node), publishes numbered messages
// there, and checks that the receiver gets all of them, in order, through
// Redis and the load balancer. Then the receiver sends one message back
// over its own transport (xhr_send for the HTTP ones, which only works if
// the balancer routes it to the receiver's node), and the publisher must
// get it.
//
//	check -url http://127.0.0.1:8080/chat -node A=http://127.0.0.1:8081/chat -node B=http://127.0.0.1:8082/chat
//
// With -presence, it checks the chat's presence instead (examples/chat on
// each node): see presenceRun.
//
// It prints one line per case and, last, "<label>: N passed, M failed";
// it exits with status 1 if any case failed.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-sockjs/sockjs/client"
)

// nodeFlags collects -node NAME=URL.
type nodeFlags map[string]string

func (n nodeFlags) String() string { return fmt.Sprint(map[string]string(n)) }

func (n nodeFlags) Set(v string) error {
	name, u, ok := strings.Cut(v, "=")
	if !ok || name == "" || u == "" {
		return errors.New("want NAME=URL")
	}
	n[name] = u
	return nil
}

var transports = []client.Transport{client.WebSocket, client.XHRStreaming, client.XHRPolling, client.EventSource}

func main() {
	nodes := nodeFlags{}
	base := flag.String("url", "", "the service through the load balancer")
	flag.Var(nodes, "node", "NAME=URL of a node, straight (repeat for each node)")
	label := flag.String("label", "multinode", "name of this run in the output")
	messages := flag.Int("messages", 100, "messages per case")
	clients := flag.Int("clients", 3, "receivers per transport")
	timeout := flag.Duration("timeout", 30*time.Second, "bound for the whole run")
	presence := flag.Bool("presence", false, "check the chat's presence, then kill -kill-node")
	killNode := flag.String("kill-node", "", "with -presence: the node to kill")
	killPID := flag.Int("kill-pid", 0, "with -presence: its process id")
	ttl := flag.Duration("ttl", 2*time.Second, "with -presence: the chat's -presence-ttl")
	flag.Parse()
	if *base == "" || len(nodes) < 2 {
		fmt.Fprintln(os.Stderr, "check: need -url and at least two -node")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if *presence {
		passed, failed := presenceRun(ctx, *label, *base, nodes, *killNode, *killPID, *ttl)
		fmt.Printf("%s: %d passed, %d failed\n", *label, passed, failed)
		if failed > 0 {
			os.Exit(1)
		}
		return
	}

	type result struct {
		name string
		node string // where the receiver landed
		err  error
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []result
	)
	for _, tr := range transports {
		for k := range *clients {
			name := fmt.Sprintf("%s %s #%d", *label, tr, k)
			wg.Go(func() {
				node, detail, err := runCase(ctx, *base, nodes, tr, *messages, name)
				mu.Lock()
				defer mu.Unlock()
				results = append(results, result{name, node, err})
				if err != nil {
					fmt.Printf("FAIL %s: %v\n", name, err)
				} else {
					fmt.Printf("ok   %s: %s\n", name, detail)
				}
			})
		}
	}
	wg.Wait()

	passed, failed := 0, 0
	landed := map[string]int{}
	for _, r := range results {
		if r.err != nil {
			failed++
			continue
		}
		passed++
		landed[r.node]++
	}
	// The balancer must spread sessions: with random server ids (or
	// cookies), all of them on one node means it does not balance.
	if len(landed) < 2 && failed == 0 {
		fmt.Printf("FAIL %s balancing: every receiver landed on the same node: %v\n", *label, landed)
		failed++
	} else {
		fmt.Printf("ok   %s balancing: receivers per node %v\n", *label, landed)
		passed++
	}
	fmt.Printf("%s: %d passed, %d failed\n", *label, passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// runCase runs one receiver/publisher pair and returns the node the
// receiver landed on.
func runCase(ctx context.Context, base string, nodes nodeFlags, tr client.Transport, n int, name string) (landed, detail string, err error) {
	room := strings.NewReplacer(" ", "-", "#", "").Replace(name) + "-" + rand.Text()[:8]
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", "", err
	}
	recv, err := client.Dial(ctx, withRoom(base, room), &client.Options{
		Transports: []client.Transport{tr},
		HTTPClient: &http.Client{Jar: jar, Timeout: 10 * time.Second},
	})
	if err != nil {
		return "", "", fmt.Errorf("receiver: %w", err)
	}
	defer recv.Close(1000, "")
	hello, err := recv.Recv(ctx)
	if err != nil {
		return "", "", fmt.Errorf("receiver hello: %w", err)
	}
	landed, ok := strings.CutPrefix(hello, "hello ")
	if !ok || nodes[landed] == "" {
		return "", "", fmt.Errorf("receiver: first message %q, want hello <node>", hello)
	}

	// The publisher connects straight to another node.
	var other string
	for name := range nodes {
		if name != landed {
			other = name
			break
		}
	}
	pub, err := client.Dial(ctx, withRoom(nodes[other], room), &client.Options{Transports: []client.Transport{client.WebSocket}})
	if err != nil {
		return landed, "", fmt.Errorf("publisher on %s: %w", other, err)
	}
	defer pub.Close(1000, "")
	if hello, err := pub.Recv(ctx); err != nil || hello != "hello "+other {
		return landed, "", fmt.Errorf("publisher on %s: first message %q, %v", other, hello, err)
	}
	for i := range n {
		if err := pub.Send(ctx, fmt.Sprintf("%s %d", room, i)); err != nil {
			return landed, "", fmt.Errorf("publisher send %d: %w", i, err)
		}
	}
	for i := range n {
		want := fmt.Sprintf("%s %d", room, i)
		got, err := recv.Recv(ctx)
		if err != nil {
			return landed, "", fmt.Errorf("receiver: message %d of %d: %w", i, n, err)
		}
		if got != want {
			return landed, "", fmt.Errorf("receiver: message %d is %q, want %q", i, got, want)
		}
	}

	// And back: the receiver's transport carries a message to its node,
	// which publishes it to the publisher's node.
	reply := room + " reply"
	if err := recv.Send(ctx, reply); err != nil {
		return landed, "", fmt.Errorf("receiver send: %w", err)
	}
	if err := recv.Flush(ctx); err != nil {
		return landed, "", fmt.Errorf("receiver send (balancer routing?): %w", err)
	}
	for {
		got, err := pub.Recv(ctx)
		if err != nil {
			return landed, "", fmt.Errorf("publisher waiting for the reply: %w", err)
		}
		if got == reply {
			break
		}
	}
	return landed, fmt.Sprintf("landed on %s, %d messages published on %s arrived in order, reply arrived", landed, n, other), nil
}

func withRoom(base, room string) string {
	return base + "?room=" + url.QueryEscape(room)
}

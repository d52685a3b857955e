package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-sockjs/sockjs/client"
)

// memberList is the chat's member list (examples/chat): the first message
// of a session, and the answer of GET /members.
type memberList struct {
	Type    string `json:"type"`
	Node    string `json:"node"`
	Count   int    `json:"count"`
	Members []struct {
		Nick string `json:"nick"`
		Node string `json:"node"`
	} `json:"members"`
}

func (l memberList) nicks() []string {
	var out []string
	for _, m := range l.Members {
		out = append(out, m.Nick+"@"+m.Node)
	}
	sort.Strings(out)
	return out
}

// presenceRun checks the chat's presence on two nodes: members that joined
// through the balancer and straight on each node are listed by both nodes;
// then the node killNode is killed (SIGKILL to killPID) and its members
// must leave the other node's list within ttl (and not before the kill).
func presenceRun(ctx context.Context, label, base string, nodes nodeFlags, killNode string, killPID int, ttl time.Duration) (passed, failed int) {
	report := func(name string, err error, detail string) {
		if err != nil {
			failed++
			fmt.Printf("FAIL %s %s: %v\n", label, name, err)
		} else {
			passed++
			fmt.Printf("ok   %s %s: %s\n", label, name, detail)
		}
	}
	room := "presence-" + rand.Text()[:8]
	var other string
	for name := range nodes {
		if name != killNode {
			other = name
		}
	}
	if nodes[killNode] == "" || other == "" {
		report("setup", fmt.Errorf("-kill-node %q must be one of the nodes %v", killNode, nodes), "")
		return
	}

	// Three sessions through the balancer, one straight on each node.
	type conn struct{ url, nick string }
	var conns []conn
	for i := range 3 {
		conns = append(conns, conn{base, fmt.Sprintf("lb%d", i)})
	}
	for name, u := range nodes {
		conns = append(conns, conn{u, "direct-" + name})
	}
	trs := []client.Transport{client.WebSocket, client.XHRStreaming, client.EventSource, client.WebSocket, client.XHRPolling}
	var want []string
	for i, c := range conns {
		cl, err := client.Dial(ctx, c.url+"?room="+room+"&nick="+url.QueryEscape(c.nick),
			&client.Options{Transports: []client.Transport{trs[i%len(trs)]}})
		if err != nil {
			report("join "+c.nick, err, "")
			return
		}
		defer cl.Close(1000, "")
		l, err := firstList(ctx, cl)
		if err != nil {
			report("join "+c.nick, err, "")
			return
		}
		want = append(want, c.nick+"@"+l.Node)
	}
	sort.Strings(want)

	for _, name := range []string{killNode, other} {
		start := time.Now()
		got, err := waitList(ctx, nodes[name], room, func(got []string) bool { return slices.Equal(got, want) })
		report("members seen from "+name, err, fmt.Sprintf("%v (%v)", got, time.Since(start).Round(time.Millisecond)))
	}

	var kept, ghosts []string
	for _, m := range want {
		if strings.HasSuffix(m, "@"+killNode) {
			ghosts = append(ghosts, m)
		} else {
			kept = append(kept, m)
		}
	}
	if err := syscall.Kill(killPID, syscall.SIGKILL); err != nil {
		report("kill node "+killNode, err, "")
		return
	}
	killed := time.Now()
	l, err := members(ctx, nodes[other], room)
	if err == nil && !slices.Equal(l.nicks(), want) {
		err = fmt.Errorf("right after the kill %s lists %v, want all of %v (until their TTL)", other, l.nicks(), want)
	}
	report("ghosts listed right after the kill", err, fmt.Sprintf("%v", ghosts))
	got, err := waitList(ctx, nodes[other], room, func(got []string) bool { return slices.Equal(got, kept) })
	gone := time.Since(killed)
	if err == nil && gone > ttl+time.Second {
		err = fmt.Errorf("the killed node's members were listed for %v, TTL %v", gone, ttl)
	}
	report("killed node's members expired", err, fmt.Sprintf("%v left after %v (TTL %v)", got, gone.Round(time.Millisecond), ttl))
	return
}

// firstList reads messages until the member list.
func firstList(ctx context.Context, c *client.Conn) (memberList, error) {
	for {
		msg, err := c.Recv(ctx)
		if err != nil {
			return memberList{}, err
		}
		var l memberList
		if err := json.Unmarshal([]byte(msg), &l); err != nil {
			return memberList{}, fmt.Errorf("%q: %w", msg, err)
		}
		if l.Type == "members" {
			return l, nil
		}
	}
}

// members asks a node's GET /members (the node's URL is its service's).
func members(ctx context.Context, service, room string) (memberList, error) {
	u := strings.TrimSuffix(service, "/chat") + "/members?room=" + url.QueryEscape(room)
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return memberList{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return memberList{}, err
	}
	defer resp.Body.Close()
	var l memberList
	if resp.StatusCode != 200 {
		return l, fmt.Errorf("%s: %s", u, resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&l)
	return l, err
}

// waitList polls a node's member list until ok accepts it.
func waitList(ctx context.Context, service, room string, ok func([]string) bool) ([]string, error) {
	for {
		l, err := members(ctx, service, room)
		if err == nil && ok(l.nicks()) {
			return l.nicks(), nil
		}
		select {
		case <-ctx.Done():
			return l.nicks(), fmt.Errorf("%s lists %v (%v): %w", service, l.nicks(), err, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

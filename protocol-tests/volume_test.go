package protocoltests

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// orderingCount is how many messages TestOrdering sends per transport.
const orderingCount = 10000

// TestOrdering sends 10 000 messages on one session, in batches of 100 per
// post (per websocket message), while receiving; every message must come
// back once, in order. Streaming receivers are reopened at the response
// limit, so this also crosses many receiver changes.
func TestOrdering(t *testing.T) {
	checkSkip(t)
	const batch = 100
	for _, tr := range allTransports {
		run(t, tr.name, func(t *testing.T) {
			c := openClient(t, tr, service("echo"))
			sent := make(chan error, 1)
			go func() {
				for i := 0; i < orderingCount; i += batch {
					msgs := make([]string, batch)
					for j := range msgs {
						msgs[j] = strconv.Itoa(i + j)
					}
					if err := c.send(msgs...); err != nil {
						sent <- fmt.Errorf("sending message %d: %w", i, err)
						return
					}
				}
				sent <- nil
			}()
			got, err := c.messages(orderingCount, cfg.ioTimeout)
			checkSequence(t, got)
			noErr(t, err)
			noErr(t, <-sent)
			t.Logf("%d receiving requests", c.opens.Load())
		})
	}
	run(t, "rawwebsocket", func(t *testing.T) {
		ws := wsOpen(t, service("echo")+"/websocket")
		sent := make(chan error, 1)
		go func() {
			for i := 0; i < orderingCount; i++ {
				if err := ws.WriteMessage(websocket.TextMessage, []byte(strconv.Itoa(i))); err != nil {
					sent <- err
					return
				}
			}
			sent <- nil
		}()
		var got []string
		for len(got) < orderingCount {
			noErr(t, ws.SetReadDeadline(time.Now().Add(cfg.ioTimeout)))
			_, b, err := ws.ReadMessage()
			if err != nil {
				checkSequence(t, got)
				t.Fatalf("after %d messages: %v", len(got), err)
			}
			got = append(got, string(b))
		}
		checkSequence(t, got)
		noErr(t, <-sent)
	})
}

// checkSequence checks that got is "0", "1", ... without gaps.
func checkSequence(t *testing.T, got []string) {
	t.Helper()
	for i, m := range got {
		if m != strconv.Itoa(i) {
			t.Fatalf("message %d is %q (of %d received)", i, clip(m), len(got))
		}
	}
}

// bigMessage returns a message of n bytes mixing the characters every
// transport has to escape.
func bigMessage(n int) string {
	const unit = "abcdefghijXYZ0123456789 \"\\/<>&'%\n\r\t\x00é€𝄞\u2028\ufffe"
	s := strings.Repeat(unit, n/len(unit)+1)[:n]
	return strings.ToValidUTF8(s, "")
}

// TestLargeMessages round-trips one 64 KiB and one 1 MiB message on every
// transport (PROTOCOL.md §9: apps send 64–512 KiB).
func TestLargeMessages(t *testing.T) {
	checkSkip(t)
	sizes := []struct {
		name string
		n    int
	}{{"64KiB", 64 << 10}, {"1MiB", 1 << 20}}
	for _, tr := range allTransports {
		for _, size := range sizes {
			run(t, tr.name+"/"+size.name, func(t *testing.T) {
				msg := bigMessage(size.n)
				c := openClient(t, tr, service("echo"))
				sent := make(chan error, 1)
				go func() { sent <- c.send(msg) }()
				got, err := c.messages(1, 3*cfg.ioTimeout)
				noErr(t, err)
				noErr(t, <-sent)
				if got[0] != msg {
					t.Fatalf("%d-byte message came back as %d bytes: %s", len(msg), len(got[0]), firstDiff(got[0], msg))
				}
			})
		}
	}
	for _, size := range sizes {
		run(t, "rawwebsocket/"+size.name, func(t *testing.T) {
			msg := bigMessage(size.n)
			ws := wsOpen(t, service("echo")+"/websocket")
			sent := make(chan error, 1)
			go func() { sent <- ws.WriteMessage(websocket.TextMessage, []byte(msg)) }()
			noErr(t, ws.SetReadDeadline(time.Now().Add(3*cfg.ioTimeout)))
			_, b, err := ws.ReadMessage()
			noErr(t, err)
			noErr(t, <-sent)
			if string(b) != msg {
				t.Fatalf("%d-byte message came back as %d bytes: %s", len(msg), len(b), firstDiff(string(b), msg))
			}
		})
	}
}

// firstDiff describes where two strings first differ.
func firstDiff(got, want string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			lo := max(0, i-20)
			return fmt.Sprintf("first difference at byte %d: got %q, want %q", i, got[lo:min(len(got), i+20)], want[lo:min(len(want), i+20)])
		}
	}
	return fmt.Sprintf("one is a prefix of the other (%d vs %d bytes)", len(got), len(want))
}

// TestConcurrentSenders has 8 goroutines send 50 messages each on one
// session at once, each over its own connection (on websockets, through one
// connection in turn). Every message must arrive once, and each goroutine's
// messages in the order it sent them.
func TestConcurrentSenders(t *testing.T) {
	checkSkip(t)
	const senders, each = 8, 50
	for _, tr := range allTransports {
		run(t, tr.name, func(t *testing.T) {
			c := openClient(t, tr, service("echo"))
			var wg sync.WaitGroup
			errs := make(chan error, senders)
			for g := 0; g < senders; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := &sender{tr: tr, sessURL: c.sessURL}
					defer s.close()
					for j := 0; j < each; j++ {
						m := fmt.Sprintf("%d:%d", g, j)
						var err error
						if tr.ws {
							err = c.send(m)
						} else {
							err = s.send(m)
						}
						if err != nil {
							errs <- fmt.Errorf("sender %d, message %d: %w", g, j, err)
							return
						}
					}
				}()
			}
			got, err := c.messages(senders*each, cfg.ioTimeout)
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			noErr(t, err)
			next := make([]int, senders)
			for _, m := range got {
				var g, j int
				_, err := fmt.Sscanf(m, "%d:%d", &g, &j)
				check(t, err == nil && g >= 0 && g < senders, "unexpected message %q", clip(m))
				check(t, j == next[g], "sender %d: got message %d, want %d (lost, duplicated or reordered)", g, j, next[g])
				next[g]++
			}
		})
	}
}

package protocoltests

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHeartbeat checks that every transport's attached receiver gets a
// heartbeat at least every heartbeat delay while the session is idle, and
// not in a flood. On the framed websocket an RFC 6455 ping counts too:
// sockjs-node 0.3.16+ pings instead of sending h. In URL mode the 25 s
// default makes this a -long test.
func TestHeartbeat(t *testing.T) {
	checkSkip(t)
	if !timingTestsEnabled() {
		t.Skipf("the heartbeat delay is %v: run with -long (or SOCKJS_LONG=1), or set SOCKJS_HEARTBEAT_DELAY for a server configured with a short one", cfg.heartbeat)
	}
	for _, tr := range allTransports {
		run(t, tr.name, func(t *testing.T) {
			hb := cfg.heartbeat
			c := openClient(t, tr, timingService("echo"))
			window := 3*hb + slack()
			maxGap := hb + hb/2 + slack()
			start := time.Now()
			last := start
			var beats []string
			tm := time.NewTimer(window)
			defer tm.Stop()
		loop:
			for {
				select {
				case r := <-c.frames:
					noErr(t, r.err)
					check(t, r.f.kind == 'h', "frame %q on an idle session, want only heartbeats", clip(r.f.text))
					gap := r.at.Sub(last)
					check(t, gap <= maxGap, "heartbeat %d came %v after the previous frame; the delay is %v", len(beats)+1, gap.Round(time.Millisecond), hb)
					beats = append(beats, fmt.Sprintf("h@%v", r.at.Sub(start).Round(time.Millisecond)))
					last = r.at
				case at := <-c.pings:
					gap := at.Sub(last)
					check(t, gap <= maxGap, "ping %d came %v after the previous frame; the delay is %v", len(beats)+1, gap.Round(time.Millisecond), hb)
					beats = append(beats, fmt.Sprintf("ping@%v", at.Sub(start).Round(time.Millisecond)))
					last = at
				case <-tm.C:
					break loop
				}
			}
			check(t, len(beats) >= 2, "%d heartbeats in %v with a %v delay, want at least 2: %v", len(beats), window, hb, beats)
			check(t, len(beats) <= 13, "%d heartbeats in %v with a %v delay: a flood", len(beats), window, hb)
			check(t, time.Since(last) <= maxGap, "no heartbeat for the last %v", time.Since(last).Round(time.Millisecond))
			t.Logf("%s: %v", tr.name, beats)
		})
	}
}

// finishReceiver opens a receiving request on a session and lets it end
// normally: a polling request after its open frame, a streaming one after a
// message that takes it past the echo service's 4096-byte response limit.
func finishReceiver(t *testing.T, tr *transport, sessURL string) {
	t.Helper()
	rcv, err := openReceiver(tr, sessURL, nil)
	noErr(t, err)
	defer rcv.close()
	f, err := rcv.next()
	noErr(t, err)
	eq(t, "first frame", f.text, openFrame)
	if tr.streaming {
		s := sender{tr: tr, sessURL: sessURL}
		defer s.close()
		noErr(t, s.send(strings.Repeat("x", 4096)))
		f, err = rcv.next()
		noErr(t, err)
		eq(t, "message frame", f.kind, byte('a'))
	}
	_, err = rcv.next()
	check(t, err == io.EOF, "the receiving request did not end: %v", err)
}

// TestSessionTimeout checks the disconnect delay on every HTTP transport: a
// session with no receiving request is alive at half the delay, gone (404 to
// xhr_send, a new open frame to a receiver) after it. Websocket sessions end
// with their connection instead.
func TestSessionTimeout(t *testing.T) {
	checkSkip(t)
	d := cfg.disconnect
	for _, tr := range httpTransports {
		run(t, tr.name, func(t *testing.T) {
			sessURL := newSession(timingService("echo"))
			finishReceiver(t, tr, sessURL)
			ended := time.Now()

			time.Sleep(d / 2)
			r := post(t, sessURL+"/xhr_send", `["alive"]`)
			if time.Since(ended) < d*9/10 {
				eq(t, fmt.Sprintf("xhr_send status %v after the receiver ended (disconnect delay %v)", time.Since(ended).Round(time.Millisecond), d), r.status, 204)
			} else {
				t.Logf("the liveness probe came too late (%v) to be judged", time.Since(ended))
			}

			time.Sleep(time.Until(ended.Add(d)))
			deadline := ended.Add(2*d + slack())
			for {
				r := post(t, sessURL+"/xhr_send", `["probe"]`)
				if r.status == 404 {
					break
				}
				eq(t, "xhr_send status while the session lives", r.status, 204)
				check(t, time.Now().Before(deadline), "session still alive %v after its receiver ended; disconnect delay %v",
					time.Since(ended).Round(time.Millisecond), d)
				time.Sleep(min(d/10, 250*time.Millisecond))
			}
			rcv, err := openReceiver(tr, sessURL, nil)
			noErr(t, err)
			defer rcv.close()
			f, err := rcv.next()
			noErr(t, err)
			eq(t, "first frame on the expired id", f.text, openFrame)
		})
	}
	// A closed session answers its close frame to every poll until the
	// delay passes with no request; then its id is free again.
	run(t, "closed_session", func(t *testing.T) {
		u := newSession(timingService("close"))
		eq(t, "first poll", string(post(t, u+"/xhr", "").body), "o\n")
		eq(t, "second poll", string(post(t, u+"/xhr", "").body), goAwayFrame+"\n")
		time.Sleep(d / 2)
		eq(t, "poll at half the delay", string(post(t, u+"/xhr", "").body), goAwayFrame+"\n")
		time.Sleep(d + d/2 + slack())
		r := post(t, u+"/xhr", "")
		eq(t, "status", r.status, http.StatusOK)
		eq(t, "poll after the delay", string(r.body), "o\n")
	})
}

package protocoltests

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAbortRace repeats, SOCKJS_RACE_ROUNDS times (300; 30 with -short) per
// HTTP transport, the moments where a server that releases receivers
// asynchronously answers c[2010,"Another connection still open"] to a
// request that should have been accepted:
//
//   - after_close_frame: a closed session is polled again the instant the
//     previous poll (or stream) ended; each answer must be the close frame.
//   - after_end: the previous receiver ended normally (a poll after its
//     frame, a stream at the response limit); the next one must get data.
//   - after_abort: the client dropped a held receiver and reopened at once;
//     the answer must be o or c[1002,"Connection interrupted"]
//     (HandlingClose.test_abort_* without their sleeps).
//
// Websocket sessions are not shared, so there is nothing to race there.
func TestAbortRace(t *testing.T) {
	checkSkip(t)
	for _, tr := range httpTransports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			checkSkip(t)
			run(t, "after_close_frame", func(t *testing.T) { raceAfterCloseFrame(t, tr) })
			run(t, "after_end", func(t *testing.T) { raceAfterEnd(t, tr) })
			run(t, "after_abort", func(t *testing.T) { raceAfterAbort(t, tr) })
		})
	}
}

// drain reads a receiver to the end of its response; no frame may be 2010.
func drain(t *testing.T, round int, rcv *receiver) {
	t.Helper()
	for {
		f, err := rcv.next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		check(t, f.text != busyFrame, "round %d: %s inside a response", round, busyFrame)
	}
}

func raceAfterCloseFrame(t *testing.T, tr *transport) {
	u := newSession(service("close"))
	for i := 0; i < cfg.raceRounds; i++ {
		rcv, err := openReceiver(tr, u, nil)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		f, err := rcv.next()
		if err != nil {
			rcv.close()
			t.Fatalf("round %d: %v", i, err)
		}
		switch {
		case f.text == busyFrame:
			rcv.close()
			t.Fatalf("round %d: %s to a request made right after the previous one ended", i, busyFrame)
		case f.text == openFrame && i > 0:
			t.Logf("round %d: the closed session had expired; a new one was opened", i)
		case f.text != openFrame && f.text != goAwayFrame:
			rcv.close()
			t.Fatalf("round %d: frame %q, want %q", i, clip(f.text), goAwayFrame)
		}
		drain(t, i, rcv)
		rcv.close()
	}
}

func raceAfterEnd(t *testing.T, tr *transport) {
	u := newSession(service("echo"))
	s := &sender{tr: tr, sessURL: u}
	defer s.close()
	msg := func(i int) string { return strconv.Itoa(i) }
	if tr.streaming {
		// 4096 bytes reach the echo service's response limit.
		msg = func(i int) string { return strconv.Itoa(i) + strings.Repeat("x", 4096) }
	}
	// A poll is answered only once there is data, so the message is sent
	// first; a stream is opened first and the message takes it to the limit.
	for i := -1; i < cfg.raceRounds; i++ {
		if !tr.streaming && i >= 0 {
			if err := s.send(msg(i)); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		rcv, err := openReceiver(tr, u, nil)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if i == -1 { // the session's first receiver
			f, err := rcv.next()
			noErr(t, err)
			eq(t, "first frame", f.text, openFrame)
			if !tr.streaming {
				drain(t, i, rcv)
				rcv.close()
				continue
			}
			i++
		}
		if tr.streaming {
			if err := s.send(msg(i)); err != nil {
				rcv.close()
				t.Fatalf("round %d: %v", i, err)
			}
		}
		f, err := rcv.next()
		if err != nil {
			rcv.close()
			t.Fatalf("round %d: %v", i, err)
		}
		if f.text == busyFrame {
			rcv.close()
			t.Fatalf("round %d: %s to a request made right after the previous one ended", i, busyFrame)
		}
		if f.kind != 'a' || !slices.Equal(f.msgs, []string{msg(i)}) {
			rcv.close()
			t.Fatalf("round %d: frame %q, want message %d", i, clip(f.text), i)
		}
		drain(t, i, rcv)
		rcv.close()
	}
}

// abortWorkers is how many sessions raceAfterAbort runs at once: a server
// may wait a little before refusing a second poll (PROTOCOL.md §7), which
// every polling round needs once.
const abortWorkers = 6

func raceAfterAbort(t *testing.T, tr *transport) {
	errs := make(chan error, abortWorkers)
	for w := 0; w < abortWorkers; w++ {
		go func() {
			for i := w; i < cfg.raceRounds; i += abortWorkers {
				if err := abortRound(tr, i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < abortWorkers; w++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// abortRound opens a session, drops its held receiver and reopens at once.
func abortRound(tr *transport, i int) error {
	u := newSession(service("echo"))
	first, err := firstFrame(tr, u)
	if err != nil {
		return fmt.Errorf("round %d: %w", i, err)
	}
	if first != openFrame {
		return fmt.Errorf("round %d: first frame %q, want %q", i, clip(first), openFrame)
	}
	// A stream is dropped by firstFrame once its open frame came; a poll
	// has ended, so a held one is made and dropped.
	if !tr.streaming {
		if err := abortHeldPoll(tr, u); err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
	}
	got, err := firstFrame(tr, u)
	if err != nil {
		return fmt.Errorf("round %d: %w", i, err)
	}
	if got != openFrame && got != interruptFrame {
		return fmt.Errorf("round %d: %q right after an aborted receiver, want %q or %q", i, clip(got), openFrame, interruptFrame)
	}
	return nil
}

// firstFrame opens a receiver, returns its first frame and aborts it.
func firstFrame(tr *transport, u string) (string, error) {
	rcv, err := openReceiver(tr, u, nil)
	if err != nil {
		return "", err
	}
	defer rcv.close()
	f, err := rcv.next()
	return f.text, err
}

// abortHeldPoll makes two polls at once on an idle session: one must be
// refused with 2010 and the other held. It then drops the held one.
func abortHeldPoll(tr *transport, u string) error {
	type answer struct {
		i   int
		f   frame
		err error
	}
	var conns [2]*rawConn
	for k := range conns {
		c, err := dialRaw(u)
		if err != nil {
			if k == 1 {
				conns[0].Close()
			}
			return err
		}
		c.setTimeout(receiveTimeout())
		conns[k] = c
	}
	answers := make(chan answer, 2)
	for k, c := range conns {
		go func() {
			rcv, err := openReceiverOn(c, tr, u, nil)
			if err != nil {
				answers <- answer{i: k, err: err}
				return
			}
			f, err := rcv.next()
			answers <- answer{i: k, f: f, err: err}
		}()
	}
	defer func() {
		conns[0].Close()
		conns[1].Close()
	}()
	var first answer
	select {
	case first = <-answers:
	case <-time.After(cfg.ioTimeout):
		conns[0].Close()
		conns[1].Close()
		<-answers
		<-answers
		return fmt.Errorf("two concurrent polls were both held for %v; one must get %s", cfg.ioTimeout, busyFrame)
	}
	if first.err != nil || first.f.text != busyFrame {
		conns[0].Close()
		conns[1].Close()
		<-answers
		return fmt.Errorf("of two concurrent polls, the first answer was %q (%v), want %s", clip(first.f.text), first.err, busyFrame)
	}
	conns[1-first.i].Close()
	<-answers
	return nil
}

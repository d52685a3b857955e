package transports

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-sockjs/sockjs/internal/frame"
)

func FuzzSenderBody(f *testing.F) {
	for _, seed := range []struct {
		body string
		form bool
	}{
		{`["a","b"]`, false},
		{"d=%5B%22x%22%5D", true},
		{"d=", true},
		{"p=p", true},
		{"d=%ZZ", true},
		{`["%61bc"]`, false},
		{"", false},
		{`["\ud800"]`, false},
		{"d=" + url.QueryEscape(`["<\/script>"]`) + "&d=x", true},
		{"[" + strings.Repeat(`"",`, 16) + `""]`, false},
	} {
		f.Add([]byte(seed.body), seed.form)
	}
	s := &Server{cfg: Config{MaxMessageBytes: 4096, MaxMessagesPerBody: 16}}
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		r := httptest.NewRequest("POST", "/0/0/jsonp_send", strings.NewReader(string(body)))
		if form {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r.Header.Set("Content-Type", "text/plain")
		}
		w := httptest.NewRecorder()
		msgs, ok := s.readMessages(w, r, nil, form)
		switch {
		case ok && w.Code != http.StatusOK:
			t.Fatalf("accepted, but answered %d", w.Code)
		case ok && len(msgs) > 16:
			t.Fatalf("accepted %d messages, over the bound of 16", len(msgs))
		case ok:
			// What was accepted encodes and decodes back to itself.
			again, err := frame.DecodeMessages(frame.AppendMessages(nil, msgs)[1:])
			if err != nil || len(again) != len(msgs) {
				t.Fatalf("accepted messages do not round-trip: %v", err)
			}
		case len(body) > 4096 && w.Code != http.StatusRequestEntityTooLarge:
			t.Fatalf("oversized body answered %d", w.Code)
		case len(body) <= 4096 && w.Code == http.StatusRequestEntityTooLarge:
			if !strings.Contains(w.Body.String(), "too many") {
				t.Fatalf("413 for a small body: %q", w.Body)
			}
		case len(body) <= 4096 && w.Code != http.StatusInternalServerError:
			t.Fatalf("refused body answered %d", w.Code)
		}
		if !ok && w.Body.Len() == 0 {
			t.Fatal("refused without a reason")
		}
	})
}

// TestReadMessagesLengths covers both ways a body is read: by its declared
// length into a pooled buffer, and by MaxBytesReader when the length is
// unknown or too large for the buffer.
func TestReadMessagesLengths(t *testing.T) {
	s := &Server{cfg: Config{MaxMessageBytes: 8192}}
	big := `["` + strings.Repeat("x", 6000) + `"]`
	for _, c := range []struct {
		name   string
		body   string
		length int64 // declared Content-Length; -1: unknown (chunked)
		status int   // 0: accepted
	}{
		{"declared", `["a","b"]`, 9, 0},
		{"unknown length", `["a","b"]`, -1, 0},
		{"declared, above the pooled buffer", big, int64(len(big)), 0},
		{"shorter than declared", `["a"]`, 9, http.StatusBadRequest},
		{"over the limit, declared", big + strings.Repeat(" ", 3000), int64(len(big) + 3000), http.StatusRequestEntityTooLarge},
		{"over the limit, unknown length", big + strings.Repeat(" ", 3000), -1, http.StatusRequestEntityTooLarge},
		{"too many form fields", "d=%5B%5D" + strings.Repeat("&x", maxFormFields), -1, http.StatusRequestEntityTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/0/0/xhr_send", strings.NewReader(c.body))
			r.ContentLength = c.length
			form := strings.HasPrefix(c.body, "d=")
			if form {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			w := httptest.NewRecorder()
			msgs, ok := s.readMessages(w, r, nil, form)
			if c.status == 0 {
				if !ok || len(msgs) == 0 {
					t.Fatalf("refused: %d %q", w.Code, w.Body)
				}
				return
			}
			if ok || w.Code != c.status {
				t.Fatalf("got ok=%v, status %d; want %d", ok, w.Code, c.status)
			}
			if !form && w.Header().Get("Connection") != "close" {
				t.Fatal("an unread body must close the connection")
			}
		})
	}
}

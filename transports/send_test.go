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
	} {
		f.Add([]byte(seed.body), seed.form)
	}
	s := &Server{cfg: Config{MaxMessageBytes: 4096}}
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		r := httptest.NewRequest("POST", "/0/0/jsonp_send", strings.NewReader(string(body)))
		if form {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r.Header.Set("Content-Type", "text/plain")
		}
		w := httptest.NewRecorder()
		msgs, ok := s.readMessages(w, r, form)
		switch {
		case ok && w.Code != http.StatusOK:
			t.Fatalf("accepted, but answered %d", w.Code)
		case ok:
			// What was accepted encodes and decodes back to itself.
			again, err := frame.DecodeMessages(frame.AppendMessages(nil, msgs)[1:])
			if err != nil || len(again) != len(msgs) {
				t.Fatalf("accepted messages do not round-trip: %v", err)
			}
		case len(body) > 4096 && w.Code != http.StatusRequestEntityTooLarge:
			t.Fatalf("oversized body answered %d", w.Code)
		case len(body) <= 4096 && w.Code != http.StatusInternalServerError:
			t.Fatalf("refused body answered %d", w.Code)
		}
		if !ok && w.Body.Len() == 0 {
			t.Fatal("refused without a reason")
		}
	})
}

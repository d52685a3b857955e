package protocoltests

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Helpers shaped like the official suite's utils.py and its Test class, so
// that each upstream test reads like the original.

// eq fails the test when got != want.
func eq[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %s, want %s", what, show(got), show(want))
	}
}

// show formats a value for failure messages.
func show(v any) string {
	switch v := v.(type) {
	case string:
		return describe(v)
	case []byte:
		return describe(string(v))
	}
	return fmt.Sprint(v)
}

// check fails the test with a message when cond is false.
func check(t testing.TB, cond bool, format string, args ...any) {
	t.Helper()
	if !cond {
		t.Fatalf(format, args...)
	}
}

// noErr fails the test on an error.
func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// request sends one request on its own connection and reads the whole
// response (the official suite's GET, POST and OPTIONS).
func request(t testing.TB, method, url, body string, h hdrs) *rawResponse {
	t.Helper()
	r, err := roundTrip(rawRequest{method: method, url: url, header: h, body: []byte(body)})
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func get(t testing.TB, url string, h ...[2]string) *rawResponse {
	t.Helper()
	return request(t, http.MethodGet, url, "", h)
}

func post(t testing.TB, url, body string, h ...[2]string) *rawResponse {
	t.Helper()
	return request(t, http.MethodPost, url, body, h)
}

func options(t testing.TB, url string, h ...[2]string) *rawResponse {
	t.Helper()
	return request(t, http.MethodOptions, url, "", h)
}

// async sends a request and reads only the response head; the body is read
// with next. The connection is closed when the test ends.
func async(t testing.TB, method, url string, h hdrs) *rawResponse {
	t.Helper()
	r, err := do(rawRequest{method: method, url: url, header: h})
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	t.Cleanup(func() { r.conn.Close() })
	return r
}

func getAsync(t testing.TB, url string, h ...[2]string) *rawResponse {
	t.Helper()
	return async(t, http.MethodGet, url, h)
}

func postAsync(t testing.TB, url string, h ...[2]string) *rawResponse {
	t.Helper()
	return async(t, http.MethodPost, url, h)
}

// postNoRead sends a POST and reads nothing (the official suite's
// old_POST_async with load=False): the request is held by the server.
func postNoRead(t testing.TB, url string) *rawConn {
	t.Helper()
	c, err := dialRaw(url)
	noErr(t, err)
	t.Cleanup(func() { c.Close() })
	noErr(t, c.write(rawRequest{method: http.MethodPost, url: url}))
	return c
}

// read returns the next chunk of a streaming response (the official
// suite's r.read()); it fails the test at the end of the body.
func read(t testing.TB, r *rawResponse) string {
	t.Helper()
	b, err := r.next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			t.Fatal("response ended; want more data")
		}
		t.Fatalf("reading the response: %v", err)
	}
	return string(b)
}

// readEnd checks that a streaming response has ended (assertFalse(r.read())).
func readEnd(t testing.TB, r *rawResponse) {
	t.Helper()
	b, err := r.next()
	if err == io.EOF && len(b) == 0 {
		return
	}
	if err != nil {
		t.Fatalf("want the end of the response, got error %v", err)
	}
	t.Fatalf("want the end of the response, got %s", describe(string(b)))
}

func verify404(t testing.TB, r *rawResponse) {
	t.Helper()
	eq(t, "status", r.status, 404)
}

// verify405 checks a 405: an Allow header, no Content-Type, no body.
func verify405(t testing.TB, r *rawResponse) {
	t.Helper()
	eq(t, "status", r.status, 405)
	eq(t, "Content-Type", r.get("Content-Type"), "")
	check(t, r.get("Allow") != "", "405 without an Allow header")
	eq(t, "body", string(r.body), "")
}

// verifyContentType compares Content-Type with spaces removed.
func verifyContentType(t testing.TB, r *rawResponse, want string) {
	t.Helper()
	eq(t, "Content-Type", strings.ReplaceAll(r.get("Content-Type"), " ", ""), want)
}

var maxAgeRE = regexp.MustCompile(`max-age=[1-9][0-9]{6}`)

// verifyOptions checks the CORS preflight answer of a URL, for the origins
// "test" and "null".
func verifyOptions(t testing.TB, url, allowedMethods string) {
	t.Helper()
	for _, origin := range []string{"test", "null"} {
		r := options(t, url, [2]string{"Access-Control-Request-Method", allowedMethods}, [2]string{"Origin", origin})
		check(t, r.status == 204 || r.status == 200, "OPTIONS %s: status %d, want 204 or 200", url, r.status)
		check(t, strings.Contains(r.get("Cache-Control"), "public"), "Cache-Control %q lacks public", r.get("Cache-Control"))
		check(t, maxAgeRE.MatchString(r.get("Cache-Control")),
			"Cache-Control %q: max-age must be large, one year (31536000) is best", r.get("Cache-Control"))
		check(t, r.get("Expires") != "", "no Expires header")
		age, _ := strconv.Atoi(r.get("Access-Control-Max-Age"))
		check(t, age > 1000000, "Access-Control-Max-Age %q, want > 1000000", r.get("Access-Control-Max-Age"))
		for _, m := range strings.Split(allowedMethods, ",") {
			check(t, strings.Contains(r.get("Access-Control-Allow-Methods"), strings.TrimSpace(m)),
				"Access-Control-Allow-Methods %q does not contain %s", r.get("Access-Control-Allow-Methods"), m)
		}
		eq(t, "body", string(r.body), "")
		verifyCORS(t, r, origin)
	}
}

func verifyNoCookie(t testing.TB, r *rawResponse) {
	t.Helper()
	eq(t, "Set-Cookie", r.get("Set-Cookie"), "")
}

// verifyCORS checks the CORS answer to a request with the given Origin
// ("" for none).
func verifyCORS(t testing.TB, r *rawResponse, origin string) {
	t.Helper()
	if origin != "" {
		eq(t, "Access-Control-Allow-Origin", r.get("Access-Control-Allow-Origin"), origin)
		eq(t, "Access-Control-Allow-Credentials", r.get("Access-Control-Allow-Credentials"), "true")
	} else {
		eq(t, "Access-Control-Allow-Origin", r.get("Access-Control-Allow-Origin"), "*")
		eq(t, "Access-Control-Allow-Credentials", r.get("Access-Control-Allow-Credentials"), "")
	}
}

// verifyNotCached checks the exact no-cache headers.
func verifyNotCached(t testing.TB, r *rawResponse) {
	t.Helper()
	eq(t, "Cache-Control", r.get("Cache-Control"), "no-store, no-cache, no-transform, must-revalidate, max-age=0")
	eq(t, "Expires", r.get("Expires"), "")
	eq(t, "Last-Modified", r.get("Last-Modified"), "")
}

// verifyCookie checks a JSESSIONID answer.
func verifyCookie(t testing.TB, r *rawResponse, value string) {
	t.Helper()
	parts := strings.Split(r.get("Set-Cookie"), ";")
	check(t, len(parts) >= 2, "Set-Cookie %q, want JSESSIONID=%s; path=/", r.get("Set-Cookie"), value)
	eq(t, "cookie", strings.TrimSpace(parts[0]), "JSESSIONID="+value)
	eq(t, "cookie path", strings.ToLower(strings.TrimSpace(parts[1])), "path=/")
}

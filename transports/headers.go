package transports

import (
	"net/http"
	"time"
)

const (
	noCache     = "no-store, no-cache, no-transform, must-revalidate, max-age=0"
	oneYearSecs = "31536000"
	oneYear     = 365 * 24 * time.Hour

	typeText       = "text/plain; charset=UTF-8"
	typeJavaScript = "application/javascript; charset=UTF-8"
	typeJSON       = "application/json; charset=UTF-8"
	typeHTML       = "text/html; charset=UTF-8"
	typeEventSrc   = "text/event-stream"
)

// set is Header.Set for a key already in canonical form, as every key
// this package writes is (TestHeaderKeysCanonical checks the calls): it
// skips canonicalizing the key, a visible cost per request on the HTTP
// transports.
func set(h http.Header, key, value string) { h[key] = []string{value} }

// setNoCache marks a response as never cacheable.
func setNoCache(h http.Header) {
	set(h, "Cache-Control", noCache)
}

// setCacheable marks a response as cacheable for a year.
func setCacheable(h http.Header) {
	set(h, "Cache-Control", "public, max-age="+oneYearSecs)
	set(h, "Expires", time.Now().Add(oneYear).UTC().Format(http.TimeFormat))
}

// setCORS writes the CORS answer for an allowed request: the request's
// Origin (even "null") with credentials, or * when it has none.
func setCORS(h http.Header, r *http.Request) {
	h["Vary"] = append(h["Vary"], "Origin")
	if o := r.Header.Get("Origin"); o != "" {
		set(h, "Access-Control-Allow-Origin", o)
		set(h, "Access-Control-Allow-Credentials", "true")
	} else {
		set(h, "Access-Control-Allow-Origin", "*")
	}
	if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
		set(h, "Access-Control-Allow-Headers", rh)
	}
}

// setCookie echoes JSESSIONID (or sets a dummy one) when the service needs
// cookies, so that sticky load balancers can route on it. The cookie's name
// and attributes come from Config.Cookie.
func (s *Server) setCookie(h http.Header, r *http.Request) {
	if !s.cfg.CookieNeeded {
		return
	}
	c := s.cfg.Cookie
	if c.Name == "" {
		c.Name, c.Path = "JSESSIONID", "/"
	}
	c.Value = "dummy"
	if rc, err := r.Cookie(c.Name); err == nil && rc.Value != "" {
		c.Value = rc.Value
	}
	if v := c.String(); v != "" {
		h.Add("Set-Cookie", v)
	}
}

// options answers a CORS preflight: 204, cacheable, never a session.
func (s *Server) options(w http.ResponseWriter, r *http.Request, methods string) {
	if !s.checkOrigin(w, r, false) {
		return
	}
	h := w.Header()
	setCacheable(h)
	setCORS(h, r)
	s.setCookie(h, r)
	set(h, "Access-Control-Allow-Methods", methods)
	set(h, "Access-Control-Max-Age", oneYearSecs)
	w.WriteHeader(http.StatusNoContent)
}

package transports

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// OriginPolicy is the one allow-list applied to CORS requests, websocket
// upgrades and the iframe, htmlfile and jsonp transports.
type OriginPolicy struct {
	check    func(*http.Request) bool // asked about origins the list does not allow; nil: none
	any      bool
	origins  map[string]bool // exact "scheme://host[:port]" (lower case), or "null"
	patterns []string        // host patterns: "example.com", "*.example.com", "example.com:8080"
}

// NewOriginPolicy builds a policy from an allow-list. An empty list allows
// the same origin only (the request's Host); "*" allows any origin; an entry
// with "://" is an exact origin; any other entry is a host pattern, where a
// leading "*." matches every subdomain. "null" allows the literal null
// origin (sandboxed frames, file: pages). check, when not nil, is asked
// about every origin the list does not allow.
func NewOriginPolicy(list []string, check func(*http.Request) bool) (*OriginPolicy, error) {
	p := &OriginPolicy{origins: make(map[string]bool), check: check}
	for _, e := range list {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "*":
			p.any = true
		case e == "null":
			p.origins[e] = true
		case strings.Contains(e, "://"):
			u, err := url.Parse(e)
			if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
				return nil, fmt.Errorf("sockjs: bad origin %q in AllowedOrigins", e)
			}
			p.origins[u.Scheme+"://"+u.Host] = true
		case e == "" || strings.ContainsAny(e, "/ "):
			return nil, fmt.Errorf("sockjs: bad host pattern %q in AllowedOrigins", e)
		default:
			p.patterns = append(p.patterns, e)
		}
	}
	return p, nil
}

// Any reports whether every origin is allowed.
func (p *OriginPolicy) Any() bool { return p.any }

// Allowed reports whether a request from origin may use the service: the
// list allows it, or else the check function does. An empty origin (a
// non-browser client, or a browser that sent none) is allowed.
func (p *OriginPolicy) Allowed(r *http.Request, origin string) bool {
	if origin == "" || p.any || p.listed(r, origin) {
		return true
	}
	if p.check == nil {
		return false
	}
	if r.Header.Get("Origin") != origin {
		// The origin came from the Referer: show it where the check
		// function looks, on a copy.
		r2 := *r
		r2.Header = r.Header.Clone()
		r2.Header.Set("Origin", origin)
		r = &r2
	}
	return p.check(r)
}

// listed reports whether the allow-list allows origin.
func (p *OriginPolicy) listed(r *http.Request, origin string) bool {
	origin = strings.ToLower(origin)
	if p.origins[origin] {
		return true
	}
	if origin == "null" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, pat := range p.patterns {
		if matchHost(pat, u.Host) {
			return true
		}
	}
	return false
}

// matchHost matches host (with its port, if any) against a pattern. A
// pattern without a port matches any port.
func matchHost(pat, host string) bool {
	if !strings.Contains(pat, ":") || strings.HasSuffix(pat, "]") {
		if h, _, ok := cutPort(host); ok {
			host = h
		}
	}
	if rest, ok := strings.CutPrefix(pat, "*."); ok {
		return strings.HasSuffix(host, "."+rest)
	}
	return host == pat
}

func cutPort(host string) (string, string, bool) {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.HasSuffix(host, "]") {
		return host, "", false
	}
	return host[:i], host[i+1:], true
}

// requestOrigin is the origin a request comes from: its Origin header, or
// for navigations and script loads that carry none (iframe, htmlfile,
// jsonp) the origin of its Referer.
func requestOrigin(r *http.Request, useReferer bool) string {
	if o := r.Header.Get("Origin"); o != "" {
		return o
	}
	if !useReferer {
		return ""
	}
	ref := r.Header.Get("Referer")
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return "null"
	}
	return u.Scheme + "://" + u.Host
}

// checkOrigin answers 403 and returns false when the request's origin is
// not allowed.
func (s *Server) checkOrigin(w http.ResponseWriter, r *http.Request, useReferer bool) bool {
	if s.cfg.Origins.Allowed(r, requestOrigin(r, useReferer)) {
		return true
	}
	fail(w, http.StatusForbidden, "sockjs: origin not allowed (see Options.AllowedOrigins and Options.CheckOrigin)\n")
	return false
}

// frameAncestors is the Content-Security-Policy that limits which pages may
// embed the iframe and htmlfile pages to the allowed origins.
func (p *OriginPolicy) frameAncestors() string {
	if p.any || p.check != nil {
		return "" // a check function's origins cannot be listed
	}
	var b strings.Builder
	b.WriteString("frame-ancestors 'self'")
	for o := range p.origins {
		if o != "null" {
			b.WriteString(" " + o)
		}
	}
	for _, pat := range p.patterns {
		b.WriteString(" " + pat)
	}
	return b.String()
}

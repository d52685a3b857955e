// Package protocoltests is a SockJS 0.3.3 conformance suite that runs under
// go test.
//
// Without configuration it starts the module's echo services in-process
// (internal/echoserver) and tests them:
//
//	go test ./protocol-tests/...
//
// With SOCKJS_URL it tests any server that exposes the four SockJS test
// services (echo, disabled_websocket_echo, cookie_needed_echo and close) under
// that URL:
//
//	SOCKJS_URL=http://127.0.0.1:8081 go test ./protocol-tests/...
//
// TestUpstream holds one subtest per test of the official suite
// (github.com/sockjs/sockjs-protocol, sockjs-protocol.py and http-quirks.py),
// named Class/test_name after it, with the same meaning. The other top-level
// tests cover what the official suite does not: heartbeats, session timeouts,
// the abort race, volume and ordering, script and event-stream safety,
// Unicode round trips, origin policy, size limits, routing, JSESSIONID and
// HTTP/1.0.
//
// Tests can be skipped by name with SOCKJS_SKIP; tests that a conforming
// server may fail say why when they fail. README.md lists the environment
// variables, the flags, the skip profiles and the scores of other servers.
//
// The package has no API: everything else lives in _test.go files.
package protocoltests

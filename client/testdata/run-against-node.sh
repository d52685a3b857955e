#!/usr/bin/env bash
# Runs the client tests against sockjs-node 0.3.24 (tools/sockjs-node), the
# reference server, on a free loopback port:
#
#   client/testdata/run-against-node.sh [extra go test flags]
#
# It installs the server's locked dependencies (npm ci), starts it, runs
# `go test -race ./client/` with SOCKJS_NODE_URL pointing at it, and stops
# it again, whatever the outcome. Needs node, npm and go on PATH.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
srvdir="$root/tools/sockjs-node"
log="$(mktemp)"
node_pid=""

cleanup() {
	if [[ -n "$node_pid" ]] && kill -0 "$node_pid" 2>/dev/null; then
		kill "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
	fi
	rm -f "$log"
}
trap cleanup EXIT

(cd "$srvdir" && npm ci --no-audit --no-fund --loglevel=error)

# Ask the OS for a free port, then start the server on it; if another
# process grabbed the port in between, try again.
started=""
for attempt in 1 2 3 4 5; do
	port="$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
	: >"$log"
	(cd "$srvdir" && PORT="$port" HOST=127.0.0.1 exec node server.js) >"$log" 2>&1 &
	node_pid=$!
	for _ in $(seq 1 100); do
		if grep -q "listening" "$log"; then
			started=1
			break
		fi
		if ! kill -0 "$node_pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	if [[ -n "$started" ]]; then
		break
	fi
	echo "sockjs-node did not start on port $port (attempt $attempt):" >&2
	cat "$log" >&2
	kill "$node_pid" 2>/dev/null || true
	wait "$node_pid" 2>/dev/null || true
	node_pid=""
done
if [[ -z "$started" ]]; then
	echo "giving up: sockjs-node would not start" >&2
	exit 1
fi

url="http://127.0.0.1:$port"
echo "sockjs-node 0.3.24 at $url" >&2
cd "$root"
SOCKJS_NODE_URL="$url" go test -race "$@" ./client/

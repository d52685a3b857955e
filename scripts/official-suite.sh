#!/usr/bin/env bash
# Runs the official SockJS protocol suite (../shared/tools/sockjs-protocol)
# against go run ./cmd/sockjs-echo, RUNS times (default 1).
#   SOCKJS_PROTOCOL_GIT=/path/to/sockjs-protocol scripts/official-suite.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SUITE_SH=${SUITE_SH:-../shared/tools/sockjs-protocol/run-suite.sh}
PORT=${PORT:-8081}
go build -o /tmp/sockjs-echo.$$ ./cmd/sockjs-echo
/tmp/sockjs-echo.$$ -addr 127.0.0.1:$PORT 2>/tmp/sockjs-echo.$$.log &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f /tmp/sockjs-echo.$$' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/echo" >/dev/null && break; sleep 0.1; done
rc=0
for i in $(seq "${RUNS:-1}"); do
  SOCKJS_URL=http://127.0.0.1:$PORT bash "$SUITE_SH" | tail -1 || rc=1
done
exit $rc

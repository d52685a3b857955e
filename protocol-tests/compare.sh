#!/usr/bin/env bash
# Scores other SockJS servers with protocol-tests: sockjs-node 0.3.24 (the
# reference, tools/sockjs-node) and igm/sockjs-go v3 (compare/igm, in the
# nested module compare/, so that the root go.mod stays clean). Prints, per
# server, the upstream score (TestUpstream, the official suite's 69 tests),
# the score of the other tests, and every failed test with its first error
# line. The suite's own unit tests (TestSuite*, Fuzz*) are left out.
#
#   protocol-tests/compare.sh [go test flags, e.g. -long]
#
# Needs node and npm (npm ci runs once in tools/sockjs-node), Go with
# access to the module proxy (igm/sockjs-go), and curl. Ports:
# NODE_PORT (default 18091) and IGM_PORT (default 18092). Logs stay in
# COMPARE_LOGS (default a temporary directory, printed at the end).
set -u -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
ROOT=$PWD
NODE_PORT=${NODE_PORT:-18091}
IGM_PORT=${IGM_PORT:-18092}
LOGS=${COMPARE_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/sockjs-compare.XXXXXX")}
mkdir -p "$LOGS"
PIDS=()

die() { echo "compare: $*" >&2; exit 2; }

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
}
trap cleanup EXIT

# wait_up PORT NAME: wait until the echo service answers.
wait_up() {
  for _ in $(seq 100); do
    curl -fs -o /dev/null -m 1 "http://127.0.0.1:$1/echo" && return 0
    sleep 0.1
  done
  die "$2 did not start on port $1; see $LOGS/$2.server.log"
}

start_node() {
  command -v node >/dev/null || die "node not found"
  if [ ! -d "$ROOT/tools/sockjs-node/node_modules/sockjs" ]; then
    (cd "$ROOT/tools/sockjs-node" && npm ci --no-audit --no-fund) >"$LOGS/npm.log" 2>&1 ||
      die "npm ci failed; see $LOGS/npm.log"
  fi
  PORT=$NODE_PORT node "$ROOT/tools/sockjs-node/server.js" >"$LOGS/sockjs-node.server.log" 2>&1 &
  PIDS+=($!)
  wait_up "$NODE_PORT" sockjs-node
}

start_igm() {
  (cd "$ROOT/protocol-tests/compare" && go build -o "$LOGS/igm-echo" ./igm) >"$LOGS/igm-build.log" 2>&1 ||
    die "building compare/igm failed; see $LOGS/igm-build.log"
  "$LOGS/igm-echo" -addr "127.0.0.1:$IGM_PORT" >"$LOGS/igm-sockjs-go.server.log" 2>&1 &
  PIDS+=($!)
  wait_up "$IGM_PORT" igm-sockjs-go
}

# score NAME URL [go test flags]: run the suite against URL and summarise.
score() {
  local name=$1 url=$2
  shift 2
  SOCKJS_URL=$url go test ./protocol-tests/ -count=1 -json -skip '^(TestSuite|Fuzz)' "$@" >"$LOGS/$name.json" 2>"$LOGS/$name.stderr"
  "$LOGS/score" -name "$name" <"$LOGS/$name.json" || cat "$LOGS/$name.stderr" >&2
}

(cd "$ROOT/protocol-tests/compare" && go build -o "$LOGS/score" ./score) || die "building compare/score failed"
start_node
start_igm
score sockjs-node "http://127.0.0.1:$NODE_PORT" "$@"
score igm-sockjs-go "http://127.0.0.1:$IGM_PORT" "$@"
echo "logs: $LOGS"

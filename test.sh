#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: formatting and vet,
# go test -race (unit, fuzz seeds, protocol-tests in-process, client),
# short fuzz runs, the client against sockjs-node, and the browser suite.
# Installs what it needs (Node packages with npm ci, Chromium with apt).
#
#   ./test.sh            everything
#   QUICK=1 ./test.sh    Go tests only (no fuzzing, no Node, no browser)
set -euo pipefail
cd "$(dirname "$0")"
export GOFLAGS=${GOFLAGS:--mod=readonly}
FUZZTIME=${FUZZTIME:-5s}
step() { printf '\n=== %s\n' "$*"; }

step "gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './*/node_modules/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
go vet ./...

step "go test -race ./..."
go test -race -count=1 -timeout 10m ./...

step "nested modules (kept apart so the library depends on gorilla/websocket only)"
for mod in prometheus; do
  (cd "$mod" && go vet ./... && go test -race -count=1 ./...)
done

if [ -n "${QUICK:-}" ]; then exit 0; fi

step "fuzzing, $FUZZTIME per target"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $target"
    # -fuzzminimizetime bounds the minimisation of new inputs: without it a
    # short run can end mid-minimisation with a spurious "context deadline
    # exceeded". A run that fails without a failing input is retried once.
    fuzz() { go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 100x "$pkg" >/tmp/fuzz.$$.log 2>&1; }
    if ! fuzz; then
      if grep -q "Failing input\|testdata/fuzz" /tmp/fuzz.$$.log || ! fuzz; then cat /tmp/fuzz.$$.log; exit 1; fi
    fi
  done
done

step "the read role's model, checked by Spin"
internal/session/model/check.sh

step "redisbroker against a real redis-server"
redisbroker/test.sh

step "examples: chat, and two nodes behind nginx with Redis"
examples/test.sh

if [ -x client/testdata/run-against-node.sh ]; then
  step "client against sockjs-node 0.3.24"
  client/testdata/run-against-node.sh
fi

if [ -x e2e/run.sh ]; then
  step "browser end-to-end (sockjs-client 1.6.1 in Chromium)"
  e2e/run.sh
fi

if [ -n "${SOCKJS_PROTOCOL_GIT:-}" ]; then
  step "official sockjs-protocol suite"
  scripts/official-suite.sh
else
  echo "official sockjs-protocol suite skipped: set SOCKJS_PROTOCOL_GIT to a clone of github.com/sockjs/sockjs-protocol"
fi
echo "all tests passed"

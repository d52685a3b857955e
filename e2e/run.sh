#!/usr/bin/env bash
# Browser end-to-end suite: sockjs-client 1.6.1 in Debian's Chromium against
# a SockJS server, every transport, two origin setups. See e2e/README.md.
#
#   bash e2e/run.sh                  # the default server (see SERVER below)
#   SERVER=node bash e2e/run.sh      # sockjs-node 0.3.24 (tools/sockjs-node)
#   SERVER=go bash e2e/run.sh        # go build ./cmd/sockjs-echo and run it
#   TRANSPORTS=websocket CASES=big1m MODES=same E2E_VERBOSE=1 bash e2e/run.sh
#
# Installs what is missing (Debian's chromium, the npm packages), runs the
# suite with a hard time limit, prints a transport x case table per mode and
# ends with the line "e2e: N passed, M failed". Exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

# The server under test. Switch the default to go once cmd/sockjs-echo is
# meant to pass (expected-failures.js lists nothing for go).
if [ -z "${SERVER_CMD:-}" ] && [ -z "${SERVER_URL:-}" ]; then
  export SERVER="${SERVER:-go}"
fi
# Hard limit for the whole run, in seconds (the runner has its own budget,
# E2E_BUDGET_MS, a little below it, so that it still prints its table).
limit="${E2E_TIMEOUT:-600}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# openssl makes the HTTPS run's certificate (Debian's ca-certificates
# depends on it, so it is usually there already).
if ! command -v openssl >/dev/null; then
  echo "e2e: installing openssl"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y openssl
fi

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "e2e: installing Debian's chromium"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

# npm ci when node_modules is missing or older than the lock file.
npm_ci() {
  local dir="$1"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "e2e: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

npm_ci "$here"
if [ "${SERVER:-}" = node ]; then
  npm_ci "$repo/tools/sockjs-node"
fi

cd "$here"
export E2E_BUDGET_MS="${E2E_BUDGET_MS:-$(( limit * 850 ))}"
status=0
# On the limit, timeout sends SIGTERM: the runner closes Chromium, stops the
# servers and prints its table with the cases left counted as failed. Only
# if it is still there 15 s later is it killed without a word.
timeout --kill-after=15 "$limit" node run.js || status=$?
if [ "$status" = 137 ]; then
  echo "e2e: killed at the ${limit}s limit (E2E_TIMEOUT)"
  echo "e2e: 0 passed, 1 failed"
fi
exit "$status"

#!/usr/bin/env bash
# Tests of the redisbroker module against a real redis-server, which the
# tests start themselves on a free loopback port (see redis_test.go) and stop
# afterwards. Installs Debian's redis-server with apt when it is missing and
# this runs as root.
#
#   redisbroker/test.sh
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "redisbroker: installing redis-server"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    # The package starts a system service on port 6379; the tests run their own.
    command -v systemctl >/dev/null && systemctl stop redis-server >/dev/null 2>&1 || true
  else
    echo "redisbroker: redis-server is missing (apt-get install redis-server)" >&2
    exit 1
  fi
fi
go vet ./...
REDISBROKER_REQUIRE=1 go test -race -count=1 ./...

#!/usr/bin/env bash
# Tests of the examples module: vet, go test -race (the chat; its two-node
# test against a redis-server started here on a free loopback port), then
# the multi-node test through nginx (multinode/run.sh). Installs Debian's
# redis-server and nginx with apt when missing and this runs as root.
#
#   examples/test.sh
set -euo pipefail
cd "$(dirname "$0")"
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "examples: installing ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    for svc in "${need[@]}"; do # the packages may start system services; the tests run their own
      if command -v systemctl >/dev/null; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
      invoke-rc.d "$svc" stop >/dev/null 2>&1 || true
    done
  else
    echo "examples: missing ${need[*]} (apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

go vet ./...

tmp=$(mktemp -d /tmp/examples-test.XXXXXX)
redis_pid=
cleanup() {
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/freeport" ./multinode/freeport
port=$("$tmp/freeport")
redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$tmp" \
  --loglevel warning >"$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
REDIS_ADDR="127.0.0.1:$port" go test -race -count=1 ./...
cleanup
redis_pid=
trap - EXIT

multinode/run.sh

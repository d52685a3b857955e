#!/usr/bin/env bash
# Multi-node test: redis-server, two SockJS nodes (./node) sharing it
# through redisbroker, and nginx in front of them with each example
# configuration of ../nginx (sticky by server id, then by JSESSIONID). For
# every transport our Go client (./check) receives through nginx while
# messages are published on the other node, and must get all of them in
# order. Then two chat nodes (../chat) behind nginx: both must list the
# members joined through nginx and on each node, and once one node's
# process is killed (SIGKILL), its members must leave the other's list
# within the presence TTL. Everything runs on 127.0.0.1 ports that were free, as normal
# foreground processes with their files in a temporary directory, and is
# stopped at the end.
#
#   examples/multinode/run.sh          # installs redis-server and nginx with apt if missing (as root)
#
# The last line is "multinode: N passed, M failed"; the exit status is 0
# only if nothing failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
examples=$(dirname "$here")

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "multinode: installing ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    # Debian's packages start their system services; this test runs its own.
    for svc in redis-server nginx; do
      command -v systemctl >/dev/null && systemctl stop "$svc" >/dev/null 2>&1 || true
    done
  else
    echo "multinode: missing ${need[*]} (apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d /tmp/multinode.XXXXXX)
chmod 755 "$tmp" # nginx workers may run as another user
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "multinode: building"
(cd "$examples" && go build -o "$tmp/bin/" ./multinode/node ./multinode/check ./multinode/freeport ./chat)

# wait_port PORT NAME PID: until something listens on 127.0.0.1:PORT.
wait_port() {
  local i
  for i in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$3" 2>/dev/null; then
      echo "multinode: $2 exited" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "multinode: $2 is not listening on $1" >&2
  return 1
}

mapfile -t ports < <("$tmp/bin/freeport" -n 6)
redis_port=${ports[0]} node_a=${ports[1]} node_b=${ports[2]} lb_port=${ports[3]}
chat_a=${ports[4]} chat_b=${ports[5]}

redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
  --dir "$tmp" --loglevel warning >"$tmp/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port" redis-server $!

"$tmp/bin/node" -addr "127.0.0.1:$node_a" -name A -redis "127.0.0.1:$redis_port" 2>"$tmp/node-a.log" &
pids+=($!)
wait_port "$node_a" "node A" $!
"$tmp/bin/node" -addr "127.0.0.1:$node_b" -name B -redis "127.0.0.1:$redis_port" 2>"$tmp/node-b.log" &
pids+=($!)
wait_port "$node_b" "node B" $!

passed=0
failed=0
for mode in serverid jsessionid; do
  prefix="$tmp/nginx-$mode"
  mkdir -p "$prefix/logs" "$prefix/temp"
  chmod -R 755 "$prefix"
  # The example configuration, with this run's ports.
  sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$lb_port/" \
      -e "s/127\.0\.0\.1:8081/127.0.0.1:$node_a/" \
      -e "s/127\.0\.0\.1:8082/127.0.0.1:$node_b/" \
      "$examples/nginx/sockjs-$mode.conf" >"$prefix/sockjs.conf"
  cat >"$prefix/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log $prefix/logs/access.log;
    client_body_temp_path $prefix/temp/body;
    proxy_temp_path $prefix/temp/proxy;
    fastcgi_temp_path $prefix/temp/fastcgi;
    uwsgi_temp_path $prefix/temp/uwsgi;
    scgi_temp_path $prefix/temp/scgi;
    include $prefix/sockjs.conf;
}
EOF
  "$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" &
  nginx_pid=$!
  pids+=($nginx_pid)
  if ! wait_port "$lb_port" "nginx ($mode)" "$nginx_pid"; then
    cat "$prefix/logs/error.log" >&2 || true
    failed=$((failed + 1))
    continue
  fi

  out="$tmp/check-$mode.out"
  set +e
  "$tmp/bin/check" -label "$mode" -url "http://127.0.0.1:$lb_port/chat" \
    -node "A=http://127.0.0.1:$node_a/chat" -node "B=http://127.0.0.1:$node_b/chat" \
    -messages 100 -clients 3 -timeout 30s | tee "$out"
  set -e
  summary=$(tail -n 1 "$out")
  if [[ $summary =~ ^$mode:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
  else
    echo "multinode: check ($mode) ended without a summary" >&2
    failed=$((failed + 1))
  fi
  if grep -q '^FAIL' "$out"; then
    echo "--- nginx error log ($mode)"; tail -n 20 "$prefix/logs/error.log" || true
  fi

  # Stop nginx gracefully (QUIT lets workers finish) before the next mode.
  kill -QUIT "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
done

# Presence: two chat nodes behind nginx (server id configuration).
ttl=2s
"$tmp/bin/chat" -addr "127.0.0.1:$chat_a" -name A -redis "127.0.0.1:$redis_port" -presence-ttl $ttl 2>"$tmp/chat-a.log" &
pids+=($!)
wait_port "$chat_a" "chat A" $!
"$tmp/bin/chat" -addr "127.0.0.1:$chat_b" -name B -redis "127.0.0.1:$redis_port" -presence-ttl $ttl 2>"$tmp/chat-b.log" &
chat_b_pid=$!
disown "$chat_b_pid" # check kills it: no "Killed" job notice from bash
pids+=($chat_b_pid)
wait_port "$chat_b" "chat B" $chat_b_pid
prefix="$tmp/nginx-presence"
mkdir -p "$prefix/logs" "$prefix/temp"
chmod -R 755 "$prefix"
sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$lb_port/" \
    -e "s/127\.0\.0\.1:8081/127.0.0.1:$chat_a/" \
    -e "s/127\.0\.0\.1:8082/127.0.0.1:$chat_b/" \
    "$examples/nginx/sockjs-serverid.conf" >"$prefix/sockjs.conf"
sed -e "s|$tmp/nginx-serverid|$prefix|g" "$tmp/nginx-serverid/nginx.conf" >"$prefix/nginx.conf"
"$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" &
nginx_pid=$!
pids+=($nginx_pid)
out="$tmp/check-presence.out"
if wait_port "$lb_port" "nginx (presence)" "$nginx_pid"; then
  set +e
  "$tmp/bin/check" -presence -label presence -url "http://127.0.0.1:$lb_port/chat" \
    -node "A=http://127.0.0.1:$chat_a/chat" -node "B=http://127.0.0.1:$chat_b/chat" \
    -kill-node B -kill-pid "$chat_b_pid" -ttl $ttl -timeout 30s | tee "$out"
  set -e
  summary=$(tail -n 1 "$out")
  if [[ $summary =~ ^presence:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
  else
    echo "multinode: check (presence) ended without a summary" >&2
    failed=$((failed + 1))
  fi
else
  cat "$prefix/logs/error.log" >&2 || true
  failed=$((failed + 1))
fi
kill -QUIT "$nginx_pid" 2>/dev/null || true
wait "$nginx_pid" 2>/dev/null || true

if [ "$failed" -gt 0 ]; then
  for f in node-a node-b chat-a chat-b; do echo "--- $f log"; tail -n 20 "$tmp/$f.log"; done
fi
echo "multinode: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

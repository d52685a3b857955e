#!/usr/bin/env bash
# Regenerates the benchmark results, bench/charts/*.png and BENCHMARKS.md:
# builds the load tool, the benchmark servers and the driver, makes sure
# sockjs-node is installed, and runs the comparison matrix on loopback.
#
#   bench/run.sh                          the full run (3 rounds, 5 s cells, ~15 min)
#   bench/run.sh -rounds 1 -d 2s -scale ''  a quick look
#   bench/run.sh -report-only             redraw reports from bench/results/raw.jsonl
#
# Needs Go, Node.js and npm; gnuplot (apt-get install gnuplot-nox) for the
# charts.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p .bin
(cd .. && go build -o bench/.bin/sockjs-bench ./cmd/sockjs-bench)
go build -o .bin/benchserver ./benchserver
go build -o .bin/compare ./compare
if [ ! -d ../tools/sockjs-node/node_modules/sockjs ]; then
  (cd ../tools/sockjs-node && npm ci --no-audit --no-fund)
fi
command -v gnuplot >/dev/null || echo "run.sh: gnuplot not found (apt-get install gnuplot-nox): no charts" >&2
mkdir -p results
case " $* " in
*" -report-only "*) ;;
*)
  echo "run.sh: micro-benchmarks" >&2
  (cd .. && go test -run '^$' -bench . -benchmem -benchtime 300ms \
    ./internal/frame ./internal/session ./transports) |
    grep -E "^(Benchmark|pkg:|cpu:)" > results/micro.txt || echo "run.sh: micro-benchmarks failed" >&2
  ;;
esac
rev=$(git -C .. rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C .. status --porcelain -- sockjs transports internal 2>/dev/null | grep -vc '_test.go$' || true)
[ "$dirty" = 0 ] || rev="$rev + $dirty uncommitted library files"
exec .bin/compare -root .. -bin .bin -out results -rev "$rev" "$@"

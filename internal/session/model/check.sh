#!/usr/bin/env bash
# Model-checks the read role (readrole.pml) with Spin: every interleaving of
# the client, two Recv callers (one with contexts of its own), background
# readers started by heartbeats, take-overs and late interrupts, for N
# messages. Installs Debian's spin when it is missing. Exit 0 only when Spin
# finds no error.
#
#   internal/session/model/check.sh              N=4, 4 beats, 3 context ends (~3 s, 1 GB)
#   SPIN_FLAGS="-DN=3" internal/session/model/check.sh
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v spin >/dev/null; then
  (apt-get install -y spin >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y spin >/dev/null; })
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp readrole.pml "$work/"
cd "$work"
spin -a ${SPIN_FLAGS:--DN=4 -DBEATS=4 -DCTXENDS=3} readrole.pml
gcc -O2 -DSAFETY -o pan pan.c
./pan -m10000000 > pan.out 2>&1 || true
grep -E "errors:|states, stored" pan.out
if ! grep -q "errors: 0" pan.out; then
  cat pan.out
  spin -t -p -g readrole.pml | tail -60
  exit 1
fi

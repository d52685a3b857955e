#!/usr/bin/env bash
# Model-checks the read role (readrole.pml) and the write role
# (writerole.pml) of a push session with Spin, over every interleaving.
# Installs Debian's spin when it is missing. Exit 0 only when Spin finds no
# error in either model.
#
#   internal/session/model/check.sh      (~5 s, 1 GB)
#   READ_FLAGS="-DN=3" WRITE_FLAGS="-DFRAMES=3" internal/session/model/check.sh
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v spin >/dev/null; then
  (apt-get install -y spin >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y spin >/dev/null; })
fi
here=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
check() { # model, flags
  cp "$here/$1" "$work/"
  (
    cd "$work"
    spin -a $2 "$1"
    gcc -O2 -DSAFETY -o pan pan.c
    ./pan -m10000000 > pan.out 2>&1 || true
    echo "$1 ($2): $(grep -E 'errors:' pan.out | sed 's/.*errors/errors/'), $(grep -E 'states, stored' pan.out | awk '{print $1}') states"
    if ! grep -q "errors: 0" pan.out; then
      cat pan.out
      spin -t -p -g $2 "$1" | tail -60
      exit 1
    fi
  )
}
check readrole.pml "${READ_FLAGS:--DN=4 -DBEATS=4 -DCTXENDS=3}"
check writerole.pml "${WRITE_FLAGS:--DFRAMES=4}"
# Each defect the write model describes, put back, must be caught.
for m in NORECHECK DROPCARRY NOFLUSH NOCLEAR RETIRE; do
  (
    cd "$work"
    spin -a -DFRAMES=2 -DMUT_$m writerole.pml
    gcc -O2 -DSAFETY -o pan pan.c
    ./pan -m10000000 > pan.out 2>&1 || true
    if grep -q "errors: 0" pan.out; then
      echo "writerole.pml: the mutation $m was not caught" >&2
      exit 1
    fi
    echo "writerole.pml -DMUT_$m: caught ($(grep -m1 -oE 'assertion violated|invalid end state|acceptance cycle' pan.out))"
  )
done

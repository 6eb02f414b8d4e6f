#!/bin/sh
# Starts the bundled demo service (Docs/demo/demo.py), profiles it for 3 seconds
# with thread roots, and prints the heaviest folded stacks; then a dump of every
# thread. Uses the first python3 on PATH.
set -e
BIN=${1:-.build/release/sampswift}
DIR=$(dirname "$0")
PYTHON=${PYTHON:-python3}
"$PYTHON" "$DIR/demo.py" > /dev/null &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
sleep 0.5
echo "== sampswift record --pid $PID --duration 3 --threads" >&2
# Blocks of lines are streamed once a second; sum them per stack for display.
"$BIN" record --pid "$PID" --duration 3 --threads \
  | awk '{n=$NF; $NF=""; sub(/ $/, ""); c[$0]+=n} END {for (s in c) print s, c[s]}' \
  | awk '{print $NF "\t" $0}' | sort -n -r | cut -f2- | head -12
echo >&2
echo "== sampswift dump --pid $PID --native" >&2
"$BIN" dump --pid "$PID" --native

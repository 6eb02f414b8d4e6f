#!/bin/sh
# Starts the demo workload, profiles it for 3 seconds and prints folded stacks.
set -e
BIN=${1:-.build/release/sampswift}
DIR=$(dirname "$0")
OUT=$(mktemp -d)
gcc -O1 -g -pthread -o "$OUT/demo-service" "$DIR/demo.c"
"$OUT/demo-service" > /dev/null &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$OUT"' EXIT
sleep 0.3
echo "== sampswift record --pid $PID --duration 3" >&2
# Blocks of lines are streamed once a second; sum them per stack for display.
"$BIN" record --pid "$PID" --duration 3 \
  | awk '{n=$NF; $NF=""; sub(/ $/, ""); c[$0]+=n} END {for (s in c) print s, c[s]}' \
  | awk '{print $NF "\t" $0}' | sort -n -r | cut -f2- | head -20

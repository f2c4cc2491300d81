#!/usr/bin/env bash
# Configure and build the reference DTLS echo peers into native/build (Release), quietly.
# Idempotent and safe to run concurrently; prints the two binary paths on success.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/build"
mkdir -p "$build"

exec 9>"$build/.build.lock"
flock 9

log="$build/build.log"
if ! { cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release \
        && cmake --build "$build" --parallel; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "error: native build failed (log: $log)" >&2
  exit 1
fi

echo "$build/dtls-echo-server"
echo "$build/dtls-echo-client"

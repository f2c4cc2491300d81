#!/usr/bin/env bash
# Builds the mbedTLS interop peer (peer.c over Debian's libmbedtls-dev, mbedTLS 2.28) into
# native/mbedtls/build/mbedtls-dtls-peer. Idempotent, quiet, and safe to run concurrently (a lock),
# like native/build.sh. Prints the binary's path on success.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/build"
mkdir -p "$build"
exec 9>"$build/.build.lock"
flock 9

binary="$build/mbedtls-dtls-peer"
if [[ ! -x "$binary" || "$here/peer.c" -nt "$binary" ]]; then
  if ! cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$binary.tmp" "$here/peer.c" \
       -lmbedtls -lmbedx509 -lmbedcrypto >"$build/build.log" 2>&1; then
    cat "$build/build.log" >&2
    echo "error: mbedTLS peer build failed (is libmbedtls-dev installed?)" >&2
    exit 1
  fi
  mv "$binary.tmp" "$binary"
fi
echo "$binary"

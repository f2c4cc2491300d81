#!/usr/bin/env bash
# One-command demo of OpenSslDtls: build the two samples, start EchoServer on a free port, send a
# message with EchoClient (pinning the server's self-signed certificate), show the echo, stop the
# server with SIGTERM. Exits with the client's status. Every step is bounded by a timeout.
#
#   bash samples/demo.sh
#
# Environment: ARTIFACTS (build output directory, default <repo>/artifacts), MESSAGE (text to send).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
artifacts="${ARTIFACTS:-$root/artifacts}"
message="${MESSAGE:-Hello over DTLS from OpenSslDtls!}"
work="$(mktemp -d)"
server_pid=""

cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "building samples/EchoServer and samples/EchoClient (Release)"
for project in EchoServer EchoClient; do
  timeout 600 dotnet build "$root/samples/$project" -c Release --artifacts-path "$artifacts" -nologo -v q
done
server_dll="$artifacts/bin/EchoServer/release/EchoServer.dll"
client_dll="$artifacts/bin/EchoClient/release/EchoClient.dll"

step "starting EchoServer on a free port (ephemeral self-signed certificate)"
dotnet "$server_dll" --port 0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
port=""
fingerprint=""
for _ in $(seq 1 300); do # up to 30 s
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "EchoServer exited early:" >&2
    cat "$work/server.err" >&2
    exit 1
  fi
  line="$(grep -m1 '^listening on ' "$work/server.out" || true)"
  fingerprint="$(sed -n 's/^fingerprint SHA256 //p' "$work/server.err" | head -n1)"
  if [[ -n "$line" && -n "$fingerprint" ]]; then
    port="${line##*:}"
    break
  fi
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "EchoServer did not print 'listening on' within 30 s" >&2
  cat "$work/server.err" >&2
  exit 1
fi
echo "$line"
echo "fingerprint SHA256 $fingerprint"

step "EchoClient --port $port --pin <fingerprint> --message \"$message\""
status=0
timeout 60 dotnet "$client_dll" --port "$port" --pin "$fingerprint" --message "$message" || status=$?

step "stopping EchoServer (SIGTERM)"
kill -TERM "$server_pid"
server_status=0
for _ in $(seq 1 100); do # up to 10 s
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
  echo "EchoServer did not stop within 10 s; killing it" >&2
  kill -KILL "$server_pid" 2>/dev/null || true
fi
wait "$server_pid" || server_status=$?
server_pid=""
echo "server log:"
sed 's/^/  /' "$work/server.err"
echo "server exit code $server_status, client exit code $status"
exit "$status"

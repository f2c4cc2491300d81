#!/usr/bin/env bash
# OpenSslDtls against the native C reference on the same libssl, measured in one run on this
# machine, reported as ratios (absolute figures on a shared 2-core machine mean little).
#
#   bash benchmarks/compare.sh            # defaults below; override with the environment variables
#
# HANDSHAKES (per client run, default 500), COUNT (echo round trips, default 20000), SIZE (bytes per
# datagram, default 1000), ROUNDS (repeats, median taken, default 3), HOLD (idle sessions, default 1000).
# Every server runs on 127.0.0.1 and is stopped at the end; every run is bounded by a timeout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
art="${ARTIFACTS:-$root/artifacts/bench}"
HANDSHAKES="${HANDSHAKES:-500}" COUNT="${COUNT:-20000}" SIZE="${SIZE:-1000}" ROUNDS="${ROUNDS:-3}" HOLD="${HOLD:-1000}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo "building native/, benchmarks/LoadTool and samples/EchoServer (Release)" >&2
bash "$root/native/build.sh" >/dev/null
for project in benchmarks/LoadTool samples/EchoServer; do
  dotnet build "$root/$project" -c Release --artifacts-path "$art" -nologo -v q -clp:ErrorsOnly >&2
done
c_server="$root/native/build/dtls-echo-server"
c_client="$root/native/build/dtls-echo-client"
cs_client=(dotnet "$art/bin/LoadTool/release/dtls-load.dll")
cs_server=(dotnet "$art/bin/EchoServer/release/EchoServer.dll")

# start NAME CMD...: starts a server on a free port; sets $port and $pid.
start() {
  local name=$1; shift
  "$@" --port 0 >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!; pids+=("$pid")
  for _ in $(seq 1 300); do
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/$name.out")
    [[ -n "$port" ]] && return 0
    sleep 0.1
  done
  echo "error: $name did not start: $(cat "$work/$name.err")" >&2; exit 1
}

# rate CMD...: runs CMD ROUNDS times (each bounded), prints the median of its per_second field.
rate() {
  for _ in $(seq 1 "$ROUNDS"); do
    timeout 300 "$@" | sed -n 's/.* per_second \([0-9.]*\).*/\1/p'
  done | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# parallel N CMD...: runs N copies of CMD at once, prints the sum of their per_second fields.
parallel() {
  local n=$1; shift
  for i in $(seq 1 "$n"); do timeout 300 "$@" >"$work/par.$i" & done
  wait
  cat "$work"/par.* | sed -n 's/.* per_second \([0-9.]*\).*/\1/p' | awk '{ s += $1 } END { print s }'
  rm -f "$work"/par.*
}

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# idle_kb PORT SERVER_PID: RSS growth of the server per held session, in bytes.
idle_bytes() {
  local before after fifo="$work/hold.in"
  before=$(rss_kb "$2")
  rm -f "$fifo"; mkfifo "$fifo"
  "${cs_client[@]}" --port "$1" --hold "$HOLD" <"$fifo" >"$work/hold.out" &
  local holder=$!
  exec 3>"$fifo"
  for _ in $(seq 1 1200); do grep -q '^holding' "$work/hold.out" && break; sleep 0.1; done
  after=$(rss_kb "$2")
  exec 3>&-
  wait "$holder" || true
  echo $(( (after - before) * 1024 / HOLD ))
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
row() { printf '| %-58s | %12s | %12s | %6s |\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

echo
echo "OpenSslDtls vs native C, same libssl ($(openssl version | cut -d' ' -f1-2)), $(nproc) cores, median of $ROUNDS"
echo
printf '| %-58s | %12s | %12s | %6s |\n' "measure (higher is better except memory)" "OpenSslDtls" "native C" "ratio"
printf '|%s|%s|%s|%s|\n' "------------------------------------------------------------" "--------------" "--------------" "--------"

start c-server "$c_server" --quiet
c_port=$port; c_pid=$pid
c_hs=$(rate "$c_client" --port "$c_port" --insecure --quiet --handshakes "$HANDSHAKES")
cs_hs=$(rate "${cs_client[@]}" --port "$c_port" --handshakes "$HANDSHAKES")
row "client handshakes/s (vs C server)" "$cs_hs" "$c_hs"
c_echo=$(rate "$c_client" --port "$c_port" --insecure --quiet --size "$SIZE" --count "$COUNT")
cs_echo=$(rate "${cs_client[@]}" --port "$c_port" --size "$SIZE" --count "$COUNT")
row "client echo round trips/s, $SIZE B (vs C server)" "$cs_echo" "$c_echo"
c_idle=$(idle_bytes "$c_port" "$c_pid")

for loops in 1 2; do
  start "cs-server-$loops" "${cs_server[@]}" --receive-loops "$loops"
  cs_port=$port; cs_pid=$pid
  s_hs=$(rate "$c_client" --port "$cs_port" --insecure --quiet --handshakes "$HANDSHAKES")
  s_hs2=$(parallel 2 "$c_client" --port "$cs_port" --insecure --quiet --handshakes "$HANDSHAKES")
  c_hs2=$(parallel 2 "$c_client" --port "$c_port" --insecure --quiet --handshakes "$HANDSHAKES")
  s_echo=$(rate "$c_client" --port "$cs_port" --insecure --quiet --size "$SIZE" --count "$COUNT")
  row "listener handshakes/s, $loops receive loop(s), 1 C client" "$s_hs" "$c_hs"
  row "listener handshakes/s, $loops receive loop(s), 2 C clients" "$s_hs2" "$c_hs2"
  row "listener echo round trips/s, $loops receive loop(s)" "$s_echo" "$c_echo"
  if [[ $loops == 1 ]]; then
    s_idle=$(idle_bytes "$cs_port" "$cs_pid")
    row "server RSS bytes per idle session ($HOLD held; lower is better)" "$s_idle" "$c_idle"
  fi
  kill "$cs_pid"; wait "$cs_pid" 2>/dev/null || true
done
echo
echo "C server: one thread and one connected socket per session (DTLSv1_listen); OpenSslDtls: DtlsListener, one socket."
echo "In-process split of the listener's idle-session memory (managed GC heap vs native malloc):"
MALLOC_ARENA_MAX=1 timeout 300 "${cs_client[@]}" --port "$c_port" --listener-memory "$HOLD"

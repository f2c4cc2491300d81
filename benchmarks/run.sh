#!/usr/bin/env bash
# The benchmark of issue 13: plain UDP (the floor), native C, OpenSslDtls and BouncyCastle in the
# same shapes, INTERLEAVED: every round runs every implementation on one measure before the next
# round, so that the machine's bursts hit all of them alike; the report gives the median, min-max
# and the median of the per-round ratios (paired), for each measure.
#
#   bash benchmarks/run.sh                       # 5 rounds, about 8 minutes on 2 cores
#   ROUNDS=1 WINDOW=0.3 IDLE=500 PEERS=100 bash benchmarks/run.sh     # a quick check while developing
#   WRITE_DOC=1 bash benchmarks/run.sh           # also rewrites the table in docs/benchmarks.md
#
# ROUNDS (default 5), WINDOW (seconds timed per run, default 1), IDLE (idle sessions held for the
# memory measure, default 10000), PEERS (many-peers sizes, default "100 1000"), HS_COUNT (handshakes
# per cross-process handshake run, default 400).
# Shapes: one process per implementation and measure; pair measures run a server and a client over
# two connected loopback sockets in that process (native/bench.c, benchmarks/PairBench); many-peers
# runs one client process (OpenSslDtls sessions, or plain sockets for UDP) against a server process
# (native/server.c --quiet: one thread and one connected socket per client; PairBench --mode serve:
# one DtlsListener, no logging; native/bench.c --mode udp-server). Every process is bounded by `timeout` and
# stopped by PID.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-5}" WINDOW="${WINDOW:-1}" IDLE="${IDLE:-10000}" PEERS="${PEERS:-100 1000}"
command_line="ROUNDS=$ROUNDS WINDOW=$WINDOW IDLE=$IDLE PEERS=\"$PEERS\" bash benchmarks/run.sh"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
began=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

echo "building native/, benchmarks/PairBench, benchmarks/LoadTool (Release)" >&2
bash "$root/native/build.sh" >/dev/null
for project in benchmarks/PairBench benchmarks/LoadTool; do
  dotnet build "$root/$project" -c Release -nologo -v q -clp:ErrorsOnly >&2
done
# ReadyToRun (precompiled) build of the same program: what a user who publishes with
# PublishReadyToRun gets at cold start.
dotnet publish "$root/benchmarks/PairBench" -c Release -r linux-x64 --self-contained false -p:PUBLISH_R2R=1 \
  -o "$work/r2r" -nologo -v q -clp:ErrorsOnly >&2
# Native AOT build of the same program (no JIT at all): what a user who publishes with PublishAot gets.
aot_ok=1
dotnet publish "$root/benchmarks/PairBench" -c Release -r linux-x64 -p:PublishAot=true \
  -o "$work/aot" -nologo -v q -clp:ErrorsOnly >&2 || { aot_ok=0; echo "note: the Native AOT publish failed; cold start without it" >&2; }
native="$root/native/build/dtls-bench"
# The same suite on every side of the cross-process measures (what OpenSslDtls negotiates and what
# dtls-bench forces): without these the C pair negotiated ECDHE-ECDSA-AES256-GCM-SHA384.
suite=(--ciphers ECDHE-ECDSA-AES128-GCM-SHA256 --groups X25519:P-256) # P-256 stays listed: in TLS 1.2 it also admits the ECDSA P-256 certificate
c_server="$root/native/build/dtls-echo-server"
pair=(dotnet "$root/benchmarks/PairBench/bin/Release/net10.0/dtls-pair-bench.dll")
pair_r2r=(dotnet "$work/r2r/dtls-pair-bench.dll")
load=(dotnet "$root/benchmarks/LoadTool/bin/Release/net10.0/dtls-load.dll")

# The same certificates for everyone: ECDSA P-256 and RSA-2048, self-signed, SAN localhost.
for kind in ec rsa; do
  if [[ $kind == ec ]]; then alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); else alg=(-newkey rsa:2048); fi
  openssl req -x509 "${alg[@]}" -nodes -keyout "$work/$kind.key" -out "$work/$kind.pem" -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
done

results="$work/results.txt" # lines: measure round impl RESULT name=value ...
: >"$results"
# Every program's stderr, kept: the managed programs say there how long they warmed up and how much
# the JIT compiled inside the timed window, dtls-load its own CPU per handshake and retransmissions.
stderr_log="$work/stderr.log"
: >"$stderr_log"
keep_err() { { echo "== $1 round $2 $3"; cat "$work/err"; } >>"$stderr_log" 2>/dev/null || true; }

# record MEASURE ROUND IMPL CMD...: runs CMD (bounded), appends its RESULT line.
record() {
  local measure=$1 round=$2 impl=$3; shift 3
  local out
  local ok=1
  out=$(timeout 120 "$@" 2>"$work/err") || ok=0
  keep_err "$measure" "$round" "$impl"
  if [ "$ok" = 0 ]; then
    echo "error: $measure/$impl round $round failed: $(tail -5 "$work/err")" >&2
    echo "$measure $round $impl FAILED" >>"$results" # report.py warns and counts the samples
    return 0
  fi
  local line
  line=$(grep '^RESULT' <<<"$out" | tail -1)
  echo "$measure $round $impl $line" >>"$results"
}

# cold MEASURE ROUND IMPL CMD...: as record, adds process_ms (from before exec to the handshake's end).
cold() {
  local measure=$1 round=$2 impl=$3; shift 3
  local t0 out
  t0=$(date +%s%N)
  out=$(timeout 120 "$@" 2>"$work/err" | grep '^RESULT') || { keep_err "$measure" "$round" "$impl"; echo "error: cold $impl: $(tail -3 "$work/err")" >&2; echo "$measure $round $impl FAILED" >>"$results"; return 0; }
  keep_err "$measure" "$round" "$impl"
  local done_ns=${out##*done_epoch_ns=}
  echo "$measure $round $impl $out process_ms=$(( (done_ns - t0) / 1000000 ))" >>"$results"
}

ec=(--cert "$work/ec.pem" --key "$work/ec.key")
rsa=(--cert "$work/rsa.pem" --key "$work/rsa.key")
pair_measure() { # MEASURE ROUND MODE CERTS... -- EXTRA...: native, ours, (ours via listener,) BouncyCastle
  local measure=$1 round=$2 mode=$3; shift 3
  record "$measure" "$round" native "$native" --mode "$mode" --seconds "$WINDOW" "$@"
  record "$measure" "$round" ours "${pair[@]}" --impl ours --mode "$mode" --seconds "$WINDOW" "$@"
  if [[ $mode == echo || $mode == bulk ]]; then
    record "$measure" "$round" ours-listener "${pair[@]}" --impl ours-listener --mode "$mode" --seconds "$WINDOW" "$@"
  fi
  record "$measure" "$round" bc "${pair[@]}" --impl bc --mode "$mode" --seconds "$WINDOW" "$@"
}

progress() { echo "[$(( $(date +%s) - began )) s] $*" >&2; }

for measure in hs-ecdsa hs-rsa resume-ecdsa echo-64 echo-1200 bulk-1200 cold-ecdsa; do
  for round in $(seq 1 "$ROUNDS"); do
    progress "$measure round $round"
    case $measure in
      hs-ecdsa) pair_measure "$measure" "$round" hs "${ec[@]}" ;;
      hs-rsa) pair_measure "$measure" "$round" hs "${rsa[@]}" ;;
      resume-ecdsa) pair_measure "$measure" "$round" resume "${ec[@]}" ;;
      echo-*|bulk-*)
        mode=${measure%-*} size=${measure#*-}
        record "$measure" "$round" udp "$native" --mode "$mode" --udp --size "$size" --seconds "$WINDOW"
        pair_measure "$measure" "$round" "$mode" "${ec[@]}" --size "$size" ;;
      cold-ecdsa)
        cold "$measure" "$round" native "$native" --mode cold "${ec[@]}"
        cold "$measure" "$round" ours "${pair[@]}" --impl ours --mode cold "${ec[@]}"
        cold "$measure" "$round" ours-r2r "${pair_r2r[@]}" --impl ours --mode cold "${ec[@]}"
        if [[ $aot_ok == 1 ]]; then cold "$measure" "$round" ours-aot "$work/aot/dtls-pair-bench" --impl ours --mode cold "${ec[@]}"; fi
        cold "$measure" "$round" bc "${pair[@]}" --impl bc --mode cold "${ec[@]}" ;;
    esac
  done
done

# start NAME CMD...: a server on a free port; sets $port and $pid.
start() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!; pids+=("$pid")
  for _ in $(seq 1 300); do
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/$name.out")
    [[ -n "$port" ]] && return 0
    sleep 0.1
  done
  echo "error: $name did not start: $(cat "$work/$name.err")" >&2; exit 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# Many peers: one server process per implementation for the whole section; every client run
# handshakes its own sessions. The server's CPU per round trip comes from /proc/PID/stat, read by the
# client at the timed window's start and end.
start udp-server "$native" --mode udp-server; udp_port=$port; udp_pid=$pid
start c-server "$c_server" --port 0 --quiet --max-sessions 2000 "${suite[@]}"; c_port=$port; c_pid=$pid
start cs-server "${pair[@]}" --mode serve; cs_port=$port; cs_pid=$pid
many() { # MEASURE ROUND IMPL SERVER_PID CLIENT_IMPL PORT PEERS
  # The client reads the server's utime+stime at the timed window's start and end (not the
  # handshakes or the warm-up) and reports server_cpu_us_per_op itself.
  record "$1" "$2" "$3" "${pair[@]}" --impl "$5" --mode many --port "$6" --peers "$7" --size 64 --seconds "$WINDOW" \
    --server-pid "$4" --clock-ticks "$hz"
}
# Client side and server side of a full handshake across processes, against the other side's
# native C peer (ECDSA P-256 ephemeral certificates, HelloVerifyRequest cookies from both servers,
# no resumption): client side = dtls-load (OpenSslDtls) or dtls-echo-client against the C server;
# server side = dtls-echo-client against PairBench's DtlsListener server or against the C server.
c_client="$root/native/build/dtls-echo-client"
HS_COUNT="${HS_COUNT:-400}"
cross() { # MEASURE ROUND IMPL SERVER_PID CMD...: a client printing "handshakes N ... per_second X"
  local measure=$1 round=$2 impl=$3 server_pid=$4; shift 4
  local before after out
  before=$(cpu_ticks "$server_pid")
  out=$(timeout 120 "$@" 2>"$work/err" | grep '^handshakes') || { keep_err "$measure" "$round" "$impl"; echo "error: $measure/$impl: $(tail -3 "$work/err")" >&2; echo "$measure $round $impl FAILED" >>"$results"; return 0; }
  keep_err "$measure" "$round" "$impl"
  after=$(cpu_ticks "$server_pid")
  local n rate ticks client_cpu
  field() { awk -v name="$1" '{ for (i = 1; i < NF; i++) if ($i == name) print $(i + 1) }' <<<"$out"; }
  n=$(field handshakes); rate=$(field per_second); client_cpu=$(field client_cpu_us_per_op)
  # dtls-load warms up (seconds of handshakes) before its timed loop and reports the server's ticks
  # in that loop itself (server_cpu_ticks); the C client has no warm-up, so the outer reading is its loop.
  ticks=$(field server_cpu_ticks); ticks=${ticks:-$((after - before))}
  echo "$measure $round $impl RESULT ops=$n per_second=$rate server_cpu_us_per_op=$(( ticks * 1000000 / hz / n ))${client_cpu:+ client_cpu_us_per_op=$client_cpu}" >>"$results"
}
# A server process warms up first (JIT and tiering: the first hundreds of handshakes ran at a third
# of the steady rate), unmeasured, as the pair programs do; the C server gets the same.
progress "warming up the servers"
for p in "$c_port" "$cs_port"; do
  timeout 120 "$c_client" --port "$p" --insecure --quiet "${suite[@]}" --handshakes 1500 >/dev/null 2>&1 || true
  timeout 120 "${pair[@]}" --impl ours --mode many --port "$p" --peers 100 --size 64 --seconds 2 >/dev/null 2>&1 || true
done
# The same with RSA-2048 (the PEM files of the pair measures), on a second pair of servers.
rsa_suite=(--ciphers ECDHE-RSA-AES128-GCM-SHA256 --groups X25519:P-256)
start c-server-rsa "$c_server" --port 0 --quiet --max-sessions 2000 "${rsa[@]}" "${rsa_suite[@]}"; cr_port=$port; cr_pid=$pid
start cs-server-rsa "${pair[@]}" --mode serve "${rsa[@]}"; csr_port=$port; csr_pid=$pid
# The listener is managed code and warms up as the ECDSA one did; the C server needs no JIT warm-up.
timeout 120 "$c_client" --port "$cr_port" --insecure --quiet "${rsa_suite[@]}" --handshakes 300 >/dev/null 2>&1 || true
timeout 120 "$c_client" --port "$csr_port" --insecure --quiet "${rsa_suite[@]}" --handshakes 1500 >/dev/null 2>&1 || true
for round in $(seq 1 "$ROUNDS"); do
  progress "handshakes across processes, round $round"
  cross hs-client-side "$round" native "$c_pid" "$c_client" --port "$c_port" --insecure --quiet "${suite[@]}" --handshakes "$HS_COUNT"
  cross hs-client-side "$round" ours "$c_pid" "${load[@]}" --port "$c_port" --handshakes "$HS_COUNT" --server-pid "$c_pid"
  cross hs-server-side "$round" native "$c_pid" "$c_client" --port "$c_port" --insecure --quiet "${suite[@]}" --handshakes "$HS_COUNT"
  cross hs-server-side "$round" ours "$cs_pid" "$c_client" --port "$cs_port" --insecure --quiet "${suite[@]}" --handshakes "$HS_COUNT"
  cross hs-client-side-rsa "$round" native "$cr_pid" "$c_client" --port "$cr_port" --insecure --quiet "${rsa_suite[@]}" --handshakes "$HS_COUNT"
  cross hs-client-side-rsa "$round" ours "$cr_pid" "${load[@]}" --port "$cr_port" --handshakes "$HS_COUNT" --server-pid "$cr_pid"
  cross hs-server-side-rsa "$round" native "$cr_pid" "$c_client" --port "$cr_port" --insecure --quiet "${rsa_suite[@]}" --handshakes "$HS_COUNT"
  cross hs-server-side-rsa "$round" ours "$csr_pid" "$c_client" --port "$csr_port" --insecure --quiet "${rsa_suite[@]}" --handshakes "$HS_COUNT"
done
stop "$cr_pid"; stop "$csr_pid"

for peers in $PEERS; do
  for round in $(seq 1 "$ROUNDS"); do
    progress "many-$peers round $round"
    many "many-$peers" "$round" udp "$udp_pid" udp "$udp_port" "$peers"
    many "many-$peers" "$round" native "$c_pid" ours "$c_port" "$peers"
    many "many-$peers" "$round" ours "$cs_pid" ours "$cs_port" "$peers"
  done
done
stop "$cs_pid"; stop "$udp_pid"

# Memory per idle session at $IDLE sessions (once: it varies little between rounds), for both
# servers the same way: RSS growth of the server process while dtls-load holds $IDLE sessions
# (OpenSslDtls also reports its GC heap: managed share, and of it the serve mode's own echo buffers,
# one MaxDatagramPayload array per session, so that the library's share is reported apart), and 300
# fresh handshakes meanwhile, after 20 unmeasured ones (p50, p99 = the 297th of 300, and the max).
progress "idle memory at $IDLE sessions"
stop "$c_pid"
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
idle() { # IMPL PORT PID [MEMORY_FD]: appends "idle 1 IMPL RESULT ..."
  local impl=$1 port=$2 server=$3 fd=${4:-} before after managed_before=0 managed_after=0 app_before=0 app_after=0 line
  if [[ -n $fd ]]; then
    echo memory >&"$fd"
    for _ in $(seq 1 100); do grep -q '^memory' "$work/$impl-idle.out" && break; sleep 0.1; done
    managed_before=$(awk '/^memory/ { v = $5 } END { print v }' "$work/$impl-idle.out")
    app_before=$(awk '/^memory/ { v = $7 } END { print v }' "$work/$impl-idle.out")
  fi
  before=$(rss_kb "$server")
  local fifo="$work/hold-$impl.in"; mkfifo "$fifo"
  timeout 900 "${load[@]}" --port "$port" --hold "$IDLE" <"$fifo" >"$work/hold-$impl.out" 2>&1 &
  local holder=$!; pids+=("$holder")
  exec 3>"$fifo"
  for _ in $(seq 1 6000); do grep -q '^holding' "$work/hold-$impl.out" && break; kill -0 "$holder" 2>/dev/null || break; sleep 0.1; done
  after=$(rss_kb "$server")
  if [[ -n $fd ]]; then
    echo memory >&"$fd"
    for _ in $(seq 1 100); do [[ $(grep -c '^memory' "$work/$impl-idle.out") -ge 2 ]] && break; sleep 0.1; done
    managed_after=$(awk '/^memory/ { v = $5 } END { print v }' "$work/$impl-idle.out")
    app_after=$(awk '/^memory/ { v = $7 } END { print v }' "$work/$impl-idle.out")
  fi
  line=$(timeout 120 "${pair[@]}" --impl ours --mode probe --port "$port" --peers 300 | grep '^RESULT' || true)
  exec 3>&-
  wait "$holder" || true
  echo "idle 1 $impl RESULT rss_bytes_per_session=$(( (after - before) * 1024 / IDLE )) managed_bytes_per_session=$(( (managed_after - managed_before) / IDLE )) app_buffer_bytes_per_session=$(( (app_after - app_before) / IDLE )) library_bytes_per_session=$(( (managed_after - managed_before - (app_after - app_before)) / IDLE )) ${line#RESULT }" >>"$results"
}
start c-server-idle "$c_server" --port 0 --quiet --max-sessions $(( IDLE + 200 )) "${suite[@]}"; c_port=$port; c_pid=$pid
idle native "$c_port" "$c_pid"
sed -i '$s/ managed_bytes_per_session=0 app_buffer_bytes_per_session=0 library_bytes_per_session=0//' "$results" # the C server has no managed heap
stop "$c_pid"
mkfifo "$work/memory.in"
"${pair[@]}" --mode serve <"$work/memory.in" >"$work/ours-idle.out" 2>"$work/ours-idle.err" &
cs_pid=$!; pids+=("$cs_pid")
exec 4>"$work/memory.in"
for _ in $(seq 1 300); do cs_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/ours-idle.out"); [[ -n $cs_port ]] && break; sleep 0.1; done
idle ours "$cs_port" "$cs_pid" 4
exec 4>&-
stop "$cs_pid"

elapsed=$(( $(date +%s) - began ))
progress "done"
mkdir -p "$root/artifacts/bench"
cp "$results" "$root/artifacts/bench/results.txt"
cp "$stderr_log" "$root/artifacts/bench/stderr.log" # the programs' own reports (warm-up, JIT in the window)
machine="$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(openssl version), .NET $(dotnet --version), $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), load average before the run: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$root/benchmarks/report.py" "$results" --machine "$machine" --command "$command_line" --elapsed "$elapsed" \
  ${WRITE_DOC:+--doc "$root/docs/benchmarks.md"}

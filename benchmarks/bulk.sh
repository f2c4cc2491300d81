#!/usr/bin/env bash
# The one-way bulk measure of benchmarks/run.sh alone, interleaved the same way (plain UDP, native C,
# OpenSslDtls, OpenSslDtls through a DtlsListener, BouncyCastle per round), for work on the
# receive path without the whole run:
#   ROUNDS=5 WINDOW=1 bash benchmarks/bulk.sh      # prints report.py's table for bulk-1200
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-5}" WINDOW="${WINDOW:-1}" SIZE="${SIZE:-1200}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
bash "$root/native/build.sh" >/dev/null
dotnet build "$root/benchmarks/PairBench" -c Release -nologo -v q -clp:ErrorsOnly >&2
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ec.key" -out "$work/ec.pem" -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
native="$root/native/build/dtls-bench"
pair=(dotnet "$root/benchmarks/PairBench/bin/Release/net10.0/dtls-pair-bench.dll")
certs=(--cert "$work/ec.pem" --key "$work/ec.key")
results="$work/results.txt"; : >"$results"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
record() { # IMPL ROUND CMD...
  local impl=$1 round=$2 line; shift 2
  if line=$(timeout 120 "$@" 2>"$work/err" | grep '^RESULT'); then
    echo "bulk-$SIZE $round $impl $line" >>"$results"
  else
    echo "error: $impl round $round: $(tail -3 "$work/err")" >&2; echo "bulk-$SIZE $round $impl FAILED" >>"$results"
  fi
}
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  record udp "$round" "$native" --mode bulk --udp --size "$SIZE" --seconds "$WINDOW"
  record native "$round" "$native" --mode bulk "${certs[@]}" --size "$SIZE" --seconds "$WINDOW"
  record ours "$round" "${pair[@]}" --impl ours --mode bulk "${certs[@]}" --size "$SIZE" --seconds "$WINDOW"
  record ours-listener "$round" "${pair[@]}" --impl ours-listener --mode bulk "${certs[@]}" --size "$SIZE" --seconds "$WINDOW"
  record bc "$round" "${pair[@]}" --impl bc --mode bulk "${certs[@]}" --size "$SIZE" --seconds "$WINDOW"
done
mkdir -p "$root/artifacts/bench"; cp "$results" "$root/artifacts/bench/bulk-results.txt"
cat "$results"
python3 "$root/benchmarks/report.py" "$results" --command "ROUNDS=$ROUNDS WINDOW=$WINDOW bash benchmarks/bulk.sh" \
  --machine "$(nproc) cores, $(date -u '+%H:%M UTC'), load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"

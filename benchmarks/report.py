#!/usr/bin/env python3
"""Turns benchmarks/run.sh's result lines into the Markdown table of docs/benchmarks.md.

Each line: MEASURE ROUND IMPL RESULT name=value ... For every measure and figure: the median and
min-max over the rounds of each implementation, and the median (min-max) of the per-round ratios
ours/native and ours/BouncyCastle: rounds ran back to back, so a ratio pairs runs that shared the
machine's state. Then the targets of issue 13, met or missed.
"""
import argparse
import statistics
from collections import defaultdict

BEGIN, END = "<!-- run.sh: begin -->", "<!-- run.sh: end -->"
IMPLS = [("udp", "plain UDP"), ("native", "native C"), ("ours", "OpenSslDtls"),
         ("ours-listener", "OpenSslDtls listener"), ("ours-r2r", "OpenSslDtls R2R"), ("ours-aot", "OpenSslDtls Native AOT"), ("bc", "BouncyCastle")]
# measure -> [(figure, label)]; the label says the unit and which way is better.
FIGURES = {
    "hs-ecdsa": [("per_second", "handshakes/s ↑"), ("cpu_us_per_op", "CPU µs/handshake, both peers ↓"), ("alloc_b_per_op", "allocated B/handshake ↓")],
    "hs-rsa": [("per_second", "handshakes/s ↑"), ("cpu_us_per_op", "CPU µs/handshake, both peers ↓"), ("alloc_b_per_op", "allocated B/handshake ↓")],
    "hs-client-side": [("per_second", "handshakes/s ↑"), ("server_cpu_us_per_op", "C server's CPU µs/handshake")],
    "hs-server-side": [("per_second", "handshakes/s ↑"), ("server_cpu_us_per_op", "server CPU µs/handshake ↓")],
    "resume-ecdsa": [("per_second", "resumed handshakes/s ↑"), ("cpu_us_per_op", "CPU µs/handshake ↓"), ("alloc_b_per_op", "allocated B/handshake ↓")],
    "echo-64": [("per_second", "round trips/s ↑"), ("cpu_us_per_op", "CPU µs/round trip ↓"), ("alloc_b_per_op", "allocated B/round trip ↓")],
    "echo-1200": [("per_second", "round trips/s ↑"), ("cpu_us_per_op", "CPU µs/round trip ↓"), ("alloc_b_per_op", "allocated B/round trip ↓")],
    "bulk-1200": [("mb_per_second", "received MB/s ↑"), ("lost_pct", "lost % ↓"), ("cpu_us_per_op", "CPU µs/datagram ↓"), ("alloc_b_per_op", "allocated B/datagram ↓")],
    "cold-ecdsa": [("cold_ms", "ms from Main to first handshake done ↓"), ("setup_ms", "of which: both contexts made (ms) ↓"), ("process_ms", "ms from exec to first handshake done ↓")],
    "many-100": [("per_second", "round trips/s, all peers ↑"), ("p50_us", "p50 µs ↓"), ("p99_us", "p99 µs ↓"), ("server_cpu_us_per_op", "server CPU µs/round trip ↓"), ("stalled_peers", "peers stalled by a loss ↓"), ("udp_resent", "UDP datagrams resent after 200 ms")],
    "many-1000": [("per_second", "round trips/s, all peers ↑"), ("p50_us", "p50 µs ↓"), ("p99_us", "p99 µs ↓"), ("server_cpu_us_per_op", "server CPU µs/round trip ↓"), ("stalled_peers", "peers stalled by a loss ↓"), ("udp_resent", "UDP datagrams resent after 200 ms")],
    "idle": [("rss_bytes_per_session", "server RSS growth B/session ↓"), ("managed_bytes_per_session", "of which GC heap B/session ↓"),
             ("fresh_handshake_p50_ms", "fresh handshake p50 ms while held ↓"), ("fresh_handshake_p99_ms", "fresh handshake p99 ms while held ↓")],
}
TITLES = {
    "hs-ecdsa": "Full handshakes, ECDSA P-256 (X25519, AES-128-GCM, no resumption)",
    "hs-rsa": "Full handshakes, RSA-2048 (X25519, AES-128-GCM, no resumption)",
    "hs-client-side": "Full handshakes, client side: our client or the C client against the C server (separate processes, ECDSA P-256, cookies)",
    "hs-server-side": "Full handshakes, server side: the C client against our DtlsListener or the C server (separate processes, ECDSA P-256, cookies)",
    "resume-ecdsa": "Resumed handshakes (ECDSA P-256; tickets in OpenSSL, session ID in BouncyCastle)",
    "echo-64": "Echo, 64 B, one session", "echo-1200": "Echo, 1,200 B, one session",
    "bulk-1200": "One-way bulk, 1,200 B datagrams, one session",
    "cold-ecdsa": "Cold start: first handshake in a fresh process (context creation included)",
    "many-100": "Many peers: 100 concurrent sessions echoing 64 B through one server",
    "many-1000": "Many peers: 1,000 concurrent sessions echoing 64 B through one server",
    "idle": "Memory per idle session: the server holds the idle sessions of one dtls-load client (separate processes)",
}


def load(path):
    data = defaultdict(lambda: defaultdict(dict))  # (measure, impl) -> round -> figures
    for line in open(path, encoding="utf-8"):
        parts = line.split()
        if len(parts) < 4 or parts[3] != "RESULT":
            continue
        measure, rnd, impl = parts[0], int(parts[1]), parts[2]
        figures = {}
        for kv in parts[4:]:
            k, _, v = kv.partition("=")
            try:
                figures[k] = float(v)
            except ValueError:
                pass
        if "sent" in figures and figures["sent"] > 0:
            figures["lost_pct"] = 100.0 * figures.get("lost", 0) / figures["sent"]
        data[(measure, impl)][rnd] = figures
    return data


def fmt(v):
    if v is None:
        return "–"
    a = abs(v)
    return f"{v:,.0f}" if a >= 100 else f"{v:,.1f}" if a >= 10 else f"{v:,.2f}"


def spread(values):
    if not values:
        return "–"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def ratios(data, measure, figure, a, b):
    ra, rb = data.get((measure, a), {}), data.get((measure, b), {})
    out = [ra[r][figure] / rb[r][figure] for r in ra if r in rb and figure in ra[r] and rb[r].get(figure)]
    return out


def ratio_text(values):
    if not values:
        return "–"
    m = statistics.median(values)
    return f"{m:.2f}× ({min(values):.2f}–{max(values):.2f})" if len(values) > 1 else f"{m:.2f}×"


def paired(data, measure, figure, a, b):
    values = ratios(data, measure, figure, a, b)
    return statistics.median(values) if values else None


def tables(data, rounds):
    lines = []
    for measure, figures in FIGURES.items():
        impls = [(i, name) for i, name in IMPLS if (measure, i) in data]
        if not impls:
            continue
        lines += [f"### {TITLES[measure]}", ""]
        head = ["figure"] + [name for _, name in impls] + ["ours/native (paired)", "ours/BouncyCastle (paired)"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for figure, label in figures:
            row = [label]
            for impl, _ in impls:
                row.append(spread([f[figure] for f in data[(measure, impl)].values() if figure in f]))
            row.append(ratio_text(ratios(data, measure, figure, "ours", "native")))
            row.append(ratio_text(ratios(data, measure, figure, "ours", "bc")))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return lines


def targets(data):
    def med(measure, impl, figure):
        values = [f[figure] for f in data.get((measure, impl), {}).values() if figure in f]
        return statistics.median(values) if values else None

    rows = []

    def check(name, value, ok, text):
        state = "–" if value is None else ("met" if ok(value) else "**missed**")
        rows.append(f"| {name} | {text(value) if value is not None else 'not measured'} | {state} |")

    for m, kind in (("hs-ecdsa", "ECDSA"), ("hs-rsa", "RSA")):
        check(f"handshakes/s ≥ 0.9 × native, {kind} (both sides in one process)", paired(data, m, "per_second", "ours", "native"), lambda v: v >= 0.9, lambda v: f"{v:.2f}×")
    for m, side in (("hs-client-side", "client"), ("hs-server-side", "server")):
        check(f"handshakes/s ≥ 0.9 × native, {side} side (separate processes)", paired(data, m, "per_second", "ours", "native"), lambda v: v >= 0.9, lambda v: f"{v:.2f}×")
    check("handshakes/s ≥ 3 × BouncyCastle, ECDSA", paired(data, "hs-ecdsa", "per_second", "ours", "bc"), lambda v: v >= 3, lambda v: f"{v:.2f}×")
    check("handshakes/s ≥ 15 × BouncyCastle, RSA", paired(data, "hs-rsa", "per_second", "ours", "bc"), lambda v: v >= 15, lambda v: f"{v:.2f}×")
    for m, fig in (("echo-64", "per_second"), ("echo-1200", "per_second"), ("bulk-1200", "mb_per_second")):
        check(f"{m} ≥ 0.9 × native", paired(data, m, fig, "ours", "native"), lambda v: v >= 0.9, lambda v: f"{v:.2f}×")
    for m in ("many-100", "many-1000"):
        check(f"{m}: round trips/s ≥ 1.0 × native thread-per-client server", paired(data, m, "per_second", "ours", "native"), lambda v: v >= 1.0, lambda v: f"{v:.2f}×")
    check("0 B allocated per steady-state round trip, connected sockets (both peers)", med("echo-64", "ours", "alloc_b_per_op"), lambda v: v < 1, lambda v: f"{v:.1f} B")
    check("0 B allocated per round trip through the listener (client + listener)", med("echo-64", "ours-listener", "alloc_b_per_op"), lambda v: v < 1, lambda v: f"{v:.1f} B")
    check("managed memory per idle session ≤ 2 KiB", med("idle", "ours", "managed_bytes_per_session"), lambda v: v <= 2048, lambda v: f"{v:,.0f} B")
    check("fresh handshake p99 ≤ 100 ms while the listener holds the idle sessions", med("idle", "ours", "fresh_handshake_p99_ms"), lambda v: v <= 100, lambda v: f"{v:.1f} ms")
    check("cold first handshake < 30 ms (from Main)", med("cold-ecdsa", "ours", "cold_ms"), lambda v: v < 30, lambda v: f"{v:.0f} ms")
    check("cold first handshake < 30 ms (from Main), ReadyToRun", med("cold-ecdsa", "ours-r2r", "cold_ms"), lambda v: v < 30, lambda v: f"{v:.0f} ms")
    check("cold first handshake < 30 ms (from Main), Native AOT", med("cold-ecdsa", "ours-aot", "cold_ms"), lambda v: v < 30, lambda v: f"{v:.0f} ms")
    return ["| target (issue 13) | this run (paired median) | |", "|---|---|---|"] + rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--machine", default="")
    parser.add_argument("--command", default="")
    parser.add_argument("--elapsed", default="")
    parser.add_argument("--doc")
    args = parser.parse_args()
    data = load(args.results)
    rounds = max((max(r) for r in data.values() if r), default=0)
    body = [BEGIN, "", f"Machine: {args.machine}.", "",
            f"Command: `{args.command}` ({rounds} rounds, {args.elapsed} s including the build).", "",
            "Cells: median (min–max) over the rounds. Ratios: the median (min–max) of the per-round ratios; "
            "for ↓ figures a ratio below 1 favours OpenSslDtls.", ""]
    body += ["## Targets", ""] + targets(data) + ["", "## Figures", ""] + tables(data, rounds) + [END]
    text = "\n".join(body) + "\n"
    print(text)
    if args.doc:
        try:
            old = open(args.doc, encoding="utf-8").read()
        except FileNotFoundError:
            old = "# Benchmarks\n\n" + BEGIN + "\n" + END + "\n"
        start, end = old.index(BEGIN), old.index(END) + len(END)
        with open(args.doc, "w", encoding="utf-8") as f:
            f.write(old[:start] + text.rstrip("\n") + old[end:])


if __name__ == "__main__":
    main()

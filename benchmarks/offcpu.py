#!/usr/bin/env python3
# The off-CPU view of a sequential handshake loop (docs/benchmarks.md, client side): reads
#   perf script -F comm,pid,tid,time,event,trace   of a trace of sched_switch, sched_wakeup and
#   raw_syscalls sys_enter/sys_exit (perf record -a -k CLOCK_MONOTONIC -e sched:sched_switch -e sched:sched_wakeup
#   -e raw_syscalls:sys_enter --filter F -e raw_syscalls:sys_exit --filter F, F = the network and wait
#   syscalls; cut to the timed window with perf script --time A,B: dtls-load prints A-B on stderr), and
# prints per handshake the syscalls, sleeps, wake-ups by thread, and the latency chain
# server send -> client recv -> client send -> server recv -> server send.
#   usage: perf script ... | python3 benchmarks/offcpu.py CLIENT_PID SERVER_PID HANDSHAKES
import sys, re, collections, statistics
cpid, spid, hs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
line_re = re.compile(r'^\s*(.+?)\s+(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$')
comm_of = {}
sw = collections.Counter(); wk = collections.Counter(); sysc = collections.Counter(); ssys = collections.Counter()
sw_state = collections.Counter()
pending = {}  # tid -> (nr, t)
events = []   # (t, who, kind)  who in c/s, kind send/recv (on exit with ret>0)
NAMES = {0:'read',1:'write',44:'sendto',45:'recvfrom',46:'sendmsg',47:'recvmsg',232:'epoll_wait',281:'epoll_pwait',233:'epoll_ctl',24:'sched_yield',202:'futex',7:'poll',41:'socket',42:'connect',3:'close',54:'setsockopt',55:'getsockopt',51:'getsockname',52:'getpeername',72:'fcntl',16:'ioctl',228:'clock_gettime',270:'pselect6',23:'select',271:'ppoll',9:'mmap',11:'munmap',10:'mprotect',318:'getrandom',56:'clone',435:'clone3',39:'getpid',186:'gettid',28:'madvise',49:'bind'}
for line in sys.stdin:
    m = line_re.match(line)
    if not m: continue
    comm, pid, tid, t, ev, rest = m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(4)), m.group(5), m.group(6)
    if ev == 'raw_syscalls:sys_enter':
        nr = int(rest.split()[1])
        if pid == cpid: sysc[NAMES.get(nr, nr)] += 1; comm_of[tid] = comm
        elif pid == spid: ssys[NAMES.get(nr, nr)] += 1
        if pid in (cpid, spid): pending[tid] = nr
    elif ev == 'raw_syscalls:sys_exit':
        if pid not in (cpid, spid): continue
        mm = re.search(r'NR (\d+) = (-?\d+)', rest)
        nr, ret = int(mm.group(1)), int(mm.group(2))
        who = 'c' if pid == cpid else 's'
        if ret > 0 and nr in (44, 46, 1): events.append((t, who, 'send', tid))
        elif ret > 0 and nr in (45, 47, 0): events.append((t, who, 'recv', tid))
    elif ev == 'sched:sched_switch':
        mm = re.search(r'prev_pid=(\d+) .*?prev_state=(\S+)', rest)
        if mm and pid == cpid:
            sw[comm] += 1; sw_state[mm.group(2)] += 1
    elif ev == 'sched:sched_wakeup':
        mm = re.search(r'comm=(.+?) pid=(\d+)', rest)
        if mm:
            target = int(mm.group(2))
            if target in comm_of: wk[comm_of[target]] += 1
print(f"per handshake ({hs} handshakes)")
print("client syscalls:", {k: round(v/hs, 2) for k, v in sysc.most_common(14)})
print("server syscalls:", {k: round(v/hs, 2) for k, v in ssys.most_common(8)})
print("client switches (thread leaves CPU) by thread:", {k: round(v/hs, 2) for k, v in sw.most_common()}, "total", round(sum(sw.values())/hs, 2))
print("  by prev_state:", {k: round(v/hs, 2) for k, v in sw_state.most_common()})
print("client wake-ups by thread woken:", {k: round(v/hs, 2) for k, v in wk.most_common()}, "total", round(sum(wk.values())/hs, 2))
# latency chain: for each receive, the gap since the other side's last send
gaps = collections.defaultdict(list)
last = {}
for t, who, kind, tid in events:
    if kind == 'recv':
        other = 's' if who == 'c' else 'c'
        if (other, 'send') in last: gaps[f'{other} send -> {who} recv'].append((t - last[(other, 'send')]) * 1e6)
    else:
        if (who, 'recv') in last: gaps[f'{who} recv -> {who} send'].append((t - last[(who, 'recv')]) * 1e6)
    last[(who, kind)] = t
for k, v in sorted(gaps.items()):
    v.sort()
    print(f"{k}: n/hs {len(v)/hs:.2f} median {statistics.median(v):.1f} us, p25 {v[len(v)//4]:.1f}, p75 {v[3*len(v)//4]:.1f}, sum/hs {sum(min(x, 5000) for x in v)/hs:.0f} us")

# Load with upstream faults (issue 6): dnsperf at a fixed rate for a fixed time against dns64d
# while the upstream nsd is killed and restarted; QPS per period and daemon RSS are reported.
#
# Timeline (RUN_S = 30 s of dnsperf at RATE queries/s):
#   0 s  dnsperf starts, nsd up                   -> "before"
#  10 s  nsd killed with SIGKILL (every nsd PID)  -> "during"
#  20 s  nsd started again on the same port       -> "after"
#
# Cached names keep being answered from the cache while nsd is down, which would hide the
# outage. So the query mix has two kinds of names (our choice, instead of a second daemon with
# cache-size 0): c*.load.test with TTL 3600 (asked for A and AAAA; answered from the cache
# after the first time, DNS64-synthesized for AAAA) and u*.load.test with TTL 0, which the
# daemon never caches, so every query for them goes to nsd. During the outage the u names must
# get SERVFAIL and the c names NOERROR; before and after, both NOERROR.
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Nsd, check, check_eq, dig, run_tests  # noqa: E402

RATE = 2000         # queries per second (dnsperf -Q)
RUN_S = 30          # dnsperf -l
KILL_AT = 10.0
RESTART_AT = 20.0
RSS_BOUND_KB = 120 * 1024  # cache-size 4m plus the fixed overhead of the process
NAMES = 200
ACL = ["127.0.0.0/8 dns64", "::1/128 dns64"]
CONF = ["cache-size 4m", "timeout 500", "workers 2", "log-level warn"]


def zone_text():
    lines = ["$ORIGIN load.test.", "$TTL 3600",
             "@ IN SOA ns.load.test. hostmaster.load.test. 1 3600 600 86400 300",
             "@ IN NS ns.load.test.", "ns IN A 127.0.0.1"]
    for i in range(NAMES):
        lines.append("c%d 3600 IN A 192.0.2.%d" % (i, i % 250 + 1))
        lines.append("u%d 0 IN A 198.51.100.%d" % (i, i % 250 + 1))
    return "\n".join(lines) + "\n"


def query_file(path):
    with open(path, "w") as f:
        for i in range(NAMES):
            f.write("c%d.load.test A\n" % i)
            f.write("u%d.load.test A\n" % i)
            f.write("c%d.load.test AAAA\n" % i)
            f.write("u%d.load.test A\n" % ((i + NAMES // 2) % NAMES))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def descendants(pid):
    """pid and every process below it (nsd forks its server and xfrd processes)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def kill_nsd(ns):
    """SIGKILL every nsd process by PID (a crash, not a clean stop) and reap the main one."""
    pids = descendants(ns.proc.pid)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    ns.proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(os.path.exists("/proc/%d" % p) for p in pids[1:]):
        time.sleep(0.05)
    return pids


class Interval:
    def __init__(self, end):
        self.end = end          # epoch seconds at dnsperf's -S line closing this interval
        self.start = None
        self.counts = {}        # (kind, rcode) -> responses

    def add(self, kind, rcode):
        self.counts[(kind, rcode)] = self.counts.get((kind, rcode), 0) + 1

    def total(self, kind=None, rcode=None):
        return sum(n for (k, r), n in self.counts.items()
                   if (kind is None or k == kind) and (rcode is None or r == rcode))


def parse_dnsperf(text):
    """Per-interval response counts by name kind and rcode from `dnsperf -v -S 1` output.

    Verbose lines ('> RCODE name type latency') come between the interval lines
    ('EPOCH: QPS'); a response belongs to the interval whose line follows it."""
    intervals, cur, summary = [], Interval(None), {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("> "):
            parts = line.split()
            if len(parts) >= 3:
                kind = parts[2][0] if parts[2][:1] in ("c", "u") else "?"
                cur.add(kind, parts[1])
            continue
        head, sep, tail = line.partition(": ")
        if sep and head.replace(".", "", 1).isdigit():
            cur.end = float(head)
            intervals.append(cur)
            cur = Interval(None)
            continue
        for key in ("Queries sent", "Queries completed", "Queries lost"):
            if line.startswith(key + ":"):
                summary[key] = int(line.split(":")[1].split()[0])
        if line.startswith("Response codes:"):
            summary["codes"] = line.split(":", 1)[1].strip()
    if cur.counts:
        intervals.append(cur)  # responses after the last interval line
    prev = None
    for iv in intervals:
        iv.start = prev if prev is not None else (iv.end - 1.0 if iv.end else None)
        prev = iv.end
    return intervals, summary


def test_load_with_upstream_restart():
    tmp = tempfile.mkdtemp(prefix="dns64d-load-")
    qfile = os.path.join(tmp, "queries.txt")
    query_file(qfile)
    zones = {"load.test": zone_text()}
    ns = Nsd(zones).__enter__()
    ns2 = None
    port = ns.port
    try:
        with Daemon(CONF, ACL, upstreams=[ns.addr]) as d:
            r = dig(d.port, "u1.load.test", "A")
            check_eq(r.rdatas("A"), ["198.51.100.2"], "warm-up answer", r)
            rss = []  # (epoch, KiB)
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    v = rss_kb(d.pid) if d.alive() else None
                    if v is not None:
                        rss.append((time.time(), v))
                    stop.wait(0.5)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            cmd = ["stdbuf", "-oL", "dnsperf", "-s", "127.0.0.1", "-p", str(d.port), "-d", qfile,
                   "-l", str(RUN_S), "-Q", str(RATE), "-S", "1", "-v", "-c", "4", "-q", "2000",
                   "-t", "3"]
            out = tempfile.TemporaryFile(mode="w+")
            t0 = time.time()
            perf = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
            events = {}
            digs = {}
            try:
                time.sleep(max(0, t0 + KILL_AT - time.time()))
                events["kill"] = time.time()
                killed = kill_nsd(ns)
                time.sleep(max(0, t0 + (KILL_AT + RESTART_AT) / 2 - time.time()))
                digs["during"] = (dig(d.port, "u7.load.test", "A", timeout=2),
                                  dig(d.port, "c7.load.test", "A", timeout=2))
                time.sleep(max(0, t0 + RESTART_AT - time.time()))
                events["restart"] = time.time()
                ns2 = Nsd(zones, port=port).__enter__()
                events["up"] = time.time()
                time.sleep(max(0, t0 + RESTART_AT + 3 - time.time()))
                digs["after"] = (dig(d.port, "u9.load.test", "A", timeout=2),
                                 dig(d.port, "c9.load.test", "A", timeout=2))
                perf.wait(timeout=RUN_S + 30)
            finally:
                if perf.poll() is None:
                    perf.kill()
                    perf.wait()
                stop.set()
                sampler.join(2)
            out.seek(0)
            text = out.read()
            out.close()
            alive = d.alive()
            intervals, summary = parse_dnsperf(text)
            report(intervals, summary, events, rss, t0, killed)

            check(alive, "dns64d died under load with upstream faults")
            check_eq(perf.returncode, 0, "dnsperf exit code\n" + text[-2000:])
            check(rss and max(v for _, v in rss) < RSS_BOUND_KB,
                  "RSS above %d KiB: max %s" % (RSS_BOUND_KB, max(v for _, v in rss) if rss else None))
            u_during, c_during = digs["during"]
            check_eq(u_during.rcode, "SERVFAIL", "uncached name while nsd is down", u_during)
            check_eq((c_during.rcode, c_during.rdatas("A")), ("NOERROR", ["192.0.2.8"]),
                     "cached name while nsd is down", c_during)
            u_after, c_after = digs["after"]
            check_eq((u_after.rcode, u_after.rdatas("A")), ("NOERROR", ["198.51.100.10"]),
                     "uncached name after nsd is back", u_after)
            check_eq(c_after.rcode, "NOERROR", "cached name after nsd is back", c_after)

            per = periods(intervals, events)
            b, dur, a = per["before"], per["during"], per["after"]
            for name, p in per.items():
                check(p["secs"] >= 5, "period %s has only %d full intervals" % (name, p["secs"]))
            check_eq(b["u_SERVFAIL"] + b["c_SERVFAIL"], 0, "SERVFAIL answers before the outage")
            check(dur["u_NOERROR"] == 0 and dur["u_SERVFAIL"] > 0,
                  "uncached names during the outage: %d NOERROR, %d SERVFAIL"
                  % (dur["u_NOERROR"], dur["u_SERVFAIL"]))
            check_eq(dur["c_SERVFAIL"], 0, "SERVFAIL for cached names during the outage")
            check_eq(a["u_SERVFAIL"] + a["c_SERVFAIL"], 0, "SERVFAIL answers after nsd is back")
            for name, p in per.items():
                check(p["qps"] >= 0.9 * RATE, "answers per second %s: %.0f of %d sent"
                      % (name, p["qps"], RATE))
            sent = summary.get("Queries sent", 0)
            lost = summary.get("Queries lost", 0)
            check(sent > 0.9 * RATE * RUN_S, "dnsperf sent only %d queries" % sent)
            check(lost <= 0.001 * sent, "%d of %d queries lost (no answer at all)" % (lost, sent))
    finally:
        if ns2 is not None:
            ns2.__exit__(None, None, None)
        ns.__exit__(None, None, None)
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)


def periods(intervals, events):
    """Sum the full 1-second intervals of each period, leaving out the ones a fault falls in
    plus one second after it (answers to queries sent just before the change)."""
    bounds = {"before": (None, events["kill"]),
              "during": (events["kill"] + 1.0, events["restart"]),
              "after": (events["up"] + 1.0, None)}
    out = {}
    for name, (lo, hi) in bounds.items():
        sel = [iv for iv in intervals if iv.start is not None and iv.end is not None
               and (lo is None or iv.start >= lo) and (hi is None or iv.end <= hi)]
        # the first interval of dnsperf includes its start-up; the last may be partial
        p = {"secs": len(sel)}
        span = sum(iv.end - iv.start for iv in sel) or 1.0
        p["qps"] = sum(iv.total() for iv in sel) / span
        for kind in ("u", "c"):
            for rc in ("NOERROR", "SERVFAIL"):
                p["%s_%s" % (kind, rc)] = sum(iv.total(kind, rc) for iv in sel)
        p["other"] = sum(iv.total() for iv in sel) - sum(
            p["%s_%s" % (k, rc)] for k in ("u", "c") for rc in ("NOERROR", "SERVFAIL"))
        p["noerror_qps"] = (p["u_NOERROR"] + p["c_NOERROR"]) / span
        p["servfail_qps"] = (p["u_SERVFAIL"] + p["c_SERVFAIL"]) / span
        p["range"] = (sel[0].start, sel[-1].end) if sel else (None, None)
        out[name] = p
    return out


def report(intervals, summary, events, rss, t0, killed):
    per = periods(intervals, events)
    print("  load with faults: dnsperf -Q %d -l %d; nsd PIDs %s killed at %.1fs, restarted at %.1fs "
          "(answering at %.1fs)" % (RATE, RUN_S, killed, events["kill"] - t0, events["restart"] - t0,
                                    events["up"] - t0))
    print("  %-7s %5s %9s %9s %9s %8s %8s %8s %8s %6s %9s %9s" % (
        "period", "secs", "ans/s", "NOERR/s", "SRVFL/s", "u:NOERR", "u:SRVFL", "c:NOERR", "c:SRVFL",
        "other", "RSSmin", "RSSmax"))
    for name in ("before", "during", "after"):
        p = per[name]
        lo, hi = p["range"]
        vals = [v for t, v in rss if (lo is None or t >= lo) and (hi is None or t <= hi)]
        print("  %-7s %5d %9.0f %9.0f %9.0f %8d %8d %8d %8d %6d %8sK %8sK" % (
            name, p["secs"], p["qps"], p["noerror_qps"], p["servfail_qps"], p["u_NOERROR"],
            p["u_SERVFAIL"], p["c_NOERROR"], p["c_SERVFAIL"], p["other"],
            min(vals) if vals else "-", max(vals) if vals else "-"))
    if rss:
        print("  RSS over the run: min %d KiB, max %d KiB (%d samples, bound %d KiB)" % (
            min(v for _, v in rss), max(v for _, v in rss), len(rss), RSS_BOUND_KB))
    print("  dnsperf: sent %s, completed %s, lost %s; codes: %s" % (
        summary.get("Queries sent"), summary.get("Queries completed"), summary.get("Queries lost"),
        summary.get("codes")))
    print("  per second (t, answers, u:SERVFAIL):", " ".join(
        "%.0f:%d/%d" % (iv.end - t0, iv.total(), iv.total("u", "SERVFAIL"))
        for iv in intervals if iv.end is not None))
    sys.stdout.flush()


if __name__ == "__main__":
    run_tests(globals(), required=("nsd", "dig", "dnsperf"), per_test_timeout=150)

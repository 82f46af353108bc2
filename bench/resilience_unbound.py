#!/usr/bin/python3
# Resilience scenarios of issue 12 run against dns64d and Unbound, side by side (not part of ctest).
#
#   /usr/bin/python3 bench/resilience_unbound.py [--dns64d PATH] [--unbound PATH]
#
# Both resolvers forward to the same scripted upstreams on loopback (tests/integration/harness.py
# DnsUpstream); each scenario gets fresh upstreams and a freshly started resolver:
#   1. two upstreams, the first silent: latency of 50 distinct cache misses after 5 warm-up
#      queries (p50/p95/max), how often the silent one was still asked;
#   2. one upstream dropping a deterministic-random 10 % of UDP queries: answers other than the
#      right one over 200 distinct names (SERVFAIL, no answer);
#   2b. the first three UDP queries of each of 10 names lost: right answers within the budget;
#   5. one upstream SERVFAILing everything: 100 clients (own sockets) within one second ask one
#      name; how many queries the upstream saw.
# Unbound runs as our own process (unbound -d -c CONF, own config and pid file in a temp dir,
# module-config "iterator", forward-zone "." to the upstreams), stopped by its PID; the system's
# unbound service is never touched. Timeouts: dns64d `timeout 2000` (default); Unbound defaults.
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
from harness import Daemon, DnsUpstream, free_port, query, make_query  # noqa: E402

import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

ACL = ["127.0.0.0/8 dns64"]


def uniq(tag):
    return "%s-%d-%d.res.test" % (tag, os.getpid(), random.randint(0, 1 << 30))


def ask(port, name, rdtype="A", timeout=10.0):
    q = dns.message.make_query(name, rdtype, use_edns=0)
    t0 = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q.to_wire(), ("127.0.0.1", port))
        while True:
            wire = s.recv(65535)
            m = dns.message.from_wire(wire)
            if m.id == q.id:
                return m, time.monotonic() - t0
    except socket.timeout:
        return None, time.monotonic() - t0
    finally:
        s.close()


def right(m, name):
    if m is None or m.rcode() != 0:
        return False
    got = sorted(r.to_text() for rr in m.answer if rr.rdtype == dns.rdatatype.A for r in rr)
    return got == [DnsUpstream.a_of(name)]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p * len(xs))) - 1))]


# ---- resolvers -----------------------------------------------------------------------------------


class Dns64d:
    name = "dns64d"

    def __init__(self, binary, upstreams):
        self.d = Daemon(["timeout 2000"], ACL, upstreams=[u.addr for u in upstreams], binary=binary)

    def __enter__(self):
        self.d.__enter__()
        self.port = self.d.port
        return self

    def __exit__(self, *exc):
        return self.d.__exit__(*exc)


class Unbound:
    name = "unbound"

    def __init__(self, binary, upstreams):
        self.binary = binary
        self.upstreams = upstreams
        self.port = free_port()
        self.dir = None
        self.proc = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="resilience-unbound-")
        conf = os.path.join(self.dir, "unbound.conf")
        lines = [
            "server:",
            "    interface: 127.0.0.1@%d" % self.port,
            "    port: %d" % self.port,
            "    do-ip6: no",
            "    interface-automatic: no",
            "    username: \"\"",
            "    chroot: \"\"",
            "    directory: \"%s\"" % self.dir,
            "    pidfile: \"%s/unbound.pid\"" % self.dir,
            "    use-syslog: no",
            "    logfile: \"\"",
            "    verbosity: 0",
            "    num-threads: 1",
            "    module-config: \"iterator\"",
            "    do-not-query-localhost: no",
            "    access-control: 127.0.0.0/8 allow",
            "    local-zone: \"test.\" nodefault",  # RFC 6761 names are local by default
            "remote-control:",
            "    control-enable: no",
            "forward-zone:",
            "    name: \".\"",
        ] + ["    forward-addr: 127.0.0.1@%d" % u.port for u in self.upstreams]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(self.dir, "unbound.stderr"), "w")
        self.proc = subprocess.Popen([self.binary, "-d", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        probe = make_query("ready.probe", "A")
        probe = probe[:4] + b"\x00\x00" + probe[6:]  # QDCOUNT 0: answered without upstream
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited: %s" % open(self.log.name).read())
            if query(self.port, probe, timeout=0.2) is not None:
                return self
            time.sleep(0.1)
        raise RuntimeError("unbound did not start: %s" % open(self.log.name).read())

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


# ---- scenarios -------------------------------------------------------------------------------------


def scenario_silent(make):
    with DnsUpstream(silent=True) as silent, DnsUpstream() as good, make([silent, good]) as r:
        warm = [ask(r.port, uniq("warm%d" % i))[1] for i in range(5)]
        t = time.monotonic()
        times, wrong = [], 0
        for i in range(50):
            name = uniq("miss%d" % i)
            m, dt = ask(r.port, name)
            times.append(dt)
            wrong += not right(m, name)
        return {"warm-up (s)": " ".join("%.3f" % x for x in warm),
                "p50 (ms)": "%.1f" % (pct(times, 0.50) * 1000),
                "p95 (ms)": "%.1f" % (pct(times, 0.95) * 1000),
                "max (ms)": "%.1f" % (max(times) * 1000),
                "wrong/unanswered": wrong,
                "silent asked after warm-up": silent.count(since=t),
                "good asked": good.count(since=t)}


SEED = 12


def scenario_lossy(make):
    rnd = random.Random(SEED)
    dropped = []

    def drop(rec):
        if rec["tcp"] or rnd.random() >= 0.10:
            return False
        dropped.append(rec)
        return True

    with DnsUpstream(drop=drop) as lossy, make([lossy]) as r:
        lossy.reset()
        del dropped[:]
        servfail = noanswer = wrong = 0
        times = []
        for i in range(200):
            name = uniq("lossy%d" % i)
            m, dt = ask(r.port, name)
            times.append(dt)
            if m is None:
                noanswer += 1
            elif m.rcode() == dns.rcode.SERVFAIL:
                servfail += 1
            elif not right(m, name):
                wrong += 1
        return {"SERVFAIL": servfail, "no answer": noanswer, "wrong": wrong,
                "upstream queries": lossy.count(), "dropped": len(dropped),
                "p95 (ms)": "%.1f" % (pct(times, 0.95) * 1000),
                "max (ms)": "%.1f" % (max(times) * 1000)}


def scenario_three_lost(make):
    """The first three UDP queries for each of 10 names are lost (then it answers)."""
    seen = {}

    def drop(rec):
        n = seen[rec["name"]] = seen.get(rec["name"], 0) + 1
        return not rec["tcp"] and rec["name"].startswith("lost3") and n <= 3

    with DnsUpstream(drop=drop) as up, make([up]) as r:
        ask(r.port, uniq("warm"))
        ok, times = 0, []
        for i in range(10):
            name = uniq("lost3-%d" % i)
            m, dt = ask(r.port, name)
            ok += right(m, name)
            times.append(dt)
        return {"right answers of 10": ok, "max (ms)": "%.1f" % (max(times) * 1000)}


def scenario_servfail(make):
    name = uniq("sf")
    with DnsUpstream(rcode=dns.rcode.SERVFAIL) as up, make([up]) as r:
        up.reset()
        socks = []
        t0 = time.monotonic()
        for i in range(100):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            q = dns.message.make_query(name, "A", use_edns=0)
            s.sendto(q.to_wire(), ("127.0.0.1", r.port))
            socks.append((s, q.id))
            time.sleep(max(0.0, t0 + (i + 1) * 0.01 - time.monotonic()))
        rc = {}
        for s, qid in socks:
            s.settimeout(10.0)
            try:
                m = dns.message.from_wire(s.recv(65535))
                k = dns.rcode.to_text(m.rcode())
            except socket.timeout:
                k = "none"
            rc[k] = rc.get(k, 0) + 1
            s.close()
        time.sleep(0.5)
        return {"client rcodes": " ".join("%s:%d" % kv for kv in sorted(rc.items())),
                "upstream queries": up.count(name, "A")}


def main():
    ap = argparse.ArgumentParser()
    default = os.path.join(HERE, "..", "build", "dns64d")
    ap.add_argument("--dns64d", default=default if os.path.exists(default) else harness.DNS64D_BIN)
    ap.add_argument("--unbound", default=shutil.which("unbound") or "/usr/sbin/unbound")
    ap.add_argument("--seed", type=int, default=SEED, help="loss pattern of scenario 2")
    args = ap.parse_args()
    globals()["SEED"] = args.seed
    resolvers = [("dns64d", lambda ups: Dns64d(args.dns64d, ups)),
                 ("unbound", lambda ups: Unbound(args.unbound, ups))]
    for title, fn in (("1. two upstreams, the first silent", scenario_silent),
                      ("2. one upstream dropping 10 % of queries, 200 names", scenario_lossy),
                      ("2b. the first 3 queries of each of 10 names lost", scenario_three_lost),
                      ("5. upstream SERVFAILs, 100 clients in 1 s", scenario_servfail)):
        results = [(n, fn(make)) for n, make in resolvers]
        print("\n%s" % title)
        keys = list(results[0][1].keys())
        w = max(len(k) for k in keys) + 2
        print("  %-*s %-32s %-32s" % (w, "", results[0][0], results[1][0]))
        for k in keys:
            print("  %-*s %-32s %-32s" % (w, k, results[0][1][k], results[1][1][k]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()

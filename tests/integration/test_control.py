# Integration tests for the control socket and dns64d-control (issue 16), against the running
# daemon with nsd behind a query-counting proxy.
#
# Every command is run through the real dns64d-control binary (its exit status is part of what
# is checked); the protocol's edge cases (no newline, long lines, many words) go over a raw
# socket. Cache effects are measured by the upstream query count, never by timing.
import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DNS64D_BIN, SLOWDOWN, Daemon, Nsd, QueryCounter, SkipTest, check,  # noqa: E402
                     check_eq, dig, run_daemon_cmd, run_tests, zone_path)

CONTROL_BIN = os.environ.get("DNS64D_CONTROL_BIN",
                             os.path.join(os.path.dirname(DNS64D_BIN), "dns64d-control"))
ZONES = {"core.test": zone_path("core.zone"), "dns64.test": zone_path("dns64.zone")}
ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 forward", "::1/128 dns64"]
STAT_LINE = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? '
                       r'[0-9][0-9.e+-]*\Z')


def ctl(sock, *args, config=None, timeout=30):
    """Run dns64d-control; returns (exit status, stdout, stderr)."""
    cmd = [CONTROL_BIN] + (["-c", config] if config else ["-s", sock]) + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def ok(sock, *args):
    """Run a command that must succeed; returns the reply lines after 'ok'."""
    rc, out, err = ctl(sock, *args)
    check(rc == 0 and out.startswith("ok\n"), "dns64d-control %s: exit %d\n%s%s" % (" ".join(args), rc, out, err))
    return out.split("\n")[1:-1]


def raw(sock, data, shut=True, timeout=10):
    """Send bytes over the socket, return the whole reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out.decode()
    finally:
        s.close()


def status(sock):
    fields = {}
    for line in ok(sock, "status"):
        k, _, v = line.partition(": ")
        fields.setdefault(k, []).append(v)
    return fields


def stats(sock, *extra):
    values = {}
    for line in ok(sock, "stats", *extra):
        check(STAT_LINE.match(line), "stats line %r is not 'name{labels} value'" % line)
        name, value = line.rsplit(" ", 1)
        check(name not in values, "stats series %r twice" % name)
        values[name] = float(value)
    return values


def total(values, prefix):
    return sum(v for k, v in values.items() if k == prefix or k.startswith(prefix + "{"))


def wait_for(pred, what, timeout=5.0):
    deadline = time.monotonic() + timeout * SLOWDOWN
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


@contextlib.contextmanager
def sockdir():
    """A temp dir (0755, so a daemon that dropped privileges can reach it) for control sockets."""
    d = tempfile.mkdtemp(prefix="dns64d-ctl-")
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def setup(conf=(), workers=1, expect_exit=False):
    """nsd, counting proxy, dns64d with `control` in a directory that does not exist yet."""
    with sockdir() as sd, Nsd(ZONES) as ns, QueryCounter(ns.port) as qc:
        sock = os.path.join(sd, "run", "control")
        with Daemon(["control " + sock, "workers %d" % workers, "prefetch-a no"] + list(conf), ACL,
                    upstreams=[qc.addr], expect_exit=expect_exit) as d:
            wait_for(lambda: os.path.exists(sock), "the control socket")
            qc.reset()
            yield d, qc, sock


# --- the socket ------------------------------------------------------------------------------------

def test_socket_mode_directory_and_removal():
    with setup(expect_exit=True) as (d, qc, sock):
        st = os.lstat(sock)
        check(stat.S_ISSOCK(st.st_mode), "%s is not a socket" % sock)
        check_eq(stat.S_IMODE(st.st_mode), 0o660, "socket mode")
        check_eq(stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode), 0o755, "made directory's mode")
        d.stop()
        check(not os.path.exists(sock), "control socket left behind after SIGTERM")


def test_socket_group_is_the_users():
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        raise SkipTest("no user nobody")
    if os.geteuid() != 0:
        raise SkipTest("needs root to drop privileges")
    with sockdir() as sd, Nsd(ZONES) as ns:
        sock = os.path.join(sd, "run", "control")
        with Daemon(["control " + sock, "user nobody"], ACL, upstreams=[ns.addr], expect_exit=True) as d:
            os.chmod(d.dir, 0o755)
            wait_for(lambda: os.path.exists(sock), "the control socket")
            st = os.lstat(sock)
            check_eq((stat.S_IMODE(st.st_mode), st.st_gid), (0o660, pw.pw_gid),
                     "mode and group (%s) of the socket" % grp.getgrgid(pw.pw_gid).gr_name)
            dst = os.stat(os.path.dirname(sock))
            check_eq((dst.st_uid, dst.st_gid), (pw.pw_uid, pw.pw_gid), "owner of the directory the daemon made")
            check_eq(status(sock)["pid"], [str(d.pid)], "status answered after privileges were dropped")
            d.stop()
            check(not os.path.exists(sock), "socket not removed by the unprivileged daemon")


def test_stale_socket_replaced_file_and_live_socket_refused():
    with sockdir() as sd, Nsd(ZONES) as ns:
        sock = os.path.join(sd, "control")
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(sock)
        stale.close()  # the file stays, nobody listens: what a killed daemon leaves
        with Daemon(["control " + sock], ACL, upstreams=[ns.addr]):
            check_eq(status(sock)["control"], [sock], "status through the replaced socket")
        # a live socket belongs to someone else: refused, left alone
        live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        live.bind(sock)
        live.listen(1)
        try:
            with Daemon(["control " + sock], ACL, upstreams=[ns.addr], ready=None, expect_exit=True) as d:
                code = d.proc.wait(timeout=10 * SLOWDOWN)
                check_eq(code, 1, "exit code with the socket in use", d.log_text())
                check("in use by another process" in d.log_text(), "log names the reason", d.log_text())
            check(os.path.exists(sock), "someone else's live socket was removed")
        finally:
            live.close()
            os.unlink(sock)
        # a regular file is never removed
        with open(sock, "w") as f:
            f.write("not a socket\n")
        with Daemon(["control " + sock], ACL, upstreams=[ns.addr], ready=None, expect_exit=True) as d:
            code = d.proc.wait(timeout=10 * SLOWDOWN)
            check_eq(code, 1, "exit code with a file in the way", d.log_text())
            check("not a socket" in d.log_text(), "log names the reason", d.log_text())
        with open(sock) as f:
            check_eq(f.read(), "not a socket\n", "the file in the way")


def test_control_path_changed_by_reload():
    with setup() as (d, qc, sock):
        new = os.path.join(os.path.dirname(sock), "other")
        d.set_conf(["control " + new, "workers 1", "prefetch-a no"])
        ok(sock, "reload")
        wait_for(lambda: os.path.exists(new), "the new control socket")
        check(not os.path.exists(sock), "old control socket still there")
        check_eq(status(new)["generation"], ["1"], "generation through the new socket")
        d.set_conf(["workers 1"])
        d.reload()
        wait_for(lambda: not os.path.exists(new), "the socket to go after `control` was removed")
        d.set_conf(["control " + sock, "workers 1"])
        d.reload()
        wait_for(lambda: os.path.exists(sock), "the socket to come back")
        check_eq(status(sock)["generation"], ["3"], "generation after three reloads")


# --- commands ------------------------------------------------------------------------------------

def test_status_fields():
    with setup(workers=2) as (d, qc, sock):
        s = status(sock)
        version = run_daemon_cmd(["-V"]).stdout.split()[-1]
        check_eq(s["version"], [version], "version", s)
        check_eq(s["pid"], [str(d.pid)], "pid", s)
        check(re.fullmatch(r"\d+", s["uptime-seconds"][0]), "uptime", s)
        check_eq(s["config"], [d.conf], "config file", s)
        check_eq(s["generation"], ["0"], "generation at start", s)
        check_eq(s["workers"], ["2"], "workers", s)
        check_eq(sorted(s["listen"]), sorted(["127.0.0.1:%d udp tcp" % d.port, "[::1]:%d udp tcp" % d.port]),
                 "listen addresses", s)
        check_eq(s["upstream"], [d.upstreams[0]], "upstreams", s)
        check_eq(s["control"], [sock], "control", s)
        check_eq(s["metrics"], ["off"], "metrics", s)
        d.reload()
        check_eq(status(sock)["generation"], ["1"], "generation after SIGHUP")


def test_stats_move_and_reset():
    with setup() as (d, qc, sock):
        before = stats(sock)
        check("dns64d_cache_hits_total" in before and "dns64d_inflight" in before, "stats families", before)
        for name in ("www.core.test", "www.core.test", "cache1.core.test"):
            check_eq(dig(d.port, name, "A").rcode, "NOERROR", name)
        after = stats(sock)
        check_eq(total(after, "dns64d_queries_total") - total(before, "dns64d_queries_total"), 3,
                 "client queries counted", after)
        check(after["dns64d_cache_hits_total"] > before["dns64d_cache_hits_total"], "cache hits moved", after)
        printed = stats(sock, "--reset")
        check(total(printed, "dns64d_queries_total") >= 3, "--reset prints the values before the reset", printed)
        zero = stats(sock)
        check_eq(total(zero, "dns64d_queries_total"), 0, "queries after --reset", zero)
        check_eq(zero["dns64d_cache_hits_total"] + zero["dns64d_cache_misses_total"], 0, "cache counters", zero)
        check(zero["dns64d_cache_entries"] > 0, "--reset keeps the cache itself", zero)
        dig(d.port, "www.core.test", "A")
        check_eq(total(stats(sock), "dns64d_queries_total"), 1, "counting goes on after --reset")
        rc, out, _ = ctl(sock, "stats", "--bogus")
        check_eq((rc, out.split("\n")[0]), (1, "error: usage: stats [--reset]"), "bad stats argument")


def test_flush_name_and_type():
    with setup() as (d, qc, sock):
        for t in ("A", "AAAA", "MX"):
            dig(d.port, "www.core.test", t)
            dig(d.port, "www.core.test", t)
        dig(d.port, "cache2.core.test", "A")
        check_eq([qc.count("www.core.test", t) for t in ("A", "AAAA", "MX")], [1, 1, 1], "upstream before flush")
        lines = ok(sock, "flush", "WWW.core.test", "A")
        check_eq(lines, ["flushed 1 entries"], "flush NAME TYPE reply")
        for t in ("A", "AAAA", "MX"):
            dig(d.port, "www.core.test", t)
        check_eq([qc.count("www.core.test", t) for t in ("A", "AAAA", "MX")], [2, 1, 1],
                 "only the flushed type went upstream again")
        # A, AAAA, MX, and the AAAA as kept for dns64 clients (the answer they got)
        lines = ok(sock, "flush", "www.core.test")
        check(re.fullmatch(r"flushed [34] entries", lines[0]), "flush NAME reply", lines)
        for t in ("A", "AAAA", "MX"):
            dig(d.port, "www.core.test", t)
        dig(d.port, "cache2.core.test", "A")
        check_eq([qc.count("www.core.test", t) for t in ("A", "AAAA", "MX")], [3, 2, 2], "every type after flush")
        check_eq(qc.count("cache2.core.test", "A"), 1, "another name stayed cached")
        rc, out, _ = ctl(sock, "flush", "www.core.test", "NOSUCHTYPE")
        check_eq((rc, out), (1, "error: bad type 'NOSUCHTYPE'\n"), "bad type")
        rc, out, _ = ctl(sock, "flush", "a..b")
        check_eq((rc, out), (1, "error: bad domain name 'a..b'\n"), "bad name")
        rc, out, _ = ctl(sock, "flush")
        check_eq((rc, out), (1, "error: usage: flush NAME [TYPE]\n"), "flush without a name")


def test_flush_zone_includes_synthesized_and_flush_all():
    with setup() as (d, qc, sock):
        r = dig(d.port, "v4only.dns64.test", "AAAA")
        check_eq(r.rdatas("AAAA"), ["64:ff9b::102:304"], "synthesized", r)
        dig(d.port, "dual.dns64.test", "A")
        dig(d.port, "www.core.test", "A")
        dig(d.port, "v4only.dns64.test", "AAAA")
        check_eq(qc.count("v4only.dns64.test", "AAAA"), 1, "synthesized answer from cache")
        lines = ok(sock, "flush-zone", "dns64.test")
        n = int(re.fullmatch(r"flushed (\d+) entries", lines[0]).group(1))
        check(n >= 4, "flush-zone dropped %d entries, want AAAA, A, synthesized AAAA and dual A" % n)
        r = dig(d.port, "v4only.dns64.test", "AAAA")
        check_eq(r.rdatas("AAAA"), ["64:ff9b::102:304"], "synthesized again", r)
        dig(d.port, "dual.dns64.test", "A")
        dig(d.port, "www.core.test", "A")
        check_eq((qc.count("v4only.dns64.test", "AAAA"), qc.count("dual.dns64.test", "A"),
                  qc.count("www.core.test", "A")), (2, 2, 1), "the zone went upstream, core.test did not")
        lines = ok(sock, "flush-all")
        check(re.fullmatch(r"flushed [1-9]\d* entries", lines[0]), "flush-all reply", lines)
        dig(d.port, "www.core.test", "A")
        dig(d.port, "dual.dns64.test", "A")
        check_eq((qc.count("dual.dns64.test", "A"), qc.count("www.core.test", "A")), (3, 2), "after flush-all")
        check_eq(stats(sock)["dns64d_cache_entries"], 2, "entries after flush-all and two queries")


def test_dump_then_load_into_a_fresh_daemon():
    names = [("www.core.test", "A"), ("www.core.test", "AAAA"), ("core.test", "MX"),
             ("nothere.core.test", "A"), ("v4only.dns64.test", "AAAA"), ("www.core.test", "A")]
    with sockdir() as sd:
        dump = os.path.join(sd, "cache.dump")
        with setup() as (d, qc, sock):
            first = {}
            for n, t in names:
                first[(n, t)] = dig(d.port, n, t)
            lines = ok(sock, "dump-cache", dump)
            m = re.fullmatch(r"wrote (\d+) entries to '(.*)'", lines[0])
            check(m and m.group(2) == dump, "dump-cache reply", lines)
            check_eq(stat.S_IMODE(os.stat(dump).st_mode) & 0o077, 0, "dump readable by others")
        with open(dump) as f:
            text = f.read()
        entries = [l.split() for l in text.splitlines() if l and not l.startswith("#") and not l.startswith("time ")]
        check_eq(len(entries), int(m.group(1)), "entries in the file", text)
        keys = {(e[0], e[1]) for e in entries}
        # v4only AAAA: the NODATA AAAA and the A it was synthesized from; the synthesized answer is not dumped
        for want in (("www.core.test.", "A"), ("www.core.test.", "AAAA"), ("core.test.", "MX"),
                     ("nothere.core.test.", "A"), ("v4only.dns64.test.", "AAAA"), ("v4only.dns64.test.", "A")):
            check(want in keys, "%s %s not in the dump" % want, text)
        check_eq(len(entries), len(keys), "one entry per key", text)
        ttl = {(e[0], e[1]): int(e[4]) for e in entries}
        check("# www.core.test.\t" in text and "IN\tA\t192.0.2.1" in text, "records as comments", text)

        with setup() as (d2, qc2, sock2):
            lines = ok(sock2, "load-cache", dump)
            check(lines[0].startswith("loaded %d entries, 0 expired" % len(entries)), "load-cache reply", lines)
            for n, t in names:
                r = dig(d2.port, n, t)
                want = first[(n, t)]
                check_eq((r.rcode, r.rrset(), r.rrset("authority")),
                         (want.rcode, want.rrset(), want.rrset("authority")), "answer from the loaded cache", r, want)
                section = "answer" if r.answer else "authority"
                key = (n + ".", t)
                check(r.min_ttl(section) <= ttl[key], "TTL %s above the dumped %s" % (r.min_ttl(section), ttl[key]), r)
            check_eq(qc2.count(), 0, "upstream queries of the daemon that loaded the dump")

            # a broken line: an error naming it, the lines before it stay loaded
            bad = os.path.join(sd, "bad.dump")
            with open(bad, "w") as f:
                f.write("time %d\n" % int(time.time()))
                f.write(" ".join(entries[0]) + "\n")
                f.write("www.core.test. A IN rd 60 - bm90IGRucw==\n")
            ok(sock2, "flush-all")
            rc, out, _ = ctl(sock2, "load-cache", bad)
            check_eq((rc, out.split("\n")[0]),
                     (1, "error: line 3: not a valid DNS message (1 entries loaded before it)"), "bad dump", out)
            rc, out, err = ctl(sock2, "load-cache", os.path.join(sd, "nothere"))
            check(rc == 2 and "nothere" in err, "load-cache of a missing file: exit %d %s" % (rc, err))


def test_dump_ttl_counts_from_the_dump_time():
    with sockdir() as sd, setup() as (d, qc, sock):
        dig(d.port, "short.core.test", "A")  # TTL 60
        dump = os.path.join(sd, "old.dump")
        ok(sock, "dump-cache", dump)
        with open(dump) as f:
            text = f.read()
        # the same dump as if written 50 s ago and 61 s ago
        m = re.search(r"^time (\d+)$", text, re.M)
        for age, loaded in ((50, 1), (61, 0)):
            with open(dump, "w") as f:
                f.write(text.replace(m.group(0), "time %d" % (int(m.group(1)) - age)))
            ok(sock, "flush-all")
            lines = ok(sock, "load-cache", dump)
            check(lines[0].startswith("loaded %d entries, %d expired" % (loaded, 1 - loaded)), "reply", lines)
        ok(sock, "flush-all")
        with open(dump, "w") as f:
            f.write(text.replace(m.group(0), "time %d" % (int(m.group(1)) - 50)))
        ok(sock, "load-cache", dump)
        r = dig(d.port, "short.core.test", "A")
        check(r.min_ttl() <= 10, "TTL %s of an entry dumped 50 s ago with 60 s" % r.min_ttl(), r)
        check_eq(qc.count("short.core.test", "A"), 1, "answered from the loaded entry")


def test_reload_ok_and_broken():
    with setup() as (d, qc, sock):
        lines = ok(sock, "reload")
        check_eq(lines, ["reloaded '%s', generation 1" % d.conf], "reload reply")
        d.set_conf(["control " + sock, "workers 1", "prefetch-a no", "timeout banana"])
        rc, out, _ = ctl(sock, "reload")
        check_eq(rc, 1, "exit status of a failed reload", out)
        check(out.startswith("error: reload of '%s' failed, keeping the old config\n" % d.conf), "reply", out)
        check(re.search(r"^%s:\d+: .*banana" % re.escape(d.conf), out, re.M), "FILE:LINE error", out)
        check_eq(status(sock)["generation"], ["1"], "generation after the failed reload")
        check_eq(dig(d.port, "www.core.test", "A").rdatas("A"), ["192.0.2.1"], "old config serves")


def test_reload_reports_a_listener_that_cannot_open():
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        with setup() as (d, qc, sock):
            d.set_conf(["control " + sock, "workers 1", "metrics 127.0.0.1:%d" % port])
            lines = ok(sock, "reload")
            check_eq(lines[0], "reloaded '%s', generation 1" % d.conf, "reload reply", lines)
            check(len(lines) == 2 and lines[1].startswith("warning: cannot serve metrics on '127.0.0.1:%d'" % port),
                  "reload reply names the metrics address that cannot be served", lines)
            check_eq(status(sock)["metrics"], ["not listening (see the log)"], "status of the metrics endpoint")
            check_eq(dig(d.port, "www.core.test", "A").rcode, "NOERROR", "DNS after the failed listen")
    finally:
        busy.close()


UPSTREAM_LINE = re.compile(r"(?P<addr>\S+) state (?P<state>up|down) srtt_ms (?P<srtt>[0-9.]+) rttvar_ms [0-9.]+ "
                           r"consecutive_timeouts (?P<cto>\d+) consecutive_failures \d+ since_s \d+ for default\Z")


def upstreams(sock):
    out = {}
    for line in ok(sock, "upstreams"):
        m = UPSTREAM_LINE.match(line)
        check(m, "upstreams line %r" % line)
        out[m.group("addr")] = m.groupdict()
    return out


def test_upstreams_state():
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never answers
    hole.bind(("127.0.0.1", 0))
    hole_addr = "127.0.0.1:%d" % hole.getsockname()[1]
    try:
        with sockdir() as sd, Nsd(ZONES) as ns:
            sock = os.path.join(sd, "control")
            with Daemon(["control " + sock, "upstream-selection ordered", "timeout 3000"], ACL,
                        upstreams=[hole_addr, ns.addr]) as d:
                u = upstreams(sock)
                check_eq(sorted(u), sorted([hole_addr, ns.addr]), "every configured upstream from the start", u)
                check(all(x["state"] == "up" for x in u.values()), "all up at start", u)
                for i in range(3):  # ordered: the hole first every time, until it is down
                    r = dig(d.port, "cache%d.core.test" % (i + 1), "A", timeout=5)
                    check_eq(r.rcode, "NOERROR", "answer via the second upstream", r)
                u = upstreams(sock)
                check_eq(u[hole_addr]["state"], "down", "a server that never answers", u)
                check(int(u[hole_addr]["cto"]) >= 3, "its consecutive timeouts", u)
                check_eq((u[ns.addr]["state"], u[ns.addr]["cto"]), ("up", "0"), "the answering server", u)
                check(float(u[ns.addr]["srtt"]) > 0, "its smoothed RTT", u)
    finally:
        hole.close()

def test_log_level_and_query_log():
    with setup() as (d, qc, sock):
        ok(sock, "log-level", "debug")
        ok(sock, "status")
        wait_for(lambda: "control: status" in d.log_text(), "a debug line for the status command")
        ok(sock, "log-level", "warn")
        ok(sock, "help")
        ok(sock, "log-level", "debug")
        ok(sock, "flush-all")
        wait_for(lambda: "control: flush-all" in d.log_text(), "a debug line for flush-all")
        check("control: help" not in d.log_text(), "debug line at level warn", d.log_text())
        check_eq(status(sock)["log-level"], ["debug"], "status shows the level")
        rc, out, _ = ctl(sock, "log-level", "loud")
        check_eq((rc, out.split("\n")[0]), (1, "error: bad log level 'loud' (expected error, warn, info or debug)"),
                 "bad level")
        ok(sock, "log-level", "warn")

        ok(sock, "query-log", "on")
        check_eq(status(sock)["query-log"], ["on"], "status shows the query log")
        dig(d.port, "cache3.core.test", "A")
        wait_for(lambda: "cache3.core.test" in d.log_text(), "a query log line")
        ok(sock, "query-log", "off")
        dig(d.port, "cache4.core.test", "A")
        ok(sock, "query-log", "on")
        dig(d.port, "cache5.core.test", "A")
        wait_for(lambda: "cache5.core.test" in d.log_text(), "a query log line after on again")
        check("cache4.core.test" not in d.log_text(), "query logged while off", d.log_text())
        # a reload restores the config's value (no log-queries: off)
        ok(sock, "reload")
        check_eq(status(sock)["query-log"], ["off"], "query log after reload")
        dig(d.port, "cache6.core.test", "A")
        ok(sock, "query-log", "on")
        dig(d.port, "cache7.core.test", "A")
        wait_for(lambda: "cache7.core.test" in d.log_text(), "a query log line")
        check("cache6.core.test" not in d.log_text(), "query logged after reload", d.log_text())
        rc, out, _ = ctl(sock, "query-log", "maybe")
        check_eq((rc, out), (1, "error: usage: query-log on|off\n"), "bad query-log argument")


# --- protocol and dns64d-control -----------------------------------------------------------------

def test_protocol_errors():
    with setup() as (d, qc, sock):
        rc, out, _ = ctl(sock, "frobnicate")
        check_eq((rc, out), (1, "error: unknown command 'frobnicate' (try help)\n"), "unknown command")
        rc, out, _ = ctl(sock, "status", "extra")
        check_eq((rc, out), (1, "error: usage: status \n"), "status with an argument")
        check(raw(sock, b"status").startswith("ok\nversion: "), "a request without its newline is answered")
        check(raw(sock, b"status\r\n").startswith("ok\n"), "CRLF")
        check_eq(raw(sock, b"\n"), "error: empty request (try help)\n", "empty request")
        check_eq(raw(sock, b"a " * 20 + b"\n"), "error: too many words in the request\n", "many words")
        check_eq(raw(sock, b"x" * 5000, shut=False), "error: request line too long\n", "long line")
        help_ = ok(sock, "help")
        for c in ("status", "stats", "reload", "flush", "flush-zone", "flush-all", "log-level", "query-log",
                  "dump-cache", "load-cache", "upstreams", "explain", "help"):
            check(any(l.split()[0] == c for l in help_), "help lacks %s" % c, help_)
        check(d.alive(), "daemon alive after protocol errors")


def test_idle_connection_does_not_block():
    with setup(expect_exit=True) as (d, qc, sock):
        idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        idle.connect(sock)
        try:
            t0 = time.monotonic()
            check(status(sock)["pid"] == [str(d.pid)], "status with an idle connection open")
            idle.settimeout(10 * SLOWDOWN)
            check_eq(idle.recv(100), b"", "bytes on an idle control connection")
            elapsed = time.monotonic() - t0
            check(4.0 <= elapsed <= 7.5 * SLOWDOWN, "idle connection closed after %.1fs, want about 5s" % elapsed)
        finally:
            idle.close()
        idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        idle.connect(sock)
        try:
            d.signal(signal.SIGTERM)
            code = d.proc.wait(timeout=5 * SLOWDOWN)
            check_eq(code, 0, "exit after SIGTERM with an idle control connection")
        finally:
            idle.close()


def test_command_exit_codes_and_messages():
    with setup() as (d, qc, sock):
        rc, out, err = ctl(sock)
        check(rc == 2 and "usage:" in err, "no command: exit %d %r" % (rc, err))
        rc, out, err = ctl(sock, "flush", "a b")
        check(rc == 2 and "blanks" in err, "argument with a blank: exit %d %r" % (rc, err))
        rc, out, err = ctl(sock, "dump-cache")
        check(rc == 2 and "usage: dump-cache FILE" in err, "dump-cache without FILE: exit %d %r" % (rc, err))
        missing = os.path.join(os.path.dirname(sock), "nothere")
        rc, out, err = ctl(missing, "status")
        check(rc == 2 and "'%s'" % missing in err and "No such file or directory" in err,
              "missing socket: exit %d %r" % (rc, err))
        rc, out, err = ctl(None, "status", config=d.conf)
        check(rc == 0 and out.startswith("ok\n"), "-c CONFIG: exit %d %r %r" % (rc, out, err))
        conf2 = os.path.join(d.dir, "nocontrol.conf")
        with open(conf2, "w") as f:
            f.write("listen 127.0.0.1:53\n")
        rc, out, err = ctl(None, "status", config=conf2)
        check(rc == 2 and "no control directive" in err, "-c without control: exit %d %r" % (rc, err))
        p = subprocess.run([CONTROL_BIN, "-h"], stdout=subprocess.PIPE, text=True)
        check(p.returncode == 0 and "dump-cache FILE" in p.stdout, "-h")


if __name__ == "__main__":
    if not os.path.exists(CONTROL_BIN):
        print("SKIP all: %s not built" % CONTROL_BIN)
        sys.exit(77)
    run_tests(globals())

# Integration tests for operations (issue 7): signals, reload, privilege drop, logging, sd_notify.
#
# SIGTERM/SIGINT stop gracefully (in-flight queries answered, exit 0); SIGHUP reloads config and
# ACL, and a broken new config is rejected with FILE:LINE: errors while the old one keeps serving;
# `log-queries yes` writes one line per query and the default level writes nothing per query;
# `user nobody` leaves no root ids and no capabilities in any thread; -f logs to stderr, no -f
# does not; READY=1 / RELOADING=1 / STOPPING=1 reach $NOTIFY_SOCKET.
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DNS64D_BIN, SLACK, Daemon, Nsd, ScriptedServer, SkipTest, check, check_eq, dig, dnsquery,  # noqa: E402
                     free_port, query, run_tests, wait_until, zone_path)

import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rrset  # noqa: E402

ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 forward", "127.0.0.9/32 refuse", "::1/128 dns64"]


class SlowUpstream(ScriptedServer):
    """Answers every A query with 1.2.3.4 (other types: NODATA) after delay seconds, each in
    its own thread. names: lowercased qnames received, in order."""

    def __init__(self, delay):
        super().__init__(threaded_udp=True)
        self.delay = delay
        self.names = []

    def answer(self, wire):
        q = dns.message.from_wire(wire)
        with self._lock:
            self.names.append(q.question[0].name.to_text().lower())
        time.sleep(self.delay)
        r = dns.message.make_response(q)
        qn = q.question[0]
        if qn.rdtype == 1:
            r.answer.append(dns.rrset.from_text(qn.name, 300, "IN", "A", "1.2.3.4"))
        return r.to_wire()

    def seen(self, name):
        with self._lock:
            return name.lower().rstrip(".") + "." in self.names


def wait_for(cond, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def wait_exit(d, timeout):
    """Wait for the daemon process; returns its exit code or None if still running."""
    try:
        return d.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def dig_until(port, name, rdtype, source, want_rcode, timeout=10.0):
    """dig every 0.1 s until the answer has want_rcode (a reload is asynchronous); last result."""
    deadline = time.monotonic() + timeout
    while True:
        r = dig(port, name, rdtype, source=source, timeout=1)
        if r.rcode == want_rcode or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


# --- stop ----------------------------------------------------------------------------------------

def test_sigterm_answers_inflight_then_exits_0():
    # the exit is bounded by the stop grace time (STOP_GRACE_MS in worker.c) plus slack
    grace = 2.0
    with SlowUpstream(0.5) as up, \
            Daemon(["timeout 3000", "log-level info"], ACL, upstreams=[up.addr], expect_exit=True) as d:
        res = {}

        def ask(key, name, tcp):
            res[key] = dnsquery(d.port, name, "A", tcp=tcp, timeout=4)

        threads = [threading.Thread(target=ask, args=("udp", "inflight-udp.example", False)),
                   threading.Thread(target=ask, args=("tcp", "inflight-tcp.example", True))]
        for t in threads:
            t.start()
        check(wait_for(lambda: up.seen("inflight-udp.example") and up.seen("inflight-tcp.example"), 10),
              "the slow upstream did not get both queries: %r" % up.names)
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        # a query sent after SIGTERM (still inside the 0.5 s the in-flight ones wait) must not
        # be taken on: once the daemon has logged the signal, its workers have been woken; they
        # stop reading at their next loop turn (not observable from outside, hence the 0.3 s)
        check(wait_for(lambda: "stopping on signal" in d.log_text(), 10), "SIGTERM not logged\n" + d.log_text())
        time.sleep(0.3)
        late = {}
        lt = threading.Thread(target=lambda: late.setdefault(
            "r", dnsquery(d.port, "late.example", "A", timeout=1.5)))
        lt.start()
        code = wait_exit(d, grace + SLACK + 2)
        elapsed = time.monotonic() - t0
        for t in threads + [lt]:
            t.join(5)
        log = d.log_text()
        check(code is not None, "dns64d still running %.1f s after SIGTERM\n%s" % (grace + SLACK + 2, log))
        check_eq(code, 0, "exit code after SIGTERM", log)
        check(elapsed < grace + SLACK, "exit took %.2f s after SIGTERM, grace %.1f s\n%s" % (elapsed, grace, log))
        for key in ("udp", "tcp"):
            m = res.get(key)
            check(m is not None, "in-flight %s query not answered across SIGTERM\n%s" % (key, log))
            check_eq(dns.rcode.to_text(m.rcode()), "NOERROR", "in-flight %s rcode" % key, m)
            check_eq([str(rr) for rrset in m.answer for rr in rrset], ["1.2.3.4"],
                     "in-flight %s answer" % key, m)
        check(not up.seen("late.example"),
              "a query sent 0.3 s after SIGTERM was still forwarded upstream\n" + log)


def test_sigint_exits_0():
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon([], ACL, upstreams=[ns.addr], expect_exit=True) as d:
        check_eq(dig(d.port, "dual.dns64.test", "A").rcode, "NOERROR", "answer before SIGINT")
        t0 = time.monotonic()
        d.signal(signal.SIGINT)
        grace = 2.0  # STOP_GRACE_MS in worker.c; nothing is in flight here
        code = wait_exit(d, grace + SLACK + 2)
        check(code is not None, "dns64d still running %.1f s after SIGINT\n%s" % (grace + SLACK + 2, d.log_text()))
        check_eq(code, 0, "exit code after SIGINT", d.log_text())
        check(time.monotonic() - t0 < grace + SLACK, "SIGINT stop took too long")


# --- reload --------------------------------------------------------------------------------------

RELOAD_ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 refuse", "::1/128 dns64"]
RELOAD_ACL_OPEN = ["127.0.0.1/32 dns64", "127.0.0.2/32 dns64", "::1/128 dns64"]


def test_sighup_acl_change_takes_effect():
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon([], RELOAD_ACL, upstreams=[ns.addr]) as d:
        r = dig(d.port, "v4only.dns64.test", "AAAA", source="127.0.0.2")
        check_eq(r.rcode, "REFUSED", "127.0.0.2 before the reload", r)
        d.set_acl(RELOAD_ACL_OPEN)
        d.reload()
        r = dig_until(d.port, "v4only.dns64.test", "AAAA", "127.0.0.2", "NOERROR")
        check_eq(r.rcode, "NOERROR", "127.0.0.2 after the reload that allows it\n" + d.log_text(), r)
        check_eq(r.rdatas("AAAA"), ["64:ff9b::102:304"], "127.0.0.2 gets DNS64 after the reload", r)
        d.set_acl(RELOAD_ACL)
        d.reload()
        r = dig_until(d.port, "v4only.dns64.test", "AAAA", "127.0.0.2", "REFUSED")
        check_eq(r.rcode, "REFUSED", "127.0.0.2 after the reload that refuses it again", r)
        check_eq(dig(d.port, "v4only.dns64.test", "AAAA").rcode, "NOERROR", "127.0.0.1 unaffected")


def _line_of(path, text):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise AssertionError("%r not in %s" % (text, path))


def test_sighup_broken_config_keeps_old():
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon(["log-level warn"], RELOAD_ACL, upstreams=[ns.addr]) as d:
        check_eq(dig(d.port, "dual.dns64.test", "A", source="127.0.0.2").rcode, "REFUSED", "before")
        # 1. broken config; the ACL change written with it must not take effect either
        d.set_acl(RELOAD_ACL_OPEN)
        d.set_conf(["log-level warn", "frobnicate yes", "timeout nope"])
        bad1 = _line_of(d.conf, "frobnicate")
        bad2 = _line_of(d.conf, "timeout nope")
        d.reload(wait=0.5)
        failed = "failed, keeping the old config"
        check(wait_until(lambda: d.log_text().count(failed) >= 1 or not d.alive()), "reload outcome not logged")
        check(d.alive(), "daemon died on a broken config\n" + d.log_text())
        log = d.log_text()
        conf_name = re.escape(os.path.basename(d.conf))
        check(re.search(r"%s:%d: " % (conf_name, bad1), log),
              "no 'dns64d.conf:%d:' error for the unknown directive in the log\n%s" % (bad1, log))
        check(re.search(r"%s:%d: " % (conf_name, bad2), log),
              "no 'dns64d.conf:%d:' error for the bad timeout in the log\n%s" % (bad2, log))
        r = dig(d.port, "dual.dns64.test", "A", source="127.0.0.2")
        check_eq(r.rcode, "REFUSED", "old ACL kept after a rejected reload", r)
        r = dig(d.port, "v4only.dns64.test", "AAAA")
        check_eq(r.rdatas("AAAA"), ["64:ff9b::102:304"], "still serving after a rejected reload", r)
        # 2. good config, broken ACL file: rejected as a whole too, error names the ACL line
        d.set_conf(["log-level warn"])
        d.set_acl(["127.0.0.1/32 dns64", "127.0.0.2/32 allow", "::1/128 dns64"])
        d.reload(wait=0.5)
        check(wait_until(lambda: d.log_text().count(failed) >= 2 or not d.alive()), "reload outcome not logged")
        check(d.alive(), "daemon died on a broken ACL\n" + d.log_text())
        log = d.log_text()
        check(re.search(r"dns64d\.acl:2: ", log),
              "no 'dns64d.acl:2:' error for the bad ACL action in the log\n" + log)
        r = dig(d.port, "dual.dns64.test", "A", source="127.0.0.2")
        check_eq(r.rcode, "REFUSED", "old ACL kept after a rejected ACL", r)
        # 3. everything fixed: the new ACL applies
        d.set_acl(RELOAD_ACL_OPEN)
        d.reload()
        r = dig_until(d.port, "dual.dns64.test", "A", "127.0.0.2", "NOERROR")
        check_eq(r.rdatas("A"), ["1.2.3.6"], "new ACL after a good reload\n" + d.log_text(), r)


# --- logging -------------------------------------------------------------------------------------

QLOG = re.compile(
    r"query client '(?P<client>[^']*)' name '(?P<name>[^']*)' type '(?P<type>[^']*)'"
    r" transport '(?P<transport>[^']*)' action '(?P<action>[^']*)' rcode '(?P<rcode>[^']*)'"
    r" synth '(?P<synth>[^']*)' reason '(?P<reason>[^']*)' upstream '(?P<upstream>[^']*)'"
    r" cache '(?P<cache>[^']*)' latency_ms (?P<latency>\d+)")


def _query_lines(log):
    return [l for l in log.splitlines() if " query client " in l]


def test_log_queries_one_line_per_query():
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon(["log-queries yes", "prefetch-a no"], ACL, upstreams=[ns.addr]) as d:
        asked = [
            # (dig args, expected fields)
            (("v4only.dns64.test", "AAAA", False, None),
             dict(client="127.0.0.1", type="AAAA", transport="udp", action="dns64", rcode="NOERROR",
                  synth="yes", reason="synthesized", upstream=ns.addr, cache="miss")),
            (("v4only.dns64.test", "AAAA", False, None),
             dict(client="127.0.0.1", type="AAAA", action="dns64", rcode="NOERROR", synth="yes",
                  cache="hit")),
            (("dual.dns64.test", "AAAA", True, None),
             dict(client="127.0.0.1", type="AAAA", transport="tcp", action="dns64", rcode="NOERROR",
                  synth="no", reason="real_aaaa", upstream=ns.addr, cache="miss")),
            (("nothere.dns64.test", "AAAA", False, None),
             dict(type="AAAA", action="dns64", rcode="NXDOMAIN", synth="no", reason="nxdomain",
                  upstream=ns.addr, cache="miss")),
            (("multi.dns64.test", "AAAA", False, "127.0.0.2"),
             dict(client="127.0.0.2", type="AAAA", action="forward", rcode="NOERROR", synth="no",
                  reason="forward_only", upstream=ns.addr, cache="miss")),
            (("dual.dns64.test", "A", False, None),
             dict(type="A", action="dns64", rcode="NOERROR", synth="no", reason="not_aaaa",
                  upstream=ns.addr, cache="miss")),
            (("v4only.dns64.test", "AAAA", False, "127.0.0.9"),
             dict(client="127.0.0.9", type="AAAA", action="refuse", rcode="REFUSED", synth="no",
                  upstream="-", cache="-")),
        ]
        elapsed = []
        for (name, t, tcp, src), _ in asked:
            r = dig(d.port, name, t, tcp=tcp, source=src)
            check(r.rcode is not None, "no answer to %s %s" % (name, t), r)
            elapsed.append(r.elapsed)
        # the lines of our queries (not the readiness probe's, which has no question), once
        # they are all written: a line may follow its answer
        ours = set("name '%s.'" % n for (n, _, _, _), _ in asked)

        def our_lines():
            return [l for l in _query_lines(d.log_text()) if any(o in l for o in ours)]
        wait_until(lambda: len(our_lines()) >= len(asked))
        log = d.log_text()
        lines = our_lines()
        check_eq(len(lines), len(asked), "query log lines for %d queries\n%s" % (len(asked), log))
        errors = []  # every mismatch, so one run shows them all
        for ((name, t, tcp, src), want), line, took in zip(asked, lines, elapsed):
            m = QLOG.search(line)
            if not m:
                errors.append("line without the expected fields: %r" % line)
                continue
            got = m.groupdict()
            want = dict(want, name=name + ".", client=src or "127.0.0.1")
            got["client"] = got["client"].rsplit(":", 1)[0]
            for k, v in want.items():
                if got[k] != v:
                    errors.append("%s %s from %s: %s %r, expected %r" % (name, t, want["client"], k, got[k], v))
            if got["synth"] == "no" and got["reason"] == "synthesized":
                errors.append("%s %s from %s: synth 'no' with reason 'synthesized'"
                              % (name, t, want["client"]))
            # no longer than the client waited for the answer
            if not 0 <= int(got["latency"]) <= took * 1000 + 1:
                errors.append("latency_ms out of range (the client waited %.0f ms): %r" % (took * 1000, line))
            # lowercase outside the quoted variable text
            fixed = re.sub(r"'[^']*'", "''", line.split(" dns64d info: ", 1)[-1])
            if fixed != fixed.lower():
                errors.append("not lowercase outside quotes: %r" % line)
        check(not errors, "query log lines wrong:\n  " + "\n  ".join(errors) + "\n--- log ---\n" + log)


def test_default_level_logs_nothing_per_query():
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon([], ACL, upstreams=[ns.addr]) as d:
        time.sleep(0.2)
        before = d.log_text()
        for i in range(3):
            dig(d.port, "v4only.dns64.test", "AAAA")
            dig(d.port, "nothere%d.dns64.test" % i, "AAAA")
            dig(d.port, "dual.dns64.test", "A", tcp=True)
            dig(d.port, "multi.dns64.test", "AAAA", source="127.0.0.2")
            dig(d.port, "dual.dns64.test", "A", source="127.0.0.9")
            query(d.port, b"\x12\x34garbage", timeout=0.3)          # malformed
            query(d.port, b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03foo\x00",
                  timeout=0.3)                                       # truncated question
        time.sleep(0.2)
        after = d.log_text()
        check_eq(after[len(before):], "", "log output at the default level after 21 queries")
        check(d.alive(), "daemon died")


# --- privileges ----------------------------------------------------------------------------------

def _status(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def test_user_nobody_drops_privileges():
    if os.geteuid() != 0:
        raise SkipTest("needs root to start the daemon as root")
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        raise SkipTest("no user nobody")
    uid, gid = str(pw.pw_uid), str(pw.pw_gid)
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon(["user nobody"], RELOAD_ACL, upstreams=[ns.addr]) as d:
        r = dig(d.port, "v4only.dns64.test", "AAAA")
        check_eq(r.rdatas("AAAA"), ["64:ff9b::102:304"], "answers after dropping privileges", r)
        tasks = os.listdir("/proc/%d/task" % d.pid)
        check(len(tasks) >= 2, "expected worker threads, got tasks %r" % tasks)
        for tid in ["."] + tasks:
            path = "/proc/%d/status" % d.pid if tid == "." else "/proc/%d/task/%s/status" % (d.pid, tid)
            st = _status(path)
            check_eq(st["Uid"], [uid] * 4, "%s Uid (real, effective, saved, fs)" % path)
            check_eq(st["Gid"], [gid] * 4, "%s Gid (real, effective, saved, fs)" % path)
            check(st.get("Groups", []) in ([], [gid]), "%s supplementary groups %r" % (path, st.get("Groups")))
            for cap in ("CapPrm", "CapEff", "CapInh", "CapAmb"):
                if cap in st:
                    check_eq(int(st[cap][0], 16), 0, "%s %s" % (path, cap))
        # reload still works after the drop when the config is readable by the user
        os.chmod(d.dir, 0o755)
        for f in (d.conf, d.acl):
            os.chmod(f, 0o644)
        check_eq(dig(d.port, "dual.dns64.test", "A", source="127.0.0.2").rcode, "REFUSED", "before reload")
        d.set_acl(RELOAD_ACL_OPEN)
        d.reload()
        r = dig_until(d.port, "dual.dns64.test", "A", "127.0.0.2", "NOERROR")
        check_eq(r.rcode, "NOERROR", "reload as nobody\n" + d.log_text(), r)


# --- log destination -----------------------------------------------------------------------------

STDERR_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z dns64d (error|warn|notice|info|debug): \S")


def test_journal_stream_gets_priorities():
    """Under systemd (JOURNAL_STREAM set, stderr is the journal) lines carry sd-daemon(3)
    <priority> prefixes and no timestamp of their own."""
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns:
        with Daemon(["log-level info"], ACL, upstreams=[ns.addr], extra_env={"JOURNAL_STREAM": "8:12345"}) as d:
            check_eq(dig(d.port, "dual.dns64.test", "A").rcode, "NOERROR", "answer")
            d.reload()
            lines = [l for l in d.log_text().splitlines() if l.strip()]
            check(lines, "nothing logged at log-level info")
            for l in lines:
                check(re.match(r"^<[0-7]>(error|warn|notice|info|debug): \S", l), "journal line format: %r" % l)
            check(any(l.startswith("<5>notice: reloaded") for l in lines), "notice at priority 5:\n" + "\n".join(lines))


def test_foreground_logs_to_stderr_and_background_does_not():
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns:
        with Daemon(["log-level info"], ACL, upstreams=[ns.addr]) as d:
            check_eq(dig(d.port, "dual.dns64.test", "A").rcode, "NOERROR", "answer with -f")
            lines = [l for l in d.log_text().splitlines() if l.strip()]
            check(lines, "nothing logged to stderr with -f at log-level info")
            for l in lines:
                check(STDERR_LINE.match(l), "stderr log line format: %r" % l)
        # same config without -f: stderr stays empty (logs go to syslog)
        tmp = tempfile.mkdtemp(prefix="dns64d-ops-")
        port = free_port()
        conf = os.path.join(tmp, "dns64d.conf")
        with open(os.path.join(tmp, "dns64d.acl"), "w") as f:
            f.write("\n".join(ACL) + "\n")
        with open(conf, "w") as f:
            f.write("listen 127.0.0.1:%d\nupstream %s\nacl dns64d.acl\nlog-level debug\n"
                    "log-queries yes\n" % (port, ns.addr))
        errpath = os.path.join(tmp, "stderr")
        with open(errpath, "w") as err:
            p = subprocess.Popen([DNS64D_BIN, "-c", conf], stdin=subprocess.DEVNULL, stdout=err,
                                 stderr=err)
        try:
            check(wait_for(lambda: dig(port, "dual.dns64.test", "A", timeout=1).rcode == "NOERROR", 20),
                  "daemon without -f did not answer")
            check_eq(p.poll(), None, "daemon without -f exited (it must never fork)")
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                code = p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                code = p.wait()
        with open(errpath) as f:
            out = f.read()
        subprocess.run(["rm", "-rf", tmp])
        check_eq(code, 0, "exit code without -f")
        check_eq(out, "", "stderr/stdout without -f at log-level debug")


# --- sd_notify -----------------------------------------------------------------------------------

class NotifySocket:
    """A unix datagram socket like systemd's; abstract=True uses the '@' abstract namespace."""

    def __init__(self, abstract=False):
        self.dir = tempfile.mkdtemp(prefix="dns64d-notify-")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "dns64d-test-%d-%d" % (os.getpid(), free_port())
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            self.env = os.path.join(self.dir, "notify")
            self.sock.bind(self.env)

    def next(self, timeout):
        """The next message as a list of lines, or None on timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        return data.decode("utf-8", "replace").split("\n")

    def expect(self, state, timeout=10.0):
        """Read messages until one carries state; fail on timeout. Returns the skipped ones."""
        skipped = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            msg = self.next(max(0.01, left)) if left > 0 else None
            if msg is None:
                raise AssertionError("no %s on NOTIFY_SOCKET within %.1f s; got %r" % (state, timeout, skipped))
            if state in msg:
                return skipped
            skipped.append(msg)

    def close(self):
        self.sock.close()
        subprocess.run(["rm", "-rf", self.dir])


def _notify_run(abstract):
    ns_sock = NotifySocket(abstract)
    try:
        with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
                Daemon([], RELOAD_ACL, upstreams=[ns.addr], ready=None, expect_exit=True,
                       extra_env={"NOTIFY_SOCKET": ns_sock.env}) as d:
            ns_sock.expect("READY=1", timeout=20)
            # READY means serving: the very next query is answered
            r = dig(d.port, "dual.dns64.test", "A", timeout=5)
            check_eq(r.rcode, "NOERROR", "query right after READY=1", r)
            for acl in (RELOAD_ACL_OPEN, None):
                if acl:
                    d.set_acl(acl)
                else:
                    d.set_conf(["frobnicate yes"])   # a rejected reload ends with READY=1 too
                d.signal(signal.SIGHUP)
                skipped = ns_sock.expect("RELOADING=1")
                check(not any("READY=1" in m for m in skipped), "READY=1 before RELOADING=1: %r" % skipped)
                ns_sock.expect("READY=1")
            r = dig(d.port, "dual.dns64.test", "A", source="127.0.0.2")
            check_eq(r.rcode, "NOERROR", "reloaded ACL in force", r)
            d.signal(signal.SIGTERM)
            ns_sock.expect("STOPPING=1")
            check_eq(wait_exit(d, 2.0 + SLACK + 2), 0, "exit code after SIGTERM", d.log_text())
    finally:
        ns_sock.close()


def test_sd_notify_path_socket():
    _notify_run(False)


def test_sd_notify_abstract_socket():
    _notify_run(True)


if __name__ == "__main__":
    run_tests(globals())

# Integration tests for resource limits (issue 6): max-inflight, tcp-clients, tcp-idle-timeout,
# slow-read and slow-write TCP clients, TCP pipelining; memory is watched through /proc RSS.
import os
import random
import select
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SLACK, Daemon, Nsd, QueryCounter, ScriptedServer, check, check_eq, dig,  # noqa: E402
                     make_query, parse_header, rcode_of, run_tests, tcp_recv_msg, wait_until, zone_path)

import dns.message  # noqa: E402
import dns.rrset  # noqa: E402

ZONES = {"core.test": zone_path("core.zone")}
ACL = ["127.0.0.0/8 dns64", "::1/128 dns64"]
NOERROR, SERVFAIL = 0, 2


def rss_kb(pid):
    """Resident set size of a process in KiB, from /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class ScriptedUpstream(ScriptedServer):
    """Names whose first label starts with 'hang' get no answer at all (the query stays in
    flight at the daemon until its timeout); every other name gets one A record 192.0.2.53.
    Records every question name it receives."""

    def __init__(self):
        super().__init__()
        self.names = []

    def seen(self, prefix=""):
        with self._lock:
            return [n for n in self.names if n.startswith(prefix)]

    def answer(self, wire):
        try:
            q = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - garbage is ignored
            return None
        name = q.question[0].name.to_text().lower() if q.question else ""
        with self._lock:
            self.names.append(name)
        if name.startswith("hang"):
            return None
        r = dns.message.make_response(q)
        if q.question and q.question[0].rdtype == 1:
            r.answer.append(dns.rrset.from_text(q.question[0].name, 60, "IN", "A", "192.0.2.53"))
        return r.to_wire()


def udp_burst(port, names, rdtype="A", wait=1.0, sock=None):
    """Send one UDP query per name from one socket at once; collect answers for `wait`
    seconds. Returns {name: (rcode, seconds after the send)} for the answers received."""
    own = sock is None
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ids = {}
        t0 = time.monotonic()
        for n in names:
            qid = random.randint(0, 0xFFFF)
            while qid in ids:
                qid = random.randint(0, 0xFFFF)
            ids[qid] = n
            s.sendto(make_query(n, rdtype, qid=qid), ("127.0.0.1", port))
        got = {}
        deadline = t0 + wait
        while len(got) < len(names):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            data = s.recv(65535)
            qid = parse_header(data)[0]
            if qid in ids and ids[qid] not in got:
                got[ids[qid]] = (rcode_of(data), time.monotonic() - t0)
        return got
    finally:
        if own:
            s.close()


def tcp_query(sock, name, rdtype="A", qid=None):
    qid = random.randint(0, 0xFFFF) if qid is None else qid
    w = make_query(name, rdtype, qid=qid)
    sock.sendall(struct.pack("!H", len(w)) + w)
    ans = tcp_recv_msg(sock)
    check_eq(parse_header(ans)[0], qid, "answer ID on TCP")
    return ans


def closed_by_peer(sock, timeout, since=None):
    """Seconds until the peer closes (EOF or reset) or None if still open after timeout;
    counted from since (a time.monotonic() taken before the event the close is timed from)."""
    t0 = time.monotonic() if since is None else since
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65535)
            if not data:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                return None
    except socket.timeout:
        return None
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - t0


# --- max-inflight ------------------------------------------------------------------------------

def test_max_inflight_bound():
    # The upstream timeout is the yardstick: the queries beyond the limit are answered before
    # it, the ones in flight at it. 10 s leaves seconds for the flood in between however busy
    # the machine.
    limit, timeout_ms = 5, 10000
    with ScriptedUpstream() as up, \
         Daemon(["max-inflight %d" % limit, "timeout %d" % timeout_ms, "workers 2"], ACL,
                upstreams=[up.addr]) as d:
        # 20 distinct names at once: 5 go upstream and wait there, 15 must fail at once.
        names = ["hang%d.limits.test" % i for i in range(20)]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t_start = time.monotonic()
        got = udp_burst(d.port, names, wait=3.0, sock=s)
        quick = {n: v for n, v in got.items() if v[1] < timeout_ms / 1000.0}
        check_eq(sorted(set(v[0] for v in quick.values())), [SERVFAIL],
                 "rcodes of the queries beyond max-inflight")
        check_eq(len(quick), len(names) - limit,
                 "queries answered SERVFAIL at once beyond max-inflight %d (got %r)" % (limit, got))
        wait_until(lambda: len(set(up.seen("hang"))) >= limit)
        check_eq(len(set(up.seen("hang"))), limit, "distinct hanging names sent upstream")

        # While the table is full, a flood of new names gets SERVFAIL and costs no memory.
        rss0, fds0 = rss_kb(d.pid), open_fds(d.pid)
        flood = 0
        fs = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        for batch in range(40):
            names2 = ["hangflood%d-%d.limits.test" % (batch, i) for i in range(250)]
            res = udp_burst(d.port, names2, wait=0.5, sock=fs)
            flood += sum(1 for v in res.values() if v[0] == SERVFAIL)
            if time.monotonic() - t_start > timeout_ms / 1000.0 / 2:
                break
        fs.close()
        rss1, fds1 = rss_kb(d.pid), open_fds(d.pid)
        sent_up = len(set(up.seen("hang")))
        print("  flood: %d SERVFAIL while full; RSS %d -> %d KiB; fds %d -> %d; upstream saw %d names"
              % (flood, rss0, rss1, fds0, fds1, sent_up))
        check(flood > 1000, "flood: only %d SERVFAIL answers while max-inflight was reached" % flood)
        check_eq(sent_up, limit, "distinct names upstream after the flood (limit %d)" % limit)
        check(rss1 - rss0 < 10 * 1024, "RSS grew by %d KiB during the flood of %d queries"
              % (rss1 - rss0, flood))
        check(fds1 - fds0 <= 2, "open fds grew from %d to %d during the flood" % (fds0, fds1))

        # The 5 in flight end with SERVFAIL at the upstream timeout.
        deadline = t_start + timeout_ms / 1000.0 + SLACK + 2.0
        late = dict(got)
        while len(late) < len(names) and time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], 0.2)
            if r:
                data = s.recv(65535)
                qid = parse_header(data)[0]
                late[qid] = (rcode_of(data), time.monotonic() - t_start)
        s.close()
        slow = [v for k, v in late.items() if k not in got]
        check_eq(len(slow), limit, "answers to the queries that were in flight (got %r)" % slow)
        for rc, t in slow:
            check_eq(rc, SERVFAIL, "rcode after the upstream timeout")
            check(timeout_ms / 1000.0 - 0.5 <= t <= timeout_ms / 1000.0 + SLACK,
                  "in-flight query answered after %.2fs, timeout is %.1fs" % (t, timeout_ms / 1000.0))

        # Slots are free again: real answers, and new names go upstream again.
        r = dig(d.port, "ok.limits.test", "A")
        check_eq((r.rcode, r.rdatas("A")), ("NOERROR", ["192.0.2.53"]), "answer after the timeout", r)
        got = udp_burst(d.port, ["hangagain%d.limits.test" % i for i in range(3)], wait=0.5)
        check_eq(got, {}, "new hanging queries must be in flight, not refused: %r" % got)
        wait_until(lambda: len(set(up.seen("hangagain"))) >= 3)
        check_eq(len(set(up.seen("hangagain"))), 3, "new names sent upstream after slots freed")
        check(d.alive(), "daemon alive")


def test_max_inflight_shared_queries_count_once():
    # Identical questions join the one upstream query in flight, so they do not use slots.
    timeout_ms = 5000
    with ScriptedUpstream() as up, \
         Daemon(["max-inflight 2", "timeout %d" % timeout_ms, "workers 1"], ACL, upstreams=[up.addr]) as d:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        got = udp_burst(d.port, ["hangsame.limits.test"] * 10 + ["hangother.limits.test"], wait=0.5, sock=s)
        check_eq(got, {}, "no query may fail at once: %r" % got)
        r = dig(d.port, "ok2.limits.test", "A")
        check_eq(r.rcode, "SERVFAIL", "third distinct question beyond max-inflight 2", r)
        check(r.elapsed < timeout_ms / 1000.0, "the SERVFAIL beyond max-inflight must come before the "
              "upstream timeout (%.2fs)" % r.elapsed, r)
        # the 11 waiting clients get SERVFAIL at the timeout: then the slots are free
        s.settimeout(timeout_ms / 1000.0 + SLACK + 5)
        for i in range(11):
            check_eq(rcode_of(s.recv(65535)), SERVFAIL, "answer %d of the queries in flight" % (i + 1))
        s.close()
        r = dig(d.port, "ok2.limits.test", "A")
        check_eq((r.rcode, r.rdatas("A")), ("NOERROR", ["192.0.2.53"]), "served after timeout", r)


# --- TCP connections ---------------------------------------------------------------------------

def test_tcp_clients_limit():
    # With every connection busy (a query in progress) a new one beyond tcp-clients is
    # closed; an idle one would be closed instead to make room (test_listener covers that).
    n = 4
    with ScriptedUpstream() as up, \
         Daemon(["tcp-clients %d" % n, "tcp-idle-timeout 10000", "workers 2", "timeout 30000"], ACL,
                upstreams=[up.addr]) as d:
        conns = []
        try:
            for i in range(n + 3):
                c = socket.create_connection(("127.0.0.1", d.port), timeout=10)
                conns.append(c)
                if i < n:
                    w = make_query("hang%d.limits.test" % i, "A")
                    c.sendall(struct.pack("!H", len(w)) + w)
                    deadline = time.monotonic() + 10
                    while len(up.seen("hang")) <= i and time.monotonic() < deadline:
                        time.sleep(0.02)  # in progress once the upstream has it
                    check_eq(len(up.seen("hang")), i + 1, "hanging queries seen upstream")
                time.sleep(0.1)  # so the daemon has accepted each before the next
            extra = conns[n:]
            for i, c in enumerate(extra):
                t = closed_by_peer(c, 10.0)  # at once, long before the 30 s idle timeout
                check(t is not None, "connection %d beyond tcp-clients %d still open" % (n + i + 1, n))
            for i, c in enumerate(conns[:n]):
                ans = tcp_query(c, "www.limits.test")
                check_eq(rcode_of(ans), NOERROR, "rcode on connection %d of %d" % (i + 1, n))
            # Closing the first ones frees their slots for new clients (with a reset: after
            # a plain close the daemon would still owe them the hanging answers).
            for c in conns[:n]:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.close()
            # the daemon sees the closes in its own time: a new client may be turned away until
            # then, and must be served soon after
            for i in range(n):
                ans = None
                deadline = time.monotonic() + 10.0 + SLACK
                while ans is None and time.monotonic() < deadline:
                    c = socket.create_connection(("127.0.0.1", d.port), timeout=10)
                    conns.append(c)
                    try:
                        ans = tcp_query(c, "v4only.limits.test")
                    except (ConnectionError, socket.timeout, OSError):
                        time.sleep(0.1)
                check(ans is not None, "new connection %d refused long after the others closed" % i)
                check_eq(rcode_of(ans), NOERROR, "rcode on new connection %d after the others closed" % i)
        finally:
            for c in conns:
                c.close()
        r = dig(d.port, "www.limits.test", "A")
        check_eq(r.rcode, "NOERROR", "UDP unaffected", r)


def test_tcp_idle_timeout():
    # Times are taken before the event the timer starts from (connect, the query), so a slow
    # test process can only make them longer; 3 s leaves the client asking every 0.5 s room.
    idle_ms = 3000
    idle = idle_ms / 1000.0
    with Nsd(ZONES) as ns, \
         Daemon(["tcp-idle-timeout %d" % idle_ms], ACL, upstreams=[ns.addr]) as d:
        # A connection that never sends anything.
        t0 = time.monotonic()
        c = socket.create_connection(("127.0.0.1", d.port), timeout=3)
        t = closed_by_peer(c, idle + SLACK + 2, since=t0)
        c.close()
        check(t is not None, "silent connection still open after %.1fs (tcp-idle-timeout %d)"
              % (idle + SLACK + 2, idle_ms))
        check(idle - 0.3 <= t <= idle + SLACK, "silent connection closed after %.2fs, idle timeout %.1fs" % (t, idle))
        # A connection that asked once and then went quiet: timed from the answer.
        c = socket.create_connection(("127.0.0.1", d.port), timeout=3)
        t0 = time.monotonic()
        tcp_query(c, "www.core.test")
        t = closed_by_peer(c, idle + SLACK + 2, since=t0)
        c.close()
        check(t is not None, "idle connection still open after %.1fs" % (idle + SLACK + 2))
        check(idle - 0.3 <= t <= idle + SLACK, "idle connection closed after %.2fs, idle timeout %.1fs" % (t, idle))
        # A connection that keeps asking stays open past the timeout.
        c = socket.create_connection(("127.0.0.1", d.port), timeout=3)
        try:
            for _ in range(12):
                tcp_query(c, "www.core.test")
                time.sleep(idle_ms / 1000.0 / 6)
        finally:
            c.close()


def test_slow_write_client_closed():
    idle_ms = 1000
    with Nsd(ZONES) as ns, \
         Daemon(["tcp-idle-timeout %d" % idle_ms], ACL, upstreams=[ns.addr]) as d:
        stalled = []
        try:
            # Length prefix and one byte of the message, then nothing.
            for _ in range(5):
                c = socket.create_connection(("127.0.0.1", d.port), timeout=3)
                w = make_query("www.core.test", "A")
                c.sendall(struct.pack("!H", len(w)) + w[:1])
                stalled.append(c)
            t0 = time.monotonic()
            # Others are served meanwhile, over UDP and TCP.
            for tcp in (False, True):
                r = dig(d.port, "www.core.test", "A", tcp=tcp)
                check_eq(r.rcode, "NOERROR", "other client while 5 stall (tcp=%s)" % tcp, r)
            limit = idle_ms / 1000.0 + SLACK
            for c in stalled:
                left = max(0.1, limit + 2 - (time.monotonic() - t0))
                t = closed_by_peer(c, left)
                check(t is not None, "stalled writer still connected %.1fs later" % (limit + 2))
            took = time.monotonic() - t0
            check(took <= limit, "stalled writers closed after %.2fs, idle timeout %.1fs" % (took, idle_ms / 1000.0))
        finally:
            for c in stalled:
                c.close()
        r = dig(d.port, "www.core.test", "A", tcp=True)
        check_eq(r.rcode, "NOERROR", "served after the stalled writers", r)


def test_trickling_writer_cannot_hold_slots():
    # A writer that sends one byte of a message every 0.4 s is never idle for a full second,
    # yet never completes a query. With tcp-clients 2, two of them must not shut every other
    # TCP client out: a partial message gets at most about one idle timeout (here we allow two
    # and SLACK) from its first byte, since the timer restarting on every byte lets them stay
    # forever.
    idle_ms = 1000
    with Nsd(ZONES) as ns, \
         Daemon(["tcp-idle-timeout %d" % idle_ms, "tcp-clients 2", "workers 1"], ACL,
                upstreams=[ns.addr]) as d:
        w = make_query("www.core.test", "A")
        msg = struct.pack("!H", len(w)) + w
        conns = [socket.create_connection(("127.0.0.1", d.port), timeout=3) for _ in range(2)]
        closed_after = [None, None]
        t0 = time.monotonic()
        try:
            i = 0
            while time.monotonic() - t0 < 2.0 * idle_ms / 1000.0 + SLACK and None in closed_after:
                for k, c in enumerate(conns):
                    if closed_after[k] is None:
                        try:
                            c.send(msg[i % (len(msg) - 1):i % (len(msg) - 1) + 1])
                        except OSError:
                            closed_after[k] = time.monotonic() - t0
                i += 1
                time.sleep(0.4)
            r = dig(d.port, "www.core.test", "A", tcp=True, timeout=5)
        finally:
            for c in conns:
                c.close()
        check(None not in closed_after, "trickling writers still connected after %.1fs (tcp-idle-timeout "
              "%d ms): closed after %r" % (time.monotonic() - t0, idle_ms, closed_after))
        check_eq(r.rcode, "NOERROR", "a third TCP client while two writers trickle", r)


def test_slow_read_client_bounded():
    idle_ms = 3000
    with Nsd(ZONES) as ns, \
         Daemon(["tcp-idle-timeout %d" % idle_ms, "workers 1"], ACL, upstreams=[ns.addr]) as d:
        r = dig(d.port, "many.core.test", "A")  # in the cache from now on: answers are immediate
        check_eq(r.rcode, "NOERROR", "warm-up", r)
        rss0 = rss_kb(d.pid)
        c = socket.create_connection(("127.0.0.1", d.port), timeout=3)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # read nothing, buffer little
        w = make_query("many.core.test", "A", edns=4096)
        chunk = (struct.pack("!H", len(w)) + w) * 500
        sent = [0]
        stop = threading.Event()

        def writer():
            # Keep writing queries (~750-byte answers each) and never read one.
            c.settimeout(0.5)
            while not stop.is_set():
                try:
                    sent[0] += c.send(chunk) // (len(w) + 2)
                except socket.timeout:
                    continue
                except OSError:
                    return

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        peak = rss0
        served = 0
        try:
            t_end = time.monotonic() + 6.0
            while time.monotonic() < t_end:
                peak = max(peak, rss_kb(d.pid))
                r = dig(d.port, "www.core.test", "A", tcp=served % 2 == 1, timeout=5)
                check_eq(r.rcode, "NOERROR", "another client while one does not read", r)
                served += 1
                time.sleep(0.2)
        finally:
            stop.set()
            t.join(3)
            peak = max(peak, rss_kb(d.pid))
        print("  slow reader: %d queries sent, RSS %d -> peak %d KiB, %d other queries served"
              % (sent[0], rss0, peak, served))
        check(sent[0] > 1000, "the slow reader only managed to send %d queries" % sent[0])
        check(peak - rss0 < 32 * 1024, "RSS grew by %d KiB for a client that sent %d queries and read "
              "nothing" % (peak - rss0, sent[0]))
        # The connection must not stay open forever: closed on the write limit or idle timeout.
        # The daemon may still be working through the queries it has buffered (and sending
        # their answers, which is activity) for a while after the writer stopped, longer on a
        # busy machine: a generous multiple of the idle timeout.
        closed = closed_by_peer(c, 4 * idle_ms / 1000.0 + 2 * SLACK)
        c.close()
        check(closed is not None, "the non-reading connection is still open")
        check(d.alive(), "daemon alive")


def test_tcp_pipelining_100():
    names = ["www.core.test", "v4only.core.test", "mx1.core.test", "mx2.core.test",
             "core.test", "many.core.test", "txt.core.test", "nx%d.core.test"]
    with Nsd(ZONES) as ns, Daemon([], ACL, upstreams=[ns.addr]) as d:
        ids = random.sample(range(1, 65535), 100)
        wires = {}
        for i, qid in enumerate(ids):
            n = names[i % len(names)]
            if "%d" in n:
                n = n % i
            wires[qid] = (n, make_query(n, "TXT" if n.startswith("txt") else "A", qid=qid, edns=4096))
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        try:
            s.sendall(b"".join(struct.pack("!H", len(w)) + w for _, w in wires.values()))
            got = {}
            for _ in range(100):
                ans = tcp_recv_msg(s)
                got[parse_header(ans)[0]] = ans
        finally:
            s.close()
        check_eq(len(got), 100, "answers on the pipelined connection")
        check_eq(sorted(got), sorted(ids), "answer IDs")
        for qid, (n, w) in wires.items():
            want = 3 if n.startswith("nx") else NOERROR
            check_eq(rcode_of(got[qid]), want, "rcode for %s" % n)
            check_eq(got[qid][12:12 + len(w) - 12 - 11], w[12:len(w) - 11], "question of %s" % n)


def test_tcp_pending_bound_per_read():
    # 500 pipelined queries arrive in one read; the daemon must hand at most 64 of them to
    # requests at a time (TCP_MAX_PENDING in listener.c), reading on as answers go out.
    n, per_conn, margin = 500, 64, 8
    with Nsd(ZONES) as ns, QueryCounter(ns.port, delay=1.0) as qc, \
            Daemon(["timeout 4000"], ACL, upstreams=[qc.addr]) as d:
        ids = random.sample(range(1, 65535), n)
        names = {qid: "pend%d.core.test" % i for i, qid in enumerate(ids)}
        data = b"".join(struct.pack("!H", len(w)) + w for w in
                        (make_query(names[qid], "A", qid=qid) for qid in ids))
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        try:
            t0 = time.monotonic()
            s.sendall(data)
            got = {}
            deadline = t0 + 60
            while len(got) < n:
                left = deadline - time.monotonic()
                check(left > 0, "only %d of %d pipelined queries answered in 60s" % (len(got), n))
                s.settimeout(left)
                try:
                    ans = tcp_recv_msg(s)
                except (ConnectionError, socket.timeout) as e:
                    raise AssertionError("%d of %d pipelined queries answered, then %r" % (len(got), n, e))
                got[parse_header(ans)[0]] = ans
        finally:
            s.close()
        check_eq(sorted(got), sorted(ids), "answer IDs")
        # Order, not time: a query is in progress at the upstream from when it arrives until
        # its answer is sent (held back `delay` each). The daemon starts the next query of the
        # connection only after an answer came back, so the most in progress at once is what it
        # handles at a time, however slowly either side runs.
        with qc._lock:
            events = sorted([(q["time"], 1) for q in qc.queries] +
                            [(q.get("answered", float("inf")), -1) for q in qc.queries])
        most = now = 0
        for _, step in events:
            now += step
            most = max(most, now)
        print("  pipelined: at most %d queries in progress at the upstream at once" % most)
        check(most <= per_conn + margin, "upstream had %d queries of one TCP connection in progress at "
              "once; at most %d may be in progress at a time" % (most, per_conn))
        check(most >= per_conn // 2, "upstream had only %d queries in progress at once" % most)
        for qid, ans in got.items():
            check_eq(rcode_of(ans), 3, "rcode for %s (NXDOMAIN from nsd)" % names[qid])
        # every name asked; the upstream answers exactly at the initial 1 s RTO, so the daemon
        # may retransmit a few (fetch.c holds back while the server queues our queries)
        asked = {q["name"] for q in qc.queries}
        check_eq(len(asked), n, "upstream queries: every pipelined name")
        check(qc.count() <= n * 1.2, "upstream queries: %d for %d names" % (qc.count(), n))
        check(d.alive(), "daemon alive")


if __name__ == "__main__":
    run_tests(globals())

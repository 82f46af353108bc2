# Integration tests for dnstap (issue 16): real collectors (fstrm_capture, and a stuck one made
# here) on a Unix socket, the captured Frame Streams file read by dnstap-read and by a small
# protobuf decoder written here (for the fields dnstap-read does not print, such as extra).
#
# Messages reach the file deterministically only when the daemon stops: it flushes its queues
# and ends the stream (STOP/FINISH) before it exits, so each test stops the daemon first, then
# the collector, then reads the file. That a collector is connected is seen from the
# collector's side (a new file descriptor in /proc/PID/fd), never from a sleep.
#
# Also here: dns64d_cache_client_queries_total, the cache hit ratio per client query.
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SLOWDOWN, Daemon, Nsd, SkipTest, check, check_eq, free_port, make_query,  # noqa: E402
                     query, run_tests, wait_until, zone_path)
from test_metrics import Scrape  # noqa: E402

FSTRM_CAPTURE = shutil.which("fstrm_capture") or "/usr/bin/fstrm_capture"
DNSTAP_READ = shutil.which("dnstap-read") or "/usr/bin/dnstap-read"
CONTENT_TYPE = b"protobuf:dnstap.Dnstap"
ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 forward", "::1/128 dns64"]
V4ONLY_SYNTH = bytes.fromhex("0064ff9b0000000000000000" "01020304")  # 64:ff9b::1.2.3.4
TYPES = {5: "CLIENT_QUERY", 6: "CLIENT_RESPONSE", 7: "FORWARDER_QUERY", 8: "FORWARDER_RESPONSE"}

# --- Frame Streams and protobuf, as much as dnstap needs ------------------------------------------


def frames(path):
    """The data frames of a Frame Streams file (control frames checked and skipped)."""
    with open(path, "rb") as f:
        data = f.read()
    out, i, started = [], 0, False
    while i + 4 <= len(data):
        (n,) = struct.unpack_from("!I", data, i)
        i += 4
        if n == 0:  # escape: a control frame follows
            (clen,) = struct.unpack_from("!I", data, i)
            (ctype,) = struct.unpack_from("!I", data, i + 4)
            if ctype == 2:  # START: its content type is dnstap's
                check(CONTENT_TYPE in data[i + 8:i + 4 + clen], "START frame content type", data[i:i + 4 + clen])
                started = True
            i += 4 + clen
            continue
        check(started, "a data frame before START")
        out.append(data[i:i + n])
        i += n
    check_eq(i, len(data), "Frame Streams file ends on a frame boundary")
    return out


def _varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def pb_fields(b):
    """{field number: [values]} of one protobuf message (varints as int, the rest as bytes)."""
    out, i = {}, 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 5:
            v, i = struct.unpack_from("<I", b, i)[0], i + 4
        else:
            raise AssertionError("protobuf wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def decode(frame):
    """A Dnstap frame as a dict with the fields dns64d writes."""
    d = pb_fields(frame)
    check_eq(d.get(15), [1], "Dnstap.type MESSAGE", d)
    m = pb_fields(d[14][0])
    one = lambda f, k: f[k][0] if k in f else None  # noqa: E731
    return {"identity": one(d, 1), "version": one(d, 2), "extra": one(d, 3),
            "type": TYPES.get(one(m, 1), one(m, 1)), "family": one(m, 2), "protocol": one(m, 3),
            "query_address": one(m, 4), "response_address": one(m, 5), "query_port": one(m, 6),
            "response_port": one(m, 7), "query_time": one(m, 8), "query_time_nsec": one(m, 9),
            "query": one(m, 10), "response_time": one(m, 12), "response": one(m, 14)}


# --- collectors ------------------------------------------------------------------------------------


def _fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


class Capture:
    """fstrm_capture writing what it reads on a Unix socket to a file; stopped by PID."""

    def __init__(self, sock, out):
        self.sock, self.out, self.proc = sock, out, None

    def __enter__(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)  # left by a collector that is gone
        self.log = open(self.out + ".log", "w")
        self.proc = subprocess.Popen([FSTRM_CAPTURE, "-t", CONTENT_TYPE.decode(), "-u", self.sock, "-w", self.out],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        check(wait_until(lambda: os.path.exists(self.sock) or self.proc.poll() is not None),
              "fstrm_capture made no socket")
        check(self.proc.poll() is None, "fstrm_capture exited", self.log_text())
        self.idle_fds = _fds(self.proc.pid)
        return self

    def wait_connected(self):
        """Until the daemon has connected (the collector holds one more descriptor)."""
        check(wait_until(lambda: _fds(self.proc.pid) > self.idle_fds, timeout=15.0),
              "dns64d did not connect to the collector", self.log_text())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10 * SLOWDOWN)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def log_text(self):
        with open(self.out + ".log", errors="replace") as f:
            return f.read()

    def __exit__(self, *exc):
        self.stop()
        return False


def control_frame(ctype, content_type=None):
    body = struct.pack("!I", ctype)
    if content_type:
        body += struct.pack("!II", 1, len(content_type)) + content_type
    return struct.pack("!II", 0, len(body)) + body


class StuckCollector:
    """A collector that accepts the stream (READY -> ACCEPT) and then never reads again."""

    def __init__(self, sock):
        self.sock = sock
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(sock)
        self.srv.listen(4)
        self.conns = []
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            c, _ = self.srv.accept()
        except OSError:
            return
        self.conns.append(c)
        hdr = c.recv(8)  # escape and length of READY
        if len(hdr) == 8:
            c.recv(struct.unpack("!II", hdr)[1])
            c.sendall(control_frame(1, CONTENT_TYPE))  # ACCEPT
        self.accepted.set()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        for c in self.conns:
            c.close()
        self.srv.close()
        return False


# --- tests -----------------------------------------------------------------------------------------

def _require():
    for b in (FSTRM_CAPTURE, DNSTAP_READ):
        if not os.path.exists(b):
            raise SkipTest("%s not installed (fstrm-bin, bind9-dnsutils)" % b)


def _ask(port, name, rdtype, source="127.0.0.1", qid=None, tcp=False):
    q = make_query(name, rdtype, qid=qid, edns=1232)
    a = query(port, q, source=source, timeout=5 * SLOWDOWN, tcp=tcp)
    check(a is not None, "no answer to %s %s" % (name, rdtype))
    return q, a


def test_messages_end_to_end():
    """All four message kinds with the right addresses, bytes and extra; dnstap-read reads the
    stream; the cache hit ratio counts client queries, not internal lookups."""
    _require()
    tmp = tempfile.mkdtemp(prefix="dns64d-dnstap-")
    sock, out, mport = os.path.join(tmp, "tap.sock"), os.path.join(tmp, "capture.fstrm"), free_port()
    try:
        with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, Capture(sock, out) as cap:
            d = Daemon(["dnstap-socket " + sock, "dnstap-identity tap-test", "metrics 127.0.0.1:%d" % mport,
                        "prefetch-a no"], ACL, upstreams=[ns.addr], expect_exit=True)
            with d:
                cap.wait_connected()
                before = Scrape(mport)
                q1, a1 = _ask(d.port, "v4only.dns64.test", "AAAA", qid=0x1111)    # synthesized: 2 upstream
                q2, a2 = _ask(d.port, "v4only.dns64.test", "AAAA", qid=0x2222)    # from the cache
                q3, a3 = _ask(d.port, "dual.dns64.test", "A", source="127.0.0.2", qid=0x3333)  # forwarded
                q4, a4 = _ask(d.port, "dual.dns64.test", "AAAA", qid=0x4444, tcp=True)  # a real AAAA
                check(V4ONLY_SYNTH in a1 and V4ONLY_SYNTH in a2, "synthesized AAAA answers", a1, a2)
                after = Scrape(mport)
                hits = after.value("dns64d_cache_client_queries_total", result="hit") - \
                    before.value("dns64d_cache_client_queries_total", result="hit")
                misses = after.value("dns64d_cache_client_queries_total", result="miss") - \
                    before.value("dns64d_cache_client_queries_total", result="miss")
                # one hit and two misses, where the lookup counters see 3 misses for the first query
                check_eq((hits, misses), (1, 3), "client queries by cache result", after.text)
                lookups = after.value("dns64d_cache_misses_total") - before.value("dns64d_cache_misses_total")
                check(lookups > misses, "internal lookups outnumber client misses (%d)" % lookups)
                check(after.value("dns64d_dnstap_sent_total") >= 10, "dnstap messages counted", after.text)
                check_eq(after.value("dns64d_dnstap_dropped_total"), 0, "nothing dropped")
                check_eq(d.stop(), 0, "exit code")  # flushes the queues and ends the stream
            cap.stop()
            msgs = [decode(f) for f in frames(out)]
            by_id = {}  # client messages by DNS ID (the upstream queries have random IDs)
            for m in msgs:
                if m["type"].startswith("CLIENT"):
                    wire = m["query"] or m["response"]
                    by_id.setdefault(struct.unpack("!H", wire[:2])[0], []).append(m)
            up_port = int(ns.addr.rsplit(":", 1)[1])
            for m in msgs:
                check_eq(m["identity"], b"tap-test", "identity")
                check(m["version"].startswith(b"dns64d "), "version %r" % m["version"])
                tcp = m["type"].startswith("CLIENT") and m in by_id[0x4444]
                check_eq((m["family"], m["protocol"]), (1, 2 if tcp else 1), "INET and UDP (TCP for q4)", m)
            # the first query: accepted, two upstream exchanges (AAAA, then A), answered synthesized
            c1 = by_id[0x1111]
            check_eq([m["type"] for m in c1], ["CLIENT_QUERY", "CLIENT_RESPONSE"], "client messages of q1")
            check_eq(c1[0]["query"], q1, "CLIENT_QUERY carries the query bytes")
            check_eq(c1[1]["response"], a1, "CLIENT_RESPONSE carries the answer bytes")
            for m in c1:
                check_eq((m["query_address"], m["response_address"], m["response_port"]),
                         (socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"), d.port), "addresses", m)
                check(m["query_port"] > 0 and m["query_time"] > 1600000000, "query port and time", m)
            check(c1[1]["response_time"] >= c1[1]["query_time"], "response after query", c1[1])
            check_eq(c1[1]["extra"], b"action=dns64 synthesized=yes prefix=64:ff9b::/96 reason=synthesized",
                     "DNS64 decision in extra")
            fwd = [m for m in msgs if m["type"].startswith("FORWARDER")]
            for m in fwd:
                check_eq((m["response_address"], m["response_port"]), (socket.inet_aton("127.0.0.1"), up_port),
                         "upstream address", m)
                check(m["query_address"] is None, "the source of an upstream query is the kernel's", m)
            names = [(m["type"], m["query"] or m["response"]) for m in fwd]
            for qtype in (28, 1):
                qs = [w for t, w in names if t == "FORWARDER_QUERY" and
                      b"\x06v4only\x05dns64\x04test\x00" + struct.pack("!HH", qtype, 1) in w]
                check_eq(len(qs), 1, "one upstream query of type %d for q1" % qtype, names)
            rs = [m for m in fwd if m["type"] == "FORWARDER_RESPONSE" and b"\x06v4only" in m["response"]]
            check_eq(len(rs), 2, "two upstream answers for q1")
            check(any(b"\x01\x02\x03\x04" in m["response"] for m in rs), "the upstream's A answer", rs)
            check(all(m["query_time"] and m["response_time"] >= m["query_time"] for m in rs), "times", rs)
            # the second: from the cache, so no upstream messages; the third: forwarded
            check_eq([m["type"] for m in by_id[0x2222]], ["CLIENT_QUERY", "CLIENT_RESPONSE"], "q2")
            check_eq(by_id[0x2222][1]["extra"],
                     b"action=dns64 synthesized=yes prefix=64:ff9b::/96 reason=synthesized", "q2 extra")
            c3 = by_id[0x3333]
            check_eq(c3[0]["query_address"], socket.inet_aton("127.0.0.2"), "second client's address")
            check_eq(c3[1]["extra"], b"action=forward synthesized=no prefix=- reason=not_aaaa", "q3 extra")
            check_eq(c3[1]["response"], a3, "q3 answer bytes")
            check_eq(sum(1 for m in fwd if b"\x04dual" in (m["query"] or m["response"])), 4,
                     "one upstream exchange each for q3 and q4")
            c4 = by_id[0x4444]
            check_eq([m["type"] for m in c4], ["CLIENT_QUERY", "CLIENT_RESPONSE"], "q4 over TCP")
            check_eq((c4[0]["query"], c4[1]["response"]), (q4, a4), "q4 bytes, without the TCP length")
            check_eq(c4[1]["extra"], b"action=dns64 synthesized=no prefix=64:ff9b::/96 reason=real_aaaa",
                     "q4 extra")
            # a real reader agrees
            r = subprocess.run([DNSTAP_READ, "-y", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=30)
            check_eq(r.returncode, 0, "dnstap-read -y", r.stderr)
            for t in TYPES.values():
                check(r.stdout.count("type: " + t) >= 1, "dnstap-read sees %s" % t, r.stdout)
            # (it skips messages without a question, such as the harness's readiness probe)
            check_eq(r.stdout.count("type: CLIENT_RESPONSE"),
                     sum(1 for m in msgs if m["type"] == "CLIENT_RESPONSE" and m["response"][4:6] != b"\0\0"),
                     "dnstap-read reads every CLIENT_RESPONSE with a question")
            check("identity: tap-test" in r.stdout, "identity in dnstap-read's output", r.stdout)
            check("64:ff9b::102:304" in r.stdout, "the synthesized AAAA in a response message", r.stdout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_collector_gone_and_back():
    """No collector at start, a collector that comes, goes and comes back: the daemon answers
    throughout and reconnects by itself; only the selected message kind is written, as a reload
    selected it, while a changed dnstap-socket waits for a restart."""
    _require()
    tmp = tempfile.mkdtemp(prefix="dns64d-dnstap-")
    sock = os.path.join(tmp, "tap.sock")
    try:
        with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
                Daemon(["dnstap-socket " + sock, "dnstap-messages client-query"], ACL,
                       upstreams=[ns.addr], expect_exit=True) as d:
            d.set_conf(["dnstap-socket " + sock + ".new", "dnstap-messages client-response"])
            d.reload()
            check(wait_until(lambda: "'dnstap-socket' take effect after a restart" in d.log_text()),
                  "a changed dnstap-socket needs a restart", d.log_text())
            _ask(d.port, "dual.dns64.test", "A", qid=0x0101)  # nobody listens yet
            with Capture(sock, os.path.join(tmp, "b.fstrm")) as b:
                b.wait_connected()
                _ask(d.port, "dual.dns64.test", "A", qid=0x0202)
            # gone: the next write fails and the daemon goes on without a collector
            _ask(d.port, "dual.dns64.test", "AAAA", qid=0x0303)
            check(d.alive(), "daemon alive without its collector")
            out = os.path.join(tmp, "c.fstrm")
            with Capture(sock, out) as c:
                c.wait_connected()
                _, a4 = _ask(d.port, "dual.dns64.test", "A", qid=0x0404)
                check_eq(d.stop(), 0, "exit code")
            msgs = [decode(f) for f in frames(out)]
            check({m["type"] for m in msgs} == {"CLIENT_RESPONSE"}, "only client-response written", msgs)
            ids = [struct.unpack("!H", m["response"][:2])[0] for m in msgs]
            check(0x0404 in ids and 0x0101 not in ids, "after the reconnection only (%r)" % ids)
            check_eq([m["response"] for m in msgs if m["response"][:2] == b"\x04\x04"], [a4], "answer bytes")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_stuck_collector_drops():
    """A collector that stops reading: queues fill, messages are dropped and counted, every query
    is still answered, and the daemon stops without waiting for the collector."""
    _require()
    tmp = tempfile.mkdtemp(prefix="dns64d-dnstap-")
    sock, mport = os.path.join(tmp, "tap.sock"), free_port()
    try:
        with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, StuckCollector(sock) as sc, \
                Daemon(["dnstap-socket " + sock, "workers 1", "metrics 127.0.0.1:%d" % mport], ACL,
                       upstreams=[ns.addr], expect_exit=True) as d:
            check(sc.accepted.wait(10 * SLOWDOWN), "dns64d did not connect to the stuck collector")
            _ask(d.port, "dual.dns64.test", "A")
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(5 * SLOWDOWN)
            answered = 0
            # 2 messages a query, each over 64 bytes: more than the queue (1024) and the
            # daemon's socket send buffer (net.core.wmem_default) can hold
            try:
                with open("/proc/sys/net/core/wmem_default") as f:
                    wmem = int(f.read())
            except (OSError, ValueError):
                wmem = 1 << 20
            n = 1024 + wmem // 128 + 1000
            for i in range(n):
                s.sendto(make_query("dual.dns64.test", "A", qid=i & 0xFFFF), ("127.0.0.1", d.port))
                answered += len(s.recv(4096)) > 12
            s.close()
            check_eq(answered, n, "every query answered while the collector is stuck")
            m = Scrape(mport)
            check(m.value("dns64d_dnstap_dropped_total") > 0, "drops counted", m.text)
            check(m.value("dns64d_dnstap_sent_total") >= 1024, "queued before the drops", m.text)
            check_eq(d.stop(), 0, "exit code")
            check("dnstap collector did not take the last messages" in d.log_text(), "stop did not wait",
                  d.log_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())

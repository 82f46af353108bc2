# Integration tests for the core forwarding resolver (issue 3): dig against dns64d with nsd upstream.
import contextlib
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SLACK, SLOWDOWN, Daemon, DaemonError, Nsd, QueryCounter, SkipTest, check,  # noqa: E402
                     check_eq, dig, free_port, make_query, parse_header, query, rcode_of, run_tests,
                     tcp_recv_msg, zone_path)

import dns.message  # noqa: E402

ZONES = {"core.test": zone_path("core.zone")}
ACL = ["127.0.0.0/8 dns64", "::1/128 dns64"]
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5


@contextlib.contextmanager
def setup(acl=ACL, conf=(), counter=False, upstreams=None, listen=None, port=None):
    """nsd (+ optional counting proxy) and dns64d using it; yields (nsd, daemon, counter)."""
    with contextlib.ExitStack() as st:
        ns = st.enter_context(Nsd(ZONES))
        qc = st.enter_context(QueryCounter(ns.port)) if counter else None
        ups = upstreams if upstreams is not None else [qc.addr if qc else ns.addr]
        ups = [u.replace("NSD", ns.addr) for u in ups]
        d = st.enter_context(Daemon(list(conf), acl, upstreams=ups, listen=listen, port=port))
        yield ns, d, qc


def same_as_nsd(ns, d, name, rdtype, tcp=False, opts=()):
    """Ask nsd and dns64d the same question; the sections must match (TTLs may only drop)."""
    want = dig(ns.port, name, rdtype, tcp=tcp, opts=opts)
    got = dig(d.port, name, rdtype, tcp=tcp, opts=opts)
    check_eq(got.rcode, want.rcode, "rcode", got)
    check("qr" in got.flags and "tc" not in got.flags, "flags qr and no tc expected", got)
    check("rd" in got.flags, "RD must be copied from the query", got)
    for sec in ("answer", "authority", "additional"):
        check_eq(got.rrset(sec), want.rrset(sec), sec + " section differs from nsd's", got, want)
        for (g, w) in zip(sorted(getattr(got, sec)), sorted(getattr(want, sec))):
            check(0 <= g[1] <= w[1], "TTL must not exceed upstream's", got, want)
    check_eq(got.question, want.question, "question", got)
    return got


# --- forwarding --------------------------------------------------------------------------------

def test_a_mx_txt_udp_unchanged():
    with setup() as (ns, d, _):
        r = same_as_nsd(ns, d, "www.core.test", "A")
        check_eq(r.rdatas("A"), ["192.0.2.1"], "A rdata", r)
        r = same_as_nsd(ns, d, "core.test", "MX")
        check_eq(r.rdatas("MX"), ["10 mx1.core.test.", "20 mx2.core.test."], "MX rdata", r)
        r = same_as_nsd(ns, d, "txt.core.test", "TXT")
        check_eq(len(r.answer), 2, "TXT count", r)
        check('"hello world" "second string"' in r.rdatas("TXT"), "TXT with two strings", r)
        same_as_nsd(ns, d, "alias.core.test", "A")


def test_a_mx_txt_tcp_unchanged():
    with setup() as (ns, d, _):
        same_as_nsd(ns, d, "www.core.test", "A", tcp=True)
        same_as_nsd(ns, d, "core.test", "MX", tcp=True)
        same_as_nsd(ns, d, "txt.core.test", "TXT", tcp=True)
        r = same_as_nsd(ns, d, "bigtxt.core.test", "TXT", tcp=True)
        check_eq(len(r.answer), 8, "big TXT over TCP", r)


def test_nxdomain_and_nodata_passed_through():
    with setup() as (ns, d, _):
        r = same_as_nsd(ns, d, "nx.core.test", "A")
        check_eq(r.rcode, "NXDOMAIN", "rcode", r)
        check_eq([a[2] for a in r.authority], ["SOA"], "SOA in authority", r)
        r = same_as_nsd(ns, d, "nodata.core.test", "MX")
        check_eq((r.rcode, r.answer), ("NOERROR", []), "NODATA", r)
        r = same_as_nsd(ns, d, "nx.core.test", "A", tcp=True)
        check_eq(r.rcode, "NXDOMAIN", "rcode over TCP", r)


def test_tcp_pipelined_queries():
    qs = [("www.core.test", "A", NOERROR, 1), ("core.test", "MX", NOERROR, 2),
          ("txt.core.test", "TXT", NOERROR, 2), ("nx.core.test", "A", NXDOMAIN, 0),
          ("many.core.test", "A", NOERROR, 40)]
    with setup() as (ns, d, _):
        ids = random.sample(range(1, 65535), len(qs))
        wires = {qid: make_query(n, t, qid=qid, edns=1232) for qid, (n, t, _, _) in zip(ids, qs)}
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        try:
            s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in wires.values()))
            got = {}
            for _ in qs:
                ans = tcp_recv_msg(s)
                got[parse_header(ans)[0]] = ans
        finally:
            s.close()
        check_eq(sorted(got), sorted(ids), "answer IDs on the pipelined connection")
        for qid, (n, t, rc, count) in zip(ids, qs):
            ans = got[qid]
            hid, flags, qd, an, _, _ = parse_header(ans)
            check(flags & 0x8000, "QR set for %s" % n)
            check_eq(rcode_of(ans), rc, "rcode for %s %s" % (n, t))
            check_eq(an, count, "answer count for %s %s" % (n, t))
            # The question section comes back exactly as sent.
            qlen = len(wires[qid]) - 12 - 11  # minus header and OPT
            check_eq(ans[12:12 + qlen], wires[qid][12:12 + qlen], "question of %s" % n)


def _closed_within(sock, timeout):
    """True when the peer closes the connection (EOF) within timeout seconds, with no more data."""
    sock.settimeout(timeout)
    try:
        return sock.recv(512) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_tcp_half_close_still_answered():
    # RFC 7766 §6.2.4 / RFC 1035 §4.2.2: a client that half-closes after its queries still gets
    # every answer, then the server closes. The upstream answers 0.5 s late, so the half-close
    # reaches the daemon while the queries are still in progress.
    names = [("www.core.test", "192.0.2.1"), ("v4only.core.test", "192.0.2.2"),
             ("mx1.core.test", "192.0.2.25"), ("mx2.core.test", "192.0.2.26")]
    # tcp-idle-timeout far above any scheduling delay: closing before it is closing because of
    # the half-close
    idle_s = 30.0
    with Nsd(ZONES) as ns, QueryCounter(ns.port, delay=0.5) as qc, \
            Daemon(["tcp-idle-timeout %d" % (idle_s * 1000)], ACL, upstreams=[qc.addr]) as d:
        # one query, then three pipelined ones; distinct names, so none comes from the cache
        for batch in (names[3:], names[:3]):
            ids = random.sample(range(1, 65535), len(batch))
            want = {qid: (n, ip) for qid, (n, ip) in zip(ids, batch)}
            s = socket.create_connection(("127.0.0.1", d.port), timeout=5 * SLOWDOWN)
            try:
                t0 = time.monotonic()  # before the send: the upstream's 0.5 s lie between
                s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in
                                   (make_query(n, "A", qid=qid) for qid, (n, _) in want.items())))
                s.shutdown(socket.SHUT_WR)
                got = {}
                for _ in batch:
                    try:
                        ans = tcp_recv_msg(s)
                    except (ConnectionError, socket.timeout) as e:
                        raise AssertionError("%d of %d answers after a half-close, then %r"
                                             % (len(got), len(batch), e))
                    got[parse_header(ans)[0]] = ans
                elapsed = time.monotonic() - t0
                check_eq(sorted(got), sorted(ids), "answer IDs after a half-close (%d queries)" % len(batch))
                for qid, (n, ip) in want.items():
                    check_eq(rcode_of(got[qid]), NOERROR, "rcode for %s" % n)
                    m = dns.message.from_wire(got[qid])
                    check_eq([r.to_text() for rrs in m.answer for r in rrs], [ip], "answer for %s" % n, m)
                check(elapsed >= 0.45, "answers came %.2fs after the half-close: the upstream delay "
                      "did not apply, so the half-close was not tested" % elapsed)
                # All answers are out: the daemon closes at once, long before tcp-idle-timeout.
                check(_closed_within(s, idle_s / 2), "connection not closed by the daemon after the answers "
                      "to a half-closed client")
            finally:
                s.close()
        check_eq(qc.count(), 4, "upstream queries")
        check(d.alive(), "daemon alive")


# --- ACL ---------------------------------------------------------------------------------------

def test_refused_client_gets_refused_without_upstream_query():
    acl = ACL + ["127.0.0.2/32 refuse"]
    with setup(acl=acl, counter=True) as (ns, d, qc):
        for tcp in (False, True):
            r = dig(d.port, "www.core.test", "A", source="127.0.0.2", tcp=tcp)
            check_eq(r.rcode, "REFUSED", "rcode for refused client (tcp=%s)" % tcp, r)
            check_eq(r.question, [("www.core.test.", "IN", "A")], "question echoed", r)
            check_eq(r.answer, [], "no answer records", r)
        check_eq(qc.count(), 0, "upstream queries for a refused client")
        r = dig(d.port, "www.core.test", "A", source="127.0.0.1")
        check_eq(r.rcode, "NOERROR", "allowed client still served", r)


def test_dropped_client_gets_no_answer():
    acl = ACL + ["127.0.0.3/32 drop"]
    with setup(acl=acl, counter=True) as (ns, d, qc):
        r = dig(d.port, "www.core.test", "A", source="127.0.0.3", timeout=1)
        check(r.timed_out, "dropped client must get no answer", r)
        r = dig(d.port, "www.core.test", "A", source="127.0.0.3", timeout=1, tcp=True)
        check(r.rcode is None, "dropped client must get no answer over TCP", r)
        check_eq(qc.count(), 0, "upstream queries for a dropped client")
        r = dig(d.port, "www.core.test", "A", source="127.0.0.1")
        check_eq(r.rcode, "NOERROR", "allowed client still served", r)


def test_unmatched_client_refused():
    with setup(acl=["127.0.0.1/32 dns64", "::1/128 forward"], counter=True) as (ns, d, qc):
        r = dig(d.port, "www.core.test", "A", source="127.0.0.5")
        check_eq(r.rcode, "REFUSED", "client matching no rule", r)
        check_eq(qc.count(), 0, "upstream queries for an unmatched client")
        r = dig(d.port, "www.core.test", "A", source="127.0.0.1")
        check_eq(r.rcode, "NOERROR", "matching client", r)


def test_most_specific_rule_wins():
    acl = ["127.0.0.0/8 refuse", "127.0.0.0/16 dns64", "127.0.0.6/32 refuse", "127.0.1.0/24 drop"]
    with setup(acl=acl) as (ns, d, _):
        check_eq(dig(d.port, "www.core.test", source="127.0.0.1").rcode, "NOERROR", "/16 dns64")
        check_eq(dig(d.port, "www.core.test", source="127.0.0.6").rcode, "REFUSED", "/32 refuse")
        check_eq(dig(d.port, "www.core.test", source="127.1.0.1").rcode, "REFUSED", "/8 refuse")
        check(dig(d.port, "www.core.test", source="127.0.1.1", timeout=1).timed_out, "/24 drop")


def test_ipv6_client():
    with setup(acl=["::1/128 dns64", "127.0.0.1/32 refuse"]) as (ns, d, _):
        r = dig(d.port, "www.core.test", "A", server="::1")
        check_eq((r.rcode, r.rdatas("A")), ("NOERROR", ["192.0.2.1"]), "::1 client over UDP", r)
        r = dig(d.port, "core.test", "MX", server="::1", tcp=True)
        check_eq((r.rcode, len(r.answer)), ("NOERROR", 2), "::1 client over TCP", r)
        r = dig(d.port, "www.core.test", "A", server="127.0.0.1")
        check_eq(r.rcode, "REFUSED", "127.0.0.1 refused by its own rule", r)


def test_ipv4_mapped_client_matches_ipv4_rules():
    port = free_port()
    acl = ["127.0.0.1/32 dns64", "127.0.0.2/32 refuse"]
    try:
        ctx = setup(acl=acl, listen=["[::ffff:127.0.0.1]:%d" % port], port=port)
        ns, d, _ = ctx.__enter__()
    except DaemonError as e:
        if "exited during startup" not in str(e):
            raise
        raise SkipTest("daemon does not accept a v4-mapped listen address: %s" % str(e)[:300])
    try:
        r = dig(port, "www.core.test", "A", source="127.0.0.1")
        check_eq(r.rcode, "NOERROR", "mapped ::ffff:127.0.0.1 matches 127.0.0.1/32", r)
        r = dig(port, "www.core.test", "A", source="127.0.0.2")
        check_eq(r.rcode, "REFUSED", "mapped ::ffff:127.0.0.2 matches 127.0.0.2/32", r)
    except BaseException:
        ctx.__exit__(*sys.exc_info())
        raise
    ctx.__exit__(None, None, None)


# --- upstream failures -------------------------------------------------------------------------

class BlackHole:
    """A UDP+TCP port that accepts but never answers."""

    def __enter__(self):
        self.port = free_port()
        self.u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.u.bind(("127.0.0.1", self.port))
        self.t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.t.bind(("127.0.0.1", self.port))
        self.t.listen(16)
        self.addr = "127.0.0.1:%d" % self.port
        return self

    def __exit__(self, *exc):
        self.u.close()
        self.t.close()
        return False


def test_upstream_dead_servfail_within_timeout():
    dead = "127.0.0.1:%d" % free_port()
    with BlackHole() as bh:
        for ups in ([dead], [bh.addr]):
            with setup(conf=["timeout 500"], upstreams=ups) as (ns, d, _):
                # one attempt (UDP, then TCP after a truncation at most) of 500 ms, plus slack
                r = dig(d.port, "www.core.test", "A", timeout=2 * 0.5 + SLACK + 5)
                check_eq(r.rcode, "SERVFAIL", "all upstreams dead (%s)" % ups, r)
                check(r.elapsed < 2 * 0.5 + SLACK, "SERVFAIL took %.2fs, timeout 500 ms" % r.elapsed, r)
                r = dig(d.port, "www.core.test", "A", timeout=2 * 0.5 + SLACK + 5, tcp=True)
                check_eq(r.rcode, "SERVFAIL", "all upstreams dead over TCP (%s)" % ups, r)
                check(r.elapsed < 2 * 0.5 + SLACK, "SERVFAIL over TCP took %.2fs" % r.elapsed, r)


def test_second_upstream_used_when_first_dead():
    dead = "127.0.0.1:%d" % free_port()
    with BlackHole() as bh:
        for first in (dead, bh.addr):
            with setup(conf=["timeout 500"], upstreams=[first, "NSD"]) as (ns, d, _):
                r = dig(d.port, "www.core.test", "A", timeout=2 * 0.5 + SLACK + 5)
                check_eq((r.rcode, r.rdatas("A")), ("NOERROR", ["192.0.2.1"]),
                         "answer via second upstream (first %s)" % first, r)
                check(r.elapsed < 2 * 0.5 + SLACK, "took %.2fs with timeout 500 ms" % r.elapsed, r)


def _rewrite_id(q, a):
    return struct.pack("!H", parse_header(a)[0] ^ 0x5555) + a[2:]


def _rewrite_question(q, a):
    # Flip the case of nothing but change one letter of the first label: a different question.
    i = 13
    return a[:i] + (b"x" if a[i:i + 1] != b"x" else b"y") + a[i + 1:]


def test_upstream_answer_with_wrong_id_or_question_ignored():
    for rw in (_rewrite_id, _rewrite_question):
        with Nsd(ZONES) as ns, QueryCounter(ns.port, rewrite=rw) as qc, \
                Daemon(["timeout 500"], ACL, upstreams=[qc.addr]) as d:
            r = dig(d.port, "www.core.test", "A", timeout=5)
            check_eq(r.rcode, "SERVFAIL", "forged answer (%s) must be ignored" % rw.__name__, r)
            check(qc.count("www.core.test", "A") >= 1, "upstream was asked")


def test_upstream_query_bits_and_randomness():
    with setup(counter=True) as (ns, d, qc):
        r = dig(d.port, "www.core.test", "A", opts=["+cd", "+dnssec"])
        check_eq(r.rcode, "NOERROR", "rcode", r)
        check("cd" in r.flags, "CD echoed to client", r)
        q = [x for x in qc.queries if x["name"] == "www.core.test."]
        check(q, "upstream saw the query")
        check(q[0]["cd"] and q[0]["do"] and q[0]["rd"], "CD, DO and RD passed upstream: %r" % q[0])
        check_eq(q[0]["payload"], 1232, "EDNS payload advertised upstream")
        r = dig(d.port, "v4only.core.test", "A", opts=["+norec"])
        check_eq(r.rcode, "NOERROR", "rcode", r)
        q = [x for x in qc.queries if x["name"] == "v4only.core.test."]
        check(q and not q[0]["rd"] and not q[0]["cd"] and not q[0]["do"],
              "RD=0, no CD, no DO passed upstream: %r" % (q[:1],))
        qc.reset()
        for i in range(1, 9):
            dig(d.port, "cache%d.core.test" % i, "A")
        ids = {x["id"] for x in qc.queries}
        ports = {x["src"][1] for x in qc.queries}
        check(len(qc.queries) >= 8, "8 upstream queries expected, saw %d" % len(qc.queries))
        check(len(ids) >= 7, "upstream IDs must be random: %r" % sorted(ids))
        # a pool of 64 random ports per worker (fetch.c): 8 queries mostly land on distinct ones
        check(len(ports) >= 5, "upstream source ports must be random: %r" % sorted(ports))


# --- sizes -------------------------------------------------------------------------------------

def test_big_answer_truncated_over_udp_full_over_tcp():
    with setup() as (ns, d, _):
        r = dig(d.port, "many.core.test", "A", opts=["+noedns", "+ignore"])
        check_eq(r.rcode, "NOERROR", "rcode", r)
        check("tc" in r.flags, "TC expected for ~700 bytes to a client without EDNS", r)
        check(r.msg_size is None or r.msg_size <= 512, "UDP answer larger than 512", r)
        check(r.edns is None, "no OPT in the answer to a client without EDNS", r)
        r = dig(d.port, "many.core.test", "A", opts=["+noedns"], tcp=True)
        check_eq((r.rcode, len(r.answer)), ("NOERROR", 40), "full answer over TCP", r)
        check("tc" not in r.flags, "no TC over TCP", r)
        r = dig(d.port, "huge.core.test", "A", opts=["+bufsize=1232", "+ignore"])
        check("tc" in r.flags, "TC expected for ~2000 bytes to an EDNS 1232 client", r)
        check(r.msg_size is None or r.msg_size <= 1232, "UDP answer larger than 1232", r)
        r = dig(d.port, "huge.core.test", "A", tcp=True)
        check_eq((r.rcode, len(r.answer)), ("NOERROR", 120), "full huge answer over TCP", r)
        # Without +ignore dig retries over TCP by itself, as a real client would.
        r = dig(d.port, "bigtxt.core.test", "TXT", opts=["+noedns"])
        check_eq((r.rcode, len(r.answer)), ("NOERROR", 8), "dig's TC->TCP retry", r)


def test_edns_client_gets_up_to_its_size():
    with setup() as (ns, d, _):
        r = dig(d.port, "many.core.test", "A", opts=["+bufsize=1232", "+ignore"])
        check("tc" not in r.flags and len(r.answer) == 40, "700 bytes fit in 1232", r)
        check(r.edns is not None, "OPT in the answer to an EDNS client", r)
        r = dig(d.port, "many.core.test", "A", opts=["+bufsize=512", "+ignore"])
        check("tc" in r.flags, "700 bytes do not fit in 512", r)
        # Sizes between 512 and 1232: the client's own size is used, not a fixed one.
        r = dig(d.port, "many.core.test", "A", opts=["+bufsize=800", "+ignore"])
        check("tc" not in r.flags and len(r.answer) == 40, "700 bytes fit in 800", r)
        r = dig(d.port, "many.core.test", "A", opts=["+bufsize=600", "+ignore"])
        check("tc" in r.flags, "700 bytes do not fit in 600", r)
        check(r.msg_size is not None and r.msg_size <= 600, "UDP answer above the client's 600", r)
        # The upstream answer (~2000 bytes) needs TCP upstream. A client offering 4096 gets it
        # whole, unless the daemon applies a smaller maximum of its own (RFC 6891 6.2.5), which
        # it must then advertise in its OPT record.
        r = dig(d.port, "huge.core.test", "A", opts=["+bufsize=4096", "+ignore"])
        check_eq(r.rcode, "NOERROR", "rcode", r)
        check(r.edns is not None, "OPT in the answer", r)
        if "tc" in r.flags:
            check(r.edns["udp"] < 2000, "TC although the answer fits both the client's 4096 and "
                  "the daemon's advertised %d" % r.edns["udp"], r)
            check(r.msg_size <= r.edns["udp"], "truncated answer above the daemon's size", r)
        else:
            check_eq(len(r.answer), 120, "full answer over UDP", r)
            check(r.msg_size is not None and 1232 < r.msg_size <= 4096, "answer size", r)


# --- header and question handling ---------------------------------------------------------------

def test_id_and_question_case_preserved():
    with setup() as (ns, d, _):
        for tcp in (False, True):
            for qid in (0, 0xBEEF, 0xFFFF):
                w = make_query("WwW.CoRe.TeSt", "A", qid=qid)
                a = query(d.port, w, tcp=tcp)
                check(a is not None, "no answer (tcp=%s)" % tcp)
                check_eq(parse_header(a)[0], qid, "ID (tcp=%s)" % tcp)
                check_eq(rcode_of(a), NOERROR, "rcode")
                check_eq(a[12:12 + len(w) - 12], w[12:], "question bytes (case) (tcp=%s)" % tcp)
        r = dig(d.port, "CoRe.TeSt", "SOA")
        check_eq(r.question, [("CoRe.TeSt.", "IN", "SOA")], "question case via dig", r)
        check_eq(r.rcode, "NOERROR", "rcode", r)


def _good(d, tcp=False):
    a = query(d.port, make_query("www.core.test", "A", qid=4242), tcp=tcp)
    check(a is not None and parse_header(a)[0] == 4242 and rcode_of(a) == NOERROR,
          "daemon must answer a good query after garbage (tcp=%s): %r" % (tcp, a))


def test_garbage_queries():
    rnd = random.Random(6147)
    with setup() as (ns, d, _):
        for _ in range(20):
            junk = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300)))
            query(d.port, junk, timeout=0.1)
        _good(d)
        # QR=1: dropped, never answered (no reflection loops).
        w = bytearray(make_query("www.core.test", "A", qid=1001))
        w[2] |= 0x80
        check(query(d.port, bytes(w), timeout=0.5) is None, "QR=1 packet must not be answered")
        _good(d)
        # QDCOUNT=2 and QDCOUNT=0: FORMERR with our ID.
        for qd in (2, 0):
            a = query(d.port, make_query("www.core.test", "A", qid=1002, qdcount=qd))
            check(a is not None, "QDCOUNT=%d must get FORMERR, got nothing" % qd)
            check_eq((parse_header(a)[0], rcode_of(a)), (1002, FORMERR), "QDCOUNT=%d" % qd)
            check(parse_header(a)[1] & 0x8000, "QR set in FORMERR")
            _good(d)
        # Opcode 2 (STATUS): NOTIMP.
        a = query(d.port, make_query("www.core.test", "A", qid=1003, opcode=2))
        check(a is not None, "opcode 2 must get NOTIMP, got nothing")
        check_eq((parse_header(a)[0], rcode_of(a)), (1003, NOTIMP), "opcode 2")
        _good(d)
        # A 5-byte packet: no header to answer, dropped.
        check(query(d.port, b"\x12\x34\x01\x00\x00", timeout=0.5) is None, "5-byte packet dropped")
        _good(d)
        # Truncated question: header readable, so FORMERR.
        w = make_query("www.core.test", "A", qid=1004)[:20]
        a = query(d.port, w)
        check(a is not None and rcode_of(a) == FORMERR and parse_header(a)[0] == 1004,
              "truncated question must get FORMERR: %r" % a)
        _good(d)
        # The same over TCP: garbage on one connection, then good queries.
        a = query(d.port, make_query("www.core.test", "A", qid=1005, qdcount=2), tcp=True)
        check(a is not None and rcode_of(a) == FORMERR, "QDCOUNT=2 over TCP: FORMERR: %r" % a)
        s = socket.create_connection(("127.0.0.1", d.port), timeout=2)
        s.sendall(struct.pack("!H", 3) + b"\xff\xff\xff")
        try:
            s.recv(512)
        except OSError:
            pass
        s.close()
        _good(d, tcp=True)
        _good(d)
        check(d.alive(), "daemon alive after garbage")


if __name__ == "__main__":
    run_tests(globals())

# Integration tests for DNS cookies (issue 6; RFC 7873, server cookies per RFC 9018) with dnspython.
import contextlib
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SLACK, SLOWDOWN, Daemon, Nsd, QueryCounter, check, check_eq, dig, run_tests,  # noqa: E402
                     zone_path)

import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

ZONES = {"core.test": zone_path("core.zone")}
ACL = ["127.0.0.0/8 dns64", "::1/128 dns64"]
COOKIE = 10
BADCOOKIE = 23
QUERY_TIMEOUT = 5 * SLOWDOWN  # a deadline for each answer, never a bound the test checks


@contextlib.contextmanager
def setup(conf=(), counter=False):
    with contextlib.ExitStack() as st:
        ns = st.enter_context(Nsd(ZONES))
        qc = st.enter_context(QueryCounter(ns.port)) if counter else None
        d = st.enter_context(Daemon(list(conf), ACL, upstreams=[qc.addr if qc else ns.addr]))
        yield ns, d, qc


def ask(port, name="www.core.test", rdtype="A", cookie=None, tcp=False, source="127.0.0.1",
        edns=True):
    """Query with an optional raw COOKIE option (bytes, any length); returns the answer."""
    opts = [dns.edns.GenericOption(COOKIE, cookie)] if cookie is not None else []
    q = dns.message.make_query(name, rdtype, use_edns=0 if edns else None, payload=1232, options=opts)
    if tcp:
        return dns.query.tcp(q, "127.0.0.1", port=port, timeout=QUERY_TIMEOUT, source=source)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=QUERY_TIMEOUT, source=source,
                         ignore_unexpected=True, raise_on_truncation=False)


def cookies_of(msg):
    """Data of every COOKIE option in an answer."""
    return [o.to_wire() if hasattr(o, "to_wire") else o.data
            for o in msg.options if o.otype == COOKIE]


def cookie_of(msg):
    cs = cookies_of(msg)
    check_eq(len(cs), 1, "COOKIE options in the answer %s" % msg)
    return cs[0]


def check_server_cookie(data, client, what):
    """A reply cookie: our client cookie, then an RFC 9018 server cookie made about now."""
    check_eq(len(data), 24, "%s: COOKIE option length (8 client + 16 server)" % what)
    check_eq(data[:8], client, "%s: client cookie echoed" % what)
    check_eq(data[8], 1, "%s: server cookie version" % what)
    check_eq(data[9:12], b"\0\0\0", "%s: reserved bytes" % what)
    ts = struct.unpack("!I", data[12:16])[0]
    # made while we waited for this answer: at most one query timeout and slack ago, and not
    # in the future (whole seconds, so one second either way)
    now = time.time()
    check(now - QUERY_TIMEOUT - SLACK <= ts <= now + 1, "%s: server cookie timestamp %d is not now (%d)"
          % (what, ts, now))


def client_cookie(tag):
    return os.urandom(4) + tag.encode()[:4].ljust(4, b"-")


def test_client_cookie_only_gets_server_cookie():
    with setup() as (ns, d, _):
        cc = client_cookie("one")
        for tcp in (False, True):
            r = ask(d.port, cookie=cc, tcp=tcp)
            check_eq(r.rcode(), dns.rcode.NOERROR, "rcode (tcp=%s)" % tcp)
            check_eq([x.to_text() for x in r.answer[0]], ["192.0.2.1"], "answer (tcp=%s)" % tcp)
            check_server_cookie(cookie_of(r), cc, "tcp=%s" % tcp)


def test_server_cookie_accepted_when_sent_back():
    with setup(["workers 2"]) as (ns, d, _):
        cc = client_cookie("back")
        full = cookie_of(ask(d.port, cookie=cc))
        # Several times over UDP and TCP (and so through both workers): always valid.
        for i in range(8):
            tcp = i % 2 == 1
            r = ask(d.port, "v4only.core.test", cookie=full, tcp=tcp)
            check_eq(r.rcode(), dns.rcode.NOERROR, "rcode with our own server cookie (tcp=%s)" % tcp)
            check_eq([x.to_text() for x in r.answer[0]], ["192.0.2.2"], "answer")
            back = cookie_of(r)
            check_server_cookie(back, cc, "resend %d" % i)
            # a fresh server cookie is the same one or a renewed one; both must work next time
            full = back


def test_same_client_same_cookie_other_ip_other_cookie():
    with setup() as (ns, d, _):
        cc = client_cookie("ip")
        # Cookies carry a timestamp in seconds: retry until two answers share a second.
        for _ in range(10):
            a = cookie_of(ask(d.port, cookie=cc, source="127.0.0.1"))
            b = cookie_of(ask(d.port, cookie=cc, source="127.0.0.1"))
            c = cookie_of(ask(d.port, cookie=cc, source="127.0.0.2"))
            if a[12:16] == b[12:16] == c[12:16]:
                break
        else:
            raise AssertionError("no two answers in the same second")
        check_eq(a, b, "server cookie for the same client and client cookie in the same second")
        check(a[16:] != c[16:], "server cookie hash must differ for another client IP: %s %s"
              % (a.hex(), c.hex()))
        # The cookie of 127.0.0.1 is not valid from 127.0.0.2.
        r = ask(d.port, cookie=a, source="127.0.0.2")
        check_eq(r.rcode(), BADCOOKIE, "127.0.0.1's server cookie sent from 127.0.0.2")
        check_server_cookie(cookie_of(r), cc, "BADCOOKIE reply")
        check(cookie_of(r)[16:] != a[16:], "the BADCOOKIE reply carries a cookie for 127.0.0.2")
        # Another client cookie from the same IP gets another hash too.
        cc2 = client_cookie("ip2")
        e = cookie_of(ask(d.port, cookie=cc2, source="127.0.0.1"))
        check(e[16:] != a[16:] or e[12:16] != a[12:16], "other client cookie, same hash")


def test_wrong_server_cookie_udp_badcookie():
    with setup(counter=True) as (ns, d, qc):
        cc = client_cookie("bad")
        now = struct.pack("!I", int(time.time()))
        wrongs = {
            "forged hash": cc + b"\x01\0\0\0" + now + os.urandom(8),
            "version 2": cc + b"\x02\0\0\0" + now + os.urandom(8),
            "16-byte foreign": cc + os.urandom(8),
            "32-byte foreign": cc + os.urandom(24),
            "expired": cc + b"\x01\0\0\0" + struct.pack("!I", int(time.time()) - 7200) + os.urandom(8),
        }
        for what, wrong in wrongs.items():
            qc.reset()
            r = ask(d.port, "mx1.core.test", cookie=wrong)
            check_eq(r.rcode(), BADCOOKIE, "%s server cookie over UDP: rcode" % what)
            check_eq(len(r.answer), 0, "%s: BADCOOKIE carries no answer" % what)
            check_eq(len(r.question), 1, "%s: question echoed" % what)
            fresh = cookie_of(r)
            check_server_cookie(fresh, cc, "%s BADCOOKIE" % what)
            check_eq(qc.count(), 0, "%s: upstream queries for a BADCOOKIE answer" % what)
            # The client retries with the cookie it was given and is served.
            r = ask(d.port, "mx1.core.test", cookie=fresh)
            check_eq(r.rcode(), dns.rcode.NOERROR, "%s: retry with the fresh cookie" % what)
            check_eq([x.to_text() for x in r.answer[0]], ["192.0.2.25"], "%s: answer after retry" % what)


def test_wrong_server_cookie_tcp_served():
    with setup() as (ns, d, _):
        cc = client_cookie("tcp")
        wrong = cc + b"\x01\0\0\0" + struct.pack("!I", int(time.time())) + os.urandom(8)
        r = ask(d.port, "mx2.core.test", cookie=wrong, tcp=True)
        check_eq(r.rcode(), dns.rcode.NOERROR, "wrong server cookie over TCP: rcode")
        check_eq([x.to_text() for x in r.answer[0]], ["192.0.2.26"], "answer over TCP")
        fresh = cookie_of(r)
        check_server_cookie(fresh, cc, "TCP reply")
        check(fresh[8:] != wrong[8:], "the TCP reply carries a new server cookie, not the wrong one")
        r = ask(d.port, "mx2.core.test", cookie=fresh)
        check_eq(r.rcode(), dns.rcode.NOERROR, "that cookie is valid over UDP")


def test_no_cookie_served_without_cookie():
    with setup() as (ns, d, _):
        for tcp in (False, True):
            for edns in (True, False):
                r = ask(d.port, cookie=None, tcp=tcp, edns=edns)
                check_eq(r.rcode(), dns.rcode.NOERROR, "no cookie (tcp=%s edns=%s)" % (tcp, edns))
                check_eq(len(r.answer), 1, "answer without cookie")
                check_eq(cookies_of(r), [], "no COOKIE option in an answer to a query without one")


def test_malformed_cookie_formerr():
    with setup(counter=True) as (ns, d, qc):
        for n in (0, 1, 5, 7, 9, 12, 15, 41, 48):
            for tcp in (False, True):
                r = ask(d.port, cookie=os.urandom(n), tcp=tcp)
                check_eq(r.rcode(), dns.rcode.FORMERR, "COOKIE option of %d bytes (tcp=%s)" % (n, tcp))
        # two COOKIE options in one query
        cc = client_cookie("two")
        opts = [dns.edns.GenericOption(COOKIE, cc), dns.edns.GenericOption(COOKIE, cc)]
        q = dns.message.make_query("www.core.test", "A", use_edns=0, options=opts)
        r = dns.query.udp(q, "127.0.0.1", port=d.port, timeout=QUERY_TIMEOUT)
        check_eq(r.rcode(), dns.rcode.FORMERR, "two COOKIE options")
        check_eq(qc.count(), 0, "upstream queries for malformed cookies")
        # The daemon is fine afterwards.
        r = ask(d.port, cookie=client_cookie("ok"))
        check_eq(r.rcode(), dns.rcode.NOERROR, "well-formed cookie after the malformed ones")


def test_cookies_no():
    with setup(["cookies no"]) as (ns, d, _):
        cc = client_cookie("off")
        wrong = cc + b"\x01\0\0\0" + struct.pack("!I", int(time.time())) + os.urandom(8)
        for cookie in (cc, wrong):
            for tcp in (False, True):
                r = ask(d.port, cookie=cookie, tcp=tcp)
                check_eq(r.rcode(), dns.rcode.NOERROR, "cookies no: rcode (len %d, tcp=%s)" % (len(cookie), tcp))
                check_eq(cookies_of(r), [], "cookies no: no COOKIE option in the answer")
        r = dig(d.port, "www.core.test", "A")
        check_eq((r.rcode, r.cookie), ("NOERROR", None), "dig with cookies off", r)


def ask_no_question(port, cookie=None, tcp=False):
    """A query with QDCOUNT 0 and an EDNS OPT record, with an optional raw COOKIE option."""
    q = dns.message.Message()
    q.flags |= dns.flags.RD
    q.use_edns(0, payload=1232, options=[dns.edns.GenericOption(COOKIE, cookie)] if cookie is not None else [])
    if tcp:
        return dns.query.tcp(q, "127.0.0.1", port=port, timeout=QUERY_TIMEOUT)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=QUERY_TIMEOUT, ignore_unexpected=True,
                         raise_on_truncation=False)


def test_cookie_only_query():
    # RFC 7873 §5.4: a query with no question and only a client cookie asks for a server cookie.
    with setup(counter=True) as (ns, d, qc):
        cc = client_cookie("only")
        for tcp in (False, True):
            r = ask_no_question(d.port, cc, tcp=tcp)
            check_eq(r.rcode(), dns.rcode.NOERROR, "cookie-only query (tcp=%s): rcode" % tcp, r)
            check_eq(len(r.question), 0, "cookie-only query: no question in the answer", r)
            check_eq(len(r.answer) + len(r.authority), 0, "cookie-only query: empty sections", r)
            check(r.edns >= 0, "cookie-only query: no OPT record in the answer", r)
            full = cookie_of(r)
            check_server_cookie(full, cc, "cookie-only query (tcp=%s)" % tcp)
        # the server cookie learned that way is valid for a real query
        r = ask(d.port, "mx1.core.test", cookie=full)
        check_eq(r.rcode(), dns.rcode.NOERROR, "query with the server cookie of a cookie-only query")
        check_eq([x.to_text() for x in r.answer[0]], ["192.0.2.25"], "answer with that cookie")
        # no question and no cookie (EDNS only) is still malformed, answered with an OPT record
        for tcp in (False, True):
            r = ask_no_question(d.port, None, tcp=tcp)
            check_eq(r.rcode(), dns.rcode.FORMERR, "no question, no cookie (tcp=%s): rcode" % tcp, r)
            check(r.edns >= 0, "no question, no cookie: FORMERR without an OPT record", r)
            check_eq(cookies_of(r), [], "no question, no cookie: COOKIE option in the answer")
        check_eq(qc.count(), 1, "upstream queries (only mx1.core.test goes upstream)")
    with setup(["cookies no"]) as (ns, d, _):
        for tcp in (False, True):
            r = ask_no_question(d.port, client_cookie("no"), tcp=tcp)
            check_eq(r.rcode(), dns.rcode.FORMERR, "cookie-only query with cookies no (tcp=%s)" % tcp, r)
            check_eq(cookies_of(r), [], "cookies no: COOKIE option in the FORMERR")


def test_dig_cookie():
    with setup() as (ns, d, _):
        r = dig(d.port, "www.core.test", "A", opts=["+cookie"])
        check_eq(r.rcode, "NOERROR", "dig +cookie", r)
        check(r.cookie is not None and len(r.cookie) == 48, "dig shows client + server cookie", r)
        check("(good)" in r.raw, "dig judges the server cookie good", r)
        r2 = dig(d.port, "www.core.test", "A", opts=["+cookie=" + r.cookie])
        check_eq(r2.rcode, "NOERROR", "dig sending the learned cookie back", r2)
        check_eq(r2.cookie[:16], r.cookie[:16], "client cookie kept", r2)


if __name__ == "__main__":
    run_tests(globals())

# Integration tests for the AD bit with an upstream that claims validation (RFC 6147 §5.5, RFC 6840 §5.7/§5.8).
#
# A QueryCounter between dns64d and nsd (serving zones/dns64.zone unsigned) sets AD on every
# answer, as a validating resolver would. Data passed through unchanged keeps AD for a client
# that asked with DO (or AD); data the daemon changed (excluded AAAA removed) or made up
# (synthesized AAAA) is not validated data and must come back with AD clear. A client that set
# neither DO nor AD never gets AD. Every test starts its own daemon, so no answer cached for
# one kind of client is seen by another unless the test means it to.
import atexit
import contextlib
import ipaddress
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Nsd, QueryCounter, check, check_eq, dig, run_tests, zone_path  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402

ACL = ["127.0.0.0/8 dns64", "::1/128 dns64"]
# DO=1 without AD and without CD: DO alone must be enough for AD to be kept (RFC 6840 §5.8).
DO = ("+dnssec", "+noadflag", "+nocdflag")
# neither DO nor AD (dig sets AD by default)
PLAIN = ("+nodnssec", "+noadflag", "+nocdflag")
# AD=1 without DO (RFC 6840 §5.7)
AD_ONLY = ("+nodnssec", "+adflag", "+nocdflag")


# RFC 6052 §2.2 embedding in the well-known prefix 64:ff9b::/96: the IPv4 address is the last 32 bits.
def wkp(v4):
    return str(ipaddress.IPv6Address(b"\x00\x64\xff\x9b" + bytes(8) + ipaddress.IPv4Address(v4).packed))


def set_ad(qwire, awire):
    """The scripted validating upstream: nsd's answer with AD set, ID and all else kept."""
    m = dns.message.from_wire(awire)
    m.flags |= dns.flags.AD
    out = m.to_wire()
    check_eq(out[:2], awire[:2], "rewrite keeps the message ID")
    return out


_nsd = {}
_stack = contextlib.ExitStack()
atexit.register(_stack.close)


def nsd():
    """The one nsd shared by all tests (stopped at exit)."""
    if "n" not in _nsd:
        _nsd["n"] = _stack.enter_context(Nsd({"dns64.test": zone_path("dns64.zone")}))
    return _nsd["n"]


@contextlib.contextmanager
def ad_daemon():
    """(QueryCounter setting AD, fresh dns64d using it as its only upstream)."""
    with QueryCounter(nsd().port, rewrite=set_ad) as qc, \
            Daemon([], ACL, upstreams=[qc.addr]) as d:
        yield qc, d


def aaaa(r):
    return sorted(str(ipaddress.IPv6Address(x[3])) for x in r.answer if x[2] == "AAAA")


def upstream_fact(name, rdtype, want):
    """nsd itself serves `want` (sorted normalized addresses) for name/rdtype."""
    r = dig(nsd().port, name, rdtype, opts=("+norec",))
    got = sorted(str(ipaddress.ip_address(x[3])) for x in r.answer if x[2] == rdtype)
    check_eq(got, sorted(str(ipaddress.ip_address(a)) for a in want),
             "zone fact %s %s on nsd" % (name, rdtype), r)


def via_proxy_has_ad(qc, name, rdtype):
    """The proxy really hands out AD=1 (checked by asking it directly, DO=1)."""
    r = dig(qc.port, name, rdtype, opts=("+norec",) + DO)
    check_eq(r.rcode, "NOERROR", "proxy answers", r)
    check("ad" in r.flags, "the scripted upstream sets AD on %s %s" % (name, rdtype), r)


def ask(d, name, rdtype="AAAA", opts=DO):
    r = dig(d.port, name, rdtype, source="127.0.0.1", opts=opts)
    check_eq(r.rcode, "NOERROR", "rcode for %s %s" % (name, rdtype), r)
    return r


def twice(d, name, rdtype="AAAA", opts=DO):
    """The first answer (fresh from upstream) and the second one (from the daemon's cache)."""
    return ask(d, name, rdtype, opts), ask(d, name, rdtype, opts)


# --- tests ---------------------------------------------------------------------------------------

def test_passthrough_aaaa_keeps_ad():
    upstream_fact("dual.dns64.test", "AAAA", ["2001:db8:d::6"])
    with ad_daemon() as (qc, d):
        via_proxy_has_ad(qc, "dual.dns64.test", "AAAA")
        for i, r in enumerate(twice(d, "dual.dns64.test")):
            check_eq(aaaa(r), ["2001:db8:d::6"], "real AAAA passed through (#%d)" % i, r)
            check("ad" in r.flags, "unchanged validated AAAA keeps AD for a DO client (#%d)" % i, r)
            check(29 not in r.ede, "no EDE 29 on real data (#%d)" % i, r)
            check(r.edns is not None and "do" in r.edns["flags"], "DO echoed (#%d)" % i, r)
        check(qc.count("dual.dns64.test", "AAAA", do=True) >= 1, "DO passed upstream")


def test_excluded_removed_clears_ad():
    upstream_fact("partex.dns64.test", "AAAA", ["::ffff:1.2.3.21", "2001:db8:d::21"])
    with ad_daemon() as (qc, d):
        via_proxy_has_ad(qc, "partex.dns64.test", "AAAA")
        for i, r in enumerate(twice(d, "partex.dns64.test")):
            check_eq(aaaa(r), ["2001:db8:d::21"], "only the real AAAA, excluded one removed (#%d)" % i, r)
            check("ad" not in r.flags, "AD clear: the daemon changed the validated answer (#%d)" % i, r)
            check(29 not in r.ede, "nothing synthesized (#%d)" % i, r)


def test_synthesized_clears_ad():
    upstream_fact("v4only.dns64.test", "A", ["1.2.3.4"])
    with ad_daemon() as (qc, d):
        via_proxy_has_ad(qc, "v4only.dns64.test", "A")
        for i, r in enumerate(twice(d, "v4only.dns64.test")):
            check_eq(aaaa(r), [wkp("1.2.3.4")], "synthesized from the A (#%d)" % i, r)
            check("ad" not in r.flags, "AD clear on synthesized data (#%d)" % i, r)
            check(29 in r.ede, "EDE 29 (Synthesized) (#%d)" % i, r)


def test_only_excluded_synthesized_clears_ad():
    upstream_fact("mapped4.dns64.test", "AAAA", ["::ffff:1.2.3.20"])
    upstream_fact("mapped4.dns64.test", "A", ["1.2.3.20"])
    with ad_daemon() as (qc, d):
        via_proxy_has_ad(qc, "mapped4.dns64.test", "AAAA")
        for i, r in enumerate(twice(d, "mapped4.dns64.test")):
            check_eq(aaaa(r), [wkp("1.2.3.20")], "only excluded AAAA: synthesized from A (#%d)" % i, r)
            check("ad" not in r.flags, "AD clear on synthesized data (#%d)" % i, r)
            check(29 in r.ede, "EDE 29 (Synthesized) (#%d)" % i, r)


def test_no_do_no_ad_client_gets_no_ad():
    with ad_daemon() as (qc, d):
        for i, r in enumerate(twice(d, "dual.dns64.test", opts=PLAIN)):
            check_eq(aaaa(r), ["2001:db8:d::6"], "real AAAA (#%d)" % i, r)
            check("ad" not in r.flags, "no AD for a client with neither DO nor AD (#%d)" % i, r)
        check(qc.count("dual.dns64.test", "AAAA") >= 1, "the AAAA went through the AD-setting proxy")


def test_do_then_plain_client_same_name():
    """DO is part of the cache key and AD depends on the asker: an answer cached for a DO
    client must not carry AD to a plain client, and vice versa."""
    with ad_daemon() as (qc, d):
        r = ask(d, "dual.dns64.test", opts=DO)
        check("ad" in r.flags, "DO client: AD kept", r)
        r = ask(d, "dual.dns64.test", opts=PLAIN)
        check_eq(aaaa(r), ["2001:db8:d::6"], "real AAAA", r)
        check("ad" not in r.flags, "plain client after a DO client: no AD", r)
        r = ask(d, "dual.dns64.test", opts=DO)
        check("ad" in r.flags, "DO client again: AD still kept", r)


def test_ad_only_client_gets_ad():
    """RFC 6840 §5.7: AD=1 in the query (no DO) asks for the AD bit in the answer."""
    with ad_daemon() as (qc, d):
        for i, r in enumerate(twice(d, "dual.dns64.test", opts=AD_ONLY)):
            check_eq(aaaa(r), ["2001:db8:d::6"], "real AAAA (#%d)" % i, r)
            check("ad" in r.flags, "AD kept for a client that set AD (#%d)" % i, r)
        for i, r in enumerate(twice(d, "v4only.dns64.test", opts=AD_ONLY)):
            check_eq(aaaa(r), [wkp("1.2.3.4")], "synthesized (#%d)" % i, r)
            check("ad" not in r.flags, "AD clear on synthesized data, AD-only client (#%d)" % i, r)


def test_plain_a_query_keeps_ad():
    with ad_daemon() as (qc, d):
        via_proxy_has_ad(qc, "v4only.dns64.test", "A")
        for i, r in enumerate(twice(d, "v4only.dns64.test", "A")):
            check_eq(r.rdatas("A"), ["1.2.3.4"], "A passed through (#%d)" % i, r)
            check("ad" in r.flags, "A query answer keeps AD for a DO client (#%d)" % i, r)
            check(29 not in r.ede, "no EDE 29 on an A answer (#%d)" % i, r)


if __name__ == "__main__":
    run_tests(globals())

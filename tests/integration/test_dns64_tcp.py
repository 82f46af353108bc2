# Integration tests for DNS64 over TCP (issue 4): the same answers as over UDP, TC and TCP retry.
#
# Uses the nsd, zones and shared daemon of test_dns64.py (same ACL roles per 127.0.0.x source).
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_dns64 as base  # noqa: E402
from harness import check, check_eq, run_tests  # noqa: E402
from test_dns64 import (CLIENT_PREFIX, LEN_CLIENTS, WKP, embed, expect_nodata,  # noqa: E402
                        expect_synth, ip6_arpa, q, types)

# (name, type, source, dig options): the key cases of test_dns64.py.
KEY_CASES = [
    ("v4only.dns64.test", "AAAA", "127.0.0.1", ()),
    ("v4only.dns64.test", "AAAA", "127.0.0.3", ()),
    ("rfc6052.dns64.test", "AAAA", "127.0.0.5", ()),
    ("rfc6052.dns64.test", "AAAA", "127.0.0.8", ()),
    ("dual.dns64.test", "AAAA", "127.0.0.1", ()),
    ("v6only.dns64.test", "AAAA", "127.0.0.1", ()),
    ("nothing.dns64.test", "AAAA", "127.0.0.1", ()),
    ("empty.dns64.test", "AAAA", "127.0.0.1", ()),
    ("multi.dns64.test", "AAAA", "127.0.0.1", ()),
    ("chain1.dns64.test", "AAAA", "127.0.0.1", ()),
    ("host.dname.dns64.test", "AAAA", "127.0.0.3", ()),
    ("mapped4.dns64.test", "AAAA", "127.0.0.1", ()),
    ("partex.dns64.test", "AAAA", "127.0.0.1", ()),
    ("v4only.dns64.test", "AAAA", "127.0.0.2", ()),
    ("v4only.dns64.test", "AAAA", "127.0.0.9", ()),
    ("v4only.dns64.test", "AAAA", "127.0.0.1", ("+dnssec", "+cdflag")),
    ("v4only.dns64.test", "AAAA", "127.0.0.1", ("+dnssec",)),
    ("v4only.dns64.test", "AAAA", "127.0.0.1", ("+noedns",)),
    (ip6_arpa(embed(WKP, "1.2.3.4")), "PTR", "127.0.0.1", ()),
    ("ipv4only.arpa", "AAAA", "127.0.0.3", ()),
    ("ipv4only.arpa", "A", "127.0.0.1", ()),
    ("host.sa.dns64.test", "AAAA", "127.0.0.1", ()),
    ("host.nosyn.dns64.test", "AAAA", "127.0.0.1", ()),
    ("private.dns64.test", "AAAA", "127.0.0.1", ()),
    ("private.dns64.test", "AAAA", "127.0.0.4", ()),
]


def _key(r):
    return (r.rcode, r.rrset("answer"), r.rrset("authority"), sorted(r.ede),
            sorted(f for f in r.flags if f != "tc"))


def test_same_answers_udp_and_tcp():
    for name, rdtype, src, opts in KEY_CASES:
        u = q(name, rdtype, src=src, opts=opts)
        t = q(name, rdtype, src=src, opts=opts, tcp=True)
        check("tc" not in u.flags and "tc" not in t.flags, "no truncation expected", u, t)
        check_eq(_key(t), _key(u), "TCP answer differs from UDP for %s %s from %s %s"
                 % (name, rdtype, src, " ".join(opts)), u, t)
        # Order matters for chains: compare the answer section as sent.
        check_eq([(x[0].lower(), x[2], x[3]) for x in t.answer],
                 [(x[0].lower(), x[2], x[3]) for x in u.answer], "answer order", u, t)


def test_tcp_synthesis_values():
    expect_synth(q("v4only.dns64.test", tcp=True), [embed(WKP, "1.2.3.4")], "TCP WKP")
    expect_synth(q("v4only.dns64.test", src="127.0.0.3", tcp=True),
                 [embed(CLIENT_PREFIX, "1.2.3.4")], "TCP per-client prefix")
    for src, prefix in LEN_CLIENTS.items():
        expect_synth(q("rfc6052.dns64.test", src=src, tcp=True), [embed(prefix, "192.0.2.33")],
                     "TCP prefix " + prefix)
    r = q("v4only.dns64.test", tcp=True)
    check(29 in r.ede, "EDE 29 over TCP", r)


def test_tcp_client_roles():
    expect_nodata(q("v4only.dns64.test", src="127.0.0.2", tcp=True), "TCP forward client")
    r = q("v4only.dns64.test", src="127.0.0.9", tcp=True)
    check_eq(r.rcode, "REFUSED", "TCP refused client", r)
    r = q("v4only.dns64.test", src="127.0.0.10", tcp=True, timeout=1)
    check(r.timed_out, "TCP dropped client gets no answer", r)


def test_tcp_ptr_and_ipv4only():
    name = ip6_arpa(embed(CLIENT_PREFIX, "1.2.3.4"))
    r = q(name, "PTR", src="127.0.0.3", tcp=True)
    check_eq([(x[0].lower(), x[2], x[3].lower()) for x in r.answer],
             [(name, "CNAME", "4.3.2.1.in-addr.arpa."),
              ("4.3.2.1.in-addr.arpa.", "PTR", "v4only.dns64.test.")], "TCP PTR", r)
    expect_synth(q("ipv4only.arpa", tcp=True), ["64:ff9b::c000:aa", "64:ff9b::c000:ab"],
                 "TCP ipv4only.arpa")


def test_big_synthesized_answer_tc_then_tcp():
    want = [embed(WKP, "1.2.4.%d" % i) for i in range(1, 31)]
    base.zone_has("big.dns64.test", "A", ["1.2.4.%d" % i for i in range(1, 31)])
    r = q("big.dns64.test", opts=("+noedns", "+ignore"))
    check("tc" in r.flags, "30 AAAA (~1 KB) over UDP without EDNS must be truncated", r)
    check(len(r.answer) < 30, "a truncated answer cannot hold all 30", r)
    r = q("big.dns64.test", opts=("+noedns",))   # dig retries over TCP by itself
    expect_synth(r, want, "after the TCP retry")
    expect_synth(q("big.dns64.test", tcp=True), want, "TCP")
    r = q("big.dns64.test", opts=("+bufsize=1232",))
    check("tc" not in r.flags, "fits 1232 bytes of EDNS", r)
    expect_synth(r, want, "UDP with EDNS 1232")


def test_tcp_error_upstream_synthesized():
    with base.error_upstream() as (qc, d):
        r = q("sf-host.dns64.test", d=d, tcp=True)
        expect_synth(r, [embed(WKP, "1.2.3.60")], "TCP client, AAAA SERVFAIL upstream")
        r = q("ede-host.dns64.test", d=d, tcp=True)
        check_eq(r.rcode, "SERVFAIL", "TCP client, DNSSEC SERVFAIL passed", r)
        check_eq(types(r), [], "no synthesis", r)


def test_zz_shared_daemon_survived():
    base.test_zz_shared_daemon_survived()


if __name__ == "__main__":
    run_tests(globals())

# Integration tests for the reverse zones of the synthesis prefixes (issue 17): dns64d is
# authoritative for the ip6.arpa zone of every prefix it synthesizes with (the global one and
# an ACL rule's), for the dns64 clients that use the prefix, answers the RFC 8880 reverse names of ipv4only.arpa itself, and passes
# HTTPS/SVCB answers through untouched (RFC 9460: no DNS64 on SVCB parameters).
#
# nsd serves decoy zones over all of 64:ff9b::/32's reverse names and 170/171.0.0.192 (a
# wildcard PTR leaked.example.), behind a QueryCounter: a locally answered name that leaked
# would show up in the counter and as a decoy in the answer. One daemon for every test; the
# last one reloads it without reverse-server/-contact and puts them back.
import atexit
import contextlib
import ipaddress
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Nsd, QueryCounter, check, check_eq, dig, run_tests,  # noqa: E402
                     wait_until)

WKP = ipaddress.IPv6Network("64:ff9b::/96")
P48 = ipaddress.IPv6Network("64:ff9b:1::/48")  # the ACL's prefix for 127.0.0.3 (RFC 8215 space)
ACL = ["127.0.0.1/32 dns64", "127.0.0.3/32 dns64 64:ff9b:1::/48", "127.0.0.2/32 forward"]
# The test's IPv4 addresses are documentation space (198.51.100/24), whose reverse zones
# dns64d serves itself by default (RFC 6303): off, so their PTRs come from the upstream.
NAMES = ["reverse-server ns1.Example.NET", "reverse-contact hostmaster.example.net.", "local-reverse-zones no"]
SET_SOA = "ns1.example.net. hostmaster.example.net. 0 28800 7200 604800 86400"
DEFAULT_SOA = ". . 0 28800 7200 604800 86400"


def _zone(origin, body, ns="ns.decoy.test."):
    return ("$ORIGIN %s\n$TTL 300\n"
            "@ IN SOA %s hostmaster.%s 1 3600 600 86400 300\n"
            "@ IN NS %s\n%s\n" % (origin, ns, ns, ns, body))


ZONES = {
    "100.51.198.in-addr.arpa.": _zone("100.51.198.in-addr.arpa.", "7 IN PTR host7.rev.test.\n",
                                      ns="ns.rev.test."),
    # decoys: what an upstream says for names dns64d answers itself
    "b.9.f.f.4.6.0.0.ip6.arpa.": _zone("b.9.f.f.4.6.0.0.ip6.arpa.", "* IN PTR leaked.example.\n"),
    "170.0.0.192.in-addr.arpa.": _zone("170.0.0.192.in-addr.arpa.", "@ IN PTR leaked.example.\n"),
    "171.0.0.192.in-addr.arpa.": _zone("171.0.0.192.in-addr.arpa.", "@ IN PTR leaked.example.\n"),
    "svc.test.": _zone("svc.test.",
                       'ns IN A 192.0.2.53\n'
                       '@ IN HTTPS 1 . alpn="h2,h3" ipv4hint=192.0.2.1,198.51.100.7 mandatory=alpn,ipv4hint\n'
                       'www IN HTTPS 1 svc.svc.test. port=8443 ipv4hint=203.0.113.5\n'
                       'svc IN A 203.0.113.5\n'
                       '_8443._https.api IN SVCB 1 svc.svc.test. alpn=h2 ipv4hint=198.51.100.9 '
                       'mandatory=alpn\n', ns="ns.svc.test."),
}
DECOYS = ("leaked.example.", "decoy.test.")


def embed(net, v4):
    """RFC 6052 embedding of v4 into net, zero u-octet and suffix."""
    plen = net.prefixlen
    b = bytearray(net.network_address.packed[:plen // 8]) + ipaddress.IPv4Address(v4).packed
    if plen < 96:
        b[8:8] = b"\x00"
    b += bytes(16 - len(b))
    return bytes(b[:16])


def rev(addr, nibbles=32):
    """The ip6.arpa name of the first `nibbles` nibbles of a 16-byte address."""
    full = ipaddress.IPv6Address(bytes(addr)).reverse_pointer.split(".")
    return ".".join(full[32 - nibbles:]) + "."


def apex(net):
    return rev(net.network_address.packed, net.prefixlen // 4)


def with_byte(addr, i, value):
    b = bytearray(addr)
    b[i] = value
    return bytes(b)


# --- shared environment --------------------------------------------------------------------------

_env = {}
_stack = contextlib.ExitStack()
atexit.register(_stack.close)
_asked = set()  # names dns64d must have answered itself


def env():
    if "d" not in _env:
        _env["nsd"] = _stack.enter_context(Nsd(ZONES))
        _env["qc"] = _stack.enter_context(QueryCounter(_env["nsd"].port))
        _env["d"] = _stack.enter_context(Daemon(NAMES, ACL, upstreams=[_env["qc"].addr]))
    check(_env["d"].alive(), "shared dns64d is not running\n" + _env["d"].log_text())
    return _env


def q(name, rdtype="PTR", src="127.0.0.1", local=True):
    e = env()
    r = dig(e["d"].port, name, rdtype, source=src)
    check(not r.timed_out, "an answer for %s %s" % (name, rdtype), r, e["d"].log_text())
    for sec in ("answer", "authority", "additional"):
        for rec in getattr(r, sec):
            check(not any(x in rec[3] for x in DECOYS), "no upstream (decoy) data in the answer", r)
    if local:
        _asked.add(name.lower())
        check("aa" in r.flags, "a local answer is authoritative", r)
    return r


def soa_of(r):
    return [(x[0].lower(), x[3]) for x in r.authority if x[2] == "SOA"]


def negative(r, rcode, zone, soa=SET_SOA, msg=""):
    check_eq(r.rcode, rcode, "rcode " + msg, r)
    check_eq(r.answer, [], "no answer " + msg, r)
    check_eq(soa_of(r), [(zone, soa)], "the zone's SOA in the authority section " + msg, r)


# --- tests ---------------------------------------------------------------------------------------

def test_apex_soa_ns():
    for net, src in ((WKP, "127.0.0.1"), (P48, "127.0.0.3")):
        z = apex(net)
        r = q(z, "SOA", src=src)
        check_eq([(x[0].lower(), x[2], x[3]) for x in r.answer], [(z, "SOA", SET_SOA)],
                 "SOA of %s with reverse-server and reverse-contact" % z, r)
        r = q(z, "NS", src=src)
        check_eq([(x[2], x[3]) for x in r.answer], [("NS", "ns1.example.net.")], "NS of " + z, r)
        negative(q(z, "TXT", src=src), "NOERROR", z, msg="(other types at the apex)")


def test_empty_non_terminals():
    for net, src in ((WKP, "127.0.0.1"), (P48, "127.0.0.3")):
        a = embed(net, "198.51.100.7")
        z = apex(net)
        for k in (net.prefixlen // 4 + 1, 24, 31):
            negative(q(rev(a, k), "PTR", src=src), "NOERROR", z, msg="ENT of %d nibbles" % k)
        negative(q(rev(a, 31), "A", src=src), "NOERROR", z, msg="ENT, type A")


def test_impossible_names_nxdomain():
    wa, pa = embed(WKP, "198.51.100.7"), embed(P48, "198.51.100.7")
    cases = [
        ("x." + apex(WKP), WKP, "127.0.0.1", "a label that is not a nibble"),
        ("0." + rev(wa), WKP, "127.0.0.1", "33 nibbles"),
        (rev(with_byte(pa, 8, 0x01)), P48, "127.0.0.3", "a non-zero u-octet"),
        (rev(with_byte(pa, 8, 0x10), 17), P48, "127.0.0.3", "a non-zero u-octet in an ENT"),
        (rev(with_byte(pa, 15, 0x01)), P48, "127.0.0.3", "a non-zero bit after the IPv4 address"),
        (rev(with_byte(pa, 11, 0x20), 23), P48, "127.0.0.3", "ditto, in an ENT"),
    ]
    for name, net, src, why in cases:
        negative(q(name, "PTR", src=src), "NXDOMAIN", apex(net), msg="(%s: %s)" % (why, name))


def test_ipv4only_reverse_names():
    for net, src in ((WKP, "127.0.0.1"), (P48, "127.0.0.3")):
        for v4 in ("192.0.0.170", "192.0.0.171"):
            name = rev(embed(net, v4))
            r = q(name, "PTR", src=src)
            check_eq(r.rcode, "NOERROR", "rcode", r)
            check_eq([(x[0].lower(), x[2], x[3]) for x in r.answer], [(name, "PTR", "ipv4only.arpa.")],
                     "RFC 8880 7.1: PTR ipv4only.arpa. owned by the ip6.arpa name, no CNAME", r)
    for v4 in ("170", "171"):
        name = "%s.0.0.192.in-addr.arpa." % v4
        for src in ("127.0.0.1", "127.0.0.2"):  # for the forward client too, like ipv4only.arpa
            r = q(name, "PTR", src=src)
            check_eq([(x[0].lower(), x[2], x[3]) for x in r.answer], [(name, "PTR", "ipv4only.arpa.")],
                     "in-addr.arpa name of an ipv4only.arpa address", r)
        r = q("x." + name, "PTR")
        check_eq(r.rcode, "NXDOMAIN", "nothing under it", r)


def test_full_address_cname_and_ptr():
    e = env()
    target = "7.100.51.198.in-addr.arpa."
    for net, src in ((WKP, "127.0.0.1"), (P48, "127.0.0.3")):
        name = rev(embed(net, "198.51.100.7"))
        r = q(name, "PTR", src=src, local=False)
        check_eq(r.rcode, "NOERROR", "rcode", r)
        check_eq([(x[0].lower(), x[2], x[3].lower()) for x in r.answer],
                 [(name, "CNAME", target), (target, "PTR", "host7.rev.test.")],
                 "CNAME to in-addr.arpa, then the upstream's PTR (%s from %s)" % (net, src), r)
        check_eq(e["qc"].count(name), 0, "the ip6.arpa name itself never goes upstream")
    check(e["qc"].count(target) >= 1, "the in-addr.arpa name was asked upstream")
    # another type at an address: the CNAME alone, answered here
    name = rev(embed(WKP, "198.51.100.7"))
    r = q(name, "TXT")
    check_eq([(x[2], x[3].lower()) for x in r.answer], [("CNAME", target)], "CNAME for TXT", r)


def test_not_the_clients_zone_goes_upstream():
    e = env()
    for net, src, v4, who in ((WKP, "127.0.0.2", "198.51.100.1", "a forward client"),
                              (P48, "127.0.0.1", "198.51.100.2", "a client of another prefix"),
                              (WKP, "127.0.0.3", "198.51.100.3", "a client of another prefix")):
        name = rev(embed(net, v4))
        r = dig(e["d"].port, name, "PTR", source=src)  # the decoy answers: not q()
        check(e["qc"].count(name) >= 1, "%s: the reverse query is forwarded as before" % who, r)
        check_eq([x[3] for x in r.answer], ["leaked.example."], "the upstream's answer", r)


def test_nothing_local_reached_upstream():
    e = env()
    if not _asked:
        test_apex_soa_ns()
        test_ipv4only_reverse_names()
    leaked = [n for n in sorted(_asked) if e["qc"].count(n) > 0]
    check_eq(leaked, [], "locally answered names the upstream saw")


def test_https_svcb_pass_through():
    e = env()
    for name, rdtype in (("svc.test.", "HTTPS"), ("www.svc.test.", "HTTPS"),
                         ("_8443._https.api.svc.test.", "SVCB")):
        direct = dig(e["nsd"].port, name, rdtype)
        check_eq(direct.rcode, "NOERROR", "nsd serves %s %s" % (name, rdtype), direct)
        check(direct.answer, "nsd has the record", direct)
        for src in ("127.0.0.1", "127.0.0.3", "127.0.0.1"):  # the last one from the cache
            r = q(name, rdtype, src=src, local=False)
            check_eq(r.rcode, "NOERROR", "rcode", r)
            check_eq(r.rrset("answer"), direct.rrset("answer"), "%s %s answer untouched" % (name, rdtype), r)
            check_eq(r.rrset("additional"), direct.rrset("additional"), "additional section untouched", r)
            for rec in r.answer + r.additional:
                check("ipv6hint" not in rec[3] and "64:ff9b" not in rec[3], "nothing synthesized", r)
    r = q("svc.test.", "HTTPS", local=False)
    data = r.rdatas("HTTPS")[0]
    check("ipv4hint=192.0.2.1,198.51.100.7" in data, "ipv4hint kept", r)
    check("mandatory=alpn,ipv4hint" in data, "mandatory intact", r)


def test_default_names_after_reload():
    e = env()
    d = e["d"]
    z = apex(WKP)
    try:
        d.set_conf([])
        d.reload()
        check(wait_until(lambda: q(z, "SOA").answer[:1] and q(z, "SOA").answer[0][3] == DEFAULT_SOA,
                         timeout=10), "the reload took effect\n" + d.log_text())
        r = q(z, "SOA")
        check_eq([(x[2], x[3]) for x in r.answer], [("SOA", DEFAULT_SOA)], "BIND's defaults: . and .", r)
        r = q(z, "NS")
        check_eq([(x[2], x[3]) for x in r.answer], [("NS", ".")], "NS . by default", r)
        negative(q("x." + apex(P48), "PTR", src="127.0.0.3"), "NXDOMAIN", apex(P48), soa=DEFAULT_SOA)
    finally:
        d.set_conf(NAMES)
        d.reload()
        wait_until(lambda: q(z, "SOA").answer[0][3] == SET_SOA, timeout=10)


if __name__ == "__main__":
    run_tests(globals())

# Integration tests for DNS64 synthesis (issue 4): dig against dns64d with nsd serving zones/dns64*.zone.
#
# One nsd (dns64.test signed with a throw-away key when ldns-signzone is present, plus
# dns64ttl.test and the reverse zones) and one main dns64d are shared by most tests; tests that
# need another config start their own daemon. The main daemon's ACL gives each 127.0.0.x source
# address (dig -b) a role:
#   .1 dns64 (global prefix 64:ff9b::/96)   .2 forward   .3 dns64 2001:db8:64::/96
#   .4-.8 dns64 with the RFC 6052 §2.4 prefixes /32 /40 /48 /56 /64   .9 refuse   .10 drop
#   .11 matches no rule (refused).
# Expected AAAA values are computed here independently of the daemon (embed() below, checked
# against the RFC 6052 §2.4 table) and every zone fact a test relies on is first checked on nsd.
import atexit
import contextlib
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SLACK, Daemon, Nsd, QueryCounter, SkipTest, check, check_eq, dig,  # noqa: E402
                     run_tests, zone_path)

import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

WKP = "64:ff9b::/96"
CLIENT_PREFIX = "2001:db8:64::/96"
# RFC 6052 §2.4: the prefixes of its table and the address 192.0.2.33 embedded in each.
RFC6052_TABLE = [
    ("2001:db8::/32", "2001:db8:c000:221::"),
    ("2001:db8:100::/40", "2001:db8:1c0:2:21::"),
    ("2001:db8:122::/48", "2001:db8:122:c000:2:2100::"),
    ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"),
    ("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"),
    ("2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"),
]
# Source address -> prefix of the per-client ACL rules of the main daemon.
LEN_CLIENTS = {"127.0.0.4": "2001:db8::/32", "127.0.0.5": "2001:db8:100::/40",
               "127.0.0.6": "2001:db8:122::/48", "127.0.0.7": "2001:db8:122:300::/56",
               "127.0.0.8": "2001:db8:122:344::/64"}
MAIN_ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 forward", "127.0.0.3/32 dns64 " + CLIENT_PREFIX] + \
    ["%s/32 dns64 %s" % (a, p) for a, p in LEN_CLIENTS.items()] + \
    ["127.0.0.9/32 refuse", "127.0.0.10/32 drop", "::1/128 dns64"]
# the zones use documentation addresses (192.0.2/24, 2001:db8::/32) as real ones: their
# reverse names must come from nsd, not from the RFC 6303 defaults (tests/integration/test_localdata.py)
MAIN_CONF = ["synth-all sa.dns64.test", "no-synth nosyn.dns64.test", "local-reverse-zones no"]
DEFAULT_ACL = ["127.0.0.0/8 dns64", "::1/128 dns64"]


# --- helpers independent of the daemon -----------------------------------------------------------

def embed(prefix, v4):
    """RFC 6052 §2.2: IPv4 address v4 embedded in prefix (bits 64-71 zero, suffix zero)."""
    net = ipaddress.IPv6Network(prefix)
    plen = net.prefixlen
    assert plen in (32, 40, 48, 56, 64, 96), plen
    b = bytearray(net.network_address.packed[:plen // 8]) + ipaddress.IPv4Address(v4).packed
    if plen < 96:
        b[8:8] = b"\x00"          # the u-octet
    b += bytes(16 - len(b))
    return str(ipaddress.IPv6Address(bytes(b[:16])))


def norm6(a):
    return str(ipaddress.IPv6Address(a))


def ip6_arpa(addr):
    """The 32-nibble ip6.arpa name of an IPv6 address."""
    return ipaddress.IPv6Address(addr).reverse_pointer + "."


def aaaa(r):
    """Sorted normalized AAAA addresses of a dig answer section."""
    return sorted(norm6(x[3]) for x in r.answer if x[2] == "AAAA")


def types(r, section="answer"):
    return [x[2] for x in getattr(r, section)]


def soa_owner(r):
    return [x[0].lower() for x in r.authority if x[2] == "SOA"]


# --- shared environment --------------------------------------------------------------------------

_env = {}
_stack = contextlib.ExitStack()
atexit.register(_stack.close)


def _signed_zone(tmp):
    """dns64.zone signed (NSEC) with a fresh key into tmp; None when ldns tools are missing."""
    if not (shutil.which("ldns-keygen") and shutil.which("ldns-signzone")):
        return None
    src = os.path.join(tmp, "dns64.zone")
    shutil.copy(zone_path("dns64.zone"), src)
    keys = []
    for ksk in (True, False):
        args = ["ldns-keygen", "-a", "ECDSAP256SHA256"] + (["-k"] if ksk else []) + ["dns64.test"]
        keys.append(subprocess.run(args, cwd=tmp, check=True, stdout=subprocess.PIPE,
                                   text=True).stdout.strip())
    subprocess.run(["ldns-signzone", "-o", "dns64.test", src] + keys, cwd=tmp, check=True)
    return src + ".signed"


def zones():
    """Zone map for Nsd: dns64.test (signed if possible) and the other dns64 zones."""
    if "zones" not in _env:
        tmp = tempfile.mkdtemp(prefix="dns64d-test-dns64-")
        _stack.callback(shutil.rmtree, tmp, True)
        signed = _signed_zone(tmp)
        _env["signed"] = signed is not None
        _env["zones"] = {
            "dns64.test": signed or zone_path("dns64.zone"),
            "dns64ttl.test": zone_path("dns64-ttl.zone"),
            "1.in-addr.arpa": zone_path("dns64-rev4.zone"),
            "2.0.192.in-addr.arpa": zone_path("dns64-rev192.zone"),
            "d.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": zone_path("dns64-rev6.zone"),
        }
    return _env["zones"]


def nsd():
    if "nsd" not in _env:
        _env["nsd"] = _stack.enter_context(Nsd(zones()))
    return _env["nsd"]


def main():
    """The shared daemon (MAIN_CONF, MAIN_ACL, nsd upstream); must still be running."""
    if "main" not in _env:
        _env["main"] = _stack.enter_context(Daemon(MAIN_CONF, MAIN_ACL, upstreams=[nsd().addr]))
    d = _env["main"]
    check(d.alive(), "shared dns64d is not running\n" + d.log_text())
    return d


def q(name, rdtype="AAAA", src="127.0.0.1", d=None, **kw):
    """dig the main daemon (or d) from source address src."""
    return dig((d or main()).port, name, rdtype, source=src, **kw)


def upstream(name, rdtype, opts=()):
    """dig nsd directly (no recursion)."""
    return dig(nsd().port, name, rdtype, opts=("+norec",) + tuple(opts))


def zone_has(name, rdtype, want):
    """Assert nsd answers name/rdtype with exactly the rdata in want (empty: NODATA)."""
    r = upstream(name, rdtype)
    check_eq(r.rcode, "NOERROR", "nsd rcode for %s %s (zone data)" % (name, rdtype), r)
    got = sorted(x[3] for x in r.answer if x[2] == rdtype)
    if rdtype == "AAAA":
        got, want = sorted(norm6(x) for x in got), sorted(norm6(x) for x in want)
    check_eq(got, sorted(want), "nsd data for %s %s (zone data)" % (name, rdtype), r)
    return r


def expect_synth(r, want, what):
    """r is a synthesized NOERROR answer whose AAAA set is want."""
    check_eq(r.rcode, "NOERROR", what + ": rcode", r)
    check_eq(aaaa(r), sorted(norm6(x) for x in want), what + ": synthesized AAAA", r)


def expect_nodata(r, what, soa=True):
    check_eq(r.rcode, "NOERROR", what + ": rcode", r)
    check_eq(types(r), [], what + ": answer must be empty", r)
    if soa:
        check(soa_owner(r) != [], what + ": NODATA must carry the SOA", r)


@contextlib.contextmanager
def daemon(conf=(), acl=DEFAULT_ACL, upstreams=None):
    """A dns64d of its own with nsd (or the given upstreams) for one test."""
    with Daemon(list(conf), acl, upstreams=upstreams or [nsd().addr]) as d:
        yield d


# --- self-check of the test's own embedding --------------------------------------------------------

def test_embed_helper_matches_rfc6052_table():
    for prefix, want in RFC6052_TABLE:
        check_eq(embed(prefix, "192.0.2.33"), norm6(want), "embed(%s)" % prefix)
    check_eq(embed(WKP, "192.0.2.33"), "64:ff9b::c000:221", "embed(WKP)")
    check_eq(ip6_arpa("64:ff9b::102:304"),
             "4.0.3.0.2.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa.", "ip6.arpa")


def test_zone_data_on_nsd():
    """The facts every other test relies on, asked of nsd directly."""
    zone_has("v4only.dns64.test", "A", ["1.2.3.4"])
    zone_has("v4only.dns64.test", "AAAA", [])
    zone_has("dual.dns64.test", "AAAA", ["2001:db8:d::6"])
    zone_has("v6only.dns64.test", "A", [])
    zone_has("empty.dns64.test", "A", [])
    zone_has("empty.dns64.test", "AAAA", [])
    zone_has("mapped4.dns64.test", "AAAA", ["::ffff:1.2.3.20"])
    zone_has("partex.dns64.test", "AAAA", ["::ffff:1.2.3.21", "2001:db8:d::21"])
    zone_has("private.dns64.test", "A", ["10.1.2.3"])
    zone_has("private.dns64.test", "AAAA", [])
    zone_has("rfc6052.dns64.test", "A", ["192.0.2.33"])
    zone_has("host.sa.dns64.test", "AAAA", ["2001:db8:d::40"])
    zone_has("host.nosyn.dns64.test", "AAAA", [])
    zone_has("4.3.2.1.in-addr.arpa", "PTR", ["v4only.dns64.test."])
    zone_has("33.2.0.192.in-addr.arpa", "PTR", ["rfc6052.dns64.test."])
    zone_has(ip6_arpa("2001:db8:d::7"), "PTR", ["v6only.dns64.test."])
    r = upstream("v4only.dns64.test", "AAAA")
    soa = [x for x in r.authority if x[2] == "SOA"]
    check(soa and soa[0][1] == 60 and soa[0][3].split()[-1] == "60",
          "dns64.test NODATA must carry SOA TTL 60 / MINIMUM 60", r)
    r = upstream("short.dns64ttl.test", "AAAA")
    soa = [x for x in r.authority if x[2] == "SOA"]
    check(soa and soa[0][1] == 3600 and soa[0][3].split()[-1] == "3600",
          "dns64ttl.test NODATA must carry SOA TTL 3600 / MINIMUM 3600", r)
    r = upstream("nothing.dns64.test", "AAAA")
    check_eq(r.rcode, "NXDOMAIN", "nothing.dns64.test must not exist", r)
    r = upstream("big.dns64.test", "A")
    check_eq(len(r.answer), 30, "big.dns64.test A count", r)


# --- synthesis and prefixes ------------------------------------------------------------------------

def test_v4only_wkp_96():
    r = q("v4only.dns64.test")
    expect_synth(r, [embed(WKP, "1.2.3.4")], "v4only WKP")
    check_eq(r.answer[0][0].lower(), "v4only.dns64.test.", "owner name", r)
    check_eq(norm6(r.answer[0][3]), "64:ff9b::102:304", "RFC 6052 /96 by hand", r)
    check("aa" not in r.flags, "synthesized answer is not authoritative", r)


def _global_prefix_case(prefix, want_rfc):
    with daemon(["prefix " + prefix]) as d:
        r = q("rfc6052.dns64.test", d=d)
        expect_synth(r, [embed(prefix, "192.0.2.33")], "prefix " + prefix)
        check_eq(aaaa(r), [norm6(want_rfc)], "RFC 6052 §2.4 table value", r)
        r = q("v4only.dns64.test", d=d)
        expect_synth(r, [embed(prefix, "1.2.3.4")], "prefix %s, 1.2.3.4" % prefix)
        # The prefix directive replaces the WKP: nothing under 64:ff9b:: any more.
        r = q("ipv4only.arpa", d=d)
        expect_synth(r, [embed(prefix, "192.0.0.170"), embed(prefix, "192.0.0.171")],
                     "ipv4only.arpa with prefix " + prefix)


def test_prefix_len_32():
    _global_prefix_case(*RFC6052_TABLE[0])


def test_prefix_len_40():
    _global_prefix_case(*RFC6052_TABLE[1])


def test_prefix_len_48():
    _global_prefix_case(*RFC6052_TABLE[2])


def test_prefix_len_56():
    _global_prefix_case(*RFC6052_TABLE[3])


def test_prefix_len_64():
    _global_prefix_case(*RFC6052_TABLE[4])


def test_prefix_len_96_network_specific():
    _global_prefix_case(*RFC6052_TABLE[5])


def test_per_client_prefix_96():
    r = q("v4only.dns64.test", src="127.0.0.3")
    expect_synth(r, [embed(CLIENT_PREFIX, "1.2.3.4")], "client 127.0.0.3 prefix " + CLIENT_PREFIX)
    # 192.0.2.33 is TEST-NET-1: not global, but this is a network-specific prefix.
    r = q("rfc6052.dns64.test", src="127.0.0.3")
    expect_synth(r, [embed(CLIENT_PREFIX, "192.0.2.33")], "client .3, non-global address")


def test_per_client_prefix_each_length():
    for src, prefix in LEN_CLIENTS.items():
        r = q("rfc6052.dns64.test", src=src)
        expect_synth(r, [embed(prefix, "192.0.2.33")], "client %s prefix %s" % (src, prefix))
        r = q("multi.dns64.test", src=src)
        expect_synth(r, [embed(prefix, a) for a in ("1.2.3.10", "1.2.3.11", "1.2.3.12")],
                     "client %s several A" % src)


def test_cache_does_not_leak_between_clients():
    """The same name asked by clients with different policies, the dns64 one first."""
    name = "v4short.dns64.test"
    zone_has(name, "A", ["1.2.3.5"])
    r = q(name, src="127.0.0.1")
    expect_synth(r, [embed(WKP, "1.2.3.5")], "first ask, WKP client")
    expect_nodata(q(name, src="127.0.0.2"), "forward client after a synthesized answer")
    expect_synth(q(name, src="127.0.0.3"), [embed(CLIENT_PREFIX, "1.2.3.5")], "per-client prefix")
    expect_synth(q(name, src="127.0.0.5"), [embed("2001:db8:100::/40", "1.2.3.5")], "/40 client")
    expect_synth(q(name, src="127.0.0.1"), [embed(WKP, "1.2.3.5")], "WKP client again")


# --- answers that are passed on ----------------------------------------------------------------------

def test_dual_stack_untouched():
    zone_has("dual.dns64.test", "A", ["1.2.3.6"])
    r = q("dual.dns64.test")
    check_eq(r.rcode, "NOERROR", "rcode", r)
    check_eq(aaaa(r), ["2001:db8:d::6"], "real AAAA only", r)
    check(29 not in r.ede, "no EDE 29 on a real answer", r)


def test_aaaa_only_name():
    r = q("v6only.dns64.test")
    check_eq(aaaa(r), ["2001:db8:d::7"], "AAAA-only name", r)
    expect_nodata(q("v6only.dns64.test", "A"), "A of an AAAA-only name")


def test_nxdomain_passed():
    r = q("nothing.dns64.test")
    check_eq(r.rcode, "NXDOMAIN", "NXDOMAIN passed through", r)
    check_eq(types(r), [], "no answer records", r)
    check_eq(soa_owner(r), ["dns64.test."], "SOA in authority", r)
    r = q("deeper.nothing.dns64.test", src="127.0.0.3")
    check_eq(r.rcode, "NXDOMAIN", "NXDOMAIN for a per-client prefix client", r)


def test_nodata_both():
    r = q("empty.dns64.test")
    expect_nodata(r, "no A and no AAAA")
    check_eq(soa_owner(r), ["dns64.test."], "SOA owner", r)
    check(29 not in r.ede, "no EDE 29 when nothing was synthesized", r)


def test_a_and_other_types_untouched():
    r = q("v4only.dns64.test", "A")
    check_eq(r.rdatas("A"), ["1.2.3.4"], "A query answered with A", r)
    check(29 not in r.ede, "no EDE 29 on A", r)
    r = q("empty.dns64.test", "TXT")
    check_eq(r.rdatas("TXT"), ['"no address here"'], "TXT passed", r)
    expect_nodata(q("v4only.dns64.test", "MX"), "MX NODATA is not touched")


def test_several_a_records():
    zone_has("multi.dns64.test", "A", ["1.2.3.10", "1.2.3.11", "1.2.3.12"])
    r = q("multi.dns64.test")
    expect_synth(r, [embed(WKP, a) for a in ("1.2.3.10", "1.2.3.11", "1.2.3.12")], "several A")
    check_eq(sorted(set(x[0].lower() for x in r.answer)), ["multi.dns64.test."], "owners", r)


def test_cname_chain_to_v4only():
    zone_has("chainend.dns64.test", "A", ["93.184.216.34"])
    r = q("chain1.dns64.test")
    check_eq(r.rcode, "NOERROR", "rcode", r)
    got = [(x[0].lower(), x[2], x[3].lower() if x[2] == "CNAME" else norm6(x[3])) for x in r.answer]
    want = [("chain1.dns64.test.", "CNAME", "chain2.dns64.test."),
            ("chain2.dns64.test.", "CNAME", "chainend.dns64.test."),
            ("chainend.dns64.test.", "AAAA", embed(WKP, "93.184.216.34"))]
    check_eq(got, want, "CNAME chain kept in order, AAAA owned by the chain's end", r)


def test_dname_chain_to_v4only():
    zone_has("host.dtarget.dns64.test", "A", ["93.184.216.35"])
    r = q("host.dname.dns64.test")
    check_eq(r.rcode, "NOERROR", "rcode", r)
    got = [(x[0].lower(), x[2]) for x in r.answer]
    check_eq(got, [("dname.dns64.test.", "DNAME"), ("host.dname.dns64.test.", "CNAME"),
                   ("host.dtarget.dns64.test.", "AAAA")], "DNAME, CNAME, AAAA in order", r)
    check_eq(aaaa(r), [embed(WKP, "93.184.216.35")], "synthesized at the end", r)


def test_ttl_soa_minimum_bounds():
    zone_has("ttl300.dns64.test", "A", ["1.2.3.7"])
    check_eq(upstream("ttl300.dns64.test", "A").answer[0][1], 300, "A TTL on nsd")
    r = q("ttl300.dns64.test")
    expect_synth(r, [embed(WKP, "1.2.3.7")], "ttl300")
    check(58 <= r.answer[0][1] <= 60, "A TTL 300, SOA MINIMUM 60: TTL must be 60", r)


def test_ttl_a_ttl_bounds():
    r = q("short.dns64ttl.test")
    expect_synth(r, [embed(WKP, "1.2.5.1")], "short")
    check(28 <= r.answer[0][1] <= 30, "A TTL 30, SOA MINIMUM 3600: TTL must be 30", r)
    r = q("long.dns64ttl.test")
    expect_synth(r, [embed(WKP, "1.2.5.2")], "long")
    check(1198 <= r.answer[0][1] <= 1200, "A TTL 1200, SOA MINIMUM 3600: TTL must be 1200", r)
    check_eq(upstream("ttl20.dns64.test", "A").answer[0][1], 20, "A TTL on nsd")
    r = q("ttl20.dns64.test", src="127.0.0.7")
    expect_synth(r, [embed(LEN_CLIENTS["127.0.0.7"], "1.2.3.8")], "ttl20")
    check(18 <= r.answer[0][1] <= 20, "A TTL 20, SOA MINIMUM 60: TTL must be 20", r)


def test_additional_and_authority_from_a_answer():
    """§5.4 / §5.3.2: authority and additional as in the upstream A answer; no AAAA made there."""
    want = upstream("multi.dns64.test", "A")
    r = q("multi.dns64.test", src="127.0.0.4")
    expect_synth(r, [embed("2001:db8::/32", a) for a in ("1.2.3.10", "1.2.3.11", "1.2.3.12")],
                 "multi /32")
    for sec in ("authority", "additional"):
        check_eq([x for x in r.rrset(sec) if x[1] not in ("RRSIG",)],
                 [x for x in want.rrset(sec) if x[1] not in ("RRSIG",)],
                 sec + " section as in nsd's A answer", r, want)


# --- exclusion --------------------------------------------------------------------------------------

def test_excluded_aaaa_only():
    r = q("mapped4.dns64.test")
    expect_synth(r, [embed(WKP, "1.2.3.20")], "only ::ffff:1.2.3.20: synthesize from A")
    check(all(not norm6(x[3]).startswith("::ffff:") for x in r.answer if x[2] == "AAAA"),
          "excluded AAAA must never be returned", r)


def test_partly_excluded():
    r = q("partex.dns64.test")
    check_eq(r.rcode, "NOERROR", "rcode", r)
    check_eq(aaaa(r), ["2001:db8:d::21"], "only the non-excluded AAAA, no synthesis", r)
    check(29 not in r.ede, "no EDE 29: nothing synthesized", r)


def test_custom_exclude():
    zone_has("badv6.dns64.test", "AAAA", ["2001:db8:bad::22"])
    with daemon(["exclude 2001:db8:bad::/48", "exclude 2001:db8:d::21/128"]) as d:
        expect_synth(q("badv6.dns64.test", d=d), [embed(WKP, "1.2.3.22")], "AAAA in custom exclude")
        r = q("partex.dns64.test", d=d)
        # Explicit exclude lines replace the default ::ffff:0:0/96 (config.h).
        check_eq(aaaa(r), ["::ffff:102:315"], "2001:db8:d::21 excluded, ::ffff: no longer is", r)
        check_eq(aaaa(q("dual.dns64.test", d=d)), ["2001:db8:d::6"], "other AAAA untouched")
    check_eq(aaaa(q("badv6.dns64.test")), ["2001:db8:bad::22"], "default exclude: AAAA kept")


# --- ACL roles --------------------------------------------------------------------------------------

def test_forward_client_no_synthesis():
    r = q("v4only.dns64.test", src="127.0.0.2")
    expect_nodata(r, "forward client")
    check(29 not in r.ede, "no EDE 29 for forward client", r)
    r = q("mapped4.dns64.test", src="127.0.0.2")
    check_eq(aaaa(r), ["::ffff:102:314"], "forward client: no exclusion filtering either", r)


def test_refused_clients():
    r = q("v4only.dns64.test", src="127.0.0.9")
    check_eq(r.rcode, "REFUSED", "refuse rule", r)
    check_eq(types(r), [], "no answer", r)
    r = q("v4only.dns64.test", src="127.0.0.11")
    check_eq(r.rcode, "REFUSED", "client matching no rule", r)


def test_ipv6_client():
    d = main()
    r = dig(d.port, "v4only.dns64.test", "AAAA", server="::1")
    expect_synth(r, [embed(WKP, "1.2.3.4")], "client ::1 (ACL ::1/128 dns64)")
    r = dig(d.port, "v4only.dns64.test", "AAAA", server="::1", tcp=True)
    expect_synth(r, [embed(WKP, "1.2.3.4")], "client ::1 over TCP")


def test_dropped_client():
    r = q("v4only.dns64.test", src="127.0.0.10", timeout=1)
    check(r.timed_out, "drop rule: no answer at all", r)
    main()


# --- DNSSEC -------------------------------------------------------------------------------------------

def _need_signed():
    zones()
    if not _env["signed"]:
        raise SkipTest("ldns-signzone not installed: dns64.test is not signed")


def test_cd_do_no_synthesis():
    _need_signed()
    r = q("v4only.dns64.test", opts=("+dnssec", "+cdflag"))
    expect_nodata(r, "CD+DO")
    want = upstream("v4only.dns64.test", "AAAA", opts=("+dnssec",))
    check("NSEC" in types(want, "authority"), "nsd gives NSEC proof with DO", want)
    check_eq(r.rrset("authority"), want.rrset("authority"), "the real negative answer", r, want)
    check(29 not in r.ede, "no EDE 29", r)


def test_do_only_synthesis():
    _need_signed()
    want = upstream("v4only.dns64.test", "A", opts=("+dnssec",))
    check("RRSIG" in types(want), "nsd signs the A answer", want)
    r = q("v4only.dns64.test", src="127.0.0.8", opts=("+dnssec",))
    expect_synth(r, [embed(LEN_CLIENTS["127.0.0.8"], "1.2.3.4")], "DO without CD")
    check("ad" not in r.flags, "AD must be clear on synthesized data", r)
    check("RRSIG" not in types(r), "no RRSIG in the synthesized answer", r)
    check_eq(types(r), ["AAAA"], "only the AAAA", r)
    r = q("chain1.dns64.test", src="127.0.0.8", opts=("+dnssec",))
    check_eq(aaaa(r), [embed(LEN_CLIENTS["127.0.0.8"], "93.184.216.34")], "DO, chain", r)
    sigs = [x[3].split()[0] for x in r.answer if x[2] == "RRSIG"]
    check(sigs and set(sigs) == {"CNAME"}, "the chain's RRSIG CNAME kept, none for AAAA or A", r)
    check("ad" not in r.flags, "AD clear", r)


def test_do_real_aaaa_keeps_rrsig():
    _need_signed()
    r = q("dual.dns64.test", opts=("+dnssec",))
    check_eq(aaaa(r), ["2001:db8:d::6"], "real AAAA", r)
    check("RRSIG" in types(r), "DO passed upstream, RRSIG AAAA passed back", r)


def test_cd_do_chain_not_synthesized():
    _need_signed()
    r = q("chain1.dns64.test", src="127.0.0.3", opts=("+dnssec", "+cdflag"))
    check_eq(r.rcode, "NOERROR", "rcode", r)
    check("AAAA" not in types(r), "CD+DO: no synthesis at the chain's end", r)
    check_eq([x[0].lower() for x in r.answer if x[2] == "CNAME"],
             ["chain1.dns64.test.", "chain2.dns64.test."], "chain as upstream gave it", r)


# --- PTR ------------------------------------------------------------------------------------------------

def test_ptr_synthesized_wkp():
    name = ip6_arpa(embed(WKP, "1.2.3.4"))
    r = q(name, "PTR")
    check_eq(r.rcode, "NOERROR", "rcode", r)
    got = [(x[0].lower(), x[2], x[3].lower()) for x in r.answer]
    check_eq(got, [(name, "CNAME", "4.3.2.1.in-addr.arpa."),
                   ("4.3.2.1.in-addr.arpa.", "PTR", "v4only.dns64.test.")],
             "CNAME to in-addr.arpa, then its PTR", r)


def test_ptr_network_specific_prefix():
    prefix = LEN_CLIENTS["127.0.0.5"]
    name = ip6_arpa(embed(prefix, "192.0.2.33"))
    r = q(name, "PTR", src="127.0.0.5")
    got = [(x[0].lower(), x[2], x[3].lower()) for x in r.answer]
    check_eq(got, [(name, "CNAME", "33.2.0.192.in-addr.arpa."),
                   ("33.2.0.192.in-addr.arpa.", "PTR", "rfc6052.dns64.test.")],
             "PTR under the client's /40 prefix", r)
    r = q(ip6_arpa(embed(CLIENT_PREFIX, "1.2.3.4")), "PTR", src="127.0.0.3")
    check_eq([x[3].lower() for x in r.answer], ["4.3.2.1.in-addr.arpa.", "v4only.dns64.test."],
             "PTR under the per-client /96 prefix", r)


def test_ptr_target_without_ptr():
    zone_has("5.3.2.1.in-addr.arpa", "PTR", [])
    r = q(ip6_arpa(embed(WKP, "1.2.3.5")), "PTR")
    check_eq([(x[2], x[3].lower()) for x in r.answer], [("CNAME", "5.3.2.1.in-addr.arpa.")],
             "CNAME, then the upstream's (empty) answer", r)
    check_eq(r.rcode, "NOERROR", "rcode of the in-addr.arpa answer", r)
    r = q(ip6_arpa(embed(WKP, "1.2.9.9")), "PTR")
    check_eq([(x[2], x[3].lower()) for x in r.answer], [("CNAME", "9.9.2.1.in-addr.arpa.")],
             "CNAME for a non-existent in-addr.arpa name", r)
    check_eq(r.rcode, "NXDOMAIN", "rcode of the in-addr.arpa answer", r)


def test_ptr_outside_prefix_forwarded():
    r = q(ip6_arpa("2001:db8:d::7"), "PTR")
    check_eq([(x[2], x[3].lower()) for x in r.answer], [("PTR", "v6only.dns64.test.")],
             "PTR outside the synthesis prefix comes from upstream", r)


def test_ptr_forward_client_no_cname():
    r = q(ip6_arpa(embed(WKP, "1.2.3.4")), "PTR", src="127.0.0.2")
    check("CNAME" not in types(r), "forward client: PTR is not rewritten", r)
    check(r.rcode in ("REFUSED", "SERVFAIL", "NXDOMAIN"), "nsd has no such zone", r)


# --- ipv4only.arpa -------------------------------------------------------------------------------------

def test_ipv4only_arpa_aaaa():
    for src, prefix in (("127.0.0.1", WKP), ("127.0.0.3", CLIENT_PREFIX),
                        ("127.0.0.5", LEN_CLIENTS["127.0.0.5"])):
        r = q("ipv4only.arpa", src=src)
        expect_synth(r, [embed(prefix, "192.0.0.170"), embed(prefix, "192.0.0.171")],
                     "ipv4only.arpa for %s (%s)" % (src, prefix))
        check_eq(sorted(set(x[0].lower() for x in r.answer)), ["ipv4only.arpa."], "owner", r)
    check_eq(aaaa(q("ipv4only.arpa")), ["64:ff9b::c000:aa", "64:ff9b::c000:ab"], "RFC 7050 values")


def test_ipv4only_arpa_a():
    r = q("ipv4only.arpa", "A")
    check_eq(r.rcode, "NOERROR", "rcode", r)
    check_eq(r.rdatas("A"), ["192.0.0.170", "192.0.0.171"], "well-known addresses", r)


def test_ipv4only_arpa_no_upstream():
    with QueryCounter(nsd().port) as qc, daemon(upstreams=[qc.addr]) as d:
        expect_synth(q("IPv4only.Arpa", d=d), ["64:ff9b::c000:aa", "64:ff9b::c000:ab"], "mixed case")
        check_eq(q("ipv4only.arpa", "A", d=d).rdatas("A"), ["192.0.0.170", "192.0.0.171"], "A")
        check_eq(qc.count("ipv4only.arpa"), 0, "no upstream query for ipv4only.arpa")
        expect_synth(q("v4only.dns64.test", d=d), [embed(WKP, "1.2.3.4")], "counter works")
        check(qc.count("v4only.dns64.test", "A") >= 1, "the A lookup went through the counter")


# --- controls -------------------------------------------------------------------------------------------

def test_synth_all():
    zone_has("host.sa.dns64.test", "A", ["1.2.3.40"])
    r = q("host.sa.dns64.test")
    expect_synth(r, [embed(WKP, "1.2.3.40")], "synth-all ignores the real AAAA")
    check(29 in r.ede, "EDE 29 on synth-all answer", r)
    expect_synth(q("sa.dns64.test", src="127.0.0.3"), [embed(CLIENT_PREFIX, "1.2.3.41")],
                 "synth-all applies at the domain itself")
    check_eq(aaaa(q("dual.dns64.test")), ["2001:db8:d::6"], "outside synth-all untouched")


def test_no_synth():
    zone_has("host.nosyn.dns64.test", "A", ["1.2.3.50"])
    expect_nodata(q("host.nosyn.dns64.test"), "no-synth domain")
    expect_nodata(q("host.nosyn.dns64.test", src="127.0.0.3"), "no-synth, per-client prefix")


def test_non_global_with_wkp():
    expect_nodata(q("private.dns64.test"), "10.1.2.3 with the WKP")
    # 192.0.2.33 (TEST-NET-1) is not global either.
    expect_nodata(q("rfc6052.dns64.test"), "192.0.2.33 with the WKP")


def test_non_global_mixed_with_wkp():
    zone_has("mixed.dns64.test", "A", ["1.2.3.30", "10.1.2.4"])
    r = q("mixed.dns64.test")
    expect_synth(r, [embed(WKP, "1.2.3.30")], "only the global A")


def test_non_global_network_specific():
    expect_synth(q("private.dns64.test", src="127.0.0.4"), [embed("2001:db8::/32", "10.1.2.3")],
                 "10.1.2.3 with a network-specific /32")
    expect_synth(q("private.dns64.test", src="127.0.0.3"), [embed(CLIENT_PREFIX, "10.1.2.3")],
                 "10.1.2.3 with a network-specific /96")
    expect_synth(q("mixed.dns64.test", src="127.0.0.3"),
                 [embed(CLIENT_PREFIX, "10.1.2.4"), embed(CLIENT_PREFIX, "1.2.3.30")],
                 "both A with a network-specific prefix")


def test_mapped():
    with daemon(["mapped 10.0.0.0/8"]) as d:
        expect_synth(q("private.dns64.test", d=d), [embed(WKP, "10.1.2.3")], "mapped 10/8, WKP")
        expect_synth(q("mixed.dns64.test", d=d), [embed(WKP, "10.1.2.4")],
                     "mapped lists what may be synthesized: 1.2.3.30 is outside")
        expect_nodata(q("v4only.dns64.test", d=d), "1.2.3.4 outside mapped")
        check_eq(aaaa(q("ipv4only.arpa", d=d)), ["64:ff9b::c000:aa", "64:ff9b::c000:ab"],
                 "ipv4only.arpa is not subject to mapped")


def test_ede29():
    r = q("v4only.dns64.test")
    check(r.edns is not None, "EDNS client gets OPT", r)
    check(29 in r.ede, "EDE 29 (Synthesized) in a synthesized answer", r)
    r = q("chain1.dns64.test", src="127.0.0.3")
    check(29 in r.ede, "EDE 29 after a CNAME chain", r)


def test_no_edns_client():
    r = q("v4only.dns64.test", opts=("+noedns",))
    expect_synth(r, [embed(WKP, "1.2.3.4")], "client without EDNS")
    check(r.edns is None, "no OPT for a client without EDNS", r)
    check_eq(r.ede, [], "no EDE without EDNS", r)


# --- upstream errors: synth-on any-error / nodata ----------------------------------------------------

def _error_rewrite(qwire, awire):
    """Scripted upstream: AAAA for sf-* -> SERVFAIL, rf-* -> REFUSED, ede-* -> SERVFAIL with
    EDE 6 (DNSSEC Bogus); everything else as nsd answered."""
    qm = dns.message.from_wire(qwire)
    if not qm.question or qm.question[0].rdtype != dns.rdatatype.AAAA:
        return awire
    label = qm.question[0].name.labels[0].decode().lower()
    if label.startswith("sf-"):
        rcode, opts = dns.rcode.SERVFAIL, None
    elif label.startswith("rf-"):
        rcode, opts = dns.rcode.REFUSED, None
    elif label.startswith("ede-"):
        rcode, opts = dns.rcode.SERVFAIL, [dns.edns.EDEOption(dns.edns.EDECode.DNSSEC_BOGUS)]
    else:
        return awire
    r = dns.message.make_response(qm)
    r.set_rcode(rcode)
    if opts is not None:
        r.use_edns(0, 0, 1232, options=opts)
    return r.to_wire()


ERROR_TIMEOUT_MS = 2000


def _error_drop(rec):
    return rec["type"] == "AAAA" and (rec["name"] or "").startswith("drop-")


@contextlib.contextmanager
def error_upstream(conf=()):
    # the timeout is what the drop- names wait for, and what every other answer (through the
    # counter's threads to nsd) must beat on a busy machine
    with QueryCounter(nsd().port, rewrite=_error_rewrite, drop=_error_drop) as qc, \
            daemon(["timeout %d" % ERROR_TIMEOUT_MS] + list(conf), upstreams=[qc.addr]) as d:
        yield qc, d


def test_any_error_servfail_synthesized():
    zone_has("sf-host.dns64.test", "A", ["1.2.3.60"])
    with error_upstream() as (qc, d):
        r = q("sf-host.dns64.test", d=d)
        expect_synth(r, [embed(WKP, "1.2.3.60")], "AAAA SERVFAIL, synth-on any-error")
        check(598 <= r.answer[0][1] <= 600, "no SOA known: TTL min(3000, 600) = 600", r)
        r = q("sf-short.dns64.test", d=d)
        check(98 <= r.answer[0][1] <= 100, "no SOA known: TTL min(100, 600) = 100", r)
        r = q("sf-dual.dns64.test", d=d)
        expect_synth(r, [embed(WKP, "1.2.3.65")], "AAAA SERVFAIL hides the real AAAA: synthesize")
        check(qc.count("sf-host.dns64.test", "AAAA") >= 1, "AAAA went to the scripted upstream")


def test_any_error_refused_synthesized():
    with error_upstream() as (qc, d):
        expect_synth(q("rf-host.dns64.test", d=d), [embed(WKP, "1.2.3.62")], "AAAA REFUSED")


def test_any_error_timeout_synthesized():
    with error_upstream() as (qc, d):
        r = q("drop-host.dns64.test", d=d, timeout=2 * ERROR_TIMEOUT_MS / 1000.0 + SLACK)
        expect_synth(r, [embed(WKP, "1.2.3.64")], "AAAA timed out at every upstream")
        check(qc.count("drop-host.dns64.test", "AAAA") >= 1, "the AAAA query was sent", r)


def test_dnssec_ede_servfail_not_synthesized():
    with error_upstream() as (qc, d):
        r = q("ede-host.dns64.test", d=d)
        check_eq(r.rcode, "SERVFAIL", "SERVFAIL with EDE 6 is passed on", r)
        check_eq(types(r), [], "no synthesized AAAA over a DNSSEC failure", r)
        check(29 not in r.ede, "no EDE 29", r)


def test_synth_on_nodata():
    with error_upstream(["synth-on nodata"]) as (qc, d):
        r = q("sf-host.dns64.test", d=d)
        check_eq(r.rcode, "SERVFAIL", "synth-on nodata: SERVFAIL passed on", r)
        check_eq(types(r), [], "no synthesis", r)
        r = q("rf-host.dns64.test", d=d)
        check(r.rcode not in (None, "NOERROR"), "synth-on nodata: REFUSED is not synthesized over", r)
        check_eq(types(r), [], "no synthesis", r)
        r = q("drop-host.dns64.test", d=d, timeout=2 * ERROR_TIMEOUT_MS / 1000.0 + SLACK)
        check_eq(r.rcode, "SERVFAIL", "synth-on nodata: timeout gives SERVFAIL", r)
        expect_synth(q("v4only.dns64.test", d=d), [embed(WKP, "1.2.3.4")], "NODATA still synthesized")


def test_nxdomain_no_a_lookup():
    # prefetch-a asks A together with AAAA by design; without it, NXDOMAIN ends the lookup
    with error_upstream(["prefetch-a no"]) as (qc, d):
        r = q("nx-nothing.dns64.test", d=d)
        check_eq(r.rcode, "NXDOMAIN", "NXDOMAIN passed", r)
        check_eq(qc.count("nx-nothing.dns64.test", "A"), 0, "no A lookup after NXDOMAIN")
    with error_upstream() as (qc, d):
        r = q("nx-nothing.dns64.test", d=d)
        check_eq(r.rcode, "NXDOMAIN", "NXDOMAIN passed with prefetch-a too", r)
        check_eq(r.answer, [], "nothing synthesized", r)


def test_zz_shared_daemon_survived():
    """Last: the shared daemon is still up and stops cleanly."""
    main()
    r = q("v4only.dns64.test")
    expect_synth(r, [embed(WKP, "1.2.3.4")], "still answering")
    # Closing the stack stops the daemon with SIGTERM; Daemon.__exit__ raises if it crashed
    # or exits non-zero.
    _env.clear()
    _stack.close()


if __name__ == "__main__":
    run_tests(globals())

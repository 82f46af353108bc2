# Integration tests for several prefixes per client with rules per prefix, BIND's remaining
# dns64 options (recursive-only, break-dnssec) and AAAA-only clients (filter-a), issue 17.
#
# One nsd serves an unsigned zone (p64.test), a reverse zone for the PTR case and a zone
# signed at test time with ldns-keygen / ldns-signzone (sig.test). One dns64d serves every
# case: the clients are told apart by their source address (dig -b 127.0.0.N), each with an
# ACL line of its own, so no answer cached for one client is seen by another.
import atexit
import contextlib
import ipaddress
import os
import shutil
import subprocess
import sys
import re
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, Nsd, SkipTest, check, check_eq, dig, free_port, run_tests,  # noqa: E402
                     wait_until)

ZONE = """$ORIGIN p64.test.
$TTL 300
@       IN SOA ns.p64.test. hostmaster.p64.test. 1 3600 600 86400 60
@       IN NS  ns.p64.test.
ns      IN A   127.0.0.1
two     IN A   1.2.3.4
ten     IN A   10.1.2.3
mixed   IN A   1.2.3.7
mixed   IN A   10.9.9.9
excl    IN A   1.2.3.5
excl    IN AAAA 2001:db8:bad::1
dual    IN A   1.2.3.6
dual    IN AAAA 2001:db8:d::6
v6only  IN AAAA 2001:db8:d::7
private IN A   192.168.1.1
"""
REV = """$ORIGIN 1.in-addr.arpa.
$TTL 300
@       IN SOA ns.p64.test. hostmaster.p64.test. 1 3600 600 86400 60
@       IN NS  ns.p64.test.
4.3.2   IN PTR two.p64.test.
"""
SIGNED = """$ORIGIN sig.test.
$TTL 300
@       IN SOA ns.sig.test. hostmaster.sig.test. 1 3600 600 86400 60
@       IN NS  ns.sig.test.
ns      IN A   127.0.0.1
v4      IN A   1.2.3.9
"""

WKP = "64:ff9b::/96"
P64 = "2001:db8:64::/64"  # suffix ::ff:ffff, never 10/8, its own exclude list
P46 = "2001:db8:46::/96"  # only 10/8
CONF = [
    "prefix %s" % WKP,
    "prefix %s suffix ::ff:ffff mapped !10.0.0.0/8,any exclude 2001:db8:bad::/48,::ffff:0:0/96" % P64,
    "prefix %s mapped 10.0.0.0/8" % P46,
    "recursive-only yes",
    "break-dnssec no",
    "timeout 1000",
    "log-queries yes",
]
METRICS_PORT = free_port()
CONF.append("metrics 127.0.0.1:%d" % METRICS_PORT)
ACL = [
    "127.0.0.1 dns64",                                  # the default set: all three prefixes
    "127.0.0.2 dns64 %s %s" % (WKP, P64),               # two prefixes, WKP first
    "127.0.0.3 dns64 %s %s" % (P64, P46),               # disjoint mapped sets
    "127.0.0.4 dns64 %s" % P64,                         # its exclude list alone
    "127.0.0.5 dns64 %s filter-a" % WKP,                # an AAAA-only client
    "127.0.0.6 dns64 %s %s" % (P46, P64),               # the order of the ACL line
    "::1 dns64",
]


def embed(prefix, v4, suffix="::"):
    """RFC 6052 §2.2 embedding of v4 into prefix (u-octet skipped), then the suffix bits."""
    net = ipaddress.IPv6Network(prefix)
    out = bytearray(ipaddress.IPv6Address(suffix).packed)
    plen = net.prefixlen // 8
    out[:plen] = net.network_address.packed[:plen]
    pos = plen
    for b in ipaddress.IPv4Address(v4).packed:
        if pos == 8:
            out[8] = 0
            pos += 1
        out[pos] = b
        pos += 1
    return str(ipaddress.IPv6Address(bytes(out)))


def aaaa_list(r):
    """AAAA rdatas in the order of the answer section."""
    return [a[3] for a in r.answer if a[2] == "AAAA"]


_env = {}
_stack = contextlib.ExitStack()
atexit.register(_stack.close)


def sign_zone(text):
    """sig.test signed with a fresh ECDSA key (ldns-keygen, ldns-signzone): the zone file path."""
    for b in ("ldns-keygen", "ldns-signzone"):
        if not shutil.which(b):
            raise SkipTest("%s not installed (ldnsutils)" % b)
    d = tempfile.mkdtemp(prefix="dns64d-sig-")
    _stack.callback(shutil.rmtree, d, True)
    path = os.path.join(d, "sig.test.zone")
    with open(path, "w") as f:
        f.write(text)
    key = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "sig.test"], cwd=d, check=True,
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    subprocess.run(["ldns-signzone", "-n", path, key], cwd=d, check=True)
    return path + ".signed"


def env():
    """(nsd, dns64d) shared by every test, started on first use."""
    if not _env:
        ns = _stack.enter_context(Nsd({"p64.test": ZONE, "1.in-addr.arpa": REV, "sig.test": sign_zone(SIGNED)}))
        _env["d"] = _stack.enter_context(Daemon(CONF, ACL, upstreams=[ns.addr]))
    return _env["d"]


def ask(name, rdtype="AAAA", client="127.0.0.1", opts=()):
    d = env()
    r = dig(d.port, name, rdtype, source=client, opts=opts)
    check(r.rcode is not None, "no answer to %s %s from %s" % (name, rdtype, client), r)
    return r


def test_two_prefixes_for_one_client():
    r = ask("two.p64.test", client="127.0.0.2")
    check_eq(aaaa_list(r), [embed(WKP, "1.2.3.4"), embed(P64, "1.2.3.4", "::ff:ffff")],
             "one AAAA per prefix, in the ACL line's order", r)
    r = ask("mixed.p64.test", client="127.0.0.1")
    # per A record (A order), every prefix of the default set that maps it (prefix order)
    check_eq(aaaa_list(r), [embed(WKP, "1.2.3.7"), embed(P64, "1.2.3.7", "::ff:ffff"), embed(P46, "10.9.9.9")],
             "default set: WKP and P64 for the global address, P46 only for 10/8", r)
    r = ask("two.p64.test", client="127.0.0.6")
    check_eq(aaaa_list(r), [embed(P64, "1.2.3.4", "::ff:ffff")], "P46 maps only 10/8", r)


def test_per_prefix_mapped():
    r = ask("ten.p64.test", client="127.0.0.3")
    check_eq(aaaa_list(r), [embed(P46, "10.1.2.3")], "10/8 only through the prefix that maps it", r)
    r = ask("two.p64.test", client="127.0.0.3")
    check_eq(aaaa_list(r), [embed(P64, "1.2.3.4", "::ff:ffff")], "global address only through P64", r)
    r = ask("ten.p64.test", client="127.0.0.2")
    check_eq((r.rcode, aaaa_list(r)), ("NOERROR", []), "neither WKP (non-global) nor P64 (!10/8) maps 10/8", r)


def test_per_prefix_exclude():
    # P64 alone excludes 2001:db8:bad::/48: the AAAA is dropped and A synthesized with P64
    r = ask("excl.p64.test", client="127.0.0.4")
    check_eq(aaaa_list(r), [embed(P64, "1.2.3.5", "::ff:ffff")], "excluded AAAA -> synthesized", r)
    # with P46 too (global exclude, ::ffff:0:0/96 only) the AAAA is usable: passed on as is
    r = ask("excl.p64.test", client="127.0.0.3")
    check_eq(aaaa_list(r), ["2001:db8:bad::1"], "an AAAA one of the prefixes keeps", r)


def test_ptr_any_prefix():
    for client, prefix, suffix in (("127.0.0.2", P64, "::ff:ffff"), ("127.0.0.2", WKP, "::"),
                                   ("127.0.0.3", P46, "::")):
        name = ipaddress.IPv6Address(embed(prefix, "1.2.3.4", suffix)).reverse_pointer
        r = ask(name, "PTR", client=client)
        check_eq(r.rcode, "NOERROR", "PTR of %s for %s" % (prefix, client), r)
        check_eq([a[3] for a in r.answer if a[2] == "CNAME"], ["4.3.2.1.in-addr.arpa."], "CNAME", r)
        check_eq(r.rdatas("PTR"), ["two.p64.test."], "PTR through the CNAME", r)
    # the suffix is part of the address: the same /64 address without it is not one we made
    name = ipaddress.IPv6Address(embed(P64, "1.2.3.4")).reverse_pointer
    r = ask(name, "PTR", client="127.0.0.2")
    check_eq([a for a in r.answer if a[2] == "CNAME"], [], "no CNAME without the suffix", r)


def test_recursive_only():
    r = ask("two.p64.test", client="127.0.0.1", opts=("+nordflag",))
    check_eq((r.rcode, aaaa_list(r)), ("NOERROR", []), "RD=0: no synthesis under recursive-only", r)
    r = ask("two.p64.test", client="127.0.0.1", opts=("+rdflag",))
    check(len(aaaa_list(r)) == 2, "RD=1: synthesized", r)


def test_break_dnssec_no():
    r = ask("v4.sig.test", "A", client="127.0.0.1", opts=("+dnssec", "+nocdflag"))
    check(r.rdatas("RRSIG"), "the signed zone's A answer carries an RRSIG with DO=1", r)
    r = ask("v4.sig.test", client="127.0.0.1", opts=("+dnssec", "+nocdflag"))
    check_eq((r.rcode, aaaa_list(r)), ("NOERROR", []), "DO=1, signed A: not synthesized", r)
    r = ask("v4.sig.test", client="127.0.0.1", opts=("+nodnssec",))
    check(embed(WKP, "1.2.3.9") in aaaa_list(r), "DO=0: synthesized", r)
    r = ask("two.p64.test", client="127.0.0.1", opts=("+dnssec", "+nocdflag"))
    check(embed(WKP, "1.2.3.4") in aaaa_list(r), "DO=1, unsigned A: synthesized", r)


def test_filter_a():
    # a real AAAA: the A query is NODATA
    r = ask("dual.p64.test", "A", client="127.0.0.5")
    check_eq((r.rcode, r.answer), ("NOERROR", []), "A NODATA when a real AAAA exists", r)
    # a synthesized AAAA: NODATA with the SOA of the AAAA answer
    r = ask("two.p64.test", "A", client="127.0.0.5")
    check_eq((r.rcode, r.answer), ("NOERROR", []), "A NODATA when the AAAA is synthesized", r)
    check_eq([a[2] for a in r.authority], ["SOA"], "the upstream's SOA", r)
    # nothing synthesizable (the WKP maps no private address) and no AAAA: the A answer
    r = ask("private.p64.test", "A", client="127.0.0.5")
    check_eq(r.rdatas("A"), ["192.168.1.1"], "A kept when the client gets no AAAA", r)
    check_eq(aaaa_list(ask("private.p64.test", client="127.0.0.5")), [], "and indeed no AAAA", r)
    # clients without filter-a see A records as always
    r = ask("dual.p64.test", "A", client="127.0.0.2")
    check_eq(r.rdatas("A"), ["1.2.3.6"], "no filter-a: A answered", r)
    # a name without any address stays NODATA, one that does not exist NXDOMAIN
    check_eq(ask("v6only.p64.test", "A", client="127.0.0.5").rcode, "NOERROR", "v6only A")
    check_eq(ask("nope.p64.test", "A", client="127.0.0.5").rcode, "NXDOMAIN", "NXDOMAIN passed on")


def synthesized_counts():
    """dns64d_synthesized_total by prefix label."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % METRICS_PORT, timeout=10) as f:
        text = f.read().decode()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r'^dns64d_synthesized_total\{prefix="([^"]+)"\} (\d+)$', text, re.M)}


def test_counts_and_log():
    env()
    before = synthesized_counts()
    # twice: the second answer comes from the synthesized-answer cache and counts the same
    for _ in range(2):
        r = ask("mixed.p64.test", client="127.0.0.1")
        check_eq(len(aaaa_list(r)), 3, "mixed: three AAAA", r)
    ask("ten.p64.test", client="127.0.0.3")  # P46 only
    after = synthesized_counts()
    ask("two.p64.test", "A", client="127.0.0.5")
    ask("two.p64.test", client="127.0.0.2")
    ask("two.p64.test", client="127.0.0.1", opts=("+nordflag",))
    ask("v4.sig.test", client="127.0.0.1", opts=("+dnssec", "+nocdflag"))
    delta = {p: after.get(p, 0) - before.get(p, 0) for p in (WKP, P64, P46)}
    check_eq(delta, {WKP: 2, P64: 2, P46: 3}, "each prefix that made records is counted", after)
    # the log line is written after the answer is sent: wait for it
    wants = [r"name 'two\.p64\.test\.' type 'A' .*reason 'filter_a'",  # filter-a
             r"prefix '%s,%s'" % (re.escape(WKP), re.escape(P64)),  # the client's prefixes
             r"name 'two\.p64\.test\.' type 'AAAA' .*reason 'not_recursive'",
             r"name 'v4\.sig\.test\.' type 'AAAA' .*reason 'signed_a'"]
    wait_until(lambda: all(re.search(w, env().log_text()) for w in wants), timeout=10)
    log = env().log_text()
    for w in wants:
        check(re.search(w, log), "query log: %r" % w, log)


def test_stop_clean():
    """Last: the shared daemon stops cleanly (under ASan a leak or error fails here, not in atexit)."""
    d = env()
    d.expect_exit = True  # stopped here: the exit stack at the end only cleans up
    code = d.stop()
    log = d.log_text()
    check_eq(code, 0, "dns64d exit code after SIGTERM", log)
    check("Sanitizer" not in log and "runtime error" not in log, "sanitizer report", log)


if __name__ == "__main__":
    run_tests(globals())

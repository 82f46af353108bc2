# Integration tests for per-domain upstreams (issue 15, "Per-domain upstreams"): `forward DOMAIN
# UPSTREAM...` sends queries at or under DOMAIN to its own upstreams, the longest DOMAIN wins,
# everything else goes to the global `upstream` list; DNS64 applies to forwarded names too.
#
# Two nsd instances: the "router" (nsd1) serves a.test and 168.192.in-addr.arpa; the "ISP"
# (nsd2) serves b.a.test and other.test, and decoys of a.test and 168.192.in-addr.arpa that
# only a misrouted query would see. A QueryCounter in front of each path tells which upstream
# was asked: qc_router (nsd1) for forward a.test and 168.192.in-addr.arpa, qc_child (nsd2)
# for forward b.a.test, qc_global (nsd2) as the global upstream.
import contextlib
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DNS64D_BIN, Daemon, Nsd, QueryCounter, check, check_eq, dig,  # noqa: E402
                     free_port, run_daemon_cmd, run_tests, wait_until)

PREFIX = "2001:db8:64::/96"  # network-specific: private IPv4 addresses are synthesized too
ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 forward", "::1/128 dns64"]
CONTROL_BIN = os.environ.get("DNS64D_CONTROL_BIN",
                             os.path.join(os.path.dirname(DNS64D_BIN), "dns64d-control"))


def _zone(origin, body):
    return ("$ORIGIN %s\n$TTL 300\n"
            "@ IN SOA ns.%s hostmaster.%s 1 3600 600 86400 300\n"
            "@ IN NS ns.%s\n%s\n" % (origin, origin, origin, origin, body))


ROUTER = {
    "a.test.": _zone("a.test.", "www IN A 192.168.1.10\n"
                                "v4only IN A 192.168.1.20\n"
                                "nosynth IN A 192.168.1.40\n"
                                "dual IN A 192.168.1.30\ndual IN AAAA 2001:db8::30\n"
                                "late IN A 192.168.1.50\n"),
    "168.192.in-addr.arpa.": _zone("168.192.in-addr.arpa.", "20.1 IN PTR v4only.a.test.\n"),
}
ISP = {
    "b.a.test.": _zone("b.a.test.", "www IN A 192.168.2.10\n"),
    "other.test.": _zone("other.test.", "www IN A 192.168.3.10\n"),
    # decoys: what the global upstream says about the router's names
    "a.test.": _zone("a.test.", "www IN A 10.99.0.1\nv4only IN A 10.99.0.1\nlate IN A 10.99.0.5\n"),
    "168.192.in-addr.arpa.": _zone("168.192.in-addr.arpa.", "20.1 IN PTR leaked.example.\n"),
}


@contextlib.contextmanager
def sockdir():
    d = tempfile.mkdtemp(prefix="dns64d-fwd-")
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def env():
    with sockdir() as sd, Nsd(ROUTER) as nsd1, Nsd(ISP) as nsd2, \
            QueryCounter(nsd1.port) as qr, QueryCounter(nsd2.port) as qb, QueryCounter(nsd2.port) as qg:
        mport = free_port()
        sock = os.path.join(sd, "control")
        conf = ["prefix " + PREFIX, "prefetch-a no", "timeout 1000",
                "metrics 127.0.0.1:%d" % mport, "control " + sock,
                "forward a.test %s" % qr.addr,
                "forward B.A.test. %s" % qb.addr,  # case and a final dot do not matter
                "forward 168.192.in-addr.arpa %s" % qr.addr,
                "no-synth nosynth.a.test"]
        with Daemon(conf, ACL, upstreams=[qg.addr]) as d:
            d.qr, d.qb, d.qg, d.mport, d.sock = qr, qb, qg, mport, sock
            yield d


def asked(qc, name, rdtype):
    return qc.count(name, rdtype)


def test_forward_zones():
    with env() as d:
        qr, qb, qg = d.qr, d.qb, d.qg
        # a forwarded name goes to its zone's upstream, not to the global one
        r = dig(d.port, "www.a.test", "A")
        check_eq(r.rdatas("A"), ["192.168.1.10"], "www.a.test from the router", r)
        check_eq((asked(qr, "www.a.test", "A"), asked(qg, "www.a.test", "A")), (1, 0), "who was asked")
        r = dig(d.port, "WWW.A.TEST", "MX")  # any case
        check_eq(r.rcode, "NOERROR", "MX from the router", r)
        check_eq(asked(qr, "www.a.test", "MX"), 1, "the router asked for the MX in any case")

        # longest match: b.a.test is under a.test, but its own forward wins
        r = dig(d.port, "www.b.a.test", "A")
        check_eq(r.rdatas("A"), ["192.168.2.10"], "www.b.a.test from the ISP's b.a.test", r)
        check_eq((asked(qb, "www.b.a.test", "A"), asked(qr, "www.b.a.test", "A"),
                  asked(qg, "www.b.a.test", "A")), (1, 0, 0), "b.a.test's own upstream only")

        # everything else: the global list
        r = dig(d.port, "www.other.test", "A")
        check_eq(r.rdatas("A"), ["192.168.3.10"], "www.other.test via the global upstream", r)
        check_eq((asked(qg, "www.other.test", "A"), asked(qr, "www.other.test", "A"),
                  asked(qb, "www.other.test", "A")), (1, 0, 0), "global upstream only")
        # a name that only ends like a zone is not in it
        r = dig(d.port, "xa.test", "A")
        check_eq(asked(qg, "xa.test", "A"), 1, "xa.test is not under a.test", r)

        # DNS64 applies to a forwarded A-only name
        r = dig(d.port, "v4only.a.test", "AAAA")
        check_eq(r.rdatas("AAAA"), ["2001:db8:64::c0a8:114"], "synthesized from the router's A", r)
        check_eq((asked(qr, "v4only.a.test", "AAAA"), asked(qr, "v4only.a.test", "A")), (1, 1),
                 "AAAA and then A asked of the router")
        check_eq(asked(qg, "v4only.a.test", None), 0, "nothing about v4only.a.test asked globally")
        r = dig(d.port, "dual.a.test", "AAAA")
        check_eq(r.rdatas("AAAA"), ["2001:db8::30"], "a real AAAA is passed on", r)
        # ... and no-synth too
        r = dig(d.port, "nosynth.a.test", "AAAA")
        check_eq((r.rcode, r.rdatas("AAAA")), ("NOERROR", []), "no-synth under a forward zone", r)
        # a forward client gets the real answer, from the router
        r = dig(d.port, "v4only.a.test", "AAAA", source="127.0.0.2")
        check_eq(r.rdatas("AAAA"), [], "no synthesis for a forward client", r)

        # the PTR of a synthesized address: CNAME to in-addr.arpa, which follows the forward rules
        ptr = ipaddress.ip_address("2001:db8:64::c0a8:114").reverse_pointer
        r = dig(d.port, ptr, "PTR")
        check_eq(r.rdatas("CNAME"), ["20.1.168.192.in-addr.arpa."], "CNAME to the IPv4 reverse name", r)
        check_eq(r.rdatas("PTR"), ["v4only.a.test."], "the router's PTR, not the decoy", r)
        check_eq((asked(qr, "20.1.168.192.in-addr.arpa", "PTR"), asked(qg, "20.1.168.192.in-addr.arpa", "PTR")),
                 (1, 0), "in-addr.arpa asked of the router")

        # the operator sees the forward zones' upstreams: metrics and the control socket
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % d.mport, timeout=10).read().decode()
        for qc in (qr, qb, qg):
            check('dns64d_upstream_up{upstream="%s"} 1' % qc.addr in body, "upstream_up for %s" % qc.addr, body)
        check('dns64d_upstream_zone{upstream="%s",zone="a.test."} 1' % qr.addr in body, "zone of the router", body)
        check('dns64d_upstream_zone{upstream="%s",zone="b.a.test."} 1' % qb.addr in body, "zone of b.a.test", body)
        check('dns64d_upstream_zone{upstream="%s",zone="default"} 1' % qg.addr in body, "the global list", body)
        p = subprocess.run([CONTROL_BIN, "-s", d.sock, "upstreams"], stdout=subprocess.PIPE, text=True, timeout=30)
        lines = {l.split()[0]: l for l in p.stdout.splitlines()[1:]}
        check(lines[qr.addr].endswith(" for a.test.,168.192.in-addr.arpa."), "router's zones", p.stdout)
        check(lines[qb.addr].endswith(" for b.a.test."), "child's zone", p.stdout)
        check(lines[qg.addr].endswith(" for default"), "the global list", p.stdout)

        # a reload may change the zones: without forward a.test, late.a.test goes global
        d.set_conf([l for l in d.conf_lines if not l.startswith("forward a.test ")])
        d.reload()
        check(wait_until(lambda: dig(d.port, "late.a.test", "A").rdatas("A") == ["10.99.0.5"], timeout=10),
              "after the reload late.a.test comes from the global upstream's a.test", d.log_text())
        check_eq(asked(qr, "late.a.test", "A"), 0, "the router is no longer asked for a.test")
        r = dig(d.port, "www.b.a.test", "TXT")
        check_eq(asked(qb, "www.b.a.test", "TXT"), 1, "b.a.test still forwarded", r)


def test_check_forward_syntax_and_loop():
    """-t: a forward to our own listen address is refused (file, line, zone named); good forward
    and tls:// syntax is accepted."""
    port = free_port()
    with sockdir() as t:
        conf = os.path.join(t, "loop.conf")
        with open(conf, "w") as f:
            f.write("listen 127.0.0.1:%d\nupstream 192.0.2.1\nforward home.arpa 192.0.2.2 127.0.0.1:%d\n"
                    % (port, port))
        p = run_daemon_cmd(["-t", "-c", conf], timeout=30)
        check_eq(p.returncode, 1, "loop must be refused\n" + p.stderr)
        check("loop.conf:3: forward 'home.arpa.' upstream '127.0.0.1:%d'" % port in p.stderr
              and "would loop" in p.stderr, "error names file, line, zone and problem\n" + p.stderr)
        with open(conf, "w") as f:
            f.write("listen 127.0.0.1:%d\nupstream 192.0.2.1\n"
                    "forward home.arpa 192.168.1.1 tls://192.0.2.53#dns.example\n"
                    "forward 168.192.in-addr.arpa 192.168.1.1:%d\n"
                    "forward . tls://[2001:db8::53]:853#dns.example pin-sha256 "
                    "XDRfOCYm8s2ScDiTMj0KfiI01SF+vMwcdW82uHA/ejY=\n" % (port, port))
        p = run_daemon_cmd(["-t", "-v", "-c", conf], timeout=30)
        check_eq(p.returncode, 0, "good forward lines\n" + p.stderr)
        check("forward home.arpa. 192.168.1.1:53 tls://192.0.2.53:853#dns.example\n" in p.stdout,
              "-t -v prints the forward back\n" + p.stdout)
        with open(conf, "w") as f:
            f.write("upstream 192.0.2.1\nforward home.arpa 192.168.1.1\nforward HOME.ARPA. 192.168.1.2\n"
                    "forward corp.example\n")
        p = run_daemon_cmd(["-t", "-c", conf], timeout=30)
        check_eq(p.returncode, 1, "bad forward lines\n" + p.stderr)
        check("loop.conf:3: duplicate forward 'home.arpa.' (also on line 2)" in p.stderr, "duplicate\n" + p.stderr)
        check("loop.conf:4: forward 'corp.example' needs at least one upstream" in p.stderr, "no upstream\n" + p.stderr)


if __name__ == "__main__":
    run_tests(globals())

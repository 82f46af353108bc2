# Integration tests for local answers (issue 16): localhost., the loopback reverse names,
# invalid., CHAOS identity/version and ipv4only.arpa are answered by dns64d itself and never
# reach the upstream.
#
# The upstream is nsd behind a QueryCounter, and nsd serves decoy zones for every local name
# (localhost. with 10.99.0.1, 127.in-addr.arpa. pointing at leaked.example., ...): a query that
# leaks shows up twice, in the counter and as a decoy value in the answer. A control name
# (www.local.test) checks that the counter does see what the daemon forwards.
import ipaddress
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DNS64D_BIN, Daemon, Nsd, QueryCounter,  # noqa: E402
                     check, check_eq, dig, run_tests)

V6LOOP = ipaddress.ip_address("::1").reverse_pointer + "."
LOCAL_SOA = "localhost. nobody.invalid. 1 3600 1200 604800 10800"
ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 forward", "::1/128 dns64"]


def _zone(origin, body):
    return ("$ORIGIN %s\n$TTL 300\n"
            "@ IN SOA ns.decoy.test. hostmaster.decoy.test. 1 3600 600 86400 300\n"
            "@ IN NS ns.decoy.test.\n%s\n" % (origin, body))


# Decoys: what an upstream would say if dns64d forwarded these names.
ZONES = {
    "local.test.": _zone("local.test.", "www IN A 192.0.2.1\n"),
    "localhost.": _zone("localhost.", "@ IN A 10.99.0.1\n@ IN AAAA fd00::99\n@ IN MX 10 mx.decoy.test.\n"
                        "foo IN A 10.99.0.1\n"),
    "127.in-addr.arpa.": _zone("127.in-addr.arpa.", "1.0.0 IN PTR leaked.example.\n"
                               "2.0.0 IN PTR leaked.example.\n"),
    V6LOOP: _zone(V6LOOP, "@ IN PTR leaked.example.\n"),
    "invalid.": _zone("invalid.", "@ IN A 10.99.0.1\nfoo IN A 10.99.0.1\n"),
    "ipv4only.arpa.": _zone("ipv4only.arpa.", "@ IN A 10.99.0.2\n@ IN AAAA fd00::98\n"),
}

DECOYS = ("10.99.0.1", "10.99.0.2", "fd00::99", "fd00::98", "leaked.example.", "mx.decoy.test.",
          "ns.decoy.test.")


class Env:
    """nsd with the decoy zones, a QueryCounter in front of it, dns64d forwarding to the counter."""

    def __init__(self, conf_lines=()):
        self.conf_lines = list(conf_lines)

    def __enter__(self):
        self.nsd = Nsd(ZONES).__enter__()
        try:
            self.qc = QueryCounter(self.nsd.port).__enter__()
            try:
                self.d = Daemon(self.conf_lines, ACL, upstreams=[self.qc.addr]).__enter__()
            except BaseException:
                self.qc.__exit__(None, None, None)
                raise
        except BaseException:
            self.nsd.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.d.__exit__(*exc)
        finally:
            try:
                self.qc.__exit__(*exc)
            finally:
                self.nsd.__exit__(*exc)
            self.nsd.__exit__(*exc)
        return False

    def q(self, name, rdtype="A", src="127.0.0.1", opts=(), tcp=False):
        r = dig(self.d.port, name, rdtype, source=src, opts=opts, tcp=tcp,
                server="::1" if ":" in src else "127.0.0.1")
        check(not r.timed_out, "an answer for %s %s" % (name, rdtype), r, self.d.log_text())
        for sec in ("answer", "authority", "additional"):
            for rec in getattr(r, sec):
                check(not any(x in rec[3] for x in DECOYS), "no upstream (decoy) data in the answer", r)
        return r

    def no_upstream(self, what):
        """The counter saw nothing but the control queries."""
        leaked = [(x["name"], x["type"]) for x in self.qc.queries if x["name"] != "www.local.test."]
        check_eq(leaked, [], "queries that reached the upstream (%s)" % what)

    def control(self):
        """The counter works: a name that is not local goes through it."""
        before = self.qc.count("www.local.test", "A")
        r = dig(self.d.port, "www.local.test", "A")
        check_eq(r.rdatas("A"), ["192.0.2.1"], "control name answered from upstream", r)
        check(self.qc.count("www.local.test", "A") > before, "the control query went through the counter")


def expect_negative(r, rcode, zone, what):
    check_eq(r.rcode, rcode, what + ": rcode", r)
    check_eq(r.answer, [], what + ": no answer records", r)
    check_eq([(a[0].lower(), a[2], a[3]) for a in r.authority], [(zone, "SOA", LOCAL_SOA)],
             what + ": the local zone's SOA in the authority section", r)


def test_localhost():
    with Env() as e:
        for src in ("127.0.0.1", "127.0.0.2", "::1"):
            r = e.q("localhost", "A", src=src)
            check_eq(r.rcode, "NOERROR", "localhost A rcode", r)
            check_eq(r.rdatas("A"), ["127.0.0.1"], "localhost A from %s" % src, r)
            # AA is set by local_answer() but today's reply path (wire_reply_stored) clears it for
            # every answer, so it is not asserted here
            check("qr" in r.flags and "ra" in r.flags, "flags qr ra", r)
            r = e.q("localhost", "AAAA", src=src)
            check_eq(r.rdatas("AAAA"), ["::1"], "localhost AAAA from %s (no synthesis)" % src, r)
        expect_negative(e.q("localhost", "MX"), "NOERROR", "localhost.", "localhost MX")
        expect_negative(e.q("localhost", "TXT", tcp=True), "NOERROR", "localhost.", "localhost TXT over TCP")
        check_eq(e.q("LocalHost.", "A").rdatas("A"), ["127.0.0.1"], "case-insensitive")
        # RFC 6761 §6.3: names under localhost. are loopback too
        check_eq(e.q("foo.localhost", "A").rdatas("A"), ["127.0.0.1"], "foo.localhost A")
        check_eq(e.q("a.b.localhost", "AAAA").rdatas("AAAA"), ["::1"], "a.b.localhost AAAA")
        r = e.q("localhost", "SOA")
        check_eq(r.rdatas("SOA"), [LOCAL_SOA], "localhost SOA", r)
        e.no_upstream("localhost")
        e.control()
        e.no_upstream("localhost, after the control query")


def test_loopback_reverse():
    with Env() as e:
        for src in ("127.0.0.1", "127.0.0.2"):
            r = e.q("1.0.0.127.in-addr.arpa", "PTR", src=src)
            check_eq(r.rcode, "NOERROR", "127.0.0.1 PTR rcode", r)
            check_eq(r.rdatas("PTR"), ["localhost."], "127.0.0.1 PTR from %s" % src, r)
            r = e.q(V6LOOP, "PTR", src=src)
            check_eq(r.rdatas("PTR"), ["localhost."], "::1 PTR from %s" % src, r)
        expect_negative(e.q("2.0.0.127.in-addr.arpa", "PTR"), "NXDOMAIN", "127.in-addr.arpa.",
                        "127.0.0.2 PTR (Unbound's default: NXDOMAIN)")
        expect_negative(e.q("0.0.127.in-addr.arpa", "PTR"), "NOERROR", "127.in-addr.arpa.",
                        "empty non-terminal 0.0.127.in-addr.arpa")
        expect_negative(e.q(V6LOOP, "A"), "NOERROR", V6LOOP, "::1 reverse, type A")
        e.no_upstream("loopback reverse")
        e.control()


def test_invalid():
    with Env() as e:
        expect_negative(e.q("foo.invalid", "A"), "NXDOMAIN", "invalid.", "foo.invalid A")
        expect_negative(e.q("a.b.invalid", "AAAA", src="127.0.0.2"), "NXDOMAIN", "invalid.", "a.b.invalid AAAA")
        expect_negative(e.q("localhost.invalid", "A"), "NXDOMAIN", "invalid.", "localhost.invalid A")
        expect_negative(e.q("invalid", "A"), "NOERROR", "invalid.", "the apex invalid. (as Unbound)")
        e.no_upstream("invalid.")
        e.control()


def _chaos(e, name, src="127.0.0.1"):
    r = e.q(name, "TXT", src=src, opts=["CH"])
    check_eq([x[1] for x in r.question], ["CH"], "question class CH", r)
    return r


def _daemon_version():
    out = subprocess.run([DNS64D_BIN, "-V"], stdout=subprocess.PIPE, text=True, timeout=10).stdout.strip()
    check(out.startswith("dns64d "), "dns64d -V prints its version", out)
    return out


def test_chaos():
    version = '"%s"' % _daemon_version()
    host = '"%s"' % socket.gethostname()
    with Env() as e:
        for src in ("127.0.0.1", "127.0.0.2"):
            for name in ("version.bind", "version.server"):
                r = _chaos(e, name, src)
                check_eq(r.rcode, "NOERROR", name + " rcode", r)
                check_eq(r.rdatas("TXT"), [version], name + " TXT", r)
            for name in ("hostname.bind", "id.server"):
                r = _chaos(e, name, src)
                check_eq(r.rdatas("TXT"), [host], name + " TXT is this host's name", r)
        # every other CHAOS question is refused, never forwarded
        for name in ("authors.bind", "x.version.bind", "localhost", "www.local.test"):
            check_eq(_chaos(e, name).rcode, "REFUSED", "CHAOS %s" % name)
        check_eq(e.q("version.bind", "A", opts=["CH"]).rcode, "REFUSED", "version.bind CH A")
        e.no_upstream("CHAOS")
        e.control()


def test_chaos_hide_version():
    host = '"%s"' % socket.gethostname()
    with Env(["hide-version yes"]) as e:
        for name in ("version.bind", "version.server"):
            r = _chaos(e, name)
            check_eq(r.rcode, "REFUSED", name + " with hide-version yes", r)
            check_eq(r.answer, [], name + ": nothing said", r)
        check_eq(_chaos(e, "id.server").rdatas("TXT"), [host], "id.server still answered")
        e.no_upstream("hide-version")
        e.control()


def test_chaos_hide_identity():
    version = '"%s"' % _daemon_version()
    with Env(["hide-identity yes"]) as e:
        for name in ("hostname.bind", "id.server"):
            check_eq(_chaos(e, name).rcode, "REFUSED", name + " with hide-identity yes")
        check_eq(_chaos(e, "version.bind").rdatas("TXT"), [version], "version.bind still answered")
        e.no_upstream("hide-identity")


def test_chaos_identity_version_text():
    with Env(["identity ns1.example", "version r9.test-build"]) as e:
        check_eq(_chaos(e, "id.server").rdatas("TXT"), ['"ns1.example"'], "identity NAME")
        check_eq(_chaos(e, "hostname.bind").rdatas("TXT"), ['"ns1.example"'], "identity NAME")
        check_eq(_chaos(e, "version.bind").rdatas("TXT"), ['"r9.test-build"'], "version TEXT")
        e.no_upstream("identity, version")


def test_ipv4only_arpa():
    with Env() as e:
        r = e.q("ipv4only.arpa", "AAAA")
        check_eq(r.rdatas("AAAA"), ["64:ff9b::c000:aa", "64:ff9b::c000:ab"], "dns64 client: RFC 7050 values", r)
        check_eq(r.rdatas("A"), [], "only AAAA", r)
        check_eq(e.q("ipv4only.arpa", "A", src="127.0.0.2").rdatas("A"), ["192.0.0.170", "192.0.0.171"],
                 "A for a forward client")
        check_eq(e.q("ipv4only.arpa", "A").rdatas("A"), ["192.0.0.170", "192.0.0.171"], "A for a dns64 client")
        r = e.q("ipv4only.arpa", "AAAA", src="127.0.0.2")
        check_eq((r.rcode, r.answer), ("NOERROR", []), "forward client: NODATA", r)
        r = e.q("foo.ipv4only.arpa", "A")
        check_eq(r.rcode, "NXDOMAIN", "names under ipv4only.arpa", r)
        e.no_upstream("ipv4only.arpa")
        e.control()


if __name__ == "__main__":
    run_tests(globals())

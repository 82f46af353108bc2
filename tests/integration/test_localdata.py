# Integration tests for local data (issue 15): local-data and hosts answered by dns64d itself,
# DNS64 applied to them (synthesized AAAA of an A-only local name and the PTR chain back), the
# RFC 6303 reverse zones answered locally, local-reverse-zones no, hosts re-read on SIGHUP, a
# bad hosts line refusing the start with FILE:LINE.
#
# The upstream is nsd behind a QueryCounter, and nsd serves decoys for every local name (lan.
# with other addresses, the private reverse zones pointing at leaked.example.): a query that
# leaks shows up in the counter and as a decoy value in the answer.
import ipaddress
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, DaemonError, Nsd, QueryCounter, check, check_eq, dig,  # noqa: E402
                     run_daemon_cmd, run_tests, wait_until)

ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 forward", "::1/128 dns64"]
PREFIX = "64:ff9b:1::"  # RFC 8215 local-use: a network-specific prefix, private addresses synthesize


def _zone(origin, body):
    return ("$ORIGIN %s\n$TTL 300\n"
            "@ IN SOA ns.decoy.test. hostmaster.decoy.test. 1 3600 600 86400 300\n"
            "@ IN NS ns.decoy.test.\n%s\n" % (origin, body))


ZONES = {
    "up.test.": _zone("up.test.", "www IN A 192.0.2.1\n"),
    "lan.": _zone("lan.", "nas IN A 10.99.0.1\nprinter IN A 10.99.0.1\nprinter IN AAAA fd99::1\n"
                  "x.nas IN A 10.99.0.7\n"),
    "168.192.in-addr.arpa.": _zone("168.192.in-addr.arpa.", "10.1 IN PTR leaked.example.\n"
                                   "99.1 IN PTR leaked.example.\n"),
    "10.in-addr.arpa.": _zone("10.in-addr.arpa.", "1.0.0 IN PTR leaked.example.\n"),
    "d.f.ip6.arpa.": _zone("d.f.ip6.arpa.", ""),
}
DECOYS = ("10.99.0.1", "fd99::1", "leaked.example.", "ns.decoy.test.")

HOSTS = """# the LAN, as the router's DHCP leases would have it
192.168.1.10   nas.lan nas    # the NAS
fd00::10       nas.lan
192.168.1.30   tv.lan
"""

LOCAL_DATA = [
    'local-data "printer.lan A 192.168.1.20"',
    'local-data "printer.lan. 600 IN TXT unquoted"',
    'local-data "20.1.168.192.in-addr.arpa PTR printer.lan."',
    "local-data 'note.lan TXT \"two words\"'",
]


def ptr6(addr):
    return ipaddress.ip_address(addr).reverse_pointer + "."


def synth(v4):
    return str(ipaddress.ip_address(int(ipaddress.ip_address(PREFIX)) + int(ipaddress.ip_address(v4))))


class Env:
    def __init__(self, conf_lines=(), hosts=HOSTS):
        self.conf_lines = list(conf_lines)
        self.hosts_text = hosts

    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix="dns64d-hosts-")
        self.hosts = os.path.join(self.tmp, "hosts")
        self.write_hosts(self.hosts_text)
        try:
            self.nsd = Nsd(ZONES).__enter__()
            try:
                self.qc = QueryCounter(self.nsd.port).__enter__()
                try:
                    lines = ["prefix %s/96" % PREFIX, "hosts %s" % self.hosts, "timeout 500"]
                    self.d = Daemon(lines + LOCAL_DATA + self.conf_lines, ACL,
                                    upstreams=[self.qc.addr]).__enter__()
                except BaseException:
                    self.qc.__exit__(None, None, None)
                    raise
            except BaseException:
                self.nsd.__exit__(None, None, None)
                raise
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.d.__exit__(*exc)
        finally:
            self.qc.__exit__(*exc)
            self.nsd.__exit__(*exc)
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    def write_hosts(self, text):
        with open(self.hosts + ".new", "w") as f:
            f.write(text)
        os.replace(self.hosts + ".new", self.hosts)

    def q(self, name, rdtype="A", src="127.0.0.1", decoys_ok=False):
        r = dig(self.d.port, name, rdtype, source=src, server="::1" if ":" in src else "127.0.0.1")
        check(not r.timed_out, "an answer for %s %s" % (name, rdtype), r, self.d.log_text())
        if not decoys_ok:
            for sec in ("answer", "authority", "additional"):
                for rec in getattr(r, sec):
                    check(not any(x in rec[3] for x in DECOYS), "no upstream (decoy) data in the answer", r)
        return r

    def leaked(self):
        return [(x["name"], x["type"]) for x in self.qc.queries if x["name"] != "www.up.test."]

    def no_upstream(self, what):
        check_eq(self.leaked(), [], "queries that reached the upstream (%s)" % what)

    def control(self):
        """The counter works: a name that is not local goes through it."""
        r = dig(self.d.port, "www.up.test", "A")
        check_eq(r.rdatas("A"), ["192.0.2.1"], "control name answered from upstream", r)
        check(self.qc.count("www.up.test", "A") > 0, "the control query went through the counter")


def expect_nodata(r, owner, what):
    check_eq((r.rcode, r.answer), ("NOERROR", []), what + ": NODATA", r)
    check_eq([(a[0].lower(), a[2], a[3]) for a in r.authority],
             [(owner, "SOA", "localhost. nobody.invalid. 1 3600 1200 604800 3600")],
             what + ": a synthesized SOA in the authority section", r)


def rfc6303_soa(zone):
    return "%s nobody.invalid. 1 3600 1200 604800 10800" % zone


def expect_rfc6303(r, rcode, zone, what):
    check_eq((r.rcode, r.answer), (rcode, []), what + ": %s, no answer" % rcode, r)
    check_eq([(a[0].lower(), a[2], a[3]) for a in r.authority], [(zone, "SOA", rfc6303_soa(zone))],
             what + ": the RFC 6303 SOA of the zone", r)


def test_local_answers():
    with Env() as e:
        for src in ("127.0.0.1", "127.0.0.2", "::1"):
            r = e.q("nas.lan", "A", src=src)
            check_eq((r.rcode, r.rdatas("A")), ("NOERROR", ["192.168.1.10"]), "hosts A from %s" % src, r)
            check("ra" in r.flags and "aa" not in r.flags, "RA=1, AA=0 (as Unbound's local-data)", r)
            check_eq(r.answer[0][1], 3600, "hosts TTL", r)
            check_eq(e.q("NAS.Lan", "AAAA", src=src).rdatas("AAAA"), ["fd00::10"], "hosts AAAA (a real one)")
        check_eq(e.q("nas", "A").rdatas("A"), ["192.168.1.10"], "second name of a hosts line")
        r = e.q("10.1.168.192.in-addr.arpa", "PTR")
        check_eq(r.rdatas("PTR"), ["nas.lan."], "hosts PTR names the line's first name", r)
        check_eq(e.q(ptr6("fd00::10"), "PTR").rdatas("PTR"), ["nas.lan."], "hosts PTR of an IPv6 address")
        check_eq(e.q("printer.lan", "A").rdatas("A"), ["192.168.1.20"], "local-data A")
        r = e.q("printer.lan", "TXT")
        check_eq((r.rdatas("TXT"), r.answer[0][1]), (['"unquoted"'], 600), "local-data TXT with TTL", r)
        check_eq(e.q("note.lan", "TXT").rdatas("TXT"), ['"two words"'], "local-data in single quotes")
        check_eq(e.q("20.1.168.192.in-addr.arpa", "PTR").rdatas("PTR"), ["printer.lan."], "local-data PTR")
        expect_nodata(e.q("nas.lan", "MX"), "nas.lan.", "nas.lan MX")
        expect_nodata(e.q("printer.lan", "AAAA", src="127.0.0.2"), "printer.lan.",
                      "AAAA of an A-only name for a forward client")
        e.no_upstream("local names")
        # transparent: a name under a local name that has no data of its own is resolved upstream
        r = e.q("x.nas.lan", "A", decoys_ok=True)
        check_eq(r.rdatas("A"), ["10.99.0.7"], "x.nas.lan from upstream", r)
        check_eq(e.leaked(), [("x.nas.lan.", "A")], "only x.nas.lan went upstream")
        e.control()


def test_synthesis_and_ptr_chain():
    with Env() as e:
        for name, v4 in (("printer.lan", "192.168.1.20"), ("tv.lan", "192.168.1.30")):
            r = e.q(name, "AAAA")
            check_eq((r.rcode, r.rdatas("AAAA")), ("NOERROR", [synth(v4)]), "synthesized AAAA of %s" % name, r)
            check_eq(r.ede, [29], "EDE 29 (synthesized), as the upstream synthesis path says", r)
            check_eq(r.rdatas("A"), [], "no A records in the AAAA answer", r)
            # the PTR of the synthesized address leads back to the local name (RFC 6147 §5.3.1)
            rev = ptr6(synth(v4))
            r = e.q(rev, "PTR")
            target = ".".join(reversed(v4.split("."))) + ".in-addr.arpa."
            check_eq(r.rcode, "NOERROR", "PTR of %s: rcode" % rev, r)
            check_eq(sorted((a[2], a[3]) for a in r.answer), [("CNAME", target), ("PTR", name + ".")],
                     "PTR of the synthesized address: CNAME to in-addr.arpa, then the local PTR", r)
        # an A-only name's AAAA from the IPv6 dns64 client as well
        check_eq(e.q("tv.lan", "AAAA", src="::1").rdatas("AAAA"), [synth("192.168.1.30")], "::1 client")
        # a synthesized address without local data: the RFC 6303 zone answers NXDOMAIN, locally
        rev = ptr6(synth("192.168.1.99"))
        r = e.q(rev, "PTR")
        check_eq(r.rcode, "NXDOMAIN", "PTR of a synthesized address without local PTR", r)
        check_eq([a[2] for a in r.answer], ["CNAME"], "the CNAME to the in-addr.arpa name", r)
        e.no_upstream("synthesis and PTR chain")
        e.control()


def test_rfc6303_zones():
    with Env() as e:
        expect_rfc6303(e.q("1.0.0.10.in-addr.arpa", "PTR"), "NXDOMAIN", "10.in-addr.arpa.", "10/8 PTR")
        expect_rfc6303(e.q("99.1.168.192.in-addr.arpa", "PTR", src="127.0.0.2"), "NXDOMAIN",
                       "168.192.in-addr.arpa.", "192.168/16 PTR without local data")
        expect_rfc6303(e.q("1.168.192.in-addr.arpa", "PTR"), "NOERROR", "168.192.in-addr.arpa.",
                       "an empty non-terminal above local data: NODATA, not NXDOMAIN")
        expect_rfc6303(e.q("1.1.16.172.in-addr.arpa", "PTR"), "NXDOMAIN", "16.172.in-addr.arpa.", "172.16/12")
        expect_rfc6303(e.q("5.0.64.100.in-addr.arpa", "PTR"), "NXDOMAIN", "64.100.in-addr.arpa.", "100.64/10")
        expect_rfc6303(e.q(ptr6("fd12::1"), "PTR"), "NXDOMAIN", "d.f.ip6.arpa.", "fd00::/8")
        expect_rfc6303(e.q(ptr6("fe80::1"), "PTR"), "NXDOMAIN", "8.e.f.ip6.arpa.", "fe80::/10")
        expect_rfc6303(e.q(ptr6("2001:db8::1"), "PTR"), "NXDOMAIN", "8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::/32")
        r = e.q("168.192.in-addr.arpa", "SOA")
        check_eq(r.rdatas("SOA"), [rfc6303_soa("168.192.in-addr.arpa.")], "apex SOA (RFC 6303 §3)", r)
        r = e.q("10.in-addr.arpa", "NS")
        check_eq(r.rdatas("NS"), ["10.in-addr.arpa."], "apex NS", r)
        # local data inside a zone answers, the built-in loopback zone keeps its PTR
        check_eq(e.q("10.1.168.192.in-addr.arpa", "PTR").rdatas("PTR"), ["nas.lan."], "local data wins")
        check_eq(e.q("1.0.0.127.in-addr.arpa", "PTR").rdatas("PTR"), ["localhost."], "127.0.0.1 PTR")
        e.no_upstream("RFC 6303 zones")
        e.control()


def test_local_reverse_zones_no():
    with Env(["local-reverse-zones no"]) as e:
        r = e.q("1.0.0.10.in-addr.arpa", "PTR", decoys_ok=True)
        check_eq(r.rdatas("PTR"), ["leaked.example."], "forwarded with local-reverse-zones no", r)
        check_eq(e.qc.count("1.0.0.10.in-addr.arpa", "PTR"), 1, "the query reached the upstream")
        # local data still answers
        check_eq(e.q("10.1.168.192.in-addr.arpa", "PTR").rdatas("PTR"), ["nas.lan."], "local data PTR")
        check_eq(e.qc.count("10.1.168.192.in-addr.arpa"), 0, "local data never leaves")


def test_reload_rereads_hosts():
    with Env(["log-level info"]) as e:
        check_eq(e.q("new.lan", "A", decoys_ok=True).rcode, "NXDOMAIN", "new.lan not there yet (upstream)")
        e.write_hosts(HOSTS + "192.168.1.40 new.lan\n")
        e.d.reload()
        wait_until(lambda: e.q("new.lan", "A", decoys_ok=True).rdatas("A") == ["192.168.1.40"], timeout=10)
        check_eq(e.q("new.lan", "A").rdatas("A"), ["192.168.1.40"], "the hosts file was read again")
        check("local records " in e.d.log_text(), "the reload line counts the local records", e.d.log_text())
        # a bad line: the reload fails with FILE:LINE, the old data stays
        e.write_hosts(HOSTS + "192.168.1.40 new.lan\n192.168.1.500 broken.lan\n")
        e.d.reload()
        log = e.d.log_text()
        check("%s:6: bad address '192.168.1.500'" % e.hosts in log, "FILE:LINE of the bad hosts line", log)
        check("reload of '" in log, "the reload failed", log)
        check_eq(e.q("new.lan", "A").rdatas("A"), ["192.168.1.40"], "the old config is kept")
        check(e.d.alive(), "still serving")


def test_bad_hosts_refuses_start():
    tmp = tempfile.mkdtemp(prefix="dns64d-hosts-")
    try:
        hosts = os.path.join(tmp, "hosts")
        with open(hosts, "w") as f:
            f.write("192.168.1.10 nas.lan\nfe80::1%eth0 router.lan\n")
        conf = os.path.join(tmp, "dns64d.conf")
        with open(conf, "w") as f:
            f.write("upstream 127.0.0.1:1\nhosts hosts\nlocal-data \"x.lan A 1.2.3\"\n")
        out = run_daemon_cmd(["-t", "-c", conf])
        check(out.returncode != 0, "dns64d -t fails", out)
        check("%s:2: address 'fe80::1%%eth0' has a zone id" % hosts in out.stderr, "-t names FILE:LINE", out.stderr)
        check("%s:3: bad local-data 'x.lan A 1.2.3'" % conf in out.stderr, "and the bad local-data", out.stderr)
        try:
            with Daemon(["hosts %s" % hosts], ACL, upstreams=["127.0.0.1:1"], expect_exit=True):
                raise AssertionError("dns64d started with a bad hosts file")
        except DaemonError as err:
            check("%s:2:" % hosts in str(err), "the start is refused with FILE:LINE", str(err))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())

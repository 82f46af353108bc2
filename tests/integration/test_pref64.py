# Integration tests for prefix-from-ra (RFC 8781 PREF64, issue 17): dns64d runs in a network
# namespace with `prefix-from-ra p64d` and a router namespace on the other end of a veth sends
# it Router Advertisements with PREF64 options, built byte by byte here. Checked: the RS sent at
# start, synthesis with the advertised prefix, the switch to a newer one, the return to the older
# one when the newer one's lifetime (8 s) ends, withdrawal (lifetime 0) back to the configured
# prefix, no synthesis when nothing is advertised nor configured, RAs that must be dropped
# (hop limit not 255, PLC 7), the mismatch warning and metrics, status and explain.
#
# Needs root and `ip netns`; skips (77) otherwise. The outer process makes the namespaces and
# deletes them in a finally block; the tests themselves run inside the dns64d namespace (the
# same file, run again with PREF64_INSIDE set), where nsd, dns64d and dig use its loopback.
import ipaddress
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DNS64D_BIN, SLACK, Daemon, Nsd, SkipTest, check, check_eq, dig, free_port,  # noqa: E402
                     run_daemon_cmd, run_tests, wait_until, zone_path)

HERE = os.path.abspath(__file__)
PY = "/usr/bin/python3"
IFACE, PEER = "p64d", "p64r"  # dns64d's end of the veth and the router's, in their namespaces
CONTROL_BIN = os.environ.get("DNS64D_CONTROL_BIN", os.path.join(os.path.dirname(DNS64D_BIN), "dns64d-control"))
ACL = ["127.0.0.0/8 dns64", "::1/128 dns64"]
V4 = "1.2.3.4"  # v4only.dns64.test


# --- the router: Router Advertisements with PREF64 options ---------------------------------------

def pref64_option(prefix, lifetime, plc=None):
    """RFC 8781 §4: type 38, length 2, scaled lifetime (13 bits, 8 s units) | PLC, 96 bits."""
    net = ipaddress.IPv6Network(prefix)
    codes = {96: 0, 64: 1, 56: 2, 48: 3, 40: 4, 32: 5}
    code = codes[net.prefixlen] if plc is None else plc
    word = ((lifetime + 7) // 8) << 3 | code
    return struct.pack("!BBH", 38, 2, word) + net.network_address.packed[:12]


def router_advertisement(options):
    """ICMPv6 type 134: hop limit 64, no flags, router lifetime 0 (not a default router), the
    checksum left to the kernel (raw ICMPv6 sockets fill it in)."""
    return struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 0, 0, 0) + b"".join(options)


def router_main():
    """In the router namespace: read commands on stdin, one a line, answer one line each.
    'rs SECONDS'  wait for an RS without options on PEER: 'rs from ADDR' or 'rs none'
    'ra HOPS PREFIX/LEN:LIFETIME[:PLC] ...'  send one RA with these options to ff02::1."""
    ifindex = socket.if_nametoindex(PEER)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, PEER.encode())
    # RSs go to all routers, ff02::2: a router's group (the namespace does not forward)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                 socket.inet_pton(socket.AF_INET6, "ff02::2") + struct.pack("@I", ifindex))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        if w[0] == "rs":
            deadline = time.monotonic() + float(w[1])
            got = "rs none"
            while time.monotonic() < deadline:
                r, _, _ = select.select([s], [], [], max(0.0, deadline - time.monotonic()))
                if not r:
                    break
                data, addr = s.recvfrom(2048)
                # dns64d's RS has no option; the kernel's carry the source link-layer address
                if data[:1] == b"\x85" and len(data) == 8:
                    got = "rs from %s" % addr[0].split("%")[0]
                    break
        elif w[0] == "ra":
            hops = int(w[1])
            opts = []
            for spec in w[2:]:
                parts = spec.split(":")
                # the prefix itself has colons: PREFIX/LEN:LIFETIME[:PLC] splits at the last ones
                if "/" in parts[-1]:
                    raise SystemExit("bad spec %r" % spec)
                if "/" in parts[-2]:
                    prefix, lifetime, plc = ":".join(parts[:-1]), int(parts[-1]), None
                else:
                    prefix, lifetime, plc = ":".join(parts[:-2]), int(parts[-2]), int(parts[-1])
                opts.append(pref64_option(prefix, lifetime, plc))
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hops)
            s.sendto(router_advertisement(opts), ("ff02::1", 0, 0, ifindex))
            got = "sent"
        else:
            got = "error unknown command"
        sys.stdout.write(got + "\n")
        sys.stdout.flush()


class Router:
    """The router helper in its namespace, driven over a pipe."""

    def __init__(self, ns):
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, PY, HERE, "--router"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        # its socket must be there before a daemon sends its RS
        check_eq(self.proc.stdout.readline().strip(), "ready", "router helper started")

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        out = self.proc.stdout.readline().strip()
        check(out != "", "router helper died on %r" % line)
        return out

    def ra(self, *specs, hops=255):
        check_eq(self.cmd("ra %d %s" % (hops, " ".join(specs))), "sent", "router sent an RA")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


ROUTER = [None]


# --- what dns64d answers ----------------------------------------------------------------------

def synthesized(prefix, v4=V4):
    """The RFC 6052 address of v4 under prefix (lengths 32..96, u-octet skipped)."""
    net = ipaddress.IPv6Network(prefix)
    b = bytearray(net.network_address.packed)
    v = ipaddress.IPv4Address(v4).packed
    pos = net.prefixlen // 8
    for byte in v:
        if pos == 8:
            pos += 1
        b[pos] = byte
        pos += 1
    return str(ipaddress.IPv6Address(bytes(b)))


def aaaa(d):
    r = dig(d.port, "v4only.dns64.test", "AAAA")
    check_eq(r.rcode, "NOERROR", "AAAA rcode", r)
    return sorted(r.rdatas("AAAA"))


def wait_aaaa(d, want, timeout):
    got = []
    ok = wait_until(lambda: got.append(aaaa(d)) or got[-1] == want, timeout=timeout, step=0.1)
    check(ok, "AAAA of v4only became %r within %.0f s; last %r" % (want, timeout, got[-1:]))


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    return {l.rpartition(" ")[0]: l.rpartition(" ")[2] for l in text.splitlines() if l and not l.startswith("#")}


def control(sock, *args):
    p = subprocess.run([CONTROL_BIN, "-s", sock] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    check(p.returncode == 0 and p.stdout.startswith("ok\n"), "dns64d-control %s: %s%s" % (args, p.stdout, p.stderr))
    return p.stdout


def status_prefix(sock):
    for line in control(sock, "status").splitlines():
        if line.startswith("default-prefix: "):
            return line[len("default-prefix: "):]
    raise AssertionError("no default-prefix line in status")


# --- the tests (inside the dns64d namespace) ------------------------------------------------------

def test_check_interface():
    """-t: an interface that exists passes, a missing one is FILE:LINE: with its name."""
    d = tempfile.mkdtemp(prefix="dns64d-p64t-")
    try:
        conf = os.path.join(d, "dns64d.conf")
        with open(conf, "w") as f:
            f.write("upstream 127.0.0.1:5300\nprefix-from-ra %s\nprefix-from-ra p64nosuch\n" % IFACE)
        p = run_daemon_cmd(["-t", "-c", conf])
        check_eq(p.returncode, 1, "exit of -t with a missing interface", p.stdout, p.stderr)
        check("%s:3: prefix-from-ra 'p64nosuch': no such network interface" % conf in p.stderr,
              "-t names the missing interface: %r" % p.stderr)
        check(IFACE not in p.stderr, "the existing interface is not an error: %r" % p.stderr)
        with open(conf, "w") as f:
            f.write("upstream 127.0.0.1:5300\nprefix-from-ra %s\n" % IFACE)
        p = run_daemon_cmd(["-t", "-c", conf])
        check_eq(p.returncode, 0, "exit of -t with an existing interface", p.stdout, p.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_advertised_prefix():
    """With a configured prefix: RS at start, then advertised prefixes win while they last."""
    rt = ROUTER[0]
    sd = tempfile.mkdtemp(prefix="dns64d-p64c-")
    sock, mport = os.path.join(sd, "control"), free_port()
    try:
        with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
             Daemon(["prefix 64:ff9b::/96", "prefix-from-ra " + IFACE, "metrics 127.0.0.1:%d" % mport,
                     "control " + sock, "log-level info"], ACL, upstreams=[ns.addr]) as d:
            # dns64d solicits an RA when it starts; the router answers it
            check(rt.cmd("rs %f" % SLACK).startswith("rs from "), "dns64d sent a router solicitation")
            wait_until(lambda: os.path.exists(sock))
            check_eq(aaaa(d), [synthesized("64:ff9b::/96")], "the configured prefix before any RA")
            m = metrics(mport)
            check_eq(m.get("dns64d_pref64_mismatch"), "0", "no mismatch before any RA", m)
            check(not any(k.startswith("dns64d_pref64_advertised{") for k in m), "nothing advertised", m)
            check_eq(m.get('dns64d_prefix_configured{prefix="64:ff9b::/96"}'), "1", "configured prefix metric", m)
            check(status_prefix(sock).startswith("64:ff9b::/96 (configured, nothing advertised on 'p64d')"),
                  "status before any RA: %r" % status_prefix(sock))

            # the answer to the RS: 2001:db8:64::/96 for 10 minutes
            rt.ra("2001:db8:64::/96:600")
            wait_aaaa(d, [synthesized("2001:db8:64::/96")], SLACK)
            m = metrics(mport)
            check_eq(m.get('dns64d_pref64_advertised{interface="p64d",prefix="2001:db8:64::/96"}'), "1",
                     "advertised prefix metric", m)
            check_eq(m.get("dns64d_pref64_mismatch"), "1", "advertised and configured differ", m)
            check(status_prefix(sock).startswith("2001:db8:64::/96 (advertised on 'p64d', "),
                  "status: %r" % status_prefix(sock))
            e = control(sock, "explain", "v4only.dns64.test")
            check("prefix 2001:db8:64::/96 (the default prefix: advertised on 'p64d'" in e, "explain: %r" % e)
            # the same RA again (a periodic one) does not warn again
            rt.ra("2001:db8:64::/96:600")
            check(wait_until(lambda: metrics(mport).get(
                'dns64d_pref64_router_advertisements_total{result="accepted"}') == "2", timeout=SLACK),
                "the second RA was read")

            # RAs that must not count: hop limit 64 (not from this link), PLC 7
            rt.ra("2001:db8:bad::/96:600", hops=64)
            rt.ra("2001:db8:bad::/96:600:7")
            check(wait_until(lambda: metrics(mport).get("dns64d_pref64_options_ignored_total") == "1", timeout=SLACK),
                  "the PLC 7 option was ignored: %r" % metrics(mport))
            m = metrics(mport)
            check_eq(m.get('dns64d_pref64_router_advertisements_total{result="dropped"}'), "1",
                     "the hop limit 64 RA was dropped", m)
            check_eq(aaaa(d), [synthesized("2001:db8:64::/96")], "bad RAs changed nothing")

            # a newer prefix, a /64 for 8 s: in use at once, then the /96 again when it ends
            t0 = time.monotonic()
            rt.ra("2001:db8:6464::/64:8")
            wait_aaaa(d, [synthesized("2001:db8:6464::/64")], SLACK)
            switched = time.monotonic()
            check(switched - t0 < 8, "the /64 was in use before its lifetime ended (%.1f s)" % (switched - t0))
            wait_aaaa(d, [synthesized("2001:db8:64::/96")], 8 + SLACK)
            reverted = time.monotonic() - t0
            check(reverted >= 7.5, "the /64 was used for its lifetime, %.1f s of 8" % reverted)

            # withdrawn: back to the configured prefix, no mismatch
            rt.ra("2001:db8:64::/96:0")
            wait_aaaa(d, [synthesized("64:ff9b::/96")], SLACK)
            m = metrics(mport)
            check_eq(m.get("dns64d_pref64_mismatch"), "0", "no mismatch after the withdrawal", m)
            check_eq(m.get("dns64d_pref64_changes_total"), "4", "advertised, newer, older again, configured", m)
            log = d.log_text()
            warn = "the prefix advertised on 'p64d', '2001:db8:64::/96', differs from the configured prefix"
            # once when it was first advertised, once more when it came back after the /64
            check_eq(log.count(warn), 2, "mismatch warnings\n" + log)
            check_eq(log.count("'2001:db8:6464::/64', differs from the configured"), 1, "one for the /64\n" + log)
            # at start, and after the withdrawal
            check_eq(log.count("the default prefix is the configured '64:ff9b::/96'"), 2, "fallback logged\n" + log)
    finally:
        shutil.rmtree(sd, ignore_errors=True)


def test_nothing_configured():
    """Without a prefix line: no synthesis until a prefix is advertised, and after it is gone."""
    rt = ROUTER[0]
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
         Daemon(["prefix-from-ra " + IFACE], ACL, upstreams=[ns.addr]) as d:
        rt.cmd("rs %f" % SLACK)
        r = dig(d.port, "v4only.dns64.test", "AAAA")
        check_eq((r.rcode, r.rdatas("AAAA")), ("NOERROR", []), "forwarded without synthesis", r)
        check(wait_until(lambda: "no prefix configured: clients without a prefix in their acl rule are forwarded "
                                 "without synthesis" in d.log_text(), timeout=SLACK), "logged\n" + d.log_text())
        rt.ra("2001:db8:4000::/40:600", "2001:db8:9696::/96:600")  # two options: the first is in use
        wait_aaaa(d, [synthesized("2001:db8:4000::/40")], SLACK)
        rt.ra("2001:db8:4000::/40:0")
        wait_aaaa(d, [synthesized("2001:db8:9696::/96")], SLACK)
        rt.ra("2001:db8:9696::/96:0")
        check(wait_until(lambda: aaaa(d) == [], timeout=SLACK), "no synthesis once everything is withdrawn")
        r = dig(d.port, "v4only.dns64.test", "A")
        check_eq(r.rdatas("A"), [V4], "A is forwarded", r)


# --- the namespaces (outside) ----------------------------------------------------------------------

def sh(*args, check_rc=True):
    p = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return p


def outer_main():
    if os.geteuid() != 0:
        print("SKIP all: needs root for network namespaces")
        sys.exit(77)
    if not shutil.which("ip"):
        print("SKIP all: no 'ip' (iproute2)")
        sys.exit(77)
    ns_d, ns_r = "dns64d-p64-%d" % os.getpid(), "dns64d-p64r-%d" % os.getpid()
    if sh("ip", "netns", "add", ns_d, check_rc=False).returncode != 0:
        print("SKIP all: 'ip netns add' is not usable here")
        sys.exit(77)
    rc = 1
    try:
        sh("ip", "netns", "add", ns_r)
        sh("ip", "-n", ns_d, "link", "set", "lo", "up")
        sh("ip", "-n", ns_r, "link", "set", "lo", "up")
        sh("ip", "-n", ns_d, "link", "add", IFACE, "type", "veth", "peer", "name", PEER, "netns", ns_r)
        # fixed link-local addresses without duplicate address detection: usable at once
        for ns, dev, ll in ((ns_d, IFACE, "fe80::2/64"), (ns_r, PEER, "fe80::1/64")):
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.%s.accept_dad=0" % dev)
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.%s.addr_gen_mode=1" % dev)
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.%s.router_solicitations=0" % dev)
            sh("ip", "-n", ns, "addr", "add", ll, "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        env = dict(os.environ, PREF64_INSIDE="1", PREF64_ROUTER_NS=ns_r)
        rc = subprocess.run(["ip", "netns", "exec", ns_d, PY, HERE] + sys.argv[1:], env=env).returncode
    finally:
        sh("ip", "netns", "del", ns_d, check_rc=False)
        sh("ip", "netns", "del", ns_r, check_rc=False)
    sys.exit(rc)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--router"]:
        router_main()
    elif os.environ.get("PREF64_INSIDE") == "1":
        ROUTER[0] = Router(os.environ["PREF64_ROUTER_NS"])
        try:
            run_tests(globals())
        finally:
            ROUTER[0].close()
    else:
        outer_main()

# Integration test harness: nsd upstream, dns64d daemon, dig wrapper, counting proxy, test runner.
#
# Used by every tests/integration/test_*.py (run with /usr/bin/python3). Typical use:
#
#     from harness import Nsd, Daemon, dig, run_tests, zone_path
#
#     def test_a():
#         with Nsd({"core.test": zone_path("core.zone")}) as ns, \
#              Daemon([], ["127.0.0.0/8 dns64"], upstreams=[ns.addr]) as d:
#             r = dig(d.port, "www.core.test", "A")
#             assert r.rcode == "NOERROR", r
#
#     if __name__ == "__main__":
#         run_tests(globals())
#
# Environment: DNS64D_BIN (daemon binary, default /work/main/build/dns64d), DNS64D_SOURCE_DIR,
# DNS64D_BUILD_DIR (set by ctest). HARNESS_KEEP=1 keeps temp dirs; HARNESS_VERBOSE=1 prints
# every dig command line and the daemon log of passing tests too.

import atexit
import fcntl
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

try:
    import dns.message
    import dns.rdatatype
    import dns.flags
    import dns.query
    import dns.rcode
    import dns.exception
    HAVE_DNSPYTHON = True
except ImportError:  # pragma: no cover - dnspython is a declared dependency
    HAVE_DNSPYTHON = False

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("DNS64D_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
BUILD_DIR = os.environ.get("DNS64D_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
DNS64D_BIN = os.environ.get("DNS64D_BIN", "/work/main/build/dns64d")
NSD_BIN = shutil.which("nsd") or "/usr/sbin/nsd"
DIG_BIN = shutil.which("dig") or "/usr/bin/dig"
VERBOSE = os.environ.get("HARNESS_VERBOSE") == "1"
KEEP = os.environ.get("HARNESS_KEEP") == "1"


class SkipTest(Exception):
    """Raise inside a test to skip it (counted, never a failure)."""


def zone_path(name):
    """Absolute path of a zone file in tests/integration/zones/."""
    return os.path.join(HERE, "zones", name)


def _tmpdir(tag):
    return tempfile.mkdtemp(prefix="dns64d-%s-" % tag)


def _rmtree(path):
    if not KEEP:
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Ports

_port_lock = threading.Lock()
_ports_handed_out = set()


def _port_is_free(port, host="127.0.0.1"):
    for fam, host_ in ((socket.AF_INET, host), (socket.AF_INET6, "::1")):
        for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(fam, typ)
            try:
                s.bind((host_, port))
            except OSError:
                return False
            finally:
                s.close()
    return True


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = f.read().split()
            return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


# Ports handed out to this process are also recorded in a directory shared by every test
# program on the machine (one file per port holding the owner's PID, made under a lock), so two
# programs running at once never pick the same port: checking by binding is not enough, since
# dns64d binds with SO_REUSEPORT and two daemons started at once on one port would both bind and
# share its queries. Files of dead owners are taken over; ours are removed at exit.
_PORT_DIR = os.path.join(tempfile.gettempdir(), "dns64d-test-ports")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _claim_port(port):
    """Record port as ours in _PORT_DIR; False if a live test program has it. Call under the lock."""
    path = os.path.join(_PORT_DIR, str(port))
    try:
        with open(path) as f:
            owner = int(f.read().strip() or "0")
        if owner != os.getpid() and _pid_alive(owner):
            return False
    except (OSError, ValueError):
        pass
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    return True


def _release_ports():
    for port in list(_ports_handed_out):
        try:
            os.unlink(os.path.join(_PORT_DIR, str(port)))
        except OSError:
            pass


atexit.register(_release_ports)


def free_port():
    """A port free for UDP and TCP on 127.0.0.1 and ::1.

    Random in 20000-60000 outside the kernel's ephemeral port range, checked by binding, never
    the same twice in a process, and never one another test program running now was given
    (_PORT_DIR)."""
    rnd = random.SystemRandom()
    lo, hi = _ephemeral_range()
    os.makedirs(_PORT_DIR, exist_ok=True)
    with _port_lock, open(os.path.join(_PORT_DIR, ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for _ in range(500):
            port = rnd.randint(20000, 60000)
            # Ports the kernel hands out as ephemeral source ports (upstream queries, dig)
            # could be taken between this check and the server's bind: avoid them.
            if lo <= port <= hi and not (lo <= 20000 and hi >= 60000):
                continue
            if port in _ports_handed_out:
                continue
            if _port_is_free(port) and _claim_port(port):
                _ports_handed_out.add(port)
                return port
    raise RuntimeError("no free port found")


def _tcp_listening(port, host="127.0.0.1"):
    """True if a socket is in the LISTEN state on port (any address), read from
    /proc/net/tcp{,6}: no connection is made, so the daemon never sees one (a probe connection
    counts against tcp-clients and shows in the tcp_connections gauge until the daemon has
    read its EOF, which under valgrind can be after the test has begun)."""
    want = ":%04X" % port
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[1].endswith(want) and fields[3] == "0A":
                        return True
        except OSError:
            continue
    return False


def _port_bound(port, host="127.0.0.1"):
    """True when something listens on host:port for both UDP and TCP."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(fam, typ)
        try:
            s.bind((host, port))
            return False
        except OSError:
            pass
        finally:
            s.close()
    return True


# ---------------------------------------------------------------------------------------------
# Raw DNS helpers


def make_query(name, rdtype="A", qid=None, rd=True, edns=None, do=False, cd=False,
               opcode=0, qdcount=None):
    """Wire-format query built by hand (no dnspython), so tests control every bit.

    edns: None for no OPT record, or the UDP payload size to advertise."""
    if qid is None:
        qid = random.randint(0, 0xFFFF)
    flags = (opcode & 0xF) << 11
    if rd:
        flags |= 0x0100
    if cd:
        flags |= 0x0010
    qname = b""
    for label in name.rstrip(".").split("."):
        if label:
            lb = label.encode()
            qname += bytes([len(lb)]) + lb
    qname += b"\x00"
    qtype = rdtype if isinstance(rdtype, int) else _rdtype_num(rdtype)
    arcount = 1 if (edns is not None or do) else 0
    hdr = struct.pack("!HHHHHH", qid, flags, 1 if qdcount is None else qdcount, 0, 0, arcount)
    msg = hdr + qname + struct.pack("!HH", qtype, 1)
    if arcount:
        size = edns if edns is not None else 1232
        msg += b"\x00" + struct.pack("!HHIH", 41, size, 0x8000 if do else 0, 0)
    return msg


_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16,
          "AAAA": 28, "SRV": 33, "DS": 43, "RRSIG": 46, "DNSKEY": 48, "ANY": 255}


def _rdtype_num(t):
    t = t.upper()
    if t in _TYPES:
        return _TYPES[t]
    if t.startswith("TYPE"):
        return int(t[4:])
    if HAVE_DNSPYTHON:
        return int(dns.rdatatype.from_text(t))
    raise ValueError("unknown type %r" % t)


def parse_header(wire):
    """(id, flags, qdcount, ancount, nscount, arcount) of a wire message."""
    return struct.unpack("!HHHHHH", wire[:12])


def rcode_of(wire):
    return parse_header(wire)[1] & 0xF


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def tcp_recv_msg(sock):
    """Read one length-prefixed DNS message from a TCP socket."""
    (n,) = struct.unpack("!H", _recv_exact(sock, 2))
    return _recv_exact(sock, n)


def query(port, wire, tcp=False, server="127.0.0.1", timeout=10.0, source=None):
    """Send raw bytes as one query; return the raw answer or None on timeout/close.

    Over TCP the bytes get the 2-byte length prefix."""
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        if tcp:
            s.connect((server, port))
            s.sendall(struct.pack("!H", len(wire)) + wire)
            try:
                return tcp_recv_msg(s)
            except (socket.timeout, ConnectionError):
                return None
        s.sendto(wire, (server, port))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                return None
            if addr[1] == port:
                return data
    finally:
        s.close()


def dnsquery(port, qname, rdtype="A", tcp=False, server="127.0.0.1", timeout=10.0, source=None,
             want_dnssec=False, use_edns=None, payload=1232, qid=None, options=None, flags=None):
    """Query with dnspython; returns a dns.message.Message or None on timeout."""
    q = dns.message.make_query(qname, rdtype, want_dnssec=want_dnssec, use_edns=use_edns,
                               payload=payload, options=options)
    if qid is not None:
        q.id = qid
    if flags is not None:
        q.flags = flags
    try:
        if tcp:
            return dns.query.tcp(q, server, timeout=timeout, port=port, source=source)
        return dns.query.udp(q, server, timeout=timeout, port=port, source=source,
                             ignore_unexpected=True, raise_on_truncation=False)
    except dns.exception.Timeout:
        return None


# ---------------------------------------------------------------------------------------------
# dig


class DigResult:
    """Parsed dig output.

    rcode: 'NOERROR', ..., or None when no answer; flags: set like {'qr','rd','ra'};
    question: [(name, class, type)]; answer/authority/additional: [(name, ttl, type, rdata)]
    (rdata is the rest of dig's line); ede: [int]; edns: dict with 'version',
    'flags' (set) and 'udp' (int) when an OPT record was in the answer, else None;
    timed_out: no answer at all; elapsed: seconds; raw: dig's output; cmd: argv; exit: code."""

    def __init__(self):
        self.rcode = None
        self.opcode = None
        self.id = None
        self.flags = set()
        self.counts = {}
        self.question = []
        self.answer = []
        self.authority = []
        self.additional = []
        self.ede = []
        self.edns = None
        self.cookie = None
        self.timed_out = False
        self.elapsed = 0.0
        self.raw = ""
        self.cmd = []
        self.exit = None
        self.msg_size = None
        self.warnings = []

    def rdatas(self, rdtype=None, section="answer"):
        """Sorted rdata strings of a section, optionally only of one type."""
        return sorted(r[3] for r in getattr(self, section)
                      if rdtype is None or r[2] == rdtype.upper())

    def rrset(self, section="answer"):
        """Section without TTLs as a sorted list, for comparing answers from two servers."""
        return sorted((r[0].lower(), r[2], r[3]) for r in getattr(self, section))

    def min_ttl(self, section="answer"):
        recs = getattr(self, section)
        return min(r[1] for r in recs) if recs else None

    def __repr__(self):
        return "DigResult(%s)\n--- dig %s ---\n%s" % (
            "timeout" if self.timed_out else self.rcode, " ".join(self.cmd[1:]), self.raw)


_SECTION_HDR = re.compile(r"^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:")
_HEADER = re.compile(r"^;; ->>HEADER<<- opcode: (\w+), status: (\w+), id: (\d+)")
_FLAGS = re.compile(r"^;; flags:([^;]*);(.*)$")
_EDNS = re.compile(r"^; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)")
_EDE = re.compile(r"^; EDE: (\d+)")
_COOKIE = re.compile(r"^; COOKIE: ([0-9a-fA-F]+)")
_MSGSIZE = re.compile(r"^;; MSG SIZE\s+rcvd: (\d+)")


def parse_dig(text):
    """Parse dig's default output (one or more answers; the last one wins)."""
    r = DigResult()
    r.raw = text
    section = None
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            section = None
            continue
        m = _HEADER.match(line)
        if m:
            # A new answer (e.g. after a TC retry): start over.
            r.opcode, r.rcode, r.id = m.group(1), m.group(2), int(m.group(3))
            r.flags, r.question, r.answer, r.authority, r.additional = set(), [], [], [], []
            r.ede, r.edns, r.cookie, r.counts = [], None, None, {}
            section = None
            continue
        m = _FLAGS.match(line)
        if m:
            r.flags = set(m.group(1).split())
            for part in m.group(2).split(","):
                if ":" in part:
                    k, v = part.split(":", 1)
                    try:
                        r.counts[k.strip()] = int(v.strip())
                    except ValueError:
                        pass
            continue
        m = _SECTION_HDR.match(line)
        if m:
            section = m.group(1).lower()
            continue
        if line.startswith(";; OPT PSEUDOSECTION"):
            section = "opt"
            continue
        m = _EDNS.match(line)
        if m:
            r.edns = {"version": int(m.group(1)), "flags": set(m.group(2).split()),
                      "udp": int(m.group(3))}
            continue
        m = _EDE.match(line)
        if m:
            r.ede.append(int(m.group(1)))
            continue
        m = _COOKIE.match(line)
        if m:
            r.cookie = m.group(1).lower()
            continue
        m = _MSGSIZE.match(line)
        if m:
            r.msg_size = int(m.group(1))
            continue
        if line.startswith(";; Warning") or line.startswith(";; WARNING") or "error" in line.lower() and line.startswith(";;"):
            r.warnings.append(line)
            continue
        if section == "question" and line.startswith(";") and not line.startswith(";;"):
            parts = line[1:].split()
            if len(parts) >= 3:
                r.question.append((parts[0], parts[1], parts[2]))
            continue
        if line.startswith(";"):
            continue
        if section in ("answer", "authority", "additional"):
            parts = line.split(None, 4)
            if len(parts) < 4:
                continue
            name, ttl, typ = parts[0], parts[1], parts[3]
            rdata = parts[4] if len(parts) > 4 else ""
            try:
                ttl = int(ttl)
            except ValueError:
                continue
            getattr(r, section).append((name, ttl, typ.upper(), rdata.strip()))
    return r


_SAMPLE_TC = """;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 48939
;; flags: qr aa tc rd; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 0
;; WARNING: recursion requested but not available

;; QUESTION SECTION:
;many.core.test.			IN	A

;; Query time: 0 msec
;; SERVER: 127.0.0.1#54332(127.0.0.1) (UDP)
;; MSG SIZE  rcvd: 32
"""

_SAMPLE_FULL = """;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: SERVFAIL, id: 7
;; flags: qr rd ra; QUERY: 1, ANSWER: 2, AUTHORITY: 1, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags: do; udp: 1232
; COOKIE: 0011223344556677aabbccddeeff0011 (good)
; EDE: 22 (No Reachable Authority): (upstream timeout)
;; QUESTION SECTION:
;CoRe.TeSt.			IN	TXT

;; ANSWER SECTION:
CoRe.TeSt.		3600	IN	TXT	"hello world" "second  string"
CoRe.TeSt.		3599	IN	MX	10 mx1.core.test.

;; AUTHORITY SECTION:
core.test.		300	IN	SOA	ns.core.test. hostmaster.core.test. 1 3600 600 86400 300

;; ADDITIONAL SECTION:
ns.core.test.		3600	IN	AAAA	64:ff9b::7f00:1

;; Query time: 0 msec
;; MSG SIZE  rcvd: 91
"""


def self_check_parser():
    """Unit check of parse_dig on known outputs; raises AssertionError."""
    r = parse_dig(_SAMPLE_TC)
    assert r.rcode == "NOERROR" and r.id == 48939, r
    assert r.flags == {"qr", "aa", "tc", "rd"}, r.flags
    assert r.question == [("many.core.test.", "IN", "A")], r.question
    assert r.answer == [] and r.authority == [] and r.edns is None and r.msg_size == 32, r
    assert r.counts == {"QUERY": 1, "ANSWER": 0, "AUTHORITY": 0, "ADDITIONAL": 0}, r.counts
    r = parse_dig(_SAMPLE_FULL)
    assert r.rcode == "SERVFAIL" and r.id == 7 and r.flags == {"qr", "rd", "ra"}, r
    assert r.edns == {"version": 0, "flags": {"do"}, "udp": 1232}, r.edns
    assert r.ede == [22] and r.cookie == "0011223344556677aabbccddeeff0011", r
    assert r.question == [("CoRe.TeSt.", "IN", "TXT")], r.question
    assert r.answer == [("CoRe.TeSt.", 3600, "TXT", '"hello world" "second  string"'),
                        ("CoRe.TeSt.", 3599, "MX", "10 mx1.core.test.")], r.answer
    assert r.min_ttl() == 3599 and r.rdatas("MX") == ["10 mx1.core.test."], r
    assert r.authority[0][:3] == ("core.test.", 300, "SOA"), r.authority
    assert r.additional == [("ns.core.test.", 3600, "AAAA", "64:ff9b::7f00:1")], r.additional
    r = parse_dig(";; communications error to 127.0.0.1#5: timed out\n;; no servers could be reached\n")
    assert r.rcode is None and r.answer == [], r


def dig(server_port, name, rdtype="A", tcp=False, source=None, opts=(), server="127.0.0.1",
        timeout=10, tries=1):
    """Run the real dig against server:server_port and parse its output."""
    cmd = [DIG_BIN, "@" + server, "-p", str(server_port), name, rdtype,
           "+tries=%d" % tries, "+time=%d" % max(1, int(round(timeout))), "+nocmd"]
    if tcp:
        cmd.append("+tcp")
    if source:
        cmd += ["-b", source]
    cmd += list(opts)
    if VERBOSE:
        print("  $ " + " ".join(cmd))
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout * tries + 15)
    r = parse_dig(p.stdout)
    r.elapsed = time.monotonic() - t0
    r.cmd = cmd
    r.exit = p.returncode
    if r.rcode is None:
        r.timed_out = True
    return r


# ---------------------------------------------------------------------------------------------
# Process helpers


def _wait_dead(proc, timeout):
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def _stop(proc, timeout=5.0):
    """SIGTERM, wait, then SIGKILL. Returns (exit code, was_killed)."""
    if proc.poll() is not None:
        return proc.returncode, False
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    if _wait_dead(proc, timeout):
        return proc.returncode, False
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    return proc.returncode, True


# ---------------------------------------------------------------------------------------------
# nsd


class Nsd:
    """nsd serving the given zones on 127.0.0.1:port (and ::1:port), foreground, own temp dir.

    zones: {"core.test": "/path/to/zonefile"} or {"core.test": "$ORIGIN ...zone text..."}
    (text containing a newline is written to a file)."""

    def __init__(self, zones, port=None, ipv6=True, extra_server_lines=()):
        self.zones = dict(zones)
        self.port = port or free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.addr6 = "[::1]:%d" % self.port
        self.ipv6 = ipv6
        self.extra = list(extra_server_lines)
        self.dir = None
        self.proc = None
        self.logfile = None

    def __enter__(self):
        self.dir = _tmpdir("nsd")
        zlines = []
        for zname, z in self.zones.items():
            if "\n" in z:
                path = os.path.join(self.dir, zname.strip(".") + ".zone")
                with open(path, "w") as f:
                    f.write(z)
            else:
                path = os.path.abspath(z)
            zlines += ["zone:", "    name: \"%s\"" % zname, "    zonefile: \"%s\"" % path, ""]
        d = self.dir
        addrs = ["    ip-address: 127.0.0.1@%d" % self.port]
        if self.ipv6:
            addrs.append("    ip-address: ::1@%d" % self.port)
        conf = ["server:"] + addrs + [
            "    port: %d" % self.port,
            "    do-ip4: yes",
            "    do-ip6: %s" % ("yes" if self.ipv6 else "no"),
            "    chroot: \"\"",
            "    username: \"\"",
            "    zonesdir: \"%s\"" % d,
            "    pidfile: \"%s/nsd.pid\"" % d,
            "    database: \"\"",
            "    xfrdfile: \"%s/xfrd.state\"" % d,
            "    zonelistfile: \"%s/zone.list\"" % d,
            "    xfrdir: \"%s\"" % d,
            "    logfile: \"%s/nsd.log\"" % d,
            "    server-count: 1",
            "    verbosity: 1",
            "    rrl-ratelimit: 0",
            "    hide-version: yes",
            "    round-robin: no",
            "    minimal-responses: no",
            "    refuse-any: no",
        ] + ["    " + x for x in self.extra] + ["", "remote-control:", "    control-enable: no", ""]
        self.conf = os.path.join(d, "nsd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf + zlines))
        self.logfile = os.path.join(d, "nsd.stderr")
        with open(self.logfile, "w") as err:
            self.proc = subprocess.Popen([NSD_BIN, "-d", "-c", self.conf], stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, timeout=10.0):
        zone = next(iter(self.zones))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nsd exited with %s:\n%s" % (self.proc.returncode, self.log_text()))
            ans = query(self.port, make_query(zone, "SOA", rd=False), timeout=0.3)
            if ans is not None and rcode_of(ans) == 0 and parse_header(ans)[3] > 0:
                return
            time.sleep(0.05)
        raise RuntimeError("nsd did not answer SOA %s within %.0fs:\n%s" % (zone, timeout, self.log_text()))

    def log_text(self):
        out = ""
        for name in ("nsd.stderr", "nsd.log"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    out += f.read()
        return out

    def stop(self):
        if self.proc is not None:
            _stop(self.proc, 5.0)
            self.proc = None

    def __exit__(self, *exc):
        self.stop()
        if self.dir:
            _rmtree(self.dir)
        return False


# ---------------------------------------------------------------------------------------------
# Counting proxy (a scripted upstream in front of nsd)


class ScriptedServer:
    """A small DNS server on 127.0.0.1 for tests, UDP and TCP, in threads. Subclasses define
    answer(wire) -> answer wire, or None for no answer at all (a TCP connection is then held
    open until the server stops). threaded_udp=True answers each UDP query in its own thread,
    so a slow answer does not hold the next query back. Use .addr as the daemon's upstream."""

    def __init__(self, threaded_udp=False, port=None):
        self.port = port or free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.threaded_udp = threaded_udp
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._held = []
        self._udp = None
        self._tcp = None

    def answer(self, wire):
        raise NotImplementedError

    def _udp_one(self, wire, peer):
        try:
            ans = self.answer(wire)
            if ans is not None:
                self._udp.sendto(ans, peer)
        except Exception:  # noqa: BLE001 - a test upstream ignores junk and closed sockets
            pass

    def _udp_loop(self):
        while not self._stop.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if self.threaded_udp:
                threading.Thread(target=self._udp_one, args=(wire, peer), daemon=True).start()
            else:
                self._udp_one(wire, peer)

    def _tcp_conn(self, conn, peer):
        conn.settimeout(30)
        try:
            while not self._stop.is_set():
                ans = self.answer(tcp_recv_msg(conn))
                if ans is None:
                    self._held.append(conn)
                    return
                conn.sendall(struct.pack("!H", len(ans)) + ans)
        except Exception:  # noqa: BLE001 - the client closed, or sent junk
            conn.close()

    def _tcp_loop(self):
        while not self._stop.is_set():
            try:
                conn, peer = self._tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(conn, peer), daemon=True).start()

    def __enter__(self):
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.1", self.port))
        self._udp.settimeout(0.1)
        self._tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tcp.bind(("127.0.0.1", self.port))
        self._tcp.listen(64)
        self._tcp.settimeout(0.1)
        for fn in (self._udp_loop, self._tcp_loop):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(2)
        self._udp.close()
        self._tcp.close()
        for c in self._held:
            c.close()
        return False


class QueryCounter(ScriptedServer):
    """UDP+TCP forwarding proxy on 127.0.0.1:port in front of an upstream (e.g. nsd), in threads.

    Records every query it receives as a dict {name, type, do, cd, rd, tcp, id, time, src,
    edns, payload, wire, and for UDP answered: when the answer was sent}; count()
    filters them. Knobs for other tests: delay (seconds before forwarding), drop (True or a
    predicate taking the record dict: matching UDP queries get no answer, TCP gets closed),
    rewrite (function(query_wire, answer_wire) -> answer_wire or None to drop).
    Use .addr as the daemon's upstream."""

    def __init__(self, upstream_port, upstream_host="127.0.0.1", port=None, delay=0.0,
                 drop=None, rewrite=None):
        super().__init__(threaded_udp=True, port=port)
        self.up = (upstream_host, upstream_port)
        self.delay = delay
        self.drop = drop
        self.rewrite = rewrite
        self.queries = []

    # Records ------------------------------------------------------------------------------
    def _record(self, wire, tcp, src=None):
        rec = {"name": None, "type": None, "do": False, "cd": False, "rd": False, "tcp": tcp,
               "id": None, "time": time.monotonic(), "wire": wire, "src": src,
               "edns": -1, "payload": None}
        try:
            m = dns.message.from_wire(wire)
            if m.question:
                rec["name"] = m.question[0].name.to_text().lower()
                rec["type"] = dns.rdatatype.to_text(m.question[0].rdtype)
            rec["do"] = bool(m.ednsflags & dns.flags.DO)
            rec["cd"] = bool(m.flags & dns.flags.CD)
            rec["rd"] = bool(m.flags & dns.flags.RD)
            rec["id"] = m.id
            rec["edns"] = m.edns
            rec["payload"] = m.payload if m.edns >= 0 else None
        except Exception as e:  # malformed queries are still counted
            rec["error"] = str(e)
        with self._lock:
            self.queries.append(rec)
        return rec

    def count(self, name=None, rdtype=None, **match):
        """Number of queries seen, optionally for one name (case-insensitive, trailing dot
        optional), type and any other record fields (do=True, tcp=False, ...)."""
        if name is not None:
            name = name.lower().rstrip(".") + "."
        with self._lock:
            n = 0
            for q in self.queries:
                if name is not None and q["name"] != name:
                    continue
                if rdtype is not None and q["type"] != rdtype.upper():
                    continue
                if any(q.get(k) != v for k, v in match.items()):
                    continue
                n += 1
            return n

    def reset(self):
        with self._lock:
            self.queries = []

    def _dropped(self, rec):
        if self.drop is None:
            return False
        if callable(self.drop):
            return bool(self.drop(rec))
        return bool(self.drop)

    # Forwarding ---------------------------------------------------------------------------
    def _udp_one(self, wire, client):
        rec = self._record(wire, False, client)
        if self.delay:
            time.sleep(self.delay)
        if self._dropped(rec):
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3.0)
        try:
            s.sendto(wire, self.up)
            ans, _ = s.recvfrom(65535)
        except OSError:
            return
        finally:
            s.close()
        if self.rewrite:
            ans = self.rewrite(wire, ans)
            if ans is None:
                return
        rec["answered"] = time.monotonic()  # just before: what the client does next comes after
        try:
            self._udp.sendto(ans, client)
        except OSError:
            pass

    def _tcp_conn(self, conn, peer):
        conn.settimeout(10.0)
        up = None
        try:
            while not self._stop.is_set():
                try:
                    wire = tcp_recv_msg(conn)
                except (ConnectionError, socket.timeout, OSError):
                    return
                rec = self._record(wire, True, peer)
                if self.delay:
                    time.sleep(self.delay)
                if self._dropped(rec):
                    return
                if up is None:
                    up = socket.create_connection(self.up, timeout=3.0)
                up.sendall(struct.pack("!H", len(wire)) + wire)
                ans = tcp_recv_msg(up)
                if self.rewrite:
                    ans = self.rewrite(wire, ans)
                    if ans is None:
                        return
                conn.sendall(struct.pack("!H", len(ans)) + ans)
        except OSError:
            return
        finally:
            conn.close()
            if up is not None:
                up.close()


# ---------------------------------------------------------------------------------------------
# dns64d


# DNS64D_VALGRIND=1 runs every daemon under valgrind: any memory error or definitely lost
# block makes it exit 99, which fails the test like any other non-zero exit.
VALGRIND = []
if os.environ.get("DNS64D_VALGRIND"):
    VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite"]
SLOWDOWN = 8.0 if VALGRIND else 1.0

# Seconds of slack in every bound on elapsed time: dig's start-up, a busy 2-core machine, a
# sanitizer build; valgrind multiplies it. An upper bound is the configured timeout it is about
# (or a multiple of it) plus SLACK; a lower bound only where it is the point of the test.
# 5 s: under ASan with two CPU hogs and other sessions on 2 cores, 2-4 s of delay were seen.
SLACK = 5.0 * SLOWDOWN


def wait_until(cond, timeout=10.0, step=0.05):
    """Poll cond() every step seconds until it is true or timeout (times SLOWDOWN) has passed;
    returns its last value. For waiting on an event instead of sleeping and hoping."""
    deadline = time.monotonic() + timeout * SLOWDOWN
    while True:
        v = cond()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


class DaemonError(AssertionError):
    pass


class Daemon:
    """dns64d in the foreground (-f) with a generated config in a temp dir.

    conf_lines: extra config lines; acl_lines: ACL file lines (None: no acl directive, the
    daemon's default applies); upstreams: list of "ADDR:PORT"; listen: list of listen values
    (default 127.0.0.1:PORT and [::1]:PORT); extra_env: environment additions; args: extra
    command-line arguments; ready: 'probe' waits for an answer or bound ports, None skips.
    expect_exit: the test expects the daemon to exit by itself (no failure on early exit)."""

    def __init__(self, conf_lines=(), acl_lines=None, upstreams=(), listen=None, extra_env=None,
                 port=None, args=(), ready="probe", expect_exit=False, binary=None,
                 ready_timeout=20.0):
        self.port = port or free_port()
        self.listen = list(listen) if listen is not None else [
            "127.0.0.1:%d" % self.port, "[::1]:%d" % self.port]
        self.conf_lines = list(conf_lines)
        self.acl_lines = None if acl_lines is None else list(acl_lines)
        self.upstreams = list(upstreams)
        self.extra_env = dict(extra_env or {})
        self.args = list(args)
        self.ready = ready
        self.expect_exit = expect_exit
        self.binary = binary or DNS64D_BIN
        self.ready_timeout = ready_timeout * SLOWDOWN
        self.dir = None
        self.proc = None
        self.conf = None
        self.acl = None
        self.logfile = None
        self.exit_code = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def write_config(self):
        lines = ["# generated by tests/integration/harness.py"]
        lines += ["listen %s" % l for l in self.listen]
        lines += ["upstream %s" % u for u in self.upstreams]
        if self.acl_lines is not None:
            self.acl = os.path.join(self.dir, "dns64d.acl")
            with open(self.acl, "w") as f:
                f.write("\n".join(self.acl_lines) + "\n")
            lines.append("acl dns64d.acl")
        lines += self.conf_lines
        self.conf = os.path.join(self.dir, "dns64d.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def set_acl(self, acl_lines):
        """Rewrite the ACL file (follow with reload())."""
        self.acl_lines = list(acl_lines)
        with open(os.path.join(self.dir, "dns64d.acl"), "w") as f:
            f.write("\n".join(self.acl_lines) + "\n")

    def set_conf(self, conf_lines=None, upstreams=None):
        """Rewrite the config with new extra lines / upstreams (follow with reload())."""
        if conf_lines is not None:
            self.conf_lines = list(conf_lines)
        if upstreams is not None:
            self.upstreams = list(upstreams)
        self.write_config()

    def __enter__(self):
        if not os.path.exists(self.binary):
            raise DaemonError("daemon binary %s does not exist (set DNS64D_BIN)" % self.binary)
        self.dir = _tmpdir("dns64d")
        self.write_config()
        self.logfile = os.path.join(self.dir, "dns64d.log")
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)  # a CI runner's journal must not change the log format
        env.update(self.extra_env)
        with open(self.logfile, "w") as err:
            self.proc = subprocess.Popen(VALGRIND + [self.binary, "-f", "-c", self.conf] + self.args,
                                         stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=env, cwd=self.dir)
        try:
            if self.ready == "probe":
                self._wait_ready()
        except BaseException:
            self._shutdown(raise_errors=False)
            raise
        return self

    def _first_v4_listen(self):
        """(host, port) to probe: the first IPv4 (or v4-mapped) listen address, else ::1."""
        fallback = None
        for l in self.listen:
            if l.startswith("["):
                host, _, rest = l[1:].partition("]")
                port = int(rest[1:]) if rest.startswith(":") else 53
                if host.lower().startswith("::ffff:") and "." in host:
                    return host[7:], port
                fallback = fallback or (host, port)
            else:
                host, _, port = l.rpartition(":")
                if host and port.isdigit():
                    return host, int(port)
                return l, 53
        return fallback or ("127.0.0.1", self.port)

    def _threads(self):
        try:
            return len(os.listdir("/proc/%d/task" % self.proc.pid))
        except OSError:
            return 0

    def _wait_ready(self):
        """Ready when a probe from 127.0.0.1 gets any answer, or both UDP and TCP are bound
        (for ACLs that drop 127.0.0.1). The probe has QDCOUNT=0, so it never reaches upstream."""
        host, port = self._first_v4_listen()
        deadline = time.monotonic() + self.ready_timeout
        probe = struct.pack("!HHHHHH", 0x5EED, 0x0100, 0, 0, 0, 0)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.exit_code = self.proc.returncode
                raise DaemonError("dns64d exited during startup with code %s\n--- log ---\n%s"
                                  % (self.exit_code, self.log_text()))
            ans = query(port, probe, server=host, timeout=0.2)
            if ans is not None and ans[:2] != probe[:2]:
                ans = None
            if ans is not None:
                return
            if _port_bound(port, host) and _tcp_listening(port, host) and self._threads() >= 2:
                # bound is not enough: the sockets are bound before the workers listen on
                # them (a slow start under valgrind); the LISTEN state shows they do, and a
                # worker thread beside the main one that they serve
                if self.proc.poll() is None:
                    return
            time.sleep(0.05)
        raise DaemonError("dns64d did not become ready on %s:%d within %.1fs\n--- log ---\n%s"
                          % (host, port, self.ready_timeout, self.log_text()))

    def log_text(self):
        if not self.logfile or not os.path.exists(self.logfile):
            return ""
        with open(self.logfile, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def reload(self, wait=0.3):
        """SIGHUP, then wait until the log shows the outcome ("reloaded '...'" or "reload of
        '...' failed"). Below log-level info a good reload logs nothing: then at most
        `wait` seconds for a failure line. Callers that need the new config in force poll for
        its effect as well (workers take it up asynchronously)."""
        marks = ("reloaded '", "reload of '")
        before = sum(self.log_text().count(m) for m in marks)
        # info lines need log-level info or debug (the default is warn) or -v
        quiet = not ("-v" in self.args or any(l.split()[:2] in (["log-level", "info"], ["log-level", "debug"])
                                              for l in self.conf_lines))
        os.kill(self.proc.pid, signal.SIGHUP)
        wait_until(lambda: sum(self.log_text().count(m) for m in marks) > before or not self.alive(),
                   timeout=wait if quiet else 10.0, step=0.02)

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=5.0):
        """SIGTERM (then SIGKILL after timeout). Returns the exit code."""
        code, killed = _stop(self.proc, timeout * SLOWDOWN)
        self.exit_code = code
        if killed:
            raise DaemonError("dns64d did not stop within %.0fs of SIGTERM; killed\n--- log ---\n%s"
                              % (timeout, self.log_text()))
        return code

    def _shutdown(self, raise_errors):
        if self.proc is None:
            return
        died_early = self.proc.poll() is not None
        err = None
        try:
            code = self.stop()
            if died_early and not self.expect_exit:
                err = "dns64d died unexpectedly with code %s" % code
            elif code != 0 and not self.expect_exit:
                err = "dns64d exited with code %s after SIGTERM" % code
        except DaemonError as e:
            err = str(e)
        log = self.log_text()
        if err or VERBOSE:
            if err and raise_errors:
                self.proc = None
                _rmtree(self.dir)
                raise DaemonError("%s\n--- dns64d log ---\n%s" % (err, log))
            sys.stdout.write("--- dns64d log (%s) ---\n%s\n" % (err or "ok", log))
        self.proc = None
        _rmtree(self.dir)

    def __exit__(self, exc_type, exc, tb):
        # Do not let a shutdown error hide the test's own failure; print the log instead.
        self._shutdown(raise_errors=exc_type is None)
        return False


def run_daemon_cmd(args, timeout=10):
    """Run the daemon binary with args to completion (e.g. -t, -V); returns CompletedProcess
    with text stdout/stderr."""
    return subprocess.run([DNS64D_BIN] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------------
# Assertions


def check(cond, msg, *context):
    """assert with context objects (e.g. DigResults) printed on failure."""
    if not cond:
        raise AssertionError(msg + "".join("\n" + repr(c) for c in context))


def check_eq(got, want, msg, *context):
    if got != want:
        raise AssertionError("%s: expected %r, got %r%s" % (
            msg, want, got, "".join("\n" + repr(c) for c in context)))


# ---------------------------------------------------------------------------------------------
# Runner


class _TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise _TestTimeout("test exceeded its time limit")


def run_tests(namespace, required=("nsd", "dig"), per_test_timeout=90):
    """Run every test_* function in namespace (in definition order), print PASS/FAIL/SKIP
    lines, exit 1 on any failure, 77 when a required binary is missing.

    Command-line arguments select tests by substring."""
    for b in required:
        path = {"nsd": NSD_BIN, "dig": DIG_BIN}.get(b, b)
        if not (shutil.which(path) or os.path.exists(path)):
            print("SKIP all: required binary %r not found" % b)
            sys.exit(77)
    if not HAVE_DNSPYTHON:
        print("SKIP all: python3-dnspython not installed")
        sys.exit(77)
    try:
        self_check_parser()
    except AssertionError as e:
        print("FAIL harness self-check of the dig parser: %r" % (e,))
        sys.exit(1)
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    sel = sys.argv[1:]
    if sel:
        tests = [(n, f) for n, f in tests if any(s in n for s in sel)]
    passed = failed = skipped = 0
    failures = []
    signal.signal(signal.SIGALRM, _alarm)
    for name, fn in tests:
        t0 = time.monotonic()
        signal.alarm(per_test_timeout)
        try:
            fn()
            status, reason = "PASS", ""
            passed += 1
        except SkipTest as e:
            status, reason = "SKIP", str(e)
            skipped += 1
        except BaseException as e:  # noqa: BLE001 - a test runner reports everything
            if isinstance(e, KeyboardInterrupt):
                raise
            status = "FAIL"
            where = "".join(traceback.format_list(traceback.extract_tb(e.__traceback__)[-3:]))
            reason = "%s: %s\n%s" % (type(e).__name__, e, where)
            failed += 1
            failures.append(name)
        finally:
            signal.alarm(0)
        dt = time.monotonic() - t0
        print("%s %s (%.2fs)%s" % (status, name, dt, (" " + reason) if reason else ""))
        sys.stdout.flush()
    print("TOTAL %d passed, %d failed, %d skipped%s" % (
        passed, failed, skipped, (" (" + ", ".join(failures) + ")") if failures else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    self_check_parser()
    print("harness parser self-check ok")


# ---------------------------------------------------------------------------------------------
# A programmable authoritative upstream (resilience tests)


class DnsUpstream(ScriptedServer):
    """An authoritative server for any name, on 127.0.0.1:port (UDP and TCP, dnspython, a
    thread per UDP query), whose misbehaviour tests switch on and off while it runs.

    Answers by the first label of the name: "ds..." has A and AAAA, "nx..." is NXDOMAIN, any
    other name has only A (AAAA: NODATA with SOA). Addresses come from the name (a_of(),
    aaaa_of()), global, so the Well-Known Prefix synthesizes them. ttl is the TTL of records and
    the negative TTL (SOA TTL and MINIMUM).

    Knobs, read per query: silent (no answer at all; TCP connections are held open), rcode
    (answer every query with this rcode, e.g. 2 for SERVFAIL), drop (a predicate on the record
    dict: matching UDP queries get no answer, a matching TCP query closes the connection),
    delay (seconds, or a function of the record, before answering), tc (answer UDP queries
    with TC=1 and no records; TCP gets the full answer).

    Every query is recorded as {name, type, tcp, src, id, time}; count() filters them.
    tcp_accepted counts TCP connections accepted. Stop with the context manager; start a new
    one with port=old.port to restart it on the same port."""

    def __init__(self, port=None, ttl=300, silent=False, rcode=None, drop=None, delay=0.0, tc=False):
        super().__init__(threaded_udp=True, port=port)
        self.ttl = ttl
        self.silent = silent
        self.rcode = rcode
        self.drop = drop
        self.delay = delay
        self.tc = tc
        self.queries = []
        self.tcp_accepted = 0

    @staticmethod
    def _hash(name):
        import zlib
        return zlib.crc32(str(name).lower().rstrip(".").encode()) & 0xFFFF

    @classmethod
    def a_of(cls, name):
        h = cls._hash(name)
        return "5.5.%d.%d" % (h >> 8, (h & 0xFF) | 1)

    @classmethod
    def aaaa_of(cls, name):
        return "2a00:5::%x" % (cls._hash(name) | 1)

    def count(self, name=None, rdtype=None, tcp=None, since=None):
        if name is not None:
            name = name.lower().rstrip(".") + "."
        with self._lock:
            return sum(1 for q in self.queries
                       if (name is None or q["name"] == name)
                       and (rdtype is None or q["type"] == rdtype.upper())
                       and (tcp is None or q["tcp"] == tcp)
                       and (since is None or q["time"] >= since))

    def reset(self):
        with self._lock:
            self.queries = []
            self.tcp_accepted = 0

    def _record(self, q, tcp, src):
        rec = {"name": q.question[0].name.to_text().lower() if q.question else None,
               "type": dns.rdatatype.to_text(q.question[0].rdtype) if q.question else None,
               "tcp": tcp, "src": src, "id": q.id, "time": time.monotonic()}
        with self._lock:
            self.queries.append(rec)
        return rec

    def _build(self, q, tcp):
        import dns.rrset
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if not q.question:
            r.set_rcode(dns.rcode.FORMERR)
            return r
        if self.rcode is not None:
            r.set_rcode(self.rcode)
            return r
        if self.tc and not tcp:
            r.flags |= dns.flags.TC
            return r
        qn = q.question[0].name
        first = qn.labels[0].decode(errors="replace").lower() if qn.labels else ""
        rdtype = q.question[0].rdtype
        records = []
        if first.startswith("nx"):
            r.set_rcode(dns.rcode.NXDOMAIN)
        elif rdtype == dns.rdatatype.A:
            records = [self.a_of(qn.to_text())]
        elif rdtype == dns.rdatatype.AAAA and first.startswith("ds"):
            records = [self.aaaa_of(qn.to_text())]
        if records:
            r.answer.append(dns.rrset.from_text(qn, self.ttl, "IN", rdtype, *records))
        else:
            zone = qn.parent() if len(qn.labels) > 2 else qn
            r.authority.append(dns.rrset.from_text(
                zone, self.ttl, "IN", "SOA",
                "ns.%s hostmaster.%s 1 3600 600 86400 %d" % (zone, zone, self.ttl)))
        return r

    def _respond(self, wire, tcp, src):
        """The answer wire for a query, or None for no answer (after the delay)."""
        try:
            q = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - junk gets no answer
            return None
        rec = self._record(q, tcp, src)
        delay = self.delay(rec) if callable(self.delay) else self.delay
        if delay:
            time.sleep(delay)
        if self.silent or (self.drop is not None and self.drop(rec)):
            return None
        return self._build(q, tcp).to_wire(max_size=65535)

    def _udp_one(self, wire, peer):
        try:
            ans = self._respond(wire, False, peer)
            if ans is not None and not self._stop.is_set():
                self._udp.sendto(ans, peer)
        except Exception:  # noqa: BLE001 - a closed socket at shutdown
            pass

    def _tcp_conn(self, conn, peer):
        with self._lock:
            self.tcp_accepted += 1
        conn.settimeout(30)
        try:
            while not self._stop.is_set():
                ans = self._respond(tcp_recv_msg(conn), True, peer)
                if ans is None:
                    if self.silent:
                        self._held.append(conn)
                        return
                    conn.close()
                    return
                conn.sendall(struct.pack("!H", len(ans)) + ans)
        except Exception:  # noqa: BLE001 - the client closed, or sent junk
            conn.close()

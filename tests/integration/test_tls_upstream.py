# Integration tests for DNS over TLS to upstreams (issue 15): dns64d -> TLS -> Unbound -> nsd.
#
# A CA and certificates are made at test time with certtool (gnutls-bin): a valid one for
# dot.test, one expired, and one from a CA the daemon is not told about. Unbound serves DNS
# over TLS on a high loopback port in front of nsd (forward-zone tls.test, no root, no internet).
# The daemon never talks to Unbound directly but through Tap, a TCP relay on its own port that
# counts accepted connections (connection reuse, seen from the server side) and records the
# first bytes of each (a TLS handshake record, never a DNS message in the clear); a UDP socket
# bound on the same port must never receive anything (no fallback to plain UDP).
# One nsd and one Unbound serve every test; each test starts the daemon it needs.
import atexit
import base64
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SLACK, SLOWDOWN, Daemon, Nsd, SkipTest, check, check_eq, dig,  # noqa: E402
                     free_port, run_tests, wait_until, _stop)

import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rrset  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

CERTTOOL = shutil.which("certtool")
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
NAME = "dot.test"
ZONE = """$ORIGIN tls.test.
$TTL 300
@ IN SOA ns hostmaster 1 3600 600 86400 60
@ IN NS ns
ns IN A 192.0.2.53
www IN A 192.0.2.10
www IN AAAA 2001:db8::10
v4only IN A 1.2.3.4
"""
for i in range(64):
    ZONE += "h%d IN A 203.0.113.%d\n" % (i, i + 1)
ACL = ["127.0.0.0/8 dns64", "::1/128 dns64"]


# --- certificates ------------------------------------------------------------------------------

def certtool(*args):
    subprocess.run([CERTTOOL] + list(args), check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_key(d, name):
    path = os.path.join(d, name + ".key")
    certtool("--generate-privkey", "--key-type=ecdsa", "--no-text", "--outfile", path)
    return path


def template(d, name, lines):
    path = os.path.join(d, name + ".tmpl")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def make_ca(d, name):
    key = make_key(d, name)
    tmpl = template(d, name, ['cn = "dns64d test %s"' % name, "ca", "cert_signing_key",
                              "expiration_days = 30"])
    pem = os.path.join(d, name + ".pem")
    certtool("--generate-self-signed", "--load-privkey", key, "--template", tmpl, "--outfile", pem)
    return key, pem


def make_leaf(d, name, ca, dates=("expiration_days = 30",)):
    key = make_key(d, name)
    tmpl = template(d, name, ['cn = "%s"' % NAME, 'dns_name = "%s"' % NAME, "tls_www_server",
                              "signing_key", "encryption_key"] + list(dates))
    pem = os.path.join(d, name + ".pem")
    certtool("--generate-certificate", "--load-privkey", key, "--load-ca-certificate", ca[1],
             "--load-ca-privkey", ca[0], "--template", tmpl, "--outfile", pem)
    return key, pem


def spki_pin(pem):
    """pin-sha256 of a certificate's public key, as certtool computes it."""
    out = subprocess.run([CERTTOOL, "--certificate-info", "--infile", pem], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("pin-sha256:"):
            return line[len("pin-sha256:"):]
    raise AssertionError("no pin-sha256 in certtool output:\n" + out)


class Pki:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="dns64d-pki-")
        self.ca = make_ca(self.dir, "ca")
        self.other_ca = make_ca(self.dir, "otherca")
        self.good = make_leaf(self.dir, "good", self.ca)
        self.expired = make_leaf(self.dir, "expired", self.ca,
                                 ('activation_date = "2020-01-01 00:00:00"',
                                  'expiration_date = "2020-02-01 00:00:00"'))
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


# --- servers -----------------------------------------------------------------------------------

class Unbound:
    """Unbound serving DNS over TLS on 127.0.0.1:port in front of nsd for tls.test."""

    def __init__(self, cert, nsd_port, port=None):
        self.cert = cert
        self.nsd_port = nsd_port
        self.port = port or free_port()
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="dns64d-unbound-")

    def start(self):
        d = self.dir
        conf = [
            "server:",
            "  interface: 127.0.0.1@%d" % self.port,
            "  tls-port: %d" % self.port,
            "  tls-service-key: \"%s\"" % self.cert[0],
            "  tls-service-pem: \"%s\"" % self.cert[1],
            "  do-daemonize: no", "  username: \"\"", "  chroot: \"\"",
            "  directory: \"%s\"" % d, "  pidfile: \"%s/unbound.pid\"" % d,
            "  use-syslog: no", "  logfile: \"\"", "  verbosity: 1", "  log-time-ascii: yes",
            "  num-threads: 1", "  do-ip6: no", "  do-not-query-localhost: no",
            "  module-config: \"iterator\"", "  access-control: 127.0.0.0/8 allow",
            "  tcp-idle-timeout: 60000", "  incoming-num-tcp: 32",
            "  qname-minimisation: no", "  local-zone: \"test.\" nodefault",
            # forwarding, not a stub: nsd's NS records must not send Unbound to 192.0.2.53
            "forward-zone:", "  name: \"tls.test\"", "  forward-addr: 127.0.0.1@%d" % self.nsd_port,
            "remote-control:", "  control-enable: no", "",
        ]
        path = os.path.join(d, "unbound.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf))
        self.log = os.path.join(d, "unbound.stderr")
        with open(self.log, "a") as err:
            self.proc = subprocess.Popen([UNBOUND, "-d", "-c", path], stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        ok = wait_until(lambda: self.proc.poll() is not None or _listening(self.port), timeout=10)
        if not ok or self.proc.poll() is not None:
            raise RuntimeError("unbound did not start:\n" + self.log_text())

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc:
            _stop(self.proc, 5.0)
            self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _listening(port):
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Tap:
    """A TCP relay on 127.0.0.1:port to target_port that counts connections and keeps the
    first bytes each client sent; a UDP socket on the same port counts datagrams."""

    def __init__(self, target_port):
        self.target = target_port
        self.port = free_port()
        self.accepts = 0
        self.first = []
        self.udp_datagrams = 0
        self.open = 0
        self.socks = []
        self.lock = threading.Lock()
        self.stopping = False

    def __enter__(self):
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(64)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._accept, self._udp)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.tcp.close()
        self.udp.close()

    def _udp(self):
        while not self.stopping:
            try:
                self.udp.recvfrom(65535)
            except OSError:
                return
            with self.lock:
                self.udp_datagrams += 1

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            with self.lock:
                self.accepts += 1
                self.open += 1
            threading.Thread(target=self._relay, args=(c,), daemon=True).start()

    def _relay(self, c):
        first = b""
        try:
            u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            u = None
        with self.lock:
            self.socks += [c] + ([u] if u else [])
        try:
            while u is not None:
                r, _, _ = select.select([c, u], [], [], 1.0)
                if self.stopping:
                    break
                done = False
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        done = True
                        break
                    if s is c and len(first) < 5:
                        first += data[:5 - len(first)]
                        if len(first) == 5:
                            with self.lock:
                                self.first.append(first)
                    (u if s is c else c).sendall(data)
                if done:
                    break
        except OSError:
            pass
        finally:
            with self.lock:
                if 0 < len(first) < 5:
                    self.first.append(first)
                self.open -= 1
            c.close()
            if u is not None:
                u.close()

    def cut(self):
        """Close every relayed connection, as a server timing them out would."""
        with self.lock:
            socks, self.socks = self.socks, []
        for x in socks:
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def plain_text_seen(self):
        """Connections whose first bytes were not a TLS handshake record, and UDP datagrams."""
        with self.lock:
            bad = [f for f in self.first if f and f[0] != 0x16]
            return bad, self.udp_datagrams


class HeldTlsServer:
    """A DoT server in Python (ssl module) that sees the queries in the clear: it records each
    query's length and options and the ALPN protocol chosen, and answers every `hold` queries
    of a connection at once in reverse order (out of order for the client)."""

    def __init__(self, cert, hold=4):
        self.cert = cert
        self.hold = hold
        self.port = free_port()
        self.lens, self.options, self.alpn = [], [], []
        self.lock = threading.Lock()

    def __enter__(self):
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert[1], self.cert[0])
        ctx.set_alpn_protocols(["dot"])
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, raw):
        try:
            c = self.ctx.wrap_socket(raw, server_side=True)
        except OSError:
            raw.close()
            return
        with self.lock:
            self.alpn.append(c.selected_alpn_protocol())
        held = []
        try:
            while True:
                hdr = _read_n(c, 2)
                if hdr is None:
                    return
                wire = _read_n(c, int.from_bytes(hdr, "big"))
                q = dns.message.from_wire(wire)
                with self.lock:
                    self.lens.append(len(wire))
                    self.options.append([o.otype for o in q.options])
                r = dns.message.make_response(q)
                r.answer.append(dns.rrset.from_text(q.question[0].name, 60, "IN", "A", "192.0.2.77"))
                held.append(r.to_wire())
                if len(held) == self.hold:
                    for a in reversed(held):
                        c.sendall(len(a).to_bytes(2, "big") + a)
                    held = []
        except OSError:
            pass
        finally:
            c.close()


def _read_n(c, n):
    buf = b""
    while len(buf) < n:
        d = c.recv(n - len(buf))
        if not d:
            return None
        buf += d
    return buf


# --- shared servers ----------------------------------------------------------------------------

STATE = {}


def setup():
    if not CERTTOOL:
        raise SkipTest("certtool (gnutls-bin) not installed")
    if not os.path.exists(UNBOUND):
        raise SkipTest("unbound not installed")
    if "pki" in STATE:
        return STATE
    pki = Pki().__enter__()
    atexit.register(pki.__exit__)
    nsd = Nsd({"tls.test": ZONE}).__enter__()
    atexit.register(nsd.__exit__)
    ub = Unbound(pki.good, nsd.port).__enter__()
    atexit.register(ub.__exit__)
    STATE.update(pki=pki, nsd=nsd, unbound=ub)
    return STATE


def tls_metrics(port):
    """dns64d_upstream_tls_{connections,handshakes}_total from the metrics endpoint."""
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        for k in ("connections", "handshakes"):
            if line.startswith("dns64d_upstream_tls_%s_total " % k):
                out[k] = int(line.split()[1])
    return out


def tls_daemon(tap, name=NAME, ca=None, extra=(), upstreams=None, pin=None):
    s = STATE
    up = "tls://127.0.0.1:%d#%s" % (tap.port, name) + (" pin-sha256 %s" % pin if pin else "")
    conf = ["workers 1", "timeout 1500", "tls-ca %s" % (ca or s["pki"].ca[1])] + list(extra)
    return Daemon(conf, ACL, upstreams=[up] + list(upstreams or []))


def burst(port, names, timeout=5.0):
    """A queries for names sent at once from one UDP socket; the first A of each, in order."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.2)
    want = {}
    for i, n in enumerate(names):
        q = dns.message.make_query(n, "A")
        q.id = 1000 + i
        want[q.id] = (i, q)
        sock.sendto(q.to_wire(), ("127.0.0.1", port))
    out = [None] * len(names)
    deadline = time.monotonic() + timeout * SLOWDOWN
    while any(o is None for o in out) and time.monotonic() < deadline:
        try:
            wire, _ = sock.recvfrom(65535)
        except socket.timeout:
            continue
        r = dns.message.from_wire(wire)
        if r.id in want:
            i, _ = want[r.id]
            a = [rd.address for rr in r.answer for rd in rr if rr.rdtype == dns.rdatatype.A]
            out[i] = a[0] if a else dns.rcode.to_text(r.rcode())
    sock.close()
    return out


def no_plain_text(tap, *ctx):
    bad, udp = tap.plain_text_seen()
    check(not bad, "a connection to the TLS upstream began in the clear: %r" % bad, *ctx)
    check_eq(udp, 0, "UDP datagrams sent to the TLS upstream", *ctx)


# --- tests -------------------------------------------------------------------------------------

def test_answers_and_synthesis():
    s = setup()
    mport = free_port()
    with Tap(s["unbound"].port) as tap, tls_daemon(tap, extra=["metrics 127.0.0.1:%d" % mport]) as d:
        r = dig(d.port, "www.tls.test", "A")
        check_eq(r.rcode, "NOERROR", "A through TLS", r, d.log_text())
        check_eq(r.rdatas("A"), ["192.0.2.10"], "A rdata", r)
        r = dig(d.port, "v4only.tls.test", "AAAA")
        check_eq(r.rcode, "NOERROR", "AAAA of an A-only name", r)
        check_eq(r.rdatas("AAAA"), ["64:ff9b::102:304"], "synthesized from 1.2.3.4", r)
        r = dig(d.port, "www.tls.test", "AAAA")
        check_eq(r.rdatas("AAAA"), ["2001:db8::10"], "a real AAAA is passed on", r)
        # many distinct questions at once: all pipelined on the one connection of the one worker
        got = burst(d.port, ["h%d.tls.test" % i for i in range(48)])
        check_eq(got, ["203.0.113.%d" % (i + 1) for i in range(48)], "pipelined answers", d.log_text())
        check_eq(tap.accepts, 1, "TCP connections to the TLS upstream (reused)", d.log_text())
        check_eq(tls_metrics(mport), {"connections": 1, "handshakes": 1}, "TLS metrics")
        # the server closes the idle connection: the next question reconnects, resuming the session
        tap.cut()
        check(wait_until(lambda: tap.open == 0, timeout=5), "relay closed")
        r = dig(d.port, "h60.tls.test", "A")
        check_eq(r.rdatas("A"), ["203.0.113.61"], "after the server closed the connection", r, d.log_text())
        check_eq(tap.accepts, 2, "a new connection")
        check_eq(tls_metrics(mport), {"connections": 2, "handshakes": 1}, "resumed, not a full handshake")
        no_plain_text(tap, d.log_text())


def test_padding_alpn_out_of_order():
    """Queries padded to 128-byte blocks (RFC 8467), ALPN dot, answers taken in any order."""
    s = setup()
    with HeldTlsServer(s["pki"].good) as srv, Tap(srv.port) as tap, tls_daemon(tap) as d:
        got = burst(d.port, ["o%d.tls.test" % i for i in range(8)])
        check_eq(got, ["192.0.2.77"] * 8, "answers held and sent in reverse order", d.log_text())
        check(srv.lens and all(n % 128 == 0 for n in srv.lens), "query lengths %r" % srv.lens)
        check(all(12 in o for o in srv.options), "padding option in every query: %r" % srv.options)
        check_eq(srv.alpn, ["dot"], "ALPN of the one connection")
        no_plain_text(tap, d.log_text())


def _refused(tap, d, why, *ctx):
    r = dig(d.port, "www.tls.test", "A")
    check_eq(r.rcode, "SERVFAIL", "answer when the TLS upstream is refused", r, d.log_text())
    check(wait_until(lambda: why in d.log_text(), timeout=3),
          "no log line with %r" % why, d.log_text())
    check(tap.accepts >= 1, "the daemon did connect")
    no_plain_text(tap, d.log_text())


def test_wrong_name():
    s = setup()
    with Tap(s["unbound"].port) as tap, tls_daemon(tap, name="wrong.test") as d:
        _refused(tap, d, "does not match the expected")
        check("rejected" in d.log_text() and "wrong.test" in d.log_text(), "log names the name", d.log_text())


def test_untrusted_ca():
    s = setup()
    with Tap(s["unbound"].port) as tap, tls_daemon(tap, ca=s["pki"].other_ca[1]) as d:
        _refused(tap, d, "issuer is unknown")


def test_wrong_pin():
    s = setup()
    wrong = base64.b64encode(os.urandom(32)).decode()
    with Tap(s["unbound"].port) as tap, tls_daemon(tap, pin=wrong) as d:
        _refused(tap, d, "does not match pin-sha256")


def test_right_pin():
    s = setup()
    pin = spki_pin(s["pki"].good[1])
    with Tap(s["unbound"].port) as tap, tls_daemon(tap, pin=pin) as d:
        r = dig(d.port, "www.tls.test", "A")
        check_eq(r.rdatas("A"), ["192.0.2.10"], "answer with the right pin", r, d.log_text())


def test_expired_certificate():
    s = setup()
    with Unbound(s["pki"].expired, s["nsd"].port) as ub, Tap(ub.port) as tap, tls_daemon(tap) as d:
        _refused(tap, d, "expired")


def test_next_upstream_answers():
    """A refused TLS upstream counts as failed: the plain one after it answers."""
    s = setup()
    with Tap(s["unbound"].port) as tap, \
            tls_daemon(tap, name="wrong.test", upstreams=[s["nsd"].addr],
                       extra=["upstream-selection ordered"]) as d:
        for name in ("www", "h1", "h2"):
            r = dig(d.port, "%s.tls.test" % name, "A")
            check_eq(r.rcode, "NOERROR", "the plain upstream answered", r, d.log_text())
        check("rejected" in d.log_text(), "the refusal is logged", d.log_text())
        no_plain_text(tap, d.log_text())


def test_upstream_restart():
    """Unbound restarted while queries go on: the connection is reopened, answers continue."""
    s = setup()
    ub = s["unbound"]
    with Tap(ub.port) as tap, tls_daemon(tap) as d:
        check_eq(dig(d.port, "h3.tls.test", "A").rdatas("A"), ["203.0.113.4"], "before", d.log_text())
        results, stop = [], threading.Event()

        def load():  # a fresh question each time: every one goes upstream (NXDOMAIN from nsd)
            i = 0
            while not stop.is_set():
                q = dns.message.make_query("r%d.tls.test" % i, "A")
                try:
                    r = dns.query.udp(q, "127.0.0.1", port=d.port, timeout=3 * SLOWDOWN)
                    results.append(dns.rcode.to_text(r.rcode()))
                except dns.exception.Timeout:
                    results.append("timeout")
                i += 1

        t = threading.Thread(target=load)
        t.start()
        wait_until(lambda: len(results) >= 5, timeout=SLACK)
        before = list(results)
        ub.stop()
        ub.start()
        restarted = len(results)
        answered = wait_until(lambda: "NXDOMAIN" in results[restarted:], timeout=SLACK)
        stop.set()
        t.join()
        check(before and all(r == "NXDOMAIN" for r in before), "before the restart: %r" % before)
        check(answered, "answers again after the restart: %r" % results[restarted:], d.log_text())
        check(wait_until(lambda: dig(d.port, "h5.tls.test", "A").rcode == "NOERROR", timeout=SLACK),
              "answers after the restart", d.log_text())
        r = dig(d.port, "h6.tls.test", "A")
        check_eq(r.rdatas("A"), ["203.0.113.7"], "a fresh question after the restart", r, d.log_text())
        check(tap.accepts >= 2, "a new connection after the restart (%d)" % tap.accepts)
        print("  during the restart: %d questions, %d answered" % (len(results), results.count("NXDOMAIN")))
        no_plain_text(tap, d.log_text())


if __name__ == "__main__":
    run_tests(globals())

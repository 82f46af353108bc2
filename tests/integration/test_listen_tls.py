# Integration tests for DNS over TLS for clients (listen-tls, RFC 7858) and DDR (RFC 9462).
#
# A CA and two server certificates are made at test time with certtool in a temp dir. The
# daemon serves DoT on a free loopback port in front of nsd (tests/integration/zones/dns64.zone);
# kdig +tls and a Python ssl client talk to it.
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SLOWDOWN, Daemon, Nsd, check, check_eq, free_port, run_daemon_cmd,  # noqa: E402
                     run_tests, wait_until, zone_path)

import dns.message  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rcode  # noqa: E402
import dns.query  # noqa: E402

CERTTOOL = shutil.which("certtool")
KDIG = shutil.which("kdig")
NAME = "dns.test"
_PKI = {}


def _certtool(*args):
    subprocess.run([CERTTOOL] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _server_cert(d, tag, serial):
    key, pem, tmpl = (os.path.join(d, tag + x) for x in (".key", ".pem", ".tmpl"))
    with open(tmpl, "w") as f:
        f.write('cn = "%s"\ndns_name = "%s"\nip_address = "127.0.0.1"\nserial = %d\n'
                "tls_www_server\nsigning_key\nexpiration_days = 2\n" % (NAME, NAME, serial))
    _certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", key)
    _certtool("--generate-certificate", "--load-privkey", key, "--load-ca-certificate", _PKI["ca"],
              "--load-ca-privkey", _PKI["ca_key"], "--template", tmpl, "--outfile", pem)
    return pem, key


def pki():
    """A CA and server certificates a (serial 1001) and b (serial 1002), made once."""
    if _PKI:
        return _PKI
    if not CERTTOOL:
        from harness import SkipTest
        raise SkipTest("certtool (gnutls-bin) not installed")
    d = tempfile.mkdtemp(prefix="dns64d-pki-")
    _PKI["dir"] = d
    _PKI["ca_key"] = os.path.join(d, "ca.key")
    _PKI["ca"] = os.path.join(d, "ca.pem")
    with open(os.path.join(d, "ca.tmpl"), "w") as f:
        f.write('cn = "dns64d test CA"\nca\ncert_signing_key\nexpiration_days = 2\nserial = 1\n')
    _certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", _PKI["ca_key"])
    _certtool("--generate-self-signed", "--load-privkey", _PKI["ca_key"], "--template",
              os.path.join(d, "ca.tmpl"), "--outfile", _PKI["ca"])
    _PKI["a"] = _server_cert(d, "a", 1001)
    _PKI["b"] = _server_cert(d, "b", 1002)
    return _PKI


def tls_context(max_version=None):
    ctx = ssl.create_default_context(cafile=pki()["ca"])
    ctx.set_alpn_protocols(["dot"])
    if max_version:
        ctx.maximum_version = max_version
    return ctx


def tls_connect(port, source=None, max_version=None, ctx=None, session=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOWDOWN,
                                   source_address=(source, 0) if source else None)
    return (ctx or tls_context(max_version)).wrap_socket(raw, server_hostname=NAME, session=session)


def send_msg(s, wire):
    s.sendall(struct.pack("!H", len(wire)) + wire)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_msg(s):
    h = recv_exact(s, 2)
    if h is None:
        return None
    return recv_exact(s, struct.unpack("!H", h)[0])


def closed(s):
    """Does the server close the connection (close_notify, FIN or RST) without more data?"""
    try:
        return recv_msg(s) is None
    except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
        return True


def serial_of(port):
    with tls_connect(port) as s:
        return int(s.getpeercert()["serialNumber"], 16)


def tls_conf(port, cert_key, extra=()):
    return ["listen-tls 127.0.0.1:%d %s %s" % ((port,) + tuple(cert_key)), "tcp-idle-timeout 3000"] + list(extra)


ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 refuse", "127.0.0.3/32 drop"]


def test_dns64_over_dot():
    """kdig +tls gets the synthesized AAAA; TLS 1.2 and 1.3 both work, ALPN is dot."""
    p = pki()
    if not KDIG:
        from harness import SkipTest
        raise SkipTest("kdig (knot-dnsutils) not installed")
    tport = free_port()
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon(tls_conf(tport, p["a"]), ACL, upstreams=[ns.addr]) as d:
        r = subprocess.run([KDIG, "@127.0.0.1", "-p", str(tport), "+tls", "+tls-ca=" + p["ca"],
                            "+tls-hostname=" + NAME, "+short", "v4only.dns64.test", "AAAA"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=20)
        check_eq(r.stdout.split(), ["64:ff9b::102:304"], "kdig +tls answer (stderr: %s)" % r.stderr)
        ctx = tls_context()
        session = None
        for ver, want in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (None, "TLSv1.3")):
            with tls_connect(tport, max_version=ver) if ver else tls_connect(tport, ctx=ctx) as s:
                check_eq(s.version(), want, "TLS version")
                check_eq(s.selected_alpn_protocol(), "dot", "ALPN")
                send_msg(s, dns.message.make_query("v4only.dns64.test", "AAAA").to_wire())
                m = dns.message.from_wire(recv_msg(s))
                check_eq([str(x) for rr in m.answer for x in rr], ["64:ff9b::102:304"], "answer over " + want)
                session = s.session
        # TLS 1.3 resumption with the ticket of the last connection
        with tls_connect(tport, ctx=ctx, session=session) as s:
            send_msg(s, dns.message.make_query("localhost", "A").to_wire())
            check(recv_msg(s) is not None, "answer on a resumed session")
            check(s.session_reused, "session resumed")
        check(d.alive(), "daemon alive")


def test_pipelined():
    """Many queries written at once on one connection all get their answers, matched by ID."""
    p = pki()
    tport = free_port()
    names = ["v4only.dns64.test", "dual.dns64.test", "nothing.dns64.test", "localhost"]
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon(tls_conf(tport, p["a"]), ACL, upstreams=[ns.addr]):
        with tls_connect(tport) as s:
            want = {}
            out = b""
            for i in range(300):
                qm = dns.message.make_query(names[i % len(names)], "AAAA" if i % 2 else "A")
                qm.id = i + 1
                want[qm.id] = qm
                w = qm.to_wire()
                out += struct.pack("!H", len(w)) + w
            s.sendall(out)
            got = {}
            while len(got) < len(want):
                w = recv_msg(s)
                check(w is not None, "connection closed after %d answers" % len(got))
                m = dns.message.from_wire(w)
                check(m.id in want and m.id not in got, "unexpected answer id %d" % m.id)
                check_eq(m.question, want[m.id].question, "question of answer %d" % m.id)
                got[m.id] = m
            v4 = [m for i, m in got.items() if names[(i - 1) % len(names)] == "v4only.dns64.test" and i % 2 == 0]
            check(all(str(m.answer[0][0]) == "64:ff9b::102:304" for m in v4), "synthesized in the pipeline")


def test_refused_and_dropped_clients():
    """A refused source gets REFUSED for one query and the connection closes; a dropped one
    is closed at accept (its handshake fails)."""
    p = pki()
    tport, mport = free_port(), free_port()
    with Daemon(tls_conf(tport, p["a"], ["metrics 127.0.0.1:%d" % mport]), ACL) as d:
        # plain DNS on the TLS port is not a handshake: closed, and counted
        with socket.create_connection(("127.0.0.1", tport), timeout=10 * SLOWDOWN) as raw:
            send_msg(raw, dns.message.make_query("localhost", "A").to_wire())
            check(closed(raw), "plain DNS on the TLS port is closed")
        with tls_connect(tport, source="127.0.0.2") as s:
            send_msg(s, dns.message.make_query("v4only.dns64.test", "AAAA").to_wire())
            send_msg(s, dns.message.make_query("dual.dns64.test", "AAAA").to_wire())
            m = dns.message.from_wire(recv_msg(s))
            check_eq(dns.rcode.to_text(m.rcode()), "REFUSED", "refused client")
            check(closed(s), "the connection closes after the one answer")
        try:
            with tls_connect(tport, source="127.0.0.3") as s:
                send_msg(s, dns.message.make_query("x.test", "A").to_wire())
                check(closed(s), "a dropped client gets nothing")
        except (ssl.SSLError, ConnectionError, OSError):
            pass  # closed during the handshake: what we want
        check(d.alive(), "daemon alive")
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=10).read().decode()
        check("dns64d_tls_handshake_failures_total 1\n" in text, "one failed handshake counted", text)
        check("dns64d_tls_handshakes_total 1\n" in text, "one completed handshake counted", text)


def test_limits_over_tls():
    """tcp-clients-per-host counts TLS connections; tcp-idle-timeout closes an idle one, and
    one that never finishes its handshake."""
    p = pki()
    tport = free_port()
    conf = ["listen-tls 127.0.0.1:%d %s %s" % ((tport,) + p["a"]), "tcp-idle-timeout 400",
            "tcp-clients-per-host 2"]
    with Daemon(conf, ACL) as d:
        a = tls_connect(tport)
        b = tls_connect(tport)
        try:
            try:
                with tls_connect(tport) as c:
                    send_msg(c, dns.message.make_query("localhost", "A").to_wire())
                    check(closed(c), "a third connection from the host is closed")
            except (ssl.SSLError, ConnectionError, OSError):
                pass  # closed during the handshake
            send_msg(a, dns.message.make_query("localhost", "A").to_wire())
            check(recv_msg(a) is not None, "the first connections are served")
            # nothing more asked: both are closed by the idle timeout (the socket timeout is far longer)
            t0 = time.monotonic()
            check(closed(a) and closed(b), "idle connections closed")
            check(time.monotonic() - t0 < 10 * SLOWDOWN, "closed by the idle timeout, not the client")
        finally:
            a.close()
            b.close()
        with socket.create_connection(("127.0.0.1", tport), timeout=10 * SLOWDOWN) as raw:
            check(raw.recv(10) == b"", "a connection without a handshake is closed when idle")
        check(d.alive(), "daemon alive")


def _svcb(port, src="127.0.0.1", rdtype="SVCB"):
    qm = dns.message.make_query("_dns.resolver.arpa", rdtype)
    return dns.query.udp(qm, "127.0.0.1", port=port, timeout=5 * SLOWDOWN, source=src)


def test_ddr_svcb():
    """_dns.resolver.arpa SVCB names the DoT endpoint for permitted clients only."""
    p = pki()
    tport = free_port()
    v6 = ["listen-tls [::1]:%d %s %s" % ((tport,) + p["a"])]
    with Daemon(tls_conf(tport, p["a"], v6 + ["ddr-target " + NAME]), ACL) as d:
        m = _svcb(d.port)
        check_eq(dns.rcode.to_text(m.rcode()), "NOERROR", "rcode", m)
        check_eq(len(m.answer), 1, "one SVCB rrset", m)
        rrs = list(m.answer[0])
        check_eq(len(rrs), 1, "one record", m)
        rd = rrs[0]
        check_eq(rd.rdtype, dns.rdatatype.SVCB, "type")
        check_eq(rd.priority, 1, "SvcPriority")
        check_eq(rd.target.to_text(), NAME + ".", "TargetName")
        params = {int(k): v for k, v in rd.params.items()}  # 1 alpn, 3 port, 4 ipv4hint, 6 ipv6hint
        check_eq(sorted(params), [1, 3, 4, 6], "SvcParamKeys", m)
        check_eq(list(params[1].ids), [b"dot"], "alpn", m)
        check_eq(params[3].port, tport, "port", m)
        check_eq([str(a) for a in params[4].addresses], ["127.0.0.1"], "ipv4hint", m)
        check_eq([str(a) for a in params[6].addresses], ["::1"], "ipv6hint", m)
        # also over DoT itself, the same record
        with tls_connect(tport) as s:
            send_msg(s, dns.message.make_query("_dns.resolver.arpa", "SVCB").to_wire())
            t = dns.message.from_wire(recv_msg(s))
            check_eq(t.answer, m.answer, "SVCB over DoT")
        n = _svcb(d.port, rdtype="A")
        check_eq((dns.rcode.to_text(n.rcode()), len(n.answer)), ("NOERROR", 0), "A at _dns.resolver.arpa", n)
        r = _svcb(d.port, src="127.0.0.2")
        check_eq(dns.rcode.to_text(r.rcode()), "REFUSED", "a refused client learns nothing", r)
    # without listen-tls: answered here (NXDOMAIN), never forwarded
    with Daemon([], ACL) as d:
        m = _svcb(d.port)
        check_eq((dns.rcode.to_text(m.rcode()), len(m.answer)), ("NXDOMAIN", 0), "no listen-tls", m)


def _install(p, which, cert, key):
    shutil.copyfile(p[which][0], cert)
    shutil.copyfile(p[which][1], key)


def test_reload_certificate():
    """SIGHUP re-reads the files: new connections get the new certificate, open ones go on; a
    bad new file is logged, naming it, and the old certificate stays."""
    p = pki()
    tport = free_port()
    tmp = tempfile.mkdtemp(prefix="dns64d-reload-")
    cert, key = os.path.join(tmp, "server.pem"), os.path.join(tmp, "server.key")
    _install(p, "a", cert, key)
    try:
        with Daemon(tls_conf(tport, (cert, key), ["log-level info"]), ACL) as d:
            check_eq(serial_of(tport), 1001, "serial before reload")
            with tls_connect(tport) as old_conn:
                _install(p, "b", cert, key)
                d.reload()
                check(wait_until(lambda: "loaded certificate" in d.log_text()), "reload logged", d.log_text())
                check_eq(serial_of(tport), 1002, "serial after reload")
                send_msg(old_conn, dns.message.make_query("localhost", "A").to_wire())
                check(recv_msg(old_conn) is not None, "a connection made before is still answered")
            with open(cert, "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
            d.reload()
            check(wait_until(lambda: "keeping the certificate loaded before" in d.log_text()),
                  "bad reload logged", d.log_text())
            line = [l for l in d.log_text().splitlines() if "keeping the certificate" in l][-1]
            check("certificate '%s'" % cert in line, "the bad file is named", line)
            check_eq(serial_of(tport), 1002, "old certificate kept after a bad reload")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_conf(lines):
    d = tempfile.mkdtemp(prefix="dns64d-badtls-")
    conf = os.path.join(d, "dns64d.conf")
    port = free_port()
    with open(conf, "w") as f:
        f.write("\n".join(["listen 127.0.0.1:%d" % port, "upstream 127.0.0.1:9"] + lines) + "\n")
    return d, conf


def test_bad_certificate_refuses_start():
    """A missing or broken file, or a key of another certificate: -t and the daemon both
    refuse, naming the file."""
    p = pki()
    tport = free_port()
    cases = [
        (p["a"][0], "/nonexistent/server.key", "cannot read key '/nonexistent/server.key'"),
        ("/nonexistent/server.pem", p["a"][1], "cannot read certificate '/nonexistent/server.pem'"),
        (p["a"][0], p["b"][1], "does not match key '%s'" % p["b"][1]),
        (p["ca_key"], p["a"][1], "certificate '%s'" % p["ca_key"]),
    ]
    for cert, key, want in cases:
        d, conf = _write_conf(["listen-tls 127.0.0.1:%d %s %s" % (tport, cert, key)])
        try:
            r = run_daemon_cmd(["-t", "-c", conf])
            check_eq(r.returncode, 1, "-t exit code for %s" % want, r.stderr)
            check("%s:3: listen-tls '127.0.0.1:%d'" % (conf, tport) in r.stderr and want in r.stderr,
                  "-t names the file: %s" % want, r.stderr)
            r = run_daemon_cmd(["-f", "-c", conf])
            check_eq(r.returncode, 1, "start exit code for %s" % want, r.stderr)
            check(want in r.stderr, "start names the file: %s" % want, r.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    d, conf = _write_conf(["listen-tls 127.0.0.1:%d %s %s" % ((tport,) + p["a"])])
    try:
        r = run_daemon_cmd(["-t", "-c", conf])
        check_eq(r.returncode, 0, "-t with good files", r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    try:
        run_tests(globals(), required=("nsd",))
    finally:
        if _PKI.get("dir"):
            shutil.rmtree(_PKI["dir"], ignore_errors=True)

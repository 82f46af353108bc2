# Integration tests for the listener (issue 14 §1, §2): replies from the address asked on a
# wildcard listen (IPv4 and IPv6, the batched path too), the ACL at TCP accept, the per-host
# TCP limit, making room in a full pool by closing the least recently active idle connection,
# and the idle timer counting only answered queries.
import os
import random
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SLOWDOWN, Daemon, Nsd, SkipTest, check, check_eq, dig, free_port,  # noqa: E402
                     make_query, parse_header, rcode_of, run_tests, tcp_recv_msg, zone_path)

ZONES = {"core.test": zone_path("core.zone")}
ACL = ["127.0.0.0/8 dns64", "::1/128 dns64"]
NOERROR, REFUSED = 0, 5
V6_SECOND = "fd00:53::53"  # added to lo inside a network namespace of its own


# --- helpers ------------------------------------------------------------------------------------

def udp_from(dst, port, wires, timeout=3.0):
    """Send each wire from one unconnected socket to dst:port; return {qid: (source address,
    answer)} for the answers that arrive within timeout."""
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        for w in wires:
            s.sendto(w, (dst, port))
        got = {}
        deadline = time.monotonic() + timeout * SLOWDOWN
        while len(got) < len(wires):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                break
            got[parse_header(data)[0]] = (addr[0], data)
        return got
    finally:
        s.close()


def check_sources(port, dsts, name, rdtype="A", per_dst=1, source=None):
    """Queries to every address in dsts, per_dst each, all sent before any answer is read
    (so they share receive batches); every answer must come from the address asked.
    source: the client's address (else the kernel's choice)."""
    socks = []
    try:
        for dst in dsts:
            fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_DGRAM)
            socks.append((dst, s, set()))
            if source:
                s.bind((source, 0))
        for _ in range(per_dst):
            for dst, s, ids in socks:
                qid = random.randint(0, 0xFFFF)
                ids.add(qid)
                s.sendto(make_query(name, rdtype, qid=qid), (dst, port))
        for dst, s, ids in socks:
            seen = set()
            deadline = time.monotonic() + 5 * SLOWDOWN
            while seen != ids and time.monotonic() < deadline:
                s.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    data, addr = s.recvfrom(65535)
                except socket.timeout:
                    break
                check_eq(addr[0], dst, "source address of the reply to a query sent to %s" % dst)
                check_eq(addr[1], port, "source port of the reply")
                seen.add(parse_header(data)[0])
            check_eq(seen, ids, "answers to the queries sent to %s" % dst)
    finally:
        for _, s, _ in socks:
            s.close()


def tcp_connect(port, source, host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5 * SLOWDOWN)
    s.bind((source, 0))
    s.connect((host, port))
    return s


def tcp_send(sock, wire):
    sock.sendall(struct.pack("!H", len(wire)) + wire)


def tcp_query(sock, name, rdtype="A"):
    qid = random.randint(0, 0xFFFF)
    tcp_send(sock, make_query(name, rdtype, qid=qid))
    ans = tcp_recv_msg(sock)
    check_eq(parse_header(ans)[0], qid, "answer ID on TCP")
    return ans


def closed_by_peer(sock, timeout):
    """Seconds until the peer closes (EOF or reset), or None if still open after timeout.
    Anything the peer sends meanwhile is read and discarded."""
    t0 = time.monotonic()
    try:
        while True:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                return None
            sock.settimeout(left)
            if not sock.recv(65535):
                return time.monotonic() - t0
    except socket.timeout:
        return None
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - t0


def still_open(sock):
    """True if the peer has not closed: nothing to read, no EOF, no reset."""
    sock.setblocking(False)
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return True
    except (ConnectionResetError, BrokenPipeError):
        return False
    finally:
        sock.setblocking(True)


# --- replies from the address asked (wildcard listen) -------------------------------------------

def test_wildcard_ipv4_replies_from_address_asked():
    port = free_port()
    with Nsd(ZONES) as ns, \
         Daemon(["workers 2"], ACL, upstreams=[ns.addr], port=port,
                listen=["0.0.0.0:%d" % port, "[::]:%d" % port]) as d:
        for dst in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
            # answered by the upstream later, and at once from the daemon itself
            for name in ("www.core.test", "ipv4only.arpa"):
                r = dig(d.port, name, "A", server=dst)
                check_eq(r.rcode, "NOERROR", "dig @%s %s over UDP" % (dst, name), r)
                r = dig(d.port, name, "A", server=dst, tcp=True)
                check_eq(r.rcode, "NOERROR", "dig @%s %s over TCP" % (dst, name), r)
        # raw sockets see the source: one answer at a time, then bursts that share batches
        got = udp_from("127.0.0.2", d.port, [make_query("www.core.test", "A", qid=7)])
        check_eq(got.get(7, (None,))[0], "127.0.0.2", "source of the answer to 127.0.0.2")
        check_sources(d.port, ["127.0.0.1", "127.0.0.2", "127.0.0.3"], "ipv4only.arpa", "AAAA", per_dst=30)
        check_sources(d.port, ["127.0.0.2", "127.0.0.1"], "www.core.test", "A", per_dst=10)
        check_sources(d.port, ["::1"], "ipv4only.arpa", "AAAA", per_dst=20)
        check(d.alive(), "daemon alive")


def test_specific_listen_unchanged():
    # A socket bound to one address needs no control messages; it still answers from it.
    port = free_port()
    with Nsd(ZONES) as ns, \
         Daemon([], ACL, upstreams=[ns.addr], port=port,
                listen=["127.0.0.2:%d" % port, "[::1]:%d" % port]) as d:
        check_sources(d.port, ["127.0.0.2"], "ipv4only.arpa", "AAAA", per_dst=30)
        check_sources(d.port, ["::1"], "www.core.test", "A", per_dst=5)
        r = dig(d.port, "www.core.test", "A", server="127.0.0.2")
        check_eq(r.rcode, "NOERROR", "dig @127.0.0.2", r)


def _netns_v6_child():
    """Inside a new network namespace: a second IPv6 address on lo and a [::] listen."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "-6", "addr", "add", V6_SECOND + "/128", "dev", "lo", "nodad"], check=True)
    port = free_port()
    with Daemon([], ["::/0 dns64", "127.0.0.0/8 dns64"], upstreams=["127.0.0.1:9"], port=port,
                listen=["[::]:%d" % port]) as d:
        # from a client address the kernel would not pick as the source for the reply
        check_sources(d.port, [V6_SECOND], "ipv4only.arpa", "AAAA", per_dst=30, source="::1")
        check_sources(d.port, ["::1"], "ipv4only.arpa", "AAAA", per_dst=30, source=V6_SECOND)
        check_sources(d.port, ["::1", V6_SECOND], "ipv4only.arpa", "AAAA", per_dst=30)
        for tcp in (False, True):
            r = dig(d.port, "ipv4only.arpa", "AAAA", server=V6_SECOND, source="::1", tcp=tcp)
            check_eq(r.rcode, "NOERROR", "dig -b ::1 @%s (tcp=%s)" % (V6_SECOND, tcp), r)


def test_wildcard_ipv6_replies_from_address_asked():
    if os.geteuid() != 0:
        raise SkipTest("a second IPv6 loopback address needs a network namespace (root)")
    probe = subprocess.run(["unshare", "--net", "true"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if probe.returncode != 0:
        raise SkipTest("cannot create a network namespace: %s" % probe.stdout.decode(errors="replace").strip())
    p = subprocess.run(["unshare", "--net", sys.executable, os.path.abspath(__file__), "--netns-v6-child"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120 * SLOWDOWN)
    out = p.stdout.decode(errors="replace")
    check(p.returncode == 0, "IPv6 wildcard test in a network namespace failed:\n" + out)


# --- the ACL at accept --------------------------------------------------------------------------

def test_tcp_drop_source_closed_at_accept():
    # The review's reproduction: tcp-clients 4, four connections from a drop source, each
    # sending a query; they must not hold the pool against a permitted client.
    acl = ACL + ["127.0.0.3/32 drop"]
    with Nsd(ZONES) as ns, \
         Daemon(["tcp-clients 4", "tcp-idle-timeout 30000", "workers 2"], acl, upstreams=[ns.addr]) as d:
        bad = []
        try:
            for _ in range(4):
                c = tcp_connect(d.port, "127.0.0.3")
                bad.append(c)
                try:
                    tcp_send(c, make_query("www.core.test", "A"))
                except (ConnectionResetError, BrokenPipeError):
                    pass
            for i, c in enumerate(bad):
                t = closed_by_peer(c, 5.0 * SLOWDOWN)
                check(t is not None, "connection %d from a drop source still open (tcp-idle-timeout 30s)" % i)
            good = tcp_connect(d.port, "127.0.0.1")
            bad.append(good)
            check_eq(rcode_of(tcp_query(good, "www.core.test")), NOERROR, "permitted client over TCP")
            r = dig(d.port, "www.core.test", "A", tcp=True)
            check_eq(r.rcode, "NOERROR", "dig +tcp from a permitted client", r)
        finally:
            for c in bad:
                c.close()


def test_tcp_refuse_source_one_answer_then_closed():
    # A refused source gets one REFUSED answer, then the connection is closed.
    acl = ACL + ["127.0.0.4/32 refuse"]
    with Nsd(ZONES) as ns, Daemon(["tcp-idle-timeout 30000"], acl, upstreams=[ns.addr]) as d:
        c = tcp_connect(d.port, "127.0.0.4")
        try:
            w1, w2 = make_query("www.core.test", "A", qid=1), make_query("www.core.test", "A", qid=2)
            c.sendall(struct.pack("!H", len(w1)) + w1 + struct.pack("!H", len(w2)) + w2)
            ans = tcp_recv_msg(c)
            check_eq((parse_header(ans)[0], rcode_of(ans)), (1, REFUSED), "first answer to a refused source")
            t = closed_by_peer(c, 5.0 * SLOWDOWN)
            check(t is not None, "connection of a refused source open after its answer")
        finally:
            c.close()


# --- tcp-clients-per-host -----------------------------------------------------------------------

def test_tcp_clients_per_host():
    per_host = 3
    with Nsd(ZONES) as ns, \
         Daemon(["tcp-clients 20", "tcp-clients-per-host %d" % per_host, "tcp-idle-timeout 30000", "workers 2"],
                ACL, upstreams=[ns.addr]) as d:
        conns = []
        try:
            for _ in range(per_host):
                conns.append(tcp_connect(d.port, "127.0.0.5"))
            for c in conns:
                check_eq(rcode_of(tcp_query(c, "www.core.test")), NOERROR, "connection within the host's limit")
            over = tcp_connect(d.port, "127.0.0.5")
            conns.append(over)
            t = closed_by_peer(over, 5.0 * SLOWDOWN)
            check(t is not None, "connection %d from one host still open (tcp-clients-per-host %d)"
                  % (per_host + 1, per_host))
            # another host still gets in, and the first host's connections still work
            other = [tcp_connect(d.port, "127.0.0.6") for _ in range(per_host)]
            conns += other
            for c in other:
                check_eq(rcode_of(tcp_query(c, "www.core.test")), NOERROR, "another host")
            for c in conns[:per_host]:
                check_eq(rcode_of(tcp_query(c, "www.core.test")), NOERROR, "first host after the refusal")
            # closing one gives the host its slot back
            conns[0].close()
            deadline = time.monotonic() + 5 * SLOWDOWN
            while True:
                again = tcp_connect(d.port, "127.0.0.5")
                conns.append(again)
                try:
                    if rcode_of(tcp_query(again, "www.core.test")) == NOERROR:
                        break
                except (ConnectionError, OSError):
                    pass  # the daemon had not seen the close yet
                check(time.monotonic() < deadline, "no slot for the host after one of its connections closed")
                time.sleep(0.1)
        finally:
            for c in conns:
                c.close()


# --- a full pool makes room ---------------------------------------------------------------------

def test_full_pool_closes_least_recently_active_idle():
    n = 3
    with Nsd(ZONES) as ns, \
         Daemon(["tcp-clients %d" % n, "tcp-idle-timeout 30000", "workers 1"], ACL, upstreams=[ns.addr]) as d:
        conns = []
        try:
            a, b, c = (tcp_connect(d.port, "127.0.0.%d" % i) for i in (7, 8, 9))
            conns += [a, b, c]
            for s in (a, b, c, a):  # a answered last: b is now the one idle longest
                check_eq(rcode_of(tcp_query(s, "www.core.test")), NOERROR, "query before the pool is full")
            new = tcp_connect(d.port, "127.0.0.10")
            conns.append(new)
            check_eq(rcode_of(tcp_query(new, "www.core.test")), NOERROR, "new client with a full idle pool")
            t = closed_by_peer(b, 5.0 * SLOWDOWN)
            check(t is not None, "the least recently active idle connection was not closed")
            for s, what in ((a, "a"), (c, "c")):
                check(still_open(s), "connection %s closed, only b should be" % what)
                check_eq(rcode_of(tcp_query(s, "www.core.test")), NOERROR, "connection %s still served" % what)
            # the pool is full again; new has been idle longest now (a and c answered since)
            new2 = tcp_connect(d.port, "127.0.0.11")
            conns.append(new2)
            check_eq(rcode_of(tcp_query(new2, "www.core.test")), NOERROR, "second new client")
            check(closed_by_peer(new, 5.0 * SLOWDOWN) is not None, "the connection idle longest not closed")
            for s, what in ((a, "a"), (c, "c")):
                check(still_open(s), "connection %s closed for the second new client" % what)
        finally:
            for s in conns:
                s.close()


# --- the idle timer counts answers only ---------------------------------------------------------

def test_idle_timer_ignores_dropped_queries():
    idle_ms = 1000
    with Nsd(ZONES) as ns, \
         Daemon(["tcp-idle-timeout %d" % idle_ms], ACL, upstreams=[ns.addr]) as d:
        c = tcp_connect(d.port, "127.0.0.1")
        try:
            check_eq(rcode_of(tcp_query(c, "www.core.test")), NOERROR, "a first, answered query")
            # then only messages the daemon drops (QR set: a response, not a query), a few
            # per idle period: the connection must still time out
            dropped = bytearray(make_query("www.core.test", "A"))
            dropped[2] |= 0x80
            t0 = time.monotonic()
            closed = None
            limit = idle_ms / 1000.0 * 5 * SLOWDOWN + 2
            while time.monotonic() - t0 < limit:
                try:
                    tcp_send(c, bytes(dropped))
                except (ConnectionResetError, BrokenPipeError):
                    closed = time.monotonic() - t0
                    break
                t = closed_by_peer(c, idle_ms / 1000.0 / 4)
                if t is not None:
                    closed = time.monotonic() - t0
                    break
            check(closed is not None, "connection sending only dropped queries still open after %.1fs "
                  "(tcp-idle-timeout %.1fs)" % (limit, idle_ms / 1000.0))
            check(closed >= idle_ms / 1000.0 * 0.8, "closed after %.2fs, before tcp-idle-timeout %.1fs"
                  % (closed, idle_ms / 1000.0))
        finally:
            c.close()
        r = dig(d.port, "www.core.test", "A", tcp=True)
        check_eq(r.rcode, "NOERROR", "daemon still serves TCP", r)


if __name__ == "__main__":
    if sys.argv[1:] == ["--netns-v6-child"]:
        _netns_v6_child()
        print("netns child ok")
        sys.exit(0)
    run_tests(globals())

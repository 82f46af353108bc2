# A scripted misbehaving upstream DNS server (UDP + TCP, dnspython, threads) for hardening tests.
#
# Every query is recorded (transport, source address and port, ID, question, EDNS payload, raw
# bytes). The answer depends on the first label of the question name: the part before the first
# '-' picks the behaviour, the rest makes names unique (so a cache never hides a query), e.g.
# "wrongid-3.bad.test". Unknown behaviours answer like "good".
#
#     with BadUpstream(timeout_ms=800) as bad:
#         ... Daemon([...], upstreams=[bad.addr]) ...
#         bad.queries(name="good-1.bad.test", transport="udp")
#
# Addresses in answers: GOOD_A (5.5.5.1) is the right answer, TCP_A (5.5.5.7) the right answer
# when it came over TCP, POISON_A (66.66.66.66) is what a spoofed or mismatched answer carries:
# a client must never see it. "many"/"big" answers use 20.0.x.y. All are global addresses, so
# a DNS64 resolver synthesizes them with the well-known prefix too (RFC 6052 section 3.1).
#
# Behaviours (UDP; over TCP every behaviour answers like "good" unless noted):
#   good         the right answer (A: GOOD_A; other types: NODATA with SOA)
#   wrongid      answer with another ID carrying POISON_A, the right answer SPOOF_DELAY later
#   wrongidonly  only the wrong-ID answer
#   wrongq       same ID, another question name, POISON_A; the right answer SPOOF_DELAY later
#   wrongqonly   only the wrong-question answer
#   wrongtype    same ID and name, another question type, POISON_A; right answer later
#   qr0          same ID and question with QR=0, POISON_A; the right answer SPOOF_DELAY later
#   qr0only      only the QR=0 answer
#   otherport    a correct-looking answer (right ID and question, POISON_A) sent from a second
#                socket with another source port; nothing from the right port
#   garbage      random bytes, random bytes after the right ID, a short header, an empty
#                datagram, a header with a cut question; the right answer SPOOF_DELAY later
#   badrr        right header and question, then a record whose RDLENGTH runs past the end;
#                the right answer SPOOF_DELAY later
#   tc           TC=1 with no records over UDP; over TCP the right answer with TCP_A
#   tctcp        TC=1 over UDP and over TCP
#   silence      nothing (TCP: the connection is held open without an answer)
#   slowin       the right answer timeout_ms - SLOW_INSIDE late (UDP and TCP)
#   slowout      the right answer timeout_ms + SLOW_OUTSIDE late (UDP and TCP)
#   servfail     rcode SERVFAIL (UDP and TCP)
#   refused      rcode REFUSED (UDP and TCP)
#   big          BIG_COUNT A records (about 4000 bytes) in one UDP datagram, whatever the
#                query's EDNS payload size; the same over TCP
#   many         MANY_COUNT (100) A records; over UDP TC=1 when that exceeds the query's
#                payload size (512 without EDNS), the full answer over TCP
#   comploop     an answer whose owner name is a compression pointer to itself, then a second
#                one with two records whose owner names point at each other (UDP and TCP)
#   cnamea       cnamea-X CNAME cnameb-X, cnameb-X CNAME cnamea-X (a CNAME loop)
#   cnameb       cnameb-X CNAME cnamea-X, cnamea-X CNAME cnameb-X
# For AAAA and other non-A types "good", "many", "big", "slowin", "wrongid"... answer NODATA (so a
# DNS64 resolver goes on to ask for A); the spoofed answers carry POISON_A whatever the type.

import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ScriptedServer  # noqa: E402

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402

GOOD_A = "5.5.5.1"
TCP_A = "5.5.5.7"
POISON_A = "66.66.66.66"
SPOOF_DELAY = 0.1
# slowin answers SLOW_INSIDE before the daemon's timeout, slowout SLOW_OUTSIDE after it: both
# wide enough that no scheduling delay on a busy machine moves an answer across the timeout.
SLOW_INSIDE = 2.0
SLOW_OUTSIDE = 5.0
MANY_COUNT = 100
BIG_COUNT = 250
TTL = 300
ZONE = "bad.test."
SOA = "ns.bad.test. hostmaster.bad.test. 1 3600 600 86400 60"

BEHAVIOURS = ("good", "wrongid", "wrongidonly", "wrongq", "wrongqonly", "wrongtype", "qr0",
              "qr0only", "otherport", "garbage", "badrr", "tc", "tctcp", "silence", "slowin",
              "slowout", "servfail", "refused", "big", "many", "comploop", "cnamea", "cnameb")


def behaviour_of(qname):
    """Behaviour selected by a question name (dns.name.Name or text)."""
    text = qname.to_text() if isinstance(qname, dns.name.Name) else str(qname)
    first = text.split(".", 1)[0].lower()
    b = first.split("-", 1)[0]
    return b if b in BEHAVIOURS else "good"


def many_addresses(n):
    """The n distinct addresses of a "many"/"big" answer, in the order sent."""
    return ["20.%d.%d.%d" % (i // 65536, (i // 256) % 256, i % 256) for i in range(1, n + 1)]


def _with_suffix(first_label, qname):
    """first_label plus the '-suffix' of qname's first label, in qname's zone."""
    labels = qname.to_text().split(".", 1)
    suffix = labels[0].split("-", 1)[1] if "-" in labels[0] else None
    name = first_label + ("-" + suffix if suffix else "")
    return dns.name.from_text(name + "." + labels[1])


class BadUpstream(ScriptedServer):
    """The scripted server on 127.0.0.1:port; a context manager. timeout_ms is the daemon's
    upstream timeout, for the slow behaviours. remap changes behaviours on this instance, e.g.
    {"refused": "good"} for a second upstream that answers what the first one refuses."""

    def __init__(self, port=None, timeout_ms=800, remap=None):
        super().__init__(port=port)
        self.remap = dict(remap or {})  # behaviour -> behaviour, e.g. {"refused": "good"}
        self.timeout = timeout_ms / 1000.0
        self._records = []
        self._sent = []  # question names of the UDP answers sent, in order
        self._other = None
        self.other_port = None
        self.errors = []  # exceptions in server threads (a test may assert it stays empty)

    # Records --------------------------------------------------------------------------------
    def _record(self, wire, transport, src):
        rec = {"time": time.monotonic(), "transport": transport, "src": src, "port": src[1],
               "wire": wire, "id": None, "name": None, "type": None, "payload": None,
               "edns": -1}
        msg = None
        try:
            msg = dns.message.from_wire(wire)
            rec["id"] = msg.id
            if msg.question:
                rec["name"] = msg.question[0].name.to_text().lower()
                rec["type"] = dns.rdatatype.to_text(msg.question[0].rdtype)
            rec["edns"] = msg.edns
            rec["payload"] = msg.payload if msg.edns >= 0 else None
        except Exception as e:  # noqa: BLE001 - a malformed query is recorded, not answered
            rec["error"] = str(e)
            if len(wire) >= 2:
                rec["id"] = struct.unpack("!H", wire[:2])[0]
        with self._lock:
            self._records.append(rec)
        return rec, msg

    def queries(self, name=None, transport=None, rdtype=None):
        """Copies of the recorded queries, optionally filtered (name case-insensitive)."""
        if name is not None:
            name = name.lower().rstrip(".") + "."
        with self._lock:
            return [dict(r) for r in self._records
                    if (name is None or r["name"] == name)
                    and (transport is None or r["transport"] == transport)
                    and (rdtype is None or r["type"] == rdtype.upper())]

    def sent(self, name):
        """How many UDP datagrams were sent in answer to queries for name (so a test can wait
        for a late answer to have gone out instead of sleeping)."""
        name = name.lower().rstrip(".") + "."
        with self._lock:
            return self._sent.count(name)

    def reset(self):
        with self._lock:
            self._records = []
            self._sent = []

    # Answers --------------------------------------------------------------------------------
    @staticmethod
    def _response(q, rcode=dns.rcode.NOERROR):
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.set_rcode(rcode)
        return r

    def _data(self, q, addrs):
        """Answer to q with A records addrs when q asks for A, else NODATA with SOA."""
        r = self._response(q)
        qn = q.question[0]
        if qn.rdtype == dns.rdatatype.A and addrs:
            r.answer.append(dns.rrset.from_text_list(qn.name, TTL, "IN", "A", addrs))
        else:
            r.authority.append(dns.rrset.from_text(ZONE, 60, "IN", "SOA", SOA))
        return r

    def _good(self, q, addr=GOOD_A):
        return self._data(q, [addr]).to_wire(max_size=65535)

    @staticmethod
    def _poison_msg(q, name=None, rdtype=None):
        """A response carrying POISON_A, optionally for another question."""
        qn = q.question[0]
        name = name or qn.name
        rdtype = rdtype if rdtype is not None else qn.rdtype
        fake = dns.message.make_query(name, rdtype)
        fake.id = q.id
        fake.flags = q.flags
        r = dns.message.make_response(fake)
        r.flags |= dns.flags.AA
        r.answer.append(dns.rrset.from_text(name, TTL, "IN", "A", POISON_A))
        return r

    def _poison(self, q, **kw):
        return self._poison_msg(q, **kw).to_wire()

    @staticmethod
    def _question_wire(q):
        qn = q.question[0]
        return qn.name.to_wire() + struct.pack("!HH", qn.rdtype, qn.rdclass)

    def _comploop(self, q):
        """Two answers whose owner names never end: a pointer to itself; two records whose
        owner names point at each other."""
        qw = self._question_wire(q)
        rd = q.flags & 0x0100
        off = 12 + len(qw)
        rr_tail = struct.pack("!HHIH", 1, 1, TTL, 4) + socket.inet_aton(POISON_A)
        self_loop = (struct.pack("!HHHHHH", q.id, 0x8400 | rd, 1, 1, 0, 0) + qw
                     + struct.pack("!H", 0xC000 | off) + rr_tail)
        off2 = off + 2 + len(rr_tail)
        mutual = (struct.pack("!HHHHHH", q.id, 0x8400 | rd, 1, 2, 0, 0) + qw
                  + struct.pack("!H", 0xC000 | off2) + rr_tail
                  + struct.pack("!H", 0xC000 | off) + rr_tail)
        return [self_loop, mutual]

    def _badrr(self, q):
        qw = self._question_wire(q)
        hdr = struct.pack("!HHHHHH", q.id, 0x8400 | (q.flags & 0x0100), 1, 1, 0, 0)
        # RDLENGTH says 200 bytes, 4 follow
        return hdr + qw + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, TTL, 200) + \
            socket.inet_aton(POISON_A)

    def _garbage(self, q):
        rnd = random.Random(q.id)
        junk = bytes(rnd.getrandbits(8) for _ in range(100))
        with_id = struct.pack("!H", q.id) + bytes(rnd.getrandbits(8) for _ in range(98))
        # the ID and QR=1, QDCOUNT=0xffff: a structure no parser may follow
        with_id = with_id[:2] + b"\x84\x00\xff\xff" + with_id[6:]
        short = struct.pack("!H", q.id) + b"\x84\x00\x00"
        cut = struct.pack("!HHHHHH", q.id, 0x8400, 1, 1, 0, 0) + self._question_wire(q)[:5]
        return [junk, with_id, short, b"", cut]

    def _cname_loop(self, q, b):
        qn = q.question[0]
        other = _with_suffix("cnameb" if b == "cnamea" else "cnamea", qn.name)
        r = self._response(q)
        r.answer.append(dns.rrset.from_text(qn.name, TTL, "IN", "CNAME", other.to_text()))
        r.answer.append(dns.rrset.from_text(other, TTL, "IN", "CNAME", qn.name.to_text()))
        return r.to_wire()

    def _many(self, q, n, limit):
        """n A records; TC=1 and no records when it does not fit in limit (None: no limit)."""
        wire = self._data(q, many_addresses(n)).to_wire(max_size=65535)
        if limit is not None and len(wire) > limit:
            r = self._response(q)
            r.flags |= dns.flags.TC
            return r.to_wire()
        return wire

    def actions(self, q, transport):
        """What to send for query q: a list of (delay_s, wire, via) with via 'main' or 'other'
        (UDP from the second socket), or the string 'hold' (TCP: keep the connection silent)."""
        b = behaviour_of(q.question[0].name)
        b = self.remap.get(b, b)
        good = [(0.0, self._good(q), "main")]
        later = [(SPOOF_DELAY, self._good(q), "main")]
        payload = (q.payload if q.edns >= 0 else 512)
        tcp = transport == "tcp"
        if b == "tctcp" or (b == "tc" and not tcp):
            r = self._response(q)
            r.flags |= dns.flags.TC
            return [(0.0, r.to_wire(), "main")]
        if b == "tc":
            return [(0.0, self._good(q, TCP_A), "main")]
        if b == "silence":
            return "hold" if tcp else []
        if b == "slowin":
            return [(self.timeout - SLOW_INSIDE, self._good(q), "main")]
        if b == "slowout":
            return [(self.timeout + SLOW_OUTSIDE, self._good(q), "main")]
        if b in ("servfail", "refused"):
            rc = dns.rcode.SERVFAIL if b == "servfail" else dns.rcode.REFUSED
            return [(0.0, self._response(q, rc).to_wire(), "main")]
        if b == "big":
            return [(0.0, self._many(q, BIG_COUNT, None), "main")]
        if b == "many":
            return [(0.0, self._many(q, MANY_COUNT, None if tcp else payload), "main")]
        if b == "comploop":
            return [(0.0, w, "main") for w in self._comploop(q)]
        if b in ("cnamea", "cnameb"):
            return [(0.0, self._cname_loop(q, b), "main")]
        if tcp:
            return good
        if b in ("wrongid", "wrongidonly"):
            bad = bytearray(self._poison(q))
            struct.pack_into("!H", bad, 0, (q.id + 1 + random.randrange(0xFFFE)) & 0xFFFF)
            return [(0.0, bytes(bad), "main")] + (later if b == "wrongid" else [])
        if b in ("wrongq", "wrongqonly"):
            other = _with_suffix("other", q.question[0].name)
            return [(0.0, self._poison(q, name=other), "main")] + (later if b == "wrongq" else [])
        if b == "wrongtype":
            t = dns.rdatatype.TXT if q.question[0].rdtype != dns.rdatatype.TXT else dns.rdatatype.A
            return [(0.0, self._poison(q, rdtype=t), "main")] + later
        if b in ("qr0", "qr0only"):
            bad = bytearray(self._poison(q))
            bad[2] &= 0x7F
            return [(0.0, bytes(bad), "main")] + (later if b == "qr0" else [])
        if b == "otherport":
            return [(0.0, self._poison(q), "other")]
        if b == "garbage":
            return [(0.0, w, "main") for w in self._garbage(q)] + later
        if b == "badrr":
            return [(0.0, self._badrr(q), "main")] + later
        return good

    # UDP ------------------------------------------------------------------------------------
    def _udp_reply(self, acts, client, name=None):
        t0 = time.monotonic()
        for delay, wire, via in sorted(acts, key=lambda a: a[0]):
            wait = t0 + delay - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            try:
                (self._other if via == "other" else self._udp).sendto(wire, client)
            except OSError:
                return
            with self._lock:
                self._sent.append(name)

    def _udp_one(self, wire, client):
        try:
            rec, msg = self._record(wire, "udp", client)
            if msg is None or not msg.question or msg.flags & dns.flags.QR:
                return
            acts = self.actions(msg, "udp")
        except Exception as e:  # noqa: BLE001 - keep serving, report to the test
            self.errors.append(repr(e))
            return
        if all(a[0] == 0 for a in acts):
            self._udp_reply(acts, client, rec["name"])
        else:
            t = threading.Thread(target=self._udp_reply, args=(acts, client, rec["name"]), daemon=True)
            t.start()

    # TCP ------------------------------------------------------------------------------------
    def _tcp_conn(self, conn, peer):
        conn.settimeout(0.2)
        idle_until = time.monotonic() + 10.0
        buf = b""
        try:
            while not self._stop.is_set() and time.monotonic() < idle_until:
                try:
                    chunk = conn.recv(65535)
                except socket.timeout:
                    continue
                if not chunk:
                    return
                buf += chunk
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    n = struct.unpack("!H", buf[:2])[0]
                    wire, buf = buf[2:2 + n], buf[2 + n:]
                    rec, msg = self._record(wire, "tcp", peer)
                    if msg is None or not msg.question:
                        continue
                    acts = self.actions(msg, "tcp")
                    if acts == "hold":
                        continue
                    t0 = time.monotonic()
                    for delay, out, _via in sorted(acts, key=lambda a: a[0]):
                        wait = t0 + delay - time.monotonic()
                        if wait > 0 and self._stop.wait(wait):
                            return
                        conn.sendall(struct.pack("!H", len(out)) + out)
                    idle_until = time.monotonic() + 10.0
        except OSError:
            return
        except Exception as e:  # noqa: BLE001
            self.errors.append(repr(e))
        finally:
            conn.close()

    # Lifetime -------------------------------------------------------------------------------
    def __enter__(self):
        self._other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._other.bind(("127.0.0.1", 0))
        self.other_port = self._other.getsockname()[1]
        return super().__enter__()

    def stop(self):
        super().__exit__(None, None, None)
        self._other.close()

    def __exit__(self, *exc):
        self.stop()
        return False


if __name__ == "__main__":
    # Stand-alone: serve on the given port until interrupted (for manual dig experiments).
    port = int(sys.argv[1]) if len(sys.argv) > 1 else None
    with BadUpstream(port=port) as srv:
        print("bad upstream on %s (other port %d)" % (srv.addr, srv.other_port))
        sys.stdout.flush()
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass

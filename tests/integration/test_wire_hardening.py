# Integration tests for issue 14 §3 and §4: upstream records hidden in another record's RDATA,
# and the header flags of replies to opcodes other than QUERY.
#
# A scripted upstream answers every question for a "hidden-..." name with the review's
# hand-made answer: an SRV whose 23-byte RDATA ends in the bytes of "A 6.6.6.6", then a real
# "A 5.5.5.5". ldns, reading the SRV by its fields, sees the A 6.6.6.6 as the second record; a
# DNS64 resolver that validates one view and synthesizes from the other answers
# 64:ff9b::606:606. dns64d must treat the answer as malformed: SERVFAIL (or the next
# upstream's answer), never forwarded, never cached, nothing synthesized from it.
import os
import struct
import sys
import time
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Daemon, ScriptedServer, check, check_eq, make_query, query,  # noqa: E402
                     run_tests)

import dns.exception  # noqa: E402
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402

TIMEOUT_MS = 800
FWD = "127.0.0.2"           # forwarding client
D64 = "127.0.0.1"           # DNS64 client (prefix 64:ff9b::/96)
ACL = ["127.0.0.0/8 forward", "127.0.0.1/32 dns64", "::1/128 dns64"]
HIDDEN_A = "6.6.6.6"
REAL_A = "5.5.5.5"
GOOD_A = "5.5.5.9"          # the second upstream's answer
NEVER = ("6.6.6.6", "5.5.5.5", "64:ff9b::606:606", "64:ff9b::505:505")
CLIENT_WAIT = 6.0           # a client's patience: several upstream timeouts, ASan and a busy machine

F_QR, F_AA, F_RD, F_RA, F_AD, F_CD = 0x8000, 0x0400, 0x0100, 0x0080, 0x0020, 0x0010


def rr(owner, rtype, rdata, ttl=300):
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def question_of(wire):
    """(id, flags, question bytes) of a query with one uncompressed question."""
    qid, flags = struct.unpack("!HH", wire[:4])
    end = 12
    while wire[end]:
        end += 1 + wire[end]
    return qid, flags, wire[12:end + 5]


def hidden_answer(wire):
    """The review's answer to the question of wire: SRV hiding A 6.6.6.6, then A 5.5.5.5."""
    qid, flags, question = question_of(wire)
    hidden = rr(b"\xc0\x0c", 1, bytes(int(x) for x in HIDDEN_A.split(".")))
    srv = rr(b"\xc0\x0c", 33, struct.pack("!HHH", 0, 0, 0) + b"\x00" + hidden)
    assert len(srv) - 12 == 23
    real = rr(b"\xc0\x0c", 1, bytes(int(x) for x in REAL_A.split(".")))
    hdr = struct.pack("!HHHHHH", qid, F_QR | F_RA | (flags & F_RD), 1, 2, 0, 0)
    return hdr + question + srv + real


def good_answer(wire):
    """A: GOOD_A; other types: NODATA with a SOA."""
    qid, flags, question = question_of(wire)
    qtype = struct.unpack("!H", question[-4:-2])[0]
    if qtype == 1:
        body = rr(b"\xc0\x0c", 1, bytes(int(x) for x in GOOD_A.split(".")))
        counts = (1, 0)
    else:
        soa = b"\x00" + b"\x00" + struct.pack("!IIIII", 1, 3600, 600, 86400, 60)
        body = rr(b"\xc0\x0c", 6, soa, ttl=60)
        counts = (0, 1)
    hdr = struct.pack("!HHHHHH", qid, F_QR | F_RA | (flags & F_RD), 1, counts[0], counts[1], 0)
    return hdr + question + body


def name_of(question):
    """The lowercased presentation form of an uncompressed question name."""
    labels, i = [], 0
    while question[i]:
        labels.append(question[i + 1:i + 1 + question[i]].decode("ascii", "replace").lower())
        i += 1 + question[i]
    return ".".join(labels) + "."


class Upstream(ScriptedServer):
    """Answers with hidden_answer (hidden=True) or good_answer, and counts the queries per
    lowercased question name."""

    def __init__(self, hidden):
        super().__init__()
        self.hidden = hidden
        self.lock = threading.Lock()
        self.seen = {}

    def answer(self, wire):
        _, _, question = question_of(wire)
        name = name_of(question)
        with self.lock:
            self.seen[name] = self.seen.get(name, 0) + 1
        return hidden_answer(wire) if self.hidden else good_answer(wire)

    def count(self, name):
        with self.lock:
            return self.seen.get(name.lower().rstrip(".") + ".", 0)


_seq = iter(range(1, 1 << 30))


def uniq():
    return "hidden-%d.bad.test" % next(_seq)


def ask(d, name, rdtype, src, tcp=False):
    """(rcode text, answer section text, the parsed message) of one query to the daemon."""
    wire = query(d.port, make_query(name, rdtype, edns=1232), tcp=tcp, source=src,
                 timeout=CLIENT_WAIT)
    check(wire is not None, "no answer to %s %s from %s (tcp=%s)" % (name, rdtype, src, tcp),
          Tail(d))
    try:
        m = dns.message.from_wire(wire)
    except dns.exception.FormError as e:
        raise AssertionError("%s %s from %s (tcp=%s): the daemon sent a message dnspython "
                             "rejects (%s), the upstream's malformed answer passed on: %r"
                             % (name, rdtype, src, tcp, e, wire)) from None
    text = "\n".join(rrset.to_text() for rrset in m.answer)
    return dns.rcode.to_text(m.rcode()), text, m


class Tail:
    def __init__(self, d, lines=25):
        self.text = "\n".join(d.log_text().splitlines()[-lines:])

    def __repr__(self):
        return "--- dns64d log (last lines) ---\n" + self.text


def nothing_of_it(d, what, text):
    for bad in NEVER:
        check(bad not in text, "%s: the client got %s out of the malformed answer:\n%s"
              % (what, bad, text), Tail(d))


CASES = [("A", FWD), ("SRV", FWD), ("A", D64), ("SRV", D64), ("AAAA", D64), ("AAAA", FWD)]


def test_hidden_record_only_upstream():
    """The only upstream sends the hidden-record answer: SERVFAIL, never cached."""
    with Upstream(hidden=True) as bad, \
            Daemon(["timeout %d" % TIMEOUT_MS], ACL, upstreams=[bad.addr]) as d:
        for tcp in (False, True):
            for rdtype, src in CASES:
                n = uniq()
                what = "%s %s from %s (tcp=%s)" % (n, rdtype, src, tcp)
                rcode, text, _ = ask(d, n, rdtype, src, tcp)
                check(bad.count(n) > 0, "%s: the upstream was never asked" % what, Tail(d))
                check_eq(rcode, "SERVFAIL", what, text, Tail(d))
                nothing_of_it(d, what, text)
                # not cached: once the failure the daemon remembers for this question has
                # passed (RFC 9520: 1 s after a first failure), the next query goes upstream
                time.sleep(1.3)
                before = bad.count(n)
                rcode, text, _ = ask(d, n, rdtype, src, tcp)
                check_eq(rcode, "SERVFAIL", what + ", asked again", text, Tail(d))
                nothing_of_it(d, what + ", asked again", text)
                check(bad.count(n) > before, "%s: the malformed answer was cached" % what, Tail(d))
        check(d.alive(), "dns64d is up", Tail(d, 60))


def test_hidden_record_then_good_upstream():
    """With a good second upstream: the good answer or SERVFAIL, nothing of the bad one."""
    with Upstream(hidden=True) as bad, Upstream(hidden=False) as good, \
            Daemon(["timeout %d" % TIMEOUT_MS], ACL, upstreams=[bad.addr, good.addr]) as d:
        moved_on = 0
        for rdtype, src in CASES:
            n = uniq()
            what = "%s %s from %s" % (n, rdtype, src)
            rcode, text, m = ask(d, n, rdtype, src)
            nothing_of_it(d, what, text)
            check(rcode in ("NOERROR", "SERVFAIL"), "%s: rcode %s" % (what, rcode), text, Tail(d))
            if rcode == "NOERROR":
                check(good.count(n) > 0, "%s: NOERROR without the good upstream" % what, text)
                want = {"A": GOOD_A, "AAAA": "64:ff9b::505:509" if src == D64 else None}.get(rdtype)
                if want:
                    check(want in text, "%s: expected %s" % (what, want), text, Tail(d))
                else:
                    check_eq(len(m.answer), 0, what + ": NODATA from the good upstream", text)
                if bad.count(n):
                    moved_on += 1
        check(d.alive(), "dns64d is up", Tail(d, 60))
        print("  %d of %d questions went to the bad upstream first and got the good answer"
              % (moved_on, len(CASES)))


# --- header flags of replies to opcodes other than QUERY (issue 14 §4) ------------------------

def test_notimp_flags():
    """NOTIFY, UPDATE, opcode 3 and others with RD, CD and AD set: NOTIMP with RA, AD, CD
    clear, RD and the opcode echoed; a QUERY keeps RA and CD (the baseline)."""
    with Upstream(hidden=False) as good, \
            Daemon(["timeout %d" % TIMEOUT_MS], ACL, upstreams=[good.addr]) as d:
        for tcp in (False, True):
            for src in (D64, FWD):
                for opcode in (1, 2, 3, 4, 5, 6, 15):
                    what = "opcode %d from %s (tcp=%s)" % (opcode, src, tcp)
                    q = bytearray(make_query("example.com", "SOA", qid=0x4000 + opcode, cd=True,
                                             opcode=opcode, edns=1232))
                    q[3] |= F_AD
                    ans = query(d.port, bytes(q), tcp=tcp, source=src, timeout=CLIENT_WAIT)
                    check(ans is not None, "%s: no answer" % what, Tail(d))
                    qid, flags = struct.unpack("!HH", ans[:4])
                    check_eq(qid, 0x4000 + opcode, what + ": id", Tail(d))
                    check_eq(flags & 0xf, dns.rcode.NOTIMP, what + ": rcode", Tail(d))
                    check_eq((flags >> 11) & 0xf, opcode, what + ": opcode echoed", Tail(d))
                    check_eq(flags & (F_QR | F_RD | F_RA | F_AD | F_CD), F_QR | F_RD,
                             what + ": QR and RD only (flags 0x%04x)" % flags, Tail(d))
                # the baseline: a QUERY with CD gets RA and CD
                q = make_query("good-%s.bad.test" % tcp, "A", cd=True, edns=1232)
                ans = query(d.port, q, tcp=tcp, source=src, timeout=CLIENT_WAIT)
                check(ans is not None, "QUERY from %s: no answer" % src, Tail(d))
                flags = struct.unpack("!H", ans[2:4])[0]
                check_eq(flags & (F_QR | F_RD | F_RA | F_CD), F_QR | F_RD | F_RA | F_CD,
                         "QUERY from %s (tcp=%s): flags 0x%04x" % (src, tcp, flags), Tail(d))
        check(d.alive(), "dns64d is up", Tail(d, 60))


if __name__ == "__main__":
    run_tests(globals(), required=("dig",))

#!/usr/bin/python3
# make_corpus.py - writes the seed inputs of tests/fuzz/corpus/<target>/seed-* (dnspython)
#
# Real queries and answers made with dnspython, plus hand-made malformed messages. Run from
# anywhere; it rewrites only seed-* files, so inputs kept from fuzzing runs stay.
import os
import struct
import sys

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def cookie_opt(data):
    return dns.edns.GenericOption(dns.edns.COOKIE, data)


def ede_opt(code, text=""):
    return dns.edns.EDEOption(code, text or None)


def query(name, rdtype, edns=-1, payload=1232, dnssec=False, options=None, flags=None, qid=0x1234):
    q = dns.message.make_query(name, rdtype, use_edns=edns, payload=payload, want_dnssec=dnssec,
                               options=options or [], id=qid)
    if flags is not None:
        q.flags = flags
    return q.to_wire()


def hdr(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def wname(text):
    return dns.name.from_text(text).to_wire()


def rr(owner, rtype, rdata, ttl=300, rclass=1):
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def opt_rr(payload=1232, version=0, do=False, options=b"", owner=b"\x00", ext_rcode=0):
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return owner + struct.pack("!HHIH", 41, payload, ttl, len(options)) + options


def ptr_name(v6_bytes):
    nibbles = []
    for b in reversed(v6_bytes):
        nibbles += ["%x" % (b & 0xf), "%x" % (b >> 4)]
    return ".".join(nibbles) + ".ip6.arpa."


def queries():
    t = "fuzz_query"
    write(t, "a-plain", query("www.example.com.", "A"))
    write(t, "aaaa-edns", query("www.example.com.", "AAAA", edns=0))
    write(t, "aaaa-do", query("www.example.com.", "AAAA", edns=0, dnssec=True))
    write(t, "aaaa-do-cd", query("www.example.com.", "AAAA", edns=0, dnssec=True, flags=0x0110))
    write(t, "aaaa-big-payload", query("WwW.ExAmPlE.CoM.", "AAAA", edns=0, payload=4096))
    write(t, "aaaa-small-payload", query("www.example.com.", "AAAA", edns=0, payload=100))
    write(t, "cookie-client", query("www.example.com.", "AAAA", edns=0,
                                    options=[cookie_opt(bytes(range(1, 9)))]))
    server = bytes(range(1, 9)) + bytes([1, 0, 0, 0]) + struct.pack("!I", 1700000000) + b"\xaa" * 8
    write(t, "cookie-server-24", query("www.example.com.", "AAAA", edns=0, options=[cookie_opt(server)]))
    write(t, "cookie-server-16", query("www.example.com.", "A", edns=0, options=[cookie_opt(b"\x01" * 16)]))
    write(t, "cookie-server-40", query("www.example.com.", "A", edns=0, options=[cookie_opt(b"\x02" * 40)]))
    write(t, "cookie-bad-7", query("www.example.com.", "A", edns=0, options=[cookie_opt(b"\x03" * 7)]))
    write(t, "cookie-bad-41", query("www.example.com.", "A", edns=0, options=[cookie_opt(b"\x03" * 41)]))
    write(t, "cookie-twice", query("www.example.com.", "A", edns=0,
                                   options=[cookie_opt(b"\x04" * 8), cookie_opt(b"\x05" * 8)]))
    write(t, "ede-and-padding", query("www.example.com.", "A", edns=0,
                                      options=[dns.edns.GenericOption(12, b"\x00" * 20), ede_opt(3)]))
    # PTR under the WKP (192.0.2.1) and under the /64 of the fuzzer's prefixes
    wkp = bytes([0, 0x64, 0xff, 0x9b] + [0] * 8 + [192, 0, 2, 1])
    write(t, "ptr-wkp", query(ptr_name(wkp), "PTR"))
    write(t, "ptr-wkp-upper", query(ptr_name(wkp).upper(), "PTR"))
    p64 = bytes([0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0x33, 0x44, 0, 198, 51, 100, 7, 0, 0, 0])
    write(t, "ptr-64", query(ptr_name(p64), "PTR"))
    write(t, "ptr-not-prefix", query(ptr_name(bytes(range(16))), "PTR"))
    write(t, "ptr-short", query("1.0.0.0.ip6.arpa.", "PTR"))
    write(t, "ptr-v4", query("1.2.0.192.in-addr.arpa.", "PTR"))
    for rdtype in ("MX", "TXT", "SRV", "ANY", "AXFR", "IXFR", "CAA", "HTTPS", "NS", "SOA", "DS",
                   "DNSKEY", "NULL", "TYPE65280"):
        write(t, "type-" + rdtype.lower(), query("example.com.", rdtype, edns=0))
    write(t, "type-opt", hdr() + wname("example.com.") + struct.pack("!HH", 41, 1))
    write(t, "class-ch", hdr() + wname("version.bind.") + struct.pack("!HH", 16, 3))
    write(t, "ipv4only", query("ipv4only.arpa.", "AAAA", edns=0))
    write(t, "ipv4only-a", query("IPV4ONLY.ARPA.", "A"))
    write(t, "ipv4only-sub", query("x.ipv4only.arpa.", "AAAA"))
    write(t, "root", query(".", "NS", edns=0))
    write(t, "long-name", query(".".join(["a" * 63] * 3) + "." + "b" * 61 + ".", "A", edns=0))
    write(t, "opcode-notify", query("example.com.", "SOA", flags=0x2000))
    write(t, "opcode-update", hdr(flags=0x2800) + wname("example.com.") + struct.pack("!HH", 6, 1))
    write(t, "opcode-status-noq", hdr(flags=0x1000, qd=0))
    write(t, "qd0", hdr(qd=0))
    write(t, "qd0-edns", hdr(qd=0, ar=1) + opt_rr())
    write(t, "qd2", hdr(qd=2) + (wname("a.") + b"\x00\x01\x00\x01") * 2)
    write(t, "qr1", hdr(flags=0x8100) + wname("example.com.") + b"\x00\x01\x00\x01")
    write(t, "edns-v1", hdr(ar=1) + wname("example.com.") + b"\x00\x1c\x00\x01" + opt_rr(version=1))
    write(t, "edns-two", hdr(ar=2) + wname("example.com.") + b"\x00\x1c\x00\x01" + opt_rr() + opt_rr())
    write(t, "edns-in-answer", hdr(an=1) + wname("example.com.") + b"\x00\x1c\x00\x01" + opt_rr())
    write(t, "edns-owner", hdr(ar=1) + wname("example.com.") + b"\x00\x1c\x00\x01" +
          opt_rr(owner=wname("x.")))
    write(t, "edns-trunc-option", hdr(ar=1) + wname("example.com.") + b"\x00\x1c\x00\x01" +
          opt_rr(options=b"\x00\x0a\x00\x20" + b"\x01" * 8))
    write(t, "edns-rdlen-past-end", hdr(ar=1) + wname("example.com.") + b"\x00\x1c\x00\x01" +
          b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x40")
    write(t, "label-64", hdr() + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01")
    write(t, "label-bits-01", hdr() + b"\x41" + b"a" + b"\x00\x00\x01\x00\x01")
    write(t, "name-256", hdr() + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01")
    write(t, "question-pointer", hdr() + b"\xc0\x0c\x00\x01\x00\x01")
    write(t, "question-truncated", hdr() + b"\x07example\x03co")
    write(t, "question-no-type", hdr() + wname("example.com.") + b"\x00")
    write(t, "header-11", hdr()[:11])
    write(t, "header-only", hdr())
    write(t, "empty", b"")
    write(t, "counts-huge", hdr(an=0xffff, ns=0xffff, ar=0xffff) + wname("example.com.") + b"\x00\x01\x00\x01")
    write(t, "ar-pointer-loop", hdr(ar=1) + wname("example.com.") + b"\x00\x01\x00\x01" +
          b"\xc0\x1d" + b"\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00")
    write(t, "additional-tsig-like", hdr(ar=1) + wname("example.com.") + b"\x00\x01\x00\x01" +
          rr(wname("key."), 250, b"\x00" * 20, ttl=0, rclass=255))


def response(q, rcode=0, flags=None):
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    if flags is not None:
        r.flags = flags
    return r


def add(section, text):
    section.append(dns.rrset.from_text_list(*text) if isinstance(text, tuple) else text)


def answers():
    t = "fuzz_upstream"

    def mk(name, rdtype, edns=0, dnssec=False):
        return dns.message.make_query(name, rdtype, use_edns=edns, want_dnssec=dnssec, id=0x4242)

    q = mk("www.example.com.", "A")
    r = response(q)
    r.answer.append(dns.rrset.from_text("www.example.com.", 300, "IN", "CNAME", "a.example.net."))
    r.answer.append(dns.rrset.from_text("a.example.net.", 300, "IN", "CNAME", "b.example.org."))
    r.answer.append(dns.rrset.from_text("b.example.org.", 60, "IN", "A", "192.0.2.1", "93.184.216.34",
                                        "10.1.2.3"))
    write(t, "a-cname-chain", r.to_wire())

    q = mk("www.example.com.", "AAAA")
    r = response(q)
    r.answer.append(dns.rrset.from_text("www.example.com.", 300, "IN", "AAAA", "2001:db8::1",
                                        "::ffff:192.0.2.1", "2001:db8:dead::5"))
    write(t, "aaaa-some-excluded", r.to_wire())
    r = response(q)
    r.answer.append(dns.rrset.from_text("www.example.com.", 300, "IN", "AAAA", "::ffff:192.0.2.1"))
    write(t, "aaaa-all-excluded", r.to_wire())

    r = response(q)
    r.authority.append(dns.rrset.from_text("example.com.", 3600, "IN", "SOA",
                                           "ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300"))
    write(t, "aaaa-nodata-soa", r.to_wire())
    r = response(q, rcode=dns.rcode.NXDOMAIN)
    r.authority.append(dns.rrset.from_text("example.com.", 60, "IN", "SOA",
                                           "ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 900"))
    write(t, "nxdomain-soa", r.to_wire())

    r = response(q, rcode=dns.rcode.SERVFAIL)
    r.use_edns(0, options=[ede_opt(6, "bogus")])
    write(t, "servfail-ede-bogus", r.to_wire())
    r = response(q, rcode=dns.rcode.SERVFAIL)
    r.use_edns(0, options=[ede_opt(22), ede_opt(9)])
    write(t, "servfail-ede-two", r.to_wire())
    r = response(q, rcode=dns.rcode.REFUSED)
    write(t, "refused", r.to_wire())

    q = mk("www.example.com.", "A", dnssec=True)
    r = response(q, flags=0x81a0)
    r.answer.append(dns.rrset.from_text("www.example.com.", 300, "IN", "A", "93.184.216.34"))
    r.answer.append(dns.rrset.from_text("www.example.com.", 300, "IN", "RRSIG",
                                        "A 13 3 300 20300101000000 20200101000000 12345 example.com. "
                                        "dGVzdHNpZ25hdHVyZXRlc3RzaWduYXR1cmU="))
    r.use_edns(0, dns.flags.DO, 1232, options=[cookie_opt(b"\x01" * 24), ede_opt(3, "stale")])
    write(t, "a-rrsig-do-cookie", r.to_wire())

    q = mk("many.example.com.", "A")
    r = response(q)
    r.answer.append(dns.rrset.from_text_list("many.example.com.", 300, "IN", "A",
                                             ["198.51.100.%d" % i for i in range(1, 101)]))
    write(t, "a-100", r.to_wire(max_size=65535))

    q = mk("example.com.", "MX")
    r = response(q)
    r.answer.append(dns.rrset.from_text("example.com.", 300, "IN", "MX", "10 mail.example.com."))
    r.additional.append(dns.rrset.from_text("mail.example.com.", 300, "IN", "A", "192.0.2.25"))
    write(t, "mx-glue", r.to_wire())

    q = mk("sub.example.com.", "NS")
    r = response(q)
    r.authority.append(dns.rrset.from_text("sub.example.com.", 86400, "IN", "NS", "ns1.sub.example.com.",
                                           "ns2.sub.example.com."))
    r.additional.append(dns.rrset.from_text("ns1.sub.example.com.", 86400, "IN", "A", "192.0.2.53"))
    r.additional.append(dns.rrset.from_text("ns1.sub.example.com.", 86400, "IN", "AAAA", "2001:db8::53"))
    write(t, "referral", r.to_wire())

    q = mk("x.dname.example.com.", "A")
    r = response(q)
    r.answer.append(dns.rrset.from_text("dname.example.com.", 300, "IN", "DNAME", "example.net."))
    r.answer.append(dns.rrset.from_text("x.dname.example.com.", 300, "IN", "CNAME", "x.example.net."))
    r.answer.append(dns.rrset.from_text("x.example.net.", 300, "IN", "A", "203.0.113.9"))
    write(t, "dname", r.to_wire())

    q = mk("1.2.0.192.in-addr.arpa.", "PTR")
    r = response(q)
    r.answer.append(dns.rrset.from_text("1.2.0.192.in-addr.arpa.", 300, "IN", "PTR", "host.example.com."))
    write(t, "ptr", r.to_wire())

    q = mk("_sip._udp.example.com.", "SRV")
    r = response(q)
    r.answer.append(dns.rrset.from_text("_sip._udp.example.com.", 300, "IN", "SRV", "0 5 5060 sip.example.com."))
    r.answer.append(dns.rrset.from_text("_sip._udp.example.com.", 300, "IN", "TXT", "\"hello\" \"world\""))
    write(t, "srv-txt", r.to_wire())

    q = mk("www.example.com.", "A")
    r = response(q, flags=0x8380)
    write(t, "tc", r.to_wire())

    q = mk("ttl.example.com.", "A")
    r = response(q)
    r.answer.append(dns.rrset.from_text("ttl.example.com.", 0x80000001, "IN", "A", "192.0.2.7"))
    r.answer.append(dns.rrset.from_text("ttl.example.com.", 2000000000, "IN", "TXT", "big"))
    write(t, "ttl-high-bit", r.to_wire())

    # hand-made: every way a message can be broken
    qn = wname("www.example.com.")
    qa = qn + b"\x00\x01\x00\x01"
    a = struct.pack("!HHIH", 1, 1, 300, 4) + b"\xc0\x00\x02\x01"
    write(t, "loop-self", hdr(flags=0x8180, an=1) + qa + b"\xc0\x21" + a)
    write(t, "loop-two", hdr(flags=0x8180, an=2) + qa + b"\x01x\xc0\x31" + a + b"\x01y\xc0\x21" + a)
    write(t, "pointer-forward", hdr(flags=0x8180, an=1) + qa + b"\xc0\x30" + a + b"\x00")
    write(t, "pointer-into-header", hdr(flags=0x8180, an=1) + qa + b"\xc0\x02" + a)
    write(t, "pointer-past-end", hdr(flags=0x8180, an=1) + qa + b"\xff\xff" + a)
    write(t, "pointer-truncated", hdr(flags=0x8180, an=1) + qa + b"\xc0")
    write(t, "rr-truncated", hdr(flags=0x8180, an=1) + qa + b"\xc0\x0c" + a[:-2])
    write(t, "rr-rdlen-past-end", hdr(flags=0x8180, an=1) + qa + b"\xc0\x0c" +
          struct.pack("!HHIH", 1, 1, 300, 400) + b"\x01\x02\x03\x04")
    write(t, "counts-huge", hdr(flags=0x8180, an=0xffff, ns=0xffff, ar=0xffff) + qa +
          b"\xc0\x0c" + a)
    write(t, "count-short", hdr(flags=0x8180, an=3) + qa + b"\xc0\x0c" + a)
    write(t, "qd0", hdr(flags=0x8180, qd=0, an=1) + b"\xc0\x0c" + a)
    write(t, "qd2", hdr(flags=0x8180, qd=2) + qa + qa)
    write(t, "opt-not-last", hdr(flags=0x8180, an=1, ar=2) + qa + b"\xc0\x0c" + a + opt_rr() +
          rr(b"\xc0\x0c", 1, b"\x01\x02\x03\x04"))
    write(t, "opt-two", hdr(flags=0x8180, ar=2) + qa + opt_rr() + opt_rr())
    write(t, "opt-in-answer", hdr(flags=0x8180, an=1) + qa + opt_rr())
    write(t, "opt-owner", hdr(flags=0x8180, ar=1) + qa + opt_rr(owner=b"\xc0\x0c"))
    write(t, "opt-bad-option", hdr(flags=0x8180, ar=1) + qa + opt_rr(options=b"\x00\x0f\x00\x09\x00\x06"))
    write(t, "opt-ede-short", hdr(flags=0x8182, ar=1) + qa + opt_rr(options=b"\x00\x0f\x00\x01\x00"))
    write(t, "opt-ext-rcode", hdr(flags=0x8180, ar=1) + qa + opt_rr(ext_rcode=1))
    write(t, "label-64", hdr(flags=0x8180, an=1) + qa + b"\x40" + b"a" * 64 + b"\x00" + a)
    write(t, "label-bits-10", hdr(flags=0x8180, an=1) + qa + b"\x80\x0c" + a)
    long_owner = b"".join(b"\x3f" + b"a" * 63 for _ in range(3)) + b"\x3d" + b"b" * 61 + b"\x00"
    write(t, "name-255", hdr(flags=0x8180, an=1) + qa + long_owner + a)
    # a name over 255 bytes only once the pointer is followed
    base = hdr(flags=0x8180, an=2) + qa
    first = b"\x3f" + b"c" * 63 + b"\x3f" + b"d" * 63 + b"\xc0\x0c"
    write(t, "name-256-via-pointer", base + first + a + b"\x3f" + b"e" * 63 + b"\x3f" + b"f" * 63 +
          struct.pack("!H", 0xc000 | len(base)) + a)
    write(t, "soa-short", hdr(flags=0x8180, ns=1) + qa + rr(b"\xc0\x0c", 6, b"\x00\x00" + b"\x00" * 10))
    write(t, "soa-long", hdr(flags=0x8180, ns=1) + qa + rr(b"\xc0\x0c", 6, b"\x00\x00" + b"\x00" * 24))
    write(t, "mx-short", hdr(flags=0x8180, an=1) + qa + rr(b"\xc0\x0c", 15, b"\x00\x0a"))
    write(t, "cname-trailing", hdr(flags=0x8180, an=1) + qa + rr(b"\xc0\x0c", 5, b"\xc0\x0c\x00"))
    write(t, "cname-forward", hdr(flags=0x8180, an=1) + qa + rr(b"\xc0\x0c", 5, b"\xc0\x40"))
    write(t, "a-wrong-len", hdr(flags=0x8180, an=1) + qa + rr(b"\xc0\x0c", 1, b"\x01\x02\x03"))
    write(t, "aaaa-wrong-len", hdr(flags=0x8180, an=1) + qn + b"\x00\x1c\x00\x01" +
          rr(b"\xc0\x0c", 28, b"\x01" * 15))
    # ldns reads 16 bytes of an AAAA whatever RDLENGTH says and takes the rest for the next
    # record: here a CNAME where wire_store sees an A (wire_store now rejects the AAAA)
    fake = rr(b"\xc0\x0c", 5, b"\xc0\x0c", ttl=3600)
    write(t, "aaaa-long-rdata-hides-record", hdr(flags=0x8180, an=2) + qn + b"\x00\x1c\x00\x01" +
          rr(b"\xc0\x0c", 28, b"\x20\x01\x0d\xb8" + b"\x00" * 12 + fake) +
          rr(b"\xc0\x0c", 1, b"\x05\x06\x07\x08"))
    write(t, "a-long-rdata-hides-record", hdr(flags=0x8180, an=2) + qa +
          rr(b"\xc0\x0c", 1, b"\xc6\x33\x64\x07" + fake) + rr(b"\xc0\x0c", 1, b"\x05\x06\x07\x08"))
    # the review's answer (issue 14): an SRV whose 23-byte RDATA ends in the bytes of
    # "A 6.6.6.6", then a real A; ldns reads the SRV's 7 bytes of fields and then the hidden A
    hidden = rr(b"\xc0\x0c", 1, bytes([6, 6, 6, 6]))
    srv = rr(b"\xc0\x0c", 33, struct.pack("!HHH", 0, 0, 0) + b"\x00" + hidden)
    for qtype, tname in ((1, "a"), (33, "srv"), (28, "aaaa")):
        write(t, "srv-rdata-hides-a-" + tname, hdr(flags=0x8180, an=2) + qn + struct.pack("!HH", qtype, 1) +
              srv + rr(b"\xc0\x0c", 1, bytes([5, 5, 5, 5])))
    write(t, "rrsig-short", hdr(flags=0x8180, an=1) + qa + rr(b"\xc0\x0c", 46, b"\x00"))
    write(t, "zero-rdlen-a", hdr(flags=0x8180, an=1) + qa + rr(b"\xc0\x0c", 1, b""))
    write(t, "class-any", hdr(flags=0x8180, an=1) + qa + rr(b"\xc0\x0c", 1, b"\xc0\x00\x02\x01", rclass=255))
    write(t, "header-only", hdr(flags=0x8180, qd=0))
    write(t, "header-11", hdr(flags=0x8180)[:11])
    write(t, "empty", b"")
    # the input read as a name: a PTR name under the WKP
    wkp = bytes([0, 0x64, 0xff, 0x9b] + [0] * 8 + [192, 0, 2, 1])
    write(t, "ptr-name-wkp", wname(ptr_name(wkp)))
    p32 = bytes([0x20, 0x01, 0x0d, 0xb8, 93, 184, 216, 34] + [0] * 8)
    write(t, "ptr-name-32", wname(ptr_name(p32)))
    # reverse-zone names (issue 17): an empty non-terminal, an ipv4only.arpa address, an
    # impossible one (u-octet set) under a /32, and an upper-case address
    write(t, "ptr-name-wkp-ent", wname(ptr_name(wkp).split(".", 4)[4]))
    v4only = bytes([0, 0x64, 0xff, 0x9b] + [0] * 8 + [192, 0, 0, 170])
    write(t, "ptr-name-wkp-ipv4only", wname(ptr_name(v4only)))
    write(t, "ptr-name-32-uoctet", wname(ptr_name(p32[:8] + b"\x01" + p32[9:])))
    write(t, "ptr-name-wkp-upper", wname(ptr_name(wkp).upper()))


def configs():
    t = "fuzz_config"
    paths = []
    for d in (os.path.join(SRC, "tests", "conf"), os.path.join(SRC, "etc")):
        for n in sorted(os.listdir(d)):
            paths.append(os.path.join(d, n))
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        write(t, os.path.basename(os.path.dirname(p)) + "-" + os.path.basename(p), data)
    # config text, NUL, ACL text
    pairs = [("etc/dns64d.conf", "etc/dns64d.acl"), ("tests/conf/good-full.conf", "tests/conf/good-full.acl"),
             ("tests/conf/good-prefixes.conf", "tests/conf/good-prefixes.acl"),
             ("tests/conf/bad-many.conf", "tests/conf/bad-duplicate.acl"),
             ("tests/conf/good-multi-prefix.conf", "tests/conf/good-multi-prefix.acl"),
             ("tests/conf/bad-acl-global-suffix.conf", "tests/conf/part-global-suffix.acl")]
    for c, a in pairs:
        with open(os.path.join(SRC, c), "rb") as f:
            ct = f.read()
        with open(os.path.join(SRC, a), "rb") as f:
            at = f.read()
        write(t, "pair-" + os.path.basename(c).split(".")[0] + "+" + os.path.basename(a).split(".")[0],
              ct + b"\x00" + at)
    write(t, "scoped-v6", b"upstream [fe80::1%1]:53\nlisten [fe80::1%lo]:5353\n")
    write(t, "forward-tls-mix", b"upstream tls://[::1]:853#a.b pin-sha256 XDRfOCYm8s2ScDiTMj0KfiI01SF+vMwcdW82uHA/ejY=\n"
          b"forward . 127.0.0.1\nforward a.b tls://127.0.0.1#x 127.0.0.2:5353\nforward A.B. 10.0.0.1\n"
          b"forward x.a.b tls://1.2.3.4#\n")
    write(t, "words", b"64:ff9b::/96\n")
    write(t, "endpoint", b"[2001:db8::1]:5353 forward\n")
    write(t, "size", b"64m\n")
    write(t, "dnstap", b"dnstap-socket /run/dnstap/dnstap.sock\ndnstap-messages client-query, forwarder-response\n"
          b"dnstap-messages \"client-response forwarder-query\"\ndnstap-identity ns#1\ndnstap-version \"v # 2\"\n")
    write(t, "crlf-mixed", b"listen 127.0.0.1:53\r\nprefix 2001:db8::/32\r\n\x000.0.0.0/0 refuse\r\n::/0 drop\r\n")
    write(t, "many-errors", b"".join(b"bogus%d x\n" % i for i in range(200)))
    write(t, "long-token", b"synth-all " + b"a" * 300 + b"\n" + b"no-synth " + (b"a" * 63 + b".") * 5 + b"\n")
    write(t, "listen-tls", b"listen-tls [::1]:8853 a.pem b.key\nlisten-tls 0.0.0.0 \"c d.pem\" k\n"
          b"ddr-target dns.example.\nlisten-tls 127.0.0.1:53 x y\n")
    write(t, "prefix-options", b"prefix 2001:db8::/32 suffix ::ff:0:0:1 mapped !10.0.0.0/8,any exclude ::/0\n"
          b"prefix 64:ff9b::/96 mapped !any\nsuffix ::1\nmapped !192.168.0.0/16\nrecursive-only yes\n"
          b"break-dnssec no\n\x00192.0.2.0/24 dns64 2001:db8::/32 64:ff9b::/96 filter-a\n10.0.0.0/8 dns64 filter-a\n")
    write(t, "nul-only", b"\x00")
    write(t, "empty", b"")


def main():
    queries()
    answers()
    configs()
    return 0


if __name__ == "__main__":
    sys.exit(main())

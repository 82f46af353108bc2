# Integration tests against a misbehaving upstream (issue 6): one dig test per behaviour.
#
# One daemon (timeout 4 s, the scripted server of badupstream.py as its only upstream) serves
# all tests in order, as a long-running resolver would: after every case it must still be up,
# have no sanitizer report in its log, and answer a fresh good name at once, over the forwarding
# path (client 127.0.0.2) and the DNS64 path (client 127.0.0.1). Spoofed or mismatched answers
# carry 66.66.66.66 (synthesized: 64:ff9b::4242:4242); no client may ever see it.
import atexit
import itertools
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import badupstream as bu  # noqa: E402
from harness import SLACK, Daemon, check, check_eq, dig, run_tests, wait_until  # noqa: E402

# Time bounds follow the daemon's upstream timeout: an answer that needs no waiting comes
# before it (a daemon that waited for it cannot be that early, however idle the machine), one
# after a timeout comes at or after it and within SLACK more. 4 s leaves an answer that needs
# no waiting twice the 2 s of scheduling delay seen under ASan on a loaded 2-core machine.
TIMEOUT_MS = 4000
TIMEOUT = TIMEOUT_MS / 1000.0
DIG_TIMEOUT = 3 * TIMEOUT + SLACK   # longer than any bound below
FWD = "127.0.0.2"           # forwarding client
D64 = "127.0.0.1"           # DNS64 client (prefix 64:ff9b::/96)
ACL = ["127.0.0.0/8 forward", "127.0.0.1/32 dns64", "::1/128 dns64"]
POISON6 = "64:ff9b::4242:4242"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:", "ThreadSanitizer", "MemorySanitizer")

_env = {}
_seq = itertools.count(1)


def synth(v4):
    """The WKP AAAA for an IPv4 address."""
    a, b, c, d = (int(x) for x in v4.split("."))
    return "64:ff9b::%x:%x" % (a << 8 | b, c << 8 | d)


class LogTail:
    """Context for failure messages: the end of the daemon log."""

    def __init__(self, d, lines=25):
        self.text = "\n".join(d.log_text().splitlines()[-lines:])

    def __repr__(self):
        return "--- dns64d log (last lines) ---\n" + self.text


def env():
    """(bad upstream, daemon), started once for the whole file."""
    if not _env:
        bad = bu.BadUpstream(timeout_ms=TIMEOUT_MS).__enter__()
        _env["bad"] = bad
        d = Daemon(["timeout %d" % TIMEOUT_MS, "log-level debug"], ACL, upstreams=[bad.addr])
        try:
            d.__enter__()
        except BaseException:
            bad.stop()
            _env.clear()
            raise
        _env["d"] = d
        atexit.register(_teardown, False)
    return _env["bad"], _env["d"]


def _teardown(raise_errors=True):
    d, bad = _env.pop("d", None), _env.pop("bad", None)
    try:
        if d is not None:
            d.__exit__(None, None, None) if raise_errors else d._shutdown(False)
    finally:
        if bad is not None:
            bad.stop()


def uniq(behaviour):
    return "%s-%d.bad.test" % (behaviour, next(_seq))


def ask(name, rdtype="A", src=FWD, tcp=False, opts=(), timeout=DIG_TIMEOUT):
    _, d = env()
    return dig(d.port, name, rdtype, source=src, tcp=tcp, opts=opts, timeout=timeout)


def no_poison(r, what):
    raw = r.raw.lower()
    check(bu.POISON_A not in raw and POISON6 not in raw,
          "%s: a spoofed/mismatched upstream answer reached the client" % what, r)


def expect_rcode(r, rcode, what):
    _, d = env()
    check_eq(r.rcode, rcode, what, r, LogTail(d))
    no_poison(r, what)


def expect_a(r, addrs, what):
    _, d = env()
    check_eq((r.rcode, r.rdatas("A")), ("NOERROR", sorted(addrs)), what, r, LogTail(d))
    no_poison(r, what)


def expect_aaaa(r, addrs, what):
    _, d = env()
    check_eq((r.rcode, r.rdatas("AAAA")), ("NOERROR", sorted(addrs)), what, r, LogTail(d))
    no_poison(r, what)


def within(r, hi, what, lo=0.0):
    _, d = env()
    check(lo <= r.elapsed <= hi, "%s: answered after %.3fs, expected %.2f..%.2fs"
          % (what, r.elapsed, lo, hi), r, LogTail(d))


def before_timeout(r, what):
    """Answered without waiting for an upstream timeout: sooner than one timeout."""
    _, d = env()
    check(r.elapsed < TIMEOUT, "%s: answered after %.3fs, not before the %.1fs upstream timeout"
          % (what, r.elapsed, TIMEOUT), r, LogTail(d))


def after_timeouts(r, what, n=1, lo=None):
    """Answered once n upstream timeouts could have passed, and within SLACK more; lo: the
    lower bound when it is the point (the daemon kept waiting)."""
    within(r, n * TIMEOUT + SLACK, what, lo=0.0 if lo is None else lo)


def sanitizer_clean(d):
    log = d.log_text()
    for mark in SANITIZER_MARKS:
        check(mark not in log, "sanitizer report (%s) in the daemon log" % mark, LogTail(d, 80))


def healthy(case):
    """After a case: alive, no sanitizer report, fresh good names answered at once over both
    paths and both transports."""
    bad, d = env()
    check(d.alive(), "dns64d died during case %s" % case, LogTail(d, 80))
    sanitizer_clean(d)
    check(not bad.errors, "bad upstream thread errors: %r" % bad.errors)
    n = uniq("good")
    r = ask(n)
    expect_a(r, [bu.GOOD_A], "good name after %s" % case)
    before_timeout(r, "good name after %s" % case)
    check(bad.queries(n), "the good name after %s went upstream" % case)
    r = ask(uniq("good"), "AAAA", src=D64)
    expect_aaaa(r, [synth(bu.GOOD_A)], "DNS64 good name after %s" % case)
    before_timeout(r, "DNS64 good name after %s" % case)
    r = ask(uniq("good"), tcp=True)
    expect_a(r, [bu.GOOD_A], "good name over TCP after %s" % case)


def spoof_then_good(behaviour):
    """The mismatched answer first, the right one SPOOF_DELAY later: the right one is used,
    also by the DNS64 path and from the cache afterwards."""
    bad, _ = env()
    n = uniq(behaviour)
    r = ask(n)
    expect_a(r, [bu.GOOD_A], "%s: the right answer after the mismatched one" % n)
    before_timeout(r, n)
    # the daemon retransmits when the right answer is later than the server's RTO (fetch.c):
    # a few queries, never a flood
    check(1 <= len(bad.queries(n, "udp")) <= 4, "a few upstream queries for %s: %r"
          % (n, bad.queries(n)))
    expect_a(ask(n), [bu.GOOD_A], "%s again (cache not poisoned)" % n)
    n6 = uniq(behaviour)
    r = ask(n6, "AAAA", src=D64)
    expect_aaaa(r, [synth(bu.GOOD_A)], "%s: DNS64 with mismatched answers first" % n6)
    before_timeout(r, n6)
    healthy(behaviour)


def spoof_only(behaviour):
    """Only the mismatched answer: it is ignored, the daemon keeps waiting until its timeout,
    then SERVFAIL."""
    n = uniq(behaviour)
    r = ask(n)
    expect_rcode(r, "SERVFAIL", "%s: only a mismatched answer" % n)
    after_timeouts(r, n, lo=TIMEOUT - 0.1)
    healthy(behaviour)


# --- the cases, in the order of issue 6 ---------------------------------------------------------

def test_good_baseline():
    bad, _ = env()
    n = uniq("good")
    r = ask(n)
    expect_a(r, [bu.GOOD_A], n)
    check_eq([q["transport"] for q in bad.queries(n)], ["udp"], "one UDP query upstream")
    healthy("good")


def test_wrong_id_ignored_right_one_used():
    spoof_then_good("wrongid")


def test_wrong_id_only_servfail_after_timeout():
    spoof_only("wrongidonly")


def test_wrong_question_ignored_right_one_used():
    spoof_then_good("wrongq")


def test_wrong_question_only_servfail_after_timeout():
    spoof_only("wrongqonly")


def test_wrong_question_type_ignored():
    spoof_then_good("wrongtype")


def test_answer_from_other_port_ignored():
    bad, _ = env()
    n = uniq("otherport")
    r = ask(n)
    expect_rcode(r, "SERVFAIL", "%s: the only answer came from port %d" % (n, bad.other_port))
    after_timeouts(r, n, lo=TIMEOUT - 0.1)
    healthy("otherport")


def test_garbage_ignored_right_one_used():
    spoof_then_good("garbage")


def test_record_past_end_not_used():
    # A matching header and question with a broken record: failing at once (SERVFAIL) and
    # ignoring it (then the right answer 100 ms later) are both fine; its data never.
    n = uniq("badrr")
    r = ask(n)
    check(r.rcode in ("SERVFAIL", "NOERROR"), "rcode", r)
    if r.rcode == "NOERROR":
        expect_a(r, [bu.GOOD_A], n)
    no_poison(r, n)
    after_timeouts(r, n)
    healthy("badrr")


def test_qr0_ignored_right_one_used():
    spoof_then_good("qr0")


def test_qr0_only_servfail_after_timeout():
    spoof_only("qr0only")


def test_tc_over_udp_then_tcp_answer():
    bad, _ = env()
    n = uniq("tc")
    r = ask(n)
    expect_a(r, [bu.TCP_A], "%s: the TCP answer after TC=1" % n)
    before_timeout(r, n)
    check_eq(sorted(q["transport"] for q in bad.queries(n)), ["tcp", "udp"],
             "%s: UDP then TCP upstream" % n)
    q = bad.queries(n, "tcp")[0]
    check_eq((q["name"], q["type"]), (n + ".", "A"), "question over TCP")
    n6 = uniq("tc")
    r = ask(n6, "AAAA", src=D64)
    expect_aaaa(r, [synth(bu.TCP_A)], "%s: DNS64 with TC on both queries" % n6)
    check_eq(len(bad.queries(n6, "tcp")), 2, "%s: AAAA and A retried over TCP" % n6)
    r = ask(uniq("tc"), tcp=True)
    expect_a(r, [bu.TCP_A], "TC upstream, TCP client")
    healthy("tc")


def test_tc_over_tcp_too_servfail():
    bad, _ = env()
    n = uniq("tctcp")
    r = ask(n)
    expect_rcode(r, "SERVFAIL", "%s: truncated over TCP too" % n)
    after_timeouts(r, n)
    check(bad.queries(n, "tcp"), "%s: retried over TCP" % n)
    healthy("tctcp")


def test_silence_servfail_after_timeout():
    n = uniq("silence")
    r = ask(n)
    expect_rcode(r, "SERVFAIL", "%s: no answer upstream" % n)
    after_timeouts(r, n, lo=TIMEOUT - 0.1)
    n = uniq("silence")
    r = ask(n, tcp=True)
    expect_rcode(r, "SERVFAIL", "%s: no answer upstream, TCP client" % n)
    after_timeouts(r, n, lo=TIMEOUT - 0.1)
    healthy("silence")


def test_slow_answer_inside_timeout_used():
    n = uniq("slowin")
    r = ask(n)
    expect_a(r, [bu.GOOD_A], "%s: answer %.0f ms before the timeout" % (n, bu.SLOW_INSIDE * 1000))
    after_timeouts(r, n, lo=TIMEOUT - bu.SLOW_INSIDE - 0.05)
    healthy("slowin")


def test_slow_answer_outside_timeout_servfail():
    bad, _ = env()
    n = uniq("slowout")
    r = ask(n)
    expect_rcode(r, "SERVFAIL", "%s: answer %.0f ms after the timeout"
                 % (n, bu.SLOW_OUTSIDE * 1000))
    # The client must not wait for the late answer (sent SLOW_OUTSIDE after the timeout).
    within(r, TIMEOUT + bu.SLOW_OUTSIDE - 0.05, n, lo=TIMEOUT - 0.1)
    # the late answer arrives at a closed socket (loopback delivers it within sendto)
    check(wait_until(lambda: bad.sent(n), timeout=TIMEOUT + bu.SLOW_OUTSIDE + SLACK),
          "%s: the late answer was never sent" % n)
    # then wait out the failure the daemon remembers for this name (RFC 9520: 1 s after a
    # first failure), measured from the SERVFAIL
    time.sleep(1.3)
    healthy("slowout")
    # Not cached from the late answer: asked upstream again.
    before = len(bad.queries(n))
    r = ask(n)
    expect_rcode(r, "SERVFAIL", "%s again" % n)
    check(len(bad.queries(n)) > before, "%s asked upstream again" % n)


def test_servfail_passed_as_servfail():
    n = uniq("servfail")
    r = ask(n)
    expect_rcode(r, "SERVFAIL", n)
    before_timeout(r, n)
    r = ask(uniq("servfail"), "AAAA", src=D64)
    expect_rcode(r, "SERVFAIL", "DNS64 path, SERVFAIL for AAAA and A")
    healthy("servfail")


def test_refused_gives_servfail():
    # An upstream that refuses us is a failure of the resolver, not a refusal of the client.
    n = uniq("refused")
    r = ask(n)
    expect_rcode(r, "SERVFAIL", "%s: upstream REFUSED" % n)
    after_timeouts(r, n)
    healthy("refused")


def test_oversized_udp_answer():
    bad, _ = env()
    want = bu.many_addresses(bu.BIG_COUNT)
    n = uniq("big")
    r = ask(n)   # dig retries over TCP on TC, as a real client does
    expect_a(r, want, "%s: %d records (~4000 bytes) in one upstream datagram" % (n, bu.BIG_COUNT))
    check("Truncated" in r.raw, "the daemon's UDP answer to a 1232-byte client is truncated", r)
    check_eq([q["transport"] for q in bad.queries(n)], ["udp"],
             "%s: the 4000-byte datagram was used, no upstream TCP needed" % n)
    r = ask(uniq("big"), opts=("+ignore",))
    check_eq((r.rcode, "tc" in r.flags), ("NOERROR", True), "TC=1 over UDP", r)
    check(r.msg_size is not None and r.msg_size <= 1232, "UDP answer fits 1232 bytes", r)
    no_poison(r, "big +ignore")
    expect_a(ask(uniq("big"), tcp=True), want, "oversized upstream answer, TCP client")
    r = ask(uniq("big"), "AAAA", src=D64)
    expect_aaaa(r, [synth(a) for a in want], "DNS64 of %d A records" % bu.BIG_COUNT)
    healthy("big")


def test_hundred_a_records():
    bad, _ = env()
    want = bu.many_addresses(bu.MANY_COUNT)
    n = uniq("many")
    r = ask(n)
    expect_a(r, want, "%s: %d A records" % (n, bu.MANY_COUNT))
    check("tcp" in [q["transport"] for q in bad.queries(n)],
          "%s: ~1650 bytes exceed the daemon's advertised size; TCP upstream" % n)
    r = ask(uniq("many"), tcp=True)
    expect_a(r, want, "100 A records, TCP client")
    r = ask(uniq("many"), "AAAA", src=D64)
    expect_aaaa(r, [synth(a) for a in want], "DNS64 of 100 A records")
    r = ask(uniq("many"), "AAAA", src=D64, tcp=True)
    expect_aaaa(r, [synth(a) for a in want], "DNS64 of 100 A records, TCP client")
    healthy("many")


def test_compression_loop():
    n = uniq("comploop")
    r = ask(n)
    expect_rcode(r, "SERVFAIL", "%s: compression pointer loops" % n)
    after_timeouts(r, n)
    r = ask(uniq("comploop"), "AAAA", src=D64)
    expect_rcode(r, "SERVFAIL", "DNS64 path, compression loops for AAAA and A")
    after_timeouts(r, "DNS64 compression loop", n=2)
    r = ask(uniq("comploop"), tcp=True)
    expect_rcode(r, "SERVFAIL", "compression loops, TCP client")
    healthy("comploop")


def _cname_loop_ok(r, what):
    _, d = env()
    check(r.rcode in ("NOERROR", "SERVFAIL"), what + ": NOERROR with the loop or SERVFAIL",
          r, LogTail(d))
    check(not r.rdatas("A") and not r.rdatas("AAAA"), what + ": no address in a CNAME loop", r)
    for owner, _ttl, rtype, _rdata in r.answer:
        check(rtype == "CNAME" and owner.lower().startswith(("cnamea-", "cnameb-")),
              what + ": only the loop's CNAMEs", r)
    no_poison(r, what)


def test_cname_loop():
    bad, _ = env()
    k = next(_seq)
    n = "cnamea-%d.bad.test" % k
    r = ask(n)
    _cname_loop_ok(r, n)
    after_timeouts(r, n)
    k6 = next(_seq)
    n6 = "cnamea-%d.bad.test" % k6
    r = ask(n6, "AAAA", src=D64)
    _cname_loop_ok(r, "DNS64 " + n6)
    after_timeouts(r, "DNS64 " + n6, n=2)
    asked = [q for q in bad.queries() if q["name"] and q["name"].split(".")[0]
             in ("cnamea-%d" % k6, "cnameb-%d" % k6)]
    check(len(asked) <= 16, "the loop was chased %d times upstream" % len(asked))
    healthy("cname loop")


def test_failing_first_upstream_then_second():
    # A second daemon with two upstreams: the first misbehaves, the second (the same script
    # with those behaviours remapped to "good") answers. Every failure of the first one that
    # leaves nothing usable must move on to the second, with a fresh ID and source port.
    fail = ("silence", "tctcp", "servfail", "refused", "comploop")
    with bu.BadUpstream(timeout_ms=TIMEOUT_MS) as first, \
            bu.BadUpstream(timeout_ms=TIMEOUT_MS, remap={b: "good" for b in fail}) as second, \
            Daemon(["timeout %d" % TIMEOUT_MS, "log-level debug"], ACL,
                   upstreams=[first.addr, second.addr]) as d:
        failures = []
        for b in fail:
            n = uniq(b)
            r = dig(d.port, n, "A", source=FWD, timeout=DIG_TIMEOUT)
            if (r.rcode, r.rdatas("A")) != ("NOERROR", [bu.GOOD_A]) or \
                    r.elapsed > TIMEOUT + SLACK:
                failures.append("%s: got %s %s after %.2fs (first upstream asked %d times, "
                                "second %d times)" % (n, r.rcode, r.rdatas("A"), r.elapsed,
                                                      len(first.queries(n)),
                                                      len(second.queries(n))))
                continue
            # once the first upstream has failed often enough it is down and skipped
            # (selection), so it may not have been asked at all
            q1s, q2 = first.queries(n, "udp"), second.queries(n, "udp")[0]
            if q1s and q1s[0]["id"] == q2["id"] and q1s[0]["port"] == q2["port"]:
                failures.append("%s: the retry reused ID %d and port %d" % (n, q2["id"],
                                                                            q2["port"]))
        check(d.alive(), "dns64d up", LogTail(d, 40))
        check(not failures, "no failover to the second upstream:\n  " + "\n  ".join(failures),
              LogTail(d, 20))


def test_zz_daemon_alive_and_clean_at_end():
    bad, d = env()
    check(d.alive(), "dns64d is up after all cases", LogTail(d, 80))
    sanitizer_clean(d)
    code = d.stop()
    log = d.log_text()
    check_eq(code, 0, "exit code after SIGTERM", LogTail(d, 80))
    for mark in SANITIZER_MARKS:
        check(mark not in log, "sanitizer report (%s) at exit" % mark, LogTail(d, 80))
    d.expect_exit = True   # stopped above; the teardown only cleans up
    _teardown()


if __name__ == "__main__":
    run_tests(globals(), required=("dig",))

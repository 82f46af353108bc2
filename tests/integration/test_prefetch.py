#!/usr/bin/python3
"""prefetch-a: the A query of a dns64 client's AAAA lookup goes upstream together with the
AAAA query, so synthesis costs one upstream round trip instead of two."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Nsd, QueryCounter, check, check_eq, dig, run_tests, wait_until, zone_path  # noqa: E402

ZONES = {"dns64.test.": zone_path("dns64.zone")}
ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 forward"]
DELAY = 0.6  # every upstream answer takes this long: longer than a thread waits to be scheduled,
#             and shorter than the daemon's first retransmission timeout (1 s, RFC 6298)


def run(prefetch, name, source="127.0.0.1"):
    """Ask AAAA for name; returns (dig result, elapsed seconds, query counter)."""
    with Nsd(ZONES) as ns, QueryCounter(ns.port, delay=DELAY) as qc, \
            Daemon(["workers 1", "prefetch-a %s" % prefetch, "timeout 6000"], ACL,
                   upstreams=[qc.addr]) as d:
        t0 = time.monotonic()
        r = dig(d.port, name, "AAAA", source=source, timeout=3 * DELAY + 5)
        elapsed = time.monotonic() - t0
        # a prefetch still in flight gets DELAY to arrive before counting; where one must
        # arrive, the test waits for it (wait_until) rather than for this
        time.sleep(DELAY + 0.2)
        return r, elapsed, qc


def a_after_aaaa(qc, name):
    """Seconds from the upstream sending the AAAA answer to it seeing the A query: negative
    means the A query did not wait for the AAAA answer (the counter holds every answer back for
    DELAY). Order of events, not a time bound."""
    q = {q["type"]: q for q in qc.queries if q["name"] == name + "."}
    return q["A"]["time"] - q["AAAA"]["answered"]


def test_ipv4_only_name_one_round_trip():
    r, _, qc = run("yes", "v4only.dns64.test")
    check_eq(r.rdatas("AAAA"), ["64:ff9b::102:304"], "synthesized", r)
    check_eq(qc.count("v4only.dns64.test", "A"), 1, "A asked once (the prefetch, joined)")
    check_eq(qc.count("v4only.dns64.test", "AAAA"), 1, "AAAA asked once")
    gap = a_after_aaaa(qc, "v4only.dns64.test")
    check(gap < 0, "A asked before the AAAA answer came back: %.3fs after it" % gap)


def test_without_prefetch_two_round_trips():
    r, _, qc = run("no", "v4only.dns64.test")
    check_eq(r.rdatas("AAAA"), ["64:ff9b::102:304"], "synthesized", r)
    check_eq(qc.count("v4only.dns64.test", "A"), 1, "A asked after the AAAA answer")
    gap = a_after_aaaa(qc, "v4only.dns64.test")
    check(gap >= 0, "A asked only after the AAAA answer: %.3fs before it" % -gap)


def test_dual_stack_prefetch_costs_one_a_query():
    r, _, qc = run("yes", "dual.dns64.test")
    check_eq(r.rdatas("AAAA"), ["2001:db8:d::6"], "real AAAA", r)
    wait_until(lambda: qc.count("dual.dns64.test", "A") >= 1)
    check_eq(qc.count("dual.dns64.test", "A"), 1, "the prefetched A query")
    r, _, qc = run("no", "dual.dns64.test")
    check_eq(qc.count("dual.dns64.test", "A"), 0, "no A query without prefetch")


def test_forward_client_never_prefetches():
    r, _, qc = run("yes", "v4only.dns64.test", source="127.0.0.2")
    check_eq(r.rcode, "NOERROR", "forwarded", r)
    check_eq(r.rdatas("AAAA"), [], "no synthesis for a forward client", r)
    check_eq(qc.count("v4only.dns64.test", "A"), 0, "no A query for a forward client")


if __name__ == "__main__":
    run_tests(globals())

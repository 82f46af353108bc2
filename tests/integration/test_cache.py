# Integration tests for the answer cache and workers (issue 5), counting upstream queries by proxy.
import contextlib
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Nsd, QueryCounter, check, check_eq, dig, run_tests, zone_path  # noqa: E402

ZONES = {"core.test": zone_path("core.zone")}
ACL = ["127.0.0.0/8 dns64", "::1/128 dns64"]


@contextlib.contextmanager
def setup(conf=(), delay=0.0, workers=1):
    """nsd, counting proxy, dns64d. One worker by default: whether the cache is shared between
    workers is a design choice, and with SO_REUSEPORT each dig may land on another worker."""
    conf = list(conf) + (["workers %d" % workers] if workers else [])
    with Nsd(ZONES) as ns, QueryCounter(ns.port, delay=delay) as qc, \
            Daemon(conf, ACL, upstreams=[qc.addr]) as d:
        qc.reset()
        yield ns, d, qc


def test_second_query_from_cache_with_lower_ttl():
    with setup() as (ns, d, qc):
        t1 = time.monotonic()
        r1 = dig(d.port, "cache1.core.test", "A")
        check_eq((r1.rcode, r1.rdatas("A")), ("NOERROR", ["192.0.2.101"]), "first answer", r1)
        check_eq(qc.count("cache1.core.test", "A"), 1, "upstream queries after the first")
        time.sleep(1.2)
        for tcp in (False, True):
            r2 = dig(d.port, "cache1.core.test", "A", tcp=tcp)
            check_eq((r2.rcode, r2.rdatas("A")), ("NOERROR", ["192.0.2.101"]),
                     "cached answer (tcp=%s)" % tcp, r2)
            check(r2.min_ttl() < r1.min_ttl(), "cached TTL %s must be lower than %s (tcp=%s)"
                  % (r2.min_ttl(), r1.min_ttl(), tcp), r1, r2)
            # not faster than time passed since the first query was sent (whole seconds)
            check(r1.min_ttl() - r2.min_ttl() <= time.monotonic() - t1 + 1, "TTL dropped too far", r1, r2)
        check_eq(qc.count("cache1.core.test", "A"), 1, "upstream queries after cache hits")
        check_eq(qc.count(), 1, "all upstream queries")


def test_cache_key_is_case_insensitive_and_question_case_kept():
    with setup() as (ns, d, qc):
        dig(d.port, "cache3.core.test", "A")
        r = dig(d.port, "CaChE3.CoRe.TeSt", "A")
        check_eq((r.rcode, r.rdatas("A")), ("NOERROR", ["192.0.2.103"]), "answer", r)
        check_eq(r.question, [("CaChE3.CoRe.TeSt.", "IN", "A")], "question case kept", r)
        check_eq(qc.count("cache3.core.test", "A"), 1, "upstream queries")


def test_type_is_part_of_the_key():
    with setup() as (ns, d, qc):
        check_eq(dig(d.port, "core.test", "MX").rcode, "NOERROR", "MX")
        r = dig(d.port, "core.test", "SOA")
        check_eq((r.rcode, [a[2] for a in r.answer]), ("NOERROR", ["SOA"]), "SOA after MX", r)
        check_eq(qc.count("core.test", "SOA"), 1, "SOA went upstream")


def test_negative_answers_cached():
    with setup() as (ns, d, qc):
        r1 = dig(d.port, "nxcache.core.test", "A")
        check_eq(r1.rcode, "NXDOMAIN", "first NXDOMAIN", r1)
        check_eq(r1.authority[0][1:3], (300, "SOA"), "SOA TTL = MINIMUM from nsd", r1)
        r1n = dig(d.port, "nodata.core.test", "MX")
        check_eq((r1n.rcode, r1n.answer), ("NOERROR", []), "first NODATA", r1n)
        time.sleep(1.2)
        r2 = dig(d.port, "nxcache.core.test", "A")
        check_eq(r2.rcode, "NXDOMAIN", "cached NXDOMAIN", r2)
        check(r2.authority and r2.authority[0][2] == "SOA", "SOA kept in cached NXDOMAIN", r2)
        check(r2.authority[0][1] < 300, "negative TTL counts down", r2)
        r2n = dig(d.port, "nodata.core.test", "MX")
        check_eq((r2n.rcode, r2n.answer), ("NOERROR", []), "cached NODATA", r2n)
        check_eq(qc.count("nxcache.core.test", "A"), 1, "NXDOMAIN upstream queries")
        check_eq(qc.count("nodata.core.test", "MX"), 1, "NODATA upstream queries")


def test_do_bit_separates_cache_entries():
    with setup() as (ns, d, qc):
        r = dig(d.port, "cache2.core.test", "A")
        check_eq(r.rcode, "NOERROR", "plain", r)
        check_eq(qc.count("cache2.core.test", "A", do=False), 1, "plain query went upstream")
        r = dig(d.port, "cache2.core.test", "A", opts=["+dnssec"])
        check_eq(r.rcode, "NOERROR", "DO", r)
        check(r.edns is not None and "do" in r.edns["flags"], "DO echoed in the answer", r)
        check_eq(qc.count("cache2.core.test", "A", do=True), 1, "DO query is a separate entry")
        dig(d.port, "cache2.core.test", "A")
        dig(d.port, "cache2.core.test", "A", opts=["+dnssec"])
        check_eq(qc.count("cache2.core.test", "A"), 2, "both entries now cached")


def test_cd_bit_separates_cache_entries():
    with setup() as (ns, d, qc):
        dig(d.port, "cache6.core.test", "A")
        r = dig(d.port, "cache6.core.test", "A", opts=["+cd"])
        check_eq(r.rcode, "NOERROR", "CD", r)
        check_eq(qc.count("cache6.core.test", "A", cd=True), 1, "CD query is a separate entry")
        dig(d.port, "cache6.core.test", "A", opts=["+cd"])
        check_eq(qc.count("cache6.core.test", "A"), 2, "both entries now cached")


def test_cache_size_0_disables_cache():
    with setup(conf=["cache-size 0"]) as (ns, d, qc):
        for _ in range(3):
            r = dig(d.port, "cache4.core.test", "A")
            check_eq(r.rcode, "NOERROR", "answer", r)
        # every query goes upstream (a loaded machine may add a retransmission)
        n = qc.count("cache4.core.test", "A")
        check(3 <= n <= 4, "cache-size 0: every query goes upstream: %d for 3" % n)


def test_identical_queries_in_flight_coalesced():
    with setup(delay=0.5) as (ns, d, qc):
        results = []

        def ask():
            results.append(dig(d.port, "cache5.core.test", "A", timeout=4))

        ts = [threading.Thread(target=ask) for _ in range(5)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for r in results:
            check_eq((r.rcode, r.rdatas("A")), ("NOERROR", ["192.0.2.105"]), "answer", r)
        check_eq(qc.count("cache5.core.test", "A"), 1, "5 identical queries in flight go upstream once")


def test_coalescing_across_workers():
    """Identical questions from many clients, which SO_REUSEPORT spreads over 4 workers, go
    upstream once: the in-flight table is shared, and the answer reaches every worker."""
    with setup(delay=0.5, workers=4) as (ns, d, qc):
        results = []
        lock = threading.Lock()

        def ask(tcp):
            r = dig(d.port, "cache8.core.test", "A", tcp=tcp, timeout=4)
            with lock:
                results.append(r)

        # 24 clients, each from its own source port: over 4 workers, the chance that they all
        # land on one worker is 4 * (1/4)^24
        ts = [threading.Thread(target=ask, args=(i % 3 == 0,)) for i in range(24)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check_eq(len(results), 24, "every client answered")
        for r in results:
            check_eq((r.rcode, r.rdatas("A")), ("NOERROR", ["192.0.2.108"]), "answer", r)
        # once, or twice when the loaded machine delays the answer past the daemon's first
        # retransmission timeout (1 s); without coalescing it would be one per worker or more
        n = qc.count("cache8.core.test", "A")
        check(1 <= n <= 2, "24 identical queries over 4 workers go upstream once (or once more after "
              "the 1 s RTO): %d" % n)


def test_workers_2_serve_udp_and_tcp():
    with setup(workers=2) as (ns, d, qc):
        tasks = os.listdir("/proc/%d/task" % d.pid)
        check(len(tasks) >= 2, "workers 2 should run at least 2 threads, saw %d" % len(tasks))
        results = []
        lock = threading.Lock()

        def ask(i):
            name = "cache%d.core.test" % (i % 8 + 1)
            r = dig(d.port, name, "A", tcp=(i % 2 == 1))
            with lock:
                results.append((i, r))

        ts = [threading.Thread(target=ask, args=(i,)) for i in range(24)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check_eq(len(results), 24, "answers")
        for i, r in results:
            check_eq((r.rcode, r.rdatas("A")), ("NOERROR", ["192.0.2.%d" % (100 + i % 8 + 1)]),
                     "answer %d (tcp=%s)" % (i, i % 2 == 1), r)
        for n in range(1, 9):
            c = qc.count("cache%d.core.test" % n, "A")
            check(c >= 1, "cache%d was never asked upstream" % n)
        check(d.alive(), "daemon alive")


if __name__ == "__main__":
    run_tests(globals())

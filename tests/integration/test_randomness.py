# Integration test of source port and ID randomness upstream (issue 6, RFC 5452 section 9.2).
#
# N queries for distinct names go through the daemon to the recording server of
# badupstream.py; the IDs and UDP source ports it saw must be distinct enough, spread over their
# range, unrelated to the clients' IDs, and not a sequence.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import badupstream as bu  # noqa: E402
from harness import Daemon, check, check_eq, dnsquery, run_tests  # noqa: E402

N = 200
ACL = ["127.0.0.0/8 forward", "::1/128 forward"]


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = f.read().split()
            return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def not_a_sequence(values, what):
    """Consecutive differences must not be constant nor mostly small steps."""
    diffs = [(b - a) % 65536 for a, b in zip(values, values[1:])]
    distinct = len(set(diffs))
    check(distinct >= 0.8 * len(diffs), "%s: consecutive differences repeat (%d distinct of "
          "%d): %r" % (what, distinct, len(diffs), diffs[:40]))
    small = sum(1 for d in diffs if d <= 16 or d >= 65536 - 16)
    check(small <= 0.1 * len(diffs), "%s: %d of %d consecutive steps are within +-16: %r"
          % (what, small, len(diffs), values[:40]))
    rising = sum(1 for a, b in zip(values, values[1:]) if b > a)
    check(0.3 * len(diffs) <= rising <= 0.7 * len(diffs), "%s: %d of %d steps go up (a random "
          "sequence goes up about half the time): %r" % (what, rising, len(diffs), values[:40]))


def spread(values, lo, hi, bins, what):
    """Chi-square of values over bins equal parts of [lo, hi]; p < 1e-5 fails."""
    width = (hi - lo + 1) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    exp = len(values) / bins
    chi2 = sum((c - exp) ** 2 / exp for c in counts)
    # 15 degrees of freedom: chi-square 47.0 has p ~ 4e-5; 16 bins, 200 values
    check(chi2 < 47.0, "%s: not spread over %d..%d (chi-square %.1f, bins %r)"
          % (what, lo, hi, chi2, counts))


def collect(n, tag, tcp_clients=False):
    """(upstream records in order, client ids) for n distinct names."""
    with bu.BadUpstream() as bad, Daemon([], ACL, upstreams=[bad.addr]) as d:
        client_ids = []
        for i in range(n):
            name = "good-%s%d.bad.test" % (tag, i)
            qid = (1000 + i) & 0xFFFF      # the clients' IDs are a plain sequence
            client_ids.append(qid)
            r = dnsquery(d.port, name, "A", qid=qid, tcp=tcp_clients, timeout=10)
            check(r is not None and r.rcode() == 0 and r.answer,
                  "answer for %s: %s" % (name, r))
        check(d.alive(), "dns64d up")
        recs = [q for q in bad.queries(transport="udp") if q["name"] and
                q["name"].startswith("good-%s" % tag)]
        recs.sort(key=lambda q: q["time"])
        return recs, client_ids, d.port


def check_random(recs, client_ids, daemon_port, what):
    check_eq(len(recs), N, "%s: upstream queries seen (one per distinct name)" % what)
    ids = [q["id"] for q in recs]
    ports = [q["port"] for q in recs]
    uid, uport = len(set(ids)), len(set(ports))
    check(uid >= 0.95 * N, "%s: only %d distinct IDs in %d queries: %r" % (what, uid, N, ids))
    # The daemon keeps a pool of 64 sockets per worker and family on random ports, each used
    # for at most 32 queries and then replaced (fetch.c): ports repeat, but within those bounds.
    check(uport >= 40, "%s: only %d distinct source ports in %d queries: %r"
          % (what, uport, N, ports))
    most = max(ports.count(p) for p in set(ports))
    check(most <= 32, "%s: one source port used for %d queries (at most 32)" % (what, most))
    check(daemon_port not in ports, "%s: the listening port used as source port" % what)
    same = sum(1 for a, b in zip(ids, client_ids) if a == b)
    check(same <= 2, "%s: %d upstream IDs equal the client's ID" % (what, same))
    not_a_sequence(ids, what + " IDs")
    not_a_sequence(ports, what + " ports")
    spread(ids, 0, 65535, 16, what + " IDs")
    lo, hi = _ephemeral_range()
    if all(lo <= p <= hi for p in ports):
        # the distinct ports: a pooled socket serves several queries, so repeats are not
        # independent draws (counting them made the test fail by chance)
        spread(sorted(set(ports)), lo, hi, 16, what + " ports")
    else:
        check(max(ports) - min(ports) > 1000, "%s: ports within a narrow range: %r"
              % (what, sorted(ports)))


def test_ids_and_ports_random_udp_clients():
    recs, cids, port = collect(N, "u")
    check_random(recs, cids, port, "UDP clients")


def test_ids_and_ports_random_tcp_clients():
    # The client's transport must not change how the daemon asks upstream.
    recs, cids, port = collect(N, "t", tcp_clients=True)
    check_random(recs, cids, port, "TCP clients")


if __name__ == "__main__":
    run_tests(globals(), required=("dig",))

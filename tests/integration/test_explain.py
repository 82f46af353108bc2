# Integration tests: dns64d-control explain NAME [TYPE] [--client ADDR] (issue 16) against the
# running daemon: the ACL rule (FILE:LINE), action and prefix, whether and why the answer would
# be synthesized, and what the cache holds, for a dns64 client, a forward client, a refused
# client and a no-synth name; explain never asks upstream.
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DNS64D_BIN, Daemon, Nsd, QueryCounter, check, check_eq, dig, run_tests,  # noqa: E402
                     wait_until, zone_path)

SOCK = [None]

CONTROL_BIN = os.environ.get("DNS64D_CONTROL_BIN", os.path.join(os.path.dirname(DNS64D_BIN), "dns64d-control"))
ACL = ["127.0.0.1/32 dns64",                   # line 1
       "127.0.0.2/32 forward",                 # line 2
       "127.0.0.3/32 dns64 2001:db8:64::/96",  # line 3
       "127.0.0.0/8 refuse",                   # line 4
       "::1/128 dns64"]                        # line 5


def explain(d, *args):
    p = subprocess.run([CONTROL_BIN, "-s", SOCK[0], "explain"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    check(p.returncode == 0 and p.stdout.startswith("ok\n"),
          "explain %s: exit %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    out = {}
    for line in p.stdout.splitlines()[1:]:
        k, _, v = line.partition(" ")
        out.setdefault(k, []).append(v)
    return out


def one(out, key):
    check_eq(len(out.get(key, [])), 1, "one %r line in %r" % (key, out))
    return out[key][0]


def test_explain():
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, QueryCounter(ns.port) as qc:
        sd = tempfile.mkdtemp(prefix="dns64d-explain-")
        sock = os.path.join(sd, "control")
        d = Daemon(["no-synth intranet.dns64.test", "prefetch-a no", "control " + sock], ACL, upstreams=[qc.addr])
        try:
            _run(d, qc, sock)
        finally:
            shutil.rmtree(sd, ignore_errors=True)


def _run(d, qc, sock):
        SOCK[0] = sock
        with d:
            wait_until(lambda: os.path.exists(sock))
            qc.reset()
            acl = d.acl
            # a dns64 client, nothing cached yet
            e = explain(d, "v4only.dns64.test")
            check_eq(one(e, "rule"), "%s:1 127.0.0.1/32 dns64" % acl, "rule", e)
            check_eq(one(e, "action"), "dns64", "action", e)
            check_eq(one(e, "prefix"), "64:ff9b::/96 (the default prefix)", "prefix", e)
            check_eq(one(e, "local"), "no", "local", e)
            check(one(e, "synthesis").startswith("if-needed: ") and "(::ffff:0.0.0.0/96)" in one(e, "synthesis"),
                  "synthesis if needed, with the exclusion set: %r" % e)
            check(one(e, "cd-do").startswith("a query with both CD and DO"), "cd-do line %r" % e)
            check_eq(sorted(e["cache"]), ["A miss", "AAAA miss", "synthesized miss"], "nothing cached", e)
            check_eq(qc.count(), 0, "explain asked upstream")
            # after a query: the synthesized answer and the raw AAAA and A are in the cache
            check_eq(dig(d.port, "v4only.dns64.test", "AAAA").rdatas("AAAA"), ["64:ff9b::102:304"], "synthesized")
            asked = qc.count()
            e = explain(d, "v4only.dns64.test", "AAAA", "--client", "127.0.0.1")
            cache = dict(c.split(" ", 1) for c in e["cache"])
            check(cache["synthesized"].startswith("hit rcode NOERROR synthesized ttl_left_s "), "synth hit %r" % e)
            check(cache["AAAA"].startswith("hit rcode NOERROR ttl_left_s "), "AAAA hit %r" % e)
            check(cache["A"].startswith("hit rcode NOERROR ttl_left_s "), "A hit %r" % e)
            check_eq(qc.count(), asked, "explain asked upstream")
            # the rule's own prefix: another synthesized-answer key, not cached
            e = explain(d, "v4only.dns64.test", "--client", "127.0.0.3")
            check_eq(one(e, "rule"), "%s:3 127.0.0.3/32 dns64" % acl, "rule with a prefix", e)
            check_eq(one(e, "prefix"), "2001:db8:64::/96 (the rule's)", "rule's prefix", e)
            check("synthesized miss" in e["cache"] and "A hit" in " ".join(e["cache"]),
                  "other prefix: synthesized miss, A hit: %r" % e)
            # forward client
            e = explain(d, "v4only.dns64.test", "AAAA", "--client", "127.0.0.2")
            check_eq(one(e, "rule"), "%s:2 127.0.0.2/32 forward" % acl, "forward rule", e)
            check_eq(one(e, "action"), "forward", "forward action", e)
            check_eq(one(e, "prefix"), "-", "no prefix for forward", e)
            check(one(e, "synthesis").startswith("no forward_only"), "forward synthesis %r" % e)
            check(e["cache"][0].startswith("AAAA hit"), "forward: the raw AAAA cached %r" % e)
            # refused client (a refuse rule), and one no rule matches
            e = explain(d, "v4only.dns64.test", "--client", "127.0.0.9")
            check_eq(one(e, "rule"), "%s:4 127.0.0.0/8 refuse" % acl, "refuse rule", e)
            check_eq(one(e, "action"), "refuse", "refuse", e)
            check_eq(one(e, "answer"), "REFUSED", "refused answer", e)
            e = explain(d, "v4only.dns64.test", "--client", "192.0.2.1")
            check(one(e, "rule").startswith("none"), "no rule %r" % e)
            check_eq(one(e, "action"), "refuse", "refused by default", e)
            # no-synth name
            e = explain(d, "host.intranet.dns64.test", "AAAA")
            check_eq(one(e, "synthesis"), "no no_synth: the name is at or under no-synth 'intranet.dns64.test.'",
                     "no-synth", e)
            # other types, PTR under the prefix, local names
            check(one(explain(d, "dual.dns64.test", "A"), "synthesis").startswith("no not_aaaa"), "A query")
            e = explain(d, "4.0.3.0.2.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa", "PTR")
            check("'4.3.2.1.in-addr.arpa.'" in one(e, "synthesis"), "ptr under the prefix %r" % e)
            check(one(explain(d, "localhost", "AAAA"), "local").startswith("yes NOERROR"), "localhost")
            check_eq(qc.count(), asked, "explain asked upstream")
            # bad input is an error reply, the daemon keeps serving
            for bad in (["bad..name"], ["x.test", "NOTATYPE"], ["x.test", "--client", "nonsense"],
                        ["x.test", "A", "extra"]):
                p = subprocess.run([CONTROL_BIN, "-s", SOCK[0], "explain"] + bad,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
                check(p.returncode != 0 and "error: " in p.stdout + p.stderr, "explain %r: %r" % (bad, p))
            check_eq(dig(d.port, "dual.dns64.test", "A").rcode, "NOERROR", "still serving")


if __name__ == "__main__":
    run_tests(globals())

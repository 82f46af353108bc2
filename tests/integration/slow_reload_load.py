# Load test (label slow, normal build only): zero queries lost across SIGHUP reloads (issue 7).
#
# dnsperf sends a fixed rate (-Q) for a fixed time (-l) to dns64d with nsd upstream, twice: once
# without reloads, once while the daemon gets 10 SIGHUPs about every 1.5 s. Every other reload
# adds or removes the ACL rule for 127.0.0.3, and dig -b 127.0.0.3 checks between reloads that
# the change took effect. Half of the query names are unique, so upstream queries are in flight
# during the reloads, not only cache hits. Pass: "Queries lost" is 0 in both runs (or the run
# with reloads loses no more than the one without), and neither run got SERVFAIL or REFUSED.
#
# Environment: RELOAD_QPS (default 1000), RELOAD_SECONDS (default 20), RELOAD_COUNT (default 10).
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DNS64D_BIN, SLACK, Daemon, Nsd, dig, run_tests, zone_path  # noqa: E402

QPS = int(os.environ.get("RELOAD_QPS", "1000"))
SECONDS = int(os.environ.get("RELOAD_SECONDS", "20"))
RELOADS = int(os.environ.get("RELOAD_COUNT", "10"))
INTERVAL = 1.5
DNSPERF = shutil.which("dnsperf") or "/usr/bin/dnsperf"
BASE_ACL = ["127.0.0.1/32 dns64", "::1/128 dns64"]
RULE3 = "127.0.0.3/32 dns64"
ZONES = {"dns64.test": zone_path("dns64.zone"), "core.test": zone_path("core.zone")}
# nsd's response rate limiting (on by default, 200 qps per /24) would drop the load itself
NSD_NO_RRL = ["rrl-ratelimit: 0"]


def sanitized_build(path):
    """True when the daemon was built with AddressSanitizer/UBSan (its timing is not comparable)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return b"__asan_init" in data or b"__ubsan_handle" in data or b"__tsan_init" in data


def write_queries(path, n):
    """n dnsperf input lines: half names asked once (upstream traffic), half repeated (cache)."""
    with open(path, "w") as f:
        for i in range(n):
            k = i % 4
            if k == 0:
                f.write("u%d.dns64.test AAAA\n" % i)     # NXDOMAIN via upstream, DNS64 path
            elif k == 1:
                f.write("v4only.dns64.test AAAA\n")      # synthesized, cached
            elif k == 2:
                f.write("www.core.test A\n")             # cached
            else:
                f.write("u%d.core.test A\n" % i)         # NXDOMAIN via upstream


def parse_dnsperf(out):
    """Figures of dnsperf's summary: sent, completed, lost, qps, and rcode counts."""
    def num(label):
        m = re.search(r"^\s*%s:\s+([\d.]+)" % re.escape(label), out, re.M)
        if not m:
            raise AssertionError("dnsperf output has no %r:\n%s" % (label, out))
        return float(m.group(1))
    codes = {}
    m = re.search(r"^\s*Response codes:\s+(.*)$", out, re.M)
    if m:
        for code, count in re.findall(r"([A-Z]+) (\d+)", m.group(1)):
            codes[code] = int(count)
    return {"sent": int(num("Queries sent")), "completed": int(num("Queries completed")),
            "lost": int(num("Queries lost")), "qps": num("Queries per second"), "rcodes": codes}


def run_dnsperf(port, datafile):
    cmd = [DNSPERF, "-s", "127.0.0.1", "-p", str(port), "-d", datafile, "-Q", str(QPS),
           "-l", str(SECONDS), "-c", "4", "-t", "3"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=SECONDS + 60)
    if p.returncode != 0:
        raise AssertionError("dnsperf failed (%d):\n%s" % (p.returncode, p.stdout))
    return parse_dnsperf(p.stdout), p.stdout


def reloader(d, errors, log):
    """RELOADS SIGHUPs, INTERVAL apart; odd ones toggle the 127.0.0.3 rule, checked with dig."""
    have_rule = False
    for i in range(RELOADS):
        t0 = time.monotonic()
        if i % 2 == 1:
            have_rule = not have_rule
            d.set_acl(BASE_ACL + ([RULE3] if have_rule else []))
        d.signal(signal.SIGHUP)
        want = "NOERROR" if have_rule else "REFUSED"
        # the reload is asynchronous: allow it 1 s to show, plus slack for a busy machine
        deadline = t0 + 1.0 + SLACK
        while True:
            r = dig(d.port, "v4only.dns64.test", "AAAA", source="127.0.0.3", timeout=1)
            if r.rcode == want or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        ok = r.rcode == want and (not have_rule or r.rdatas("AAAA") == ["64:ff9b::102:304"])
        log.append("reload %d: rule for 127.0.0.3 %s, dig -b 127.0.0.3 -> %s after %.2f s"
                   % (i + 1, "present" if have_rule else "absent", r.rcode, time.monotonic() - t0))
        if not ok:
            errors.append("reload %d: dig -b 127.0.0.3 got %s %r, expected %s"
                          % (i + 1, r.rcode, r.answer, want))
        left = t0 + INTERVAL - time.monotonic()
        if left > 0:
            time.sleep(left)


def one_run(with_reloads, datafile):
    with Nsd(ZONES, extra_server_lines=NSD_NO_RRL) as ns, Daemon([], BASE_ACL, upstreams=[ns.addr]) as d:
        errors, rlog = [], []
        t = None
        if with_reloads:
            # let dnsperf get going, then reload during the middle of the run
            def go():
                time.sleep(2.0)
                reloader(d, errors, rlog)
            t = threading.Thread(target=go, daemon=True)
            t.start()
        figures, out = run_dnsperf(d.port, datafile)
        if t is not None:
            t.join(RELOADS * INTERVAL + 10)
        alive = d.alive()
        dlog = d.log_text()
    return figures, out, errors, rlog, alive, dlog


def test_reload_under_load_loses_no_queries():
    tmp = tempfile.mkdtemp(prefix="dns64d-reload-")
    try:
        datafile = os.path.join(tmp, "queries.txt")
        write_queries(datafile, QPS * SECONDS)
        base, base_out, _, _, base_alive, _ = one_run(False, datafile)
        rel, rel_out, errors, rlog, rel_alive, dlog = one_run(True, datafile)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("reload-under-load: %d qps for %d s, %d SIGHUPs %.1f s apart" % (QPS, SECONDS, RELOADS, INTERVAL))
    for name, f in (("without reloads", base), ("with reloads", rel)):
        print("  %-16s sent %d completed %d lost %d qps %.1f rcodes %s"
              % (name, f["sent"], f["completed"], f["lost"], f["qps"], f["rcodes"]))
    for line in rlog:
        print("  " + line)
    sys.stdout.flush()
    problems = list(errors)
    if not base_alive or not rel_alive:
        problems.append("daemon died during a run")
    if len(rlog) != RELOADS:
        problems.append("only %d of %d reloads were done" % (len(rlog), RELOADS))
    if not (rel["lost"] == 0 and base["lost"] == 0) and rel["lost"] > base["lost"]:
        problems.append("queries lost: %d with reloads, %d without" % (rel["lost"], base["lost"]))
    for name, f in (("without reloads", base), ("with reloads", rel)):
        bad = {k: v for k, v in f["rcodes"].items() if k not in ("NOERROR", "NXDOMAIN")}
        if bad:
            problems.append("%s: unexpected response codes %r" % (name, bad))
        if f["sent"] < QPS * SECONDS * 0.9:
            problems.append("%s: dnsperf sent only %d queries" % (name, f["sent"]))
    if problems:
        raise AssertionError("\n".join(problems) + "\n--- dnsperf with reloads ---\n" + rel_out
                             + "\n--- dnsperf without reloads ---\n" + base_out
                             + "\n--- dns64d log (reload run) ---\n" + dlog)


if __name__ == "__main__":
    if not (shutil.which(DNSPERF) or os.path.exists(DNSPERF)):
        print("SKIP all: dnsperf not installed")
        sys.exit(77)
    if sanitized_build(DNS64D_BIN):
        print("SKIP all: %s is a sanitizer build; the load test runs on the normal build only" % DNS64D_BIN)
        sys.exit(77)
    run_tests(globals(), per_test_timeout=int(SECONDS * 2 + RELOADS * INTERVAL + 120))

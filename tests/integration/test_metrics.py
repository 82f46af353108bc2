# Integration tests for the Prometheus metrics endpoint (issue 7): curl against `metrics ADDR:PORT`.
#
# The exposition is parsed by a small strict parser written here (promtool is not in Debian 12):
# HELP/TYPE lines, every sample in a declared family, one contiguous group per family, label
# syntax and escapes, float values, no duplicate series, counters named *_total, histograms with
# cumulative buckets ending in le="+Inf" and _count equal to the +Inf bucket. The parser checks
# itself on good and bad samples before it is trusted with the daemon's output.
#
# Values are compared as differences between two scrapes, so the harness's readiness probe and
# anything else the daemon counted before the test does not matter.
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SLACK, Daemon, Nsd, SkipTest, check, check_eq, dig, dnsquery, free_port,  # noqa: E402
                     run_tests, wait_until, zone_path)

CURL = "/usr/bin/curl"
ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 forward", "127.0.0.9/32 refuse", "::1/128 dns64"]
WKP = "64:ff9b::/96"
# 64:ff9b::/96 + 1.2.3.4 (dns64.zone v4only has A 1.2.3.4 and no AAAA)
V4ONLY_SYNTH = "64:ff9b::102:304"

# --- a strict parser of the Prometheus text exposition format 0.0.4 ------------------------------

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class ExpositionError(AssertionError):
    pass


def _float(text, where):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        raise ExpositionError("%s: value %r is not a float" % (where, text))
    return float(text)


def _labels(text, where):
    """Parse the inside of {...}: name="value" pairs, comma separated, optional trailing comma."""
    labels = {}
    i = 0
    n = len(text)
    while i < n:
        m = re.match(r"[ \t]*([^=\s]*)[ \t]*=[ \t]*\"", text[i:])
        if not m:
            raise ExpositionError("%s: bad label syntax at %r" % (where, text[i:]))
        name = m.group(1)
        if not LABEL_NAME.match(name) or name.startswith("__"):
            raise ExpositionError("%s: bad label name %r" % (where, name))
        i += m.end()
        val = ""
        while True:
            if i >= n:
                raise ExpositionError("%s: unterminated label value" % where)
            ch = text[i]
            if ch == "\\":
                if i + 1 >= n or text[i + 1] not in "\\\"n":
                    raise ExpositionError("%s: bad escape in label value" % where)
                val += {"\\": "\\", "\"": "\"", "n": "\n"}[text[i + 1]]
                i += 2
                continue
            if ch == "\n":
                raise ExpositionError("%s: newline in label value" % where)
            if ch == "\"":
                i += 1
                break
            val += ch
            i += 1
        if name in labels:
            raise ExpositionError("%s: label %r repeated" % (where, name))
        labels[name] = val
        rest = text[i:].lstrip(" \t")
        if not rest:
            break
        if rest[0] != ",":
            raise ExpositionError("%s: expected ',' between labels, got %r" % (where, rest))
        i = n - len(rest) + 1
        if not text[i:].strip(" \t"):
            break  # trailing comma
    return labels


def _family_of(name, families):
    """The declared family a sample name belongs to, or None."""
    if name in families and families[name]["type"] != "histogram":
        return name
    for suffix, kinds in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        if name.endswith(suffix):
            base = name[:-len(suffix)]
            if base in families and families[base]["type"] in kinds:
                return base
    return None


def parse_exposition(text):
    """Parse and validate; returns {family: {"type", "help", "samples": [(name, labels, value)]}}.
    Raises ExpositionError on the first violation."""
    if text and not text.endswith("\n"):
        raise ExpositionError("exposition does not end with a newline")
    families = {}
    order = []          # families in the order their lines appear
    current = None      # family of the previous line
    series = set()
    for lineno, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        where = "line %d %r" % (lineno, line)
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not METRIC_NAME.match(parts[2]):
                    raise ExpositionError("%s: bad metric name" % where)
                name = parts[2]
                fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
                if name in order and current != name:
                    raise ExpositionError("%s: family %r is not one contiguous group" % (where, name))
                if name not in order:
                    order.append(name)
                current = name
                if parts[1] == "HELP":
                    if fam["help"] is not None:
                        raise ExpositionError("%s: second HELP for %r" % (where, name))
                    fam["help"] = parts[3] if len(parts) > 3 else ""
                else:
                    if fam["type"] is not None:
                        raise ExpositionError("%s: second TYPE for %r" % (where, name))
                    if fam["samples"]:
                        raise ExpositionError("%s: TYPE after samples of %r" % (where, name))
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ExpositionError("%s: bad TYPE" % where)
                    fam["type"] = parts[3]
            continue  # other comments are allowed
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?[ \t]+(\S+)([ \t]+(-?\d+))?[ \t]*\Z", line)
        if not m:
            raise ExpositionError("%s: not a sample line" % where)
        name, labels_text, value_text = m.group(1), m.group(3), m.group(4)
        labels = _labels(labels_text, where) if labels_text else {}
        value = _float(value_text, where)
        fam_name = _family_of(name, families)
        if fam_name is None or families[fam_name]["type"] is None:
            raise ExpositionError("%s: sample of an undeclared family (no TYPE line)" % where)
        if fam_name != current:
            raise ExpositionError("%s: family %r is not one contiguous group" % (where, fam_name))
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise ExpositionError("%s: duplicate series" % where)
        series.add(key)
        families[fam_name]["samples"].append((name, labels, value))
    for name, fam in families.items():
        if fam["type"] is None:
            raise ExpositionError("family %r has HELP but no TYPE" % name)
        _check_family(name, fam)
    return families


def _check_family(name, fam):
    t = fam["type"]
    if t == "counter":
        if not name.endswith("_total"):
            raise ExpositionError("counter %r is not named *_total" % name)
        for s in fam["samples"]:
            if not s[2] >= 0 or math.isinf(s[2]):
                raise ExpositionError("counter sample %r is not a finite value >= 0" % (s,))
    elif t == "gauge":
        for s in fam["samples"]:
            if math.isnan(s[2]):
                raise ExpositionError("gauge sample %r is NaN" % (s,))
    elif t == "histogram":
        groups = {}
        for sname, labels, value in fam["samples"]:
            if "le" in labels and sname != name + "_bucket":
                raise ExpositionError("label le outside a bucket: %r" % sname)
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
            if sname == name + "_bucket":
                if "le" not in labels:
                    raise ExpositionError("bucket of %r without le" % name)
                g["buckets"].append((_float(labels["le"], "le of %r" % name), value))
            elif sname == name + "_sum":
                g["sum"] = value
            else:
                g["count"] = value
        for rest, g in groups.items():
            b = g["buckets"]
            what = "histogram %r %r" % (name, dict(rest))
            if not b:
                raise ExpositionError("%s has no buckets" % what)
            les = [x[0] for x in b]
            if les != sorted(les) or len(set(les)) != len(les):
                raise ExpositionError("%s: le bounds not strictly increasing: %r" % (what, les))
            if les[-1] != math.inf:
                raise ExpositionError("%s: last bucket is not le=\"+Inf\"" % what)
            counts = [x[1] for x in b]
            if any(c < 0 or c != int(c) for c in counts) or counts != sorted(counts):
                raise ExpositionError("%s: buckets not cumulative: %r" % (what, counts))
            if g["count"] is None or g["sum"] is None:
                raise ExpositionError("%s: _count or _sum missing" % what)
            if g["count"] != counts[-1]:
                raise ExpositionError("%s: _count %r != +Inf bucket %r" % (what, g["count"], counts[-1]))
    return True


def _expect_bad(text, why):
    try:
        parse_exposition(text)
    except ExpositionError:
        return
    raise AssertionError("parser self-check: accepted %s:\n%s" % (why, text))


def self_check_parser():
    good = ("# HELP a_total Things.\n# TYPE a_total counter\n"
            "a_total{x=\"1\",y=\"q\\\"\\\\\\n\"} 3\na_total{x=\"2\",} 4e0\n"
            "# TYPE g gauge\ng -1.5 1700000000000\n"
            "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.7\nh_count 2\n")
    f = parse_exposition(good)
    assert f["a_total"]["samples"][0][1] == {"x": "1", "y": "q\"\\\n"}, f["a_total"]
    assert f["g"]["samples"] == [("g", {}, -1.5)], f["g"]
    assert len(f["h"]["samples"]) == 4, f["h"]
    _expect_bad("a_total 1\n", "a sample without TYPE")
    _expect_bad("# TYPE a counter\na 1\n", "a counter not named _total")
    _expect_bad("# TYPE a_total counter\na_total one\n", "a non-float value")
    _expect_bad("# TYPE a_total counter\na_total{x=1} 1\n", "an unquoted label value")
    _expect_bad("# TYPE a_total counter\na_total{x=\"1\" y=\"2\"} 1\n", "labels without a comma")
    _expect_bad("# TYPE a_total counter\na_total{x=\"\\q\"} 1\n", "a bad escape")
    _expect_bad("# TYPE a_total counter\na_total{x=\"1\"} 1\na_total{x=\"1\"} 2\n", "a duplicate series")
    _expect_bad("# TYPE a_total counter\na_total 1", "no final newline")
    _expect_bad("# TYPE a_total counter\n# TYPE b gauge\nb 1\na_total 1\n", "an interleaved family")
    _expect_bad("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
                "non-cumulative buckets")
    _expect_bad("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "no +Inf bucket")
    _expect_bad("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", "_count != +Inf")
    _expect_bad("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n", "no _sum")


# --- fetching ------------------------------------------------------------------------------------

def curl(url, *extra):
    """(status, headers text, body) of one curl request."""
    if not os.path.exists(CURL):
        raise SkipTest("curl not installed")
    p = subprocess.run([CURL, "-s", "-i", "--max-time", "5"] + list(extra) + [url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15)
    out = p.stdout.decode("utf-8", "replace")
    check(p.returncode == 0, "curl %s failed with %d: %s" % (url, p.returncode, p.stderr))
    head, sep, body = out.replace("\r\n", "\n").partition("\n\n")
    check(sep == "\n\n", "no end of HTTP headers in curl output", out)
    status = int(head.split("\n", 1)[0].split()[1])
    return status, head, body


class Scrape:
    """One parsed scrape, with lookups of single values."""

    def __init__(self, port):
        status, head, body = curl("http://127.0.0.1:%d/metrics" % port)
        check_eq(status, 200, "GET /metrics status", head)
        check(re.search(r"(?im)^content-type:\s*text/plain;\s*version=0\.0\.4", head),
              "GET /metrics content type is not the 0.0.4 text format", head)
        self.text = body
        self.families = parse_exposition(body)

    def family(self, name, type_):
        check(name in self.families, "metric family %s missing" % name, self.text)
        check_eq(self.families[name]["type"], type_, "TYPE of %s" % name)
        return self.families[name]

    def value(self, name, **labels):
        """Value of the sample name{labels}; 0 when the family exists but the series does not
        (counters start at zero and may be left out until they move)."""
        fam = _family_of(name, self.families)
        check(fam is not None, "metric %s missing" % name, self.text)
        for sname, sl, v in self.families[fam]["samples"]:
            if sname == name and sl == labels:
                return v
        return 0.0

    def total(self, name, **match):
        """Sum of the samples of name whose labels include match."""
        fam = _family_of(name, self.families)
        check(fam is not None, "metric %s missing" % name, self.text)
        return sum(v for sname, sl, v in self.families[fam]["samples"]
                   if sname == name and all(sl.get(k) == x for k, x in match.items()))


# --- tests ---------------------------------------------------------------------------------------

def test_parser_self_check():
    self_check_parser()


def _daemon(ns, mport, extra=(), upstreams=None):
    return Daemon(["metrics 127.0.0.1:%d" % mport] + list(extra), ACL,
                  upstreams=upstreams if upstreams is not None else [ns.addr])


def test_values_move():
    mport = free_port()
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, _daemon(ns, mport) as d:
        up = ns.addr
        before = Scrape(mport)
        # every family the issue asks for is declared with the right type
        for name, t in (("dns64d_queries_total", "counter"), ("dns64d_synthesized_total", "counter"),
                        ("dns64d_synth_skipped_total", "counter"),
                        ("dns64d_upstream_queries_total", "counter"),
                        ("dns64d_upstream_timeouts_total", "counter"),
                        ("dns64d_upstream_errors_total", "counter"),
                        ("dns64d_upstream_latency_seconds", "histogram"),
                        ("dns64d_cache_hits_total", "counter"), ("dns64d_cache_misses_total", "counter"),
                        ("dns64d_cache_entries", "gauge"), ("dns64d_cache_bytes", "gauge"),
                        ("dns64d_inflight", "gauge"), ("dns64d_tcp_connections", "gauge")):
            before.family(name, t)
        # every skip reason of the issue is exported, even at zero
        reasons = {s[1].get("reason") for s in before.families["dns64d_synth_skipped_total"]["samples"]}
        for r in ("real_aaaa", "nxdomain", "no_a", "excluded", "non_global", "cd_do", "no_synth",
                  "forward_only"):
            check(r in reasons, "synth skipped reason %r not exported" % r, before.text)

        r = dig(d.port, "v4only.dns64.test", "AAAA")                      # synthesized
        check_eq([a[3] for a in r.answer if a[2] == "AAAA"], [V4ONLY_SYNTH], "synthesized AAAA", r)
        r = dig(d.port, "v4only.dns64.test", "AAAA")                      # again: from the cache
        check_eq(r.rcode, "NOERROR", "second synthesized AAAA", r)
        r = dig(d.port, "dual.dns64.test", "AAAA")                        # real AAAA
        check_eq(r.rdatas("AAAA"), ["2001:db8:d::6"], "real AAAA", r)
        r = dig(d.port, "nothere.dns64.test", "AAAA")                     # NXDOMAIN
        check_eq(r.rcode, "NXDOMAIN", "NXDOMAIN", r)
        r = dig(d.port, "multi.dns64.test", "AAAA", source="127.0.0.2")   # forward client
        check_eq((r.rcode, r.answer), ("NOERROR", []), "forward client gets no synthesis", r)
        r = dig(d.port, "v4only.dns64.test", "A", source="127.0.0.9")     # refused client
        check_eq(r.rcode, "REFUSED", "refused client", r)
        r = dig(d.port, "dual.dns64.test", "A", tcp=True)                 # TCP
        check_eq(r.rdatas("A"), ["1.2.3.6"], "A over TCP", r)

        after = Scrape(mport)

        def delta(name, **labels):
            return after.value(name, **labels) - before.value(name, **labels)

        q = "dns64d_queries_total"
        check_eq(delta(q, transport="udp", action="dns64", rcode="NOERROR"), 3,
                 "udp/dns64/NOERROR queries", after.text)
        check_eq(delta(q, transport="udp", action="dns64", rcode="NXDOMAIN"), 1,
                 "udp/dns64/NXDOMAIN queries", after.text)
        check_eq(delta(q, transport="udp", action="forward", rcode="NOERROR"), 1,
                 "udp/forward/NOERROR queries", after.text)
        check_eq(delta(q, transport="udp", action="refuse", rcode="REFUSED"), 1,
                 "udp/refuse/REFUSED queries", after.text)
        check_eq(delta(q, transport="tcp", action="dns64", rcode="NOERROR"), 1,
                 "tcp/dns64/NOERROR queries", after.text)
        check_eq(after.total(q) - before.total(q), 7, "all queries", after.text)

        check_eq(delta("dns64d_synthesized_total", prefix=WKP), 2, "synthesized by the WKP", after.text)
        s = "dns64d_synth_skipped_total"
        check_eq(delta(s, reason="real_aaaa"), 1, "skipped: real_aaaa", after.text)
        check_eq(delta(s, reason="nxdomain"), 1, "skipped: nxdomain", after.text)
        check_eq(delta(s, reason="forward_only"), 1, "skipped: forward_only", after.text)
        for other in ("no_a", "excluded", "non_global", "cd_do", "no_synth"):
            check_eq(delta(s, reason=other), 0, "skipped: %s" % other, after.text)

        # upstream: v4only (AAAA + A), dual AAAA, nothere AAAA, multi AAAA, dual A at least
        uq = delta("dns64d_upstream_queries_total", upstream=up)
        check(uq >= 6, "upstream queries to %s moved by %r, want >= 6" % (up, uq), after.text)
        check_eq(after.total("dns64d_upstream_queries_total"), after.value(
            "dns64d_upstream_queries_total", upstream=up), "only the configured upstream is counted",
            after.text)
        check_eq(delta("dns64d_upstream_timeouts_total", upstream=up), 0, "upstream timeouts", after.text)
        check_eq(delta("dns64d_upstream_errors_total", upstream=up), 0, "upstream errors", after.text)
        lc = after.value("dns64d_upstream_latency_seconds_count", upstream=up)
        check(lc > 0, "latency histogram count is 0", after.text)
        check(lc <= after.value("dns64d_upstream_queries_total", upstream=up),
              "more latency observations than upstream queries", after.text)
        check(after.value("dns64d_upstream_latency_seconds_sum", upstream=up) >= 0, "latency sum", after.text)

        check(delta("dns64d_cache_hits_total") >= 1, "cache hits did not move", after.text)
        check(delta("dns64d_cache_misses_total") >= 5, "cache misses moved by less than 5", after.text)
        check(after.value("dns64d_cache_entries") > 0, "cache entries is 0", after.text)
        check(after.value("dns64d_cache_bytes") > 0, "cache bytes is 0", after.text)
        check(after.value("dns64d_cache_bytes") <= after.value("dns64d_cache_max_bytes"),
              "cache bytes above cache-size", after.text)
        check_eq(after.value("dns64d_inflight"), 0, "inflight at rest", after.text)


def _slow_upstream(delay, stop, hits, release=None):
    """A UDP upstream that answers every query with A 1.2.3.4 after delay seconds, and not
    before the event release is set (if given; 60 s at most); returns port."""
    import dns.message
    import dns.rrset
    port = free_port()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(0.1)

    def answer(wire, peer):
        time.sleep(delay)
        if release is not None:
            release.wait(60)
        try:
            q = dns.message.from_wire(wire)
        except Exception:  # noqa: BLE001 - a test upstream ignores junk
            return
        resp = dns.message.make_response(q)
        qn = q.question[0]
        if qn.rdtype == 1:
            resp.answer.append(dns.rrset.from_text(qn.name, 300, "IN", "A", "1.2.3.4"))
        try:
            s.sendto(resp.to_wire(), peer)
        except OSError:
            pass

    def loop():
        while not stop.is_set():
            try:
                wire, peer = s.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            hits.append(time.monotonic())
            threading.Thread(target=answer, args=(wire, peer), daemon=True).start()
        s.close()

    threading.Thread(target=loop, daemon=True).start()
    return port


def test_gauges_inflight_and_tcp():
    mport = free_port()
    stop = threading.Event()
    hits = []
    # the upstream answers 1 s after the query and not before the scrape that must see it in
    # flight: order, not timing; the daemon's timeout is far beyond both
    release = threading.Event()
    try:
        up = _slow_upstream(1.0, stop, hits, release)
        with Daemon(["metrics 127.0.0.1:%d" % mport, "timeout 30000"], ACL,
                    upstreams=["127.0.0.1:%d" % up]) as d:
            base = Scrape(mport)
            check_eq(base.value("dns64d_tcp_connections"), 0, "tcp connections at start", base.text)
            res = {}
            t = threading.Thread(target=lambda: res.setdefault(
                "r", dnsquery(d.port, "slow.example", "A", timeout=30)))
            t.start()
            check(wait_until(lambda: hits), "the slow upstream got no query")
            during = Scrape(mport)
            release.set()
            check(during.value("dns64d_inflight") >= 1,
                  "inflight is %r while a query waits for upstream" % during.value("dns64d_inflight"),
                  during.text)
            t.join(35)
            check(res.get("r") is not None, "the slow query was not answered")
            # two idle TCP connections are counted while open, then released
            conns = [socket.create_connection(("127.0.0.1", d.port), timeout=3) for _ in range(2)]
            try:
                # the daemon accepts them in its own time
                wait_until(lambda: Scrape(mport).value("dns64d_tcp_connections") >= 2)
                open_ = Scrape(mport)
                check_eq(open_.value("dns64d_tcp_connections"), 2, "tcp connections while open", open_.text)
            finally:
                for c in conns:
                    c.close()
            wait_until(lambda: Scrape(mport).value("dns64d_tcp_connections") == 0, step=0.1)
            closed = Scrape(mport)
            check_eq(closed.value("dns64d_tcp_connections"), 0, "tcp connections after close", closed.text)
            check_eq(closed.value("dns64d_inflight"), 0, "inflight after the answer", closed.text)
            lat = "dns64d_upstream_latency_seconds_bucket"
            upa = "127.0.0.1:%d" % up
            check_eq(closed.value(lat, upstream=upa, le="0.5"), 0,
                     "a 1 s upstream answer counted at or below 0.5 s", closed.text)
            check(closed.value(lat, upstream=upa, le="+Inf") >= 1, "slow answer not in the histogram",
                  closed.text)
            check(closed.value("dns64d_upstream_latency_seconds_sum", upstream=upa) >= 0.9,
                  "latency sum below the 1 s the upstream took", closed.text)
    finally:
        stop.set()


def test_upstream_timeouts_counted():
    mport = free_port()
    # a black hole: bound, never answers
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    hole_addr = "127.0.0.1:%d" % hole.getsockname()[1]
    try:
        with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
                _daemon(ns, mport, ["timeout 2000"], upstreams=[hole_addr, ns.addr]) as d:
            before = Scrape(mport)
            r = dig(d.port, "dual.dns64.test", "A", timeout=10)
            check_eq(r.rdatas("A"), ["1.2.3.6"], "answer via the second upstream", r)
            after = Scrape(mport)
            check(after.value("dns64d_upstream_timeouts_total", upstream=hole_addr)
                  - before.value("dns64d_upstream_timeouts_total", upstream=hole_addr) >= 1,
                  "timeout to %s not counted" % hole_addr, after.text)
            check(after.value("dns64d_upstream_queries_total", upstream=ns.addr)
                  - before.value("dns64d_upstream_queries_total", upstream=ns.addr) >= 1,
                  "query to %s not counted" % ns.addr, after.text)
    finally:
        hole.close()


def test_http_errors():
    mport = free_port()
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, _daemon(ns, mport) as d:
        status, head, _ = curl("http://127.0.0.1:%d/nothere" % mport)
        check_eq(status, 404, "GET /nothere", head)
        status, head, _ = curl("http://127.0.0.1:%d/metricsx" % mport)
        check_eq(status, 404, "GET /metricsx", head)
        status, head, _ = curl("http://127.0.0.1:%d/metrics" % mport, "-X", "POST", "-d", "x=1")
        check_eq(status, 405, "POST /metrics", head)
        # after errors the endpoint still serves, and DNS is unaffected
        Scrape(mport)
        check_eq(dig(d.port, "dual.dns64.test", "A").rcode, "NOERROR", "DNS after HTTP errors")
        check(d.alive(), "daemon died")


def test_idle_scrape_connection_does_not_block():
    mport = free_port()
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, _daemon(ns, mport) as d:
        http_timeout = 5.0  # the daemon's, for a connection that sends no request
        t0 = time.monotonic()  # before the connect: the daemon's timer cannot start earlier
        idle = socket.create_connection(("127.0.0.1", mport), timeout=3)
        try:
            # (a) a connection that sends nothing does not hold up other scrapes or DNS
            Scrape(mport)
            check_eq(dig(d.port, "dual.dns64.test", "A").rcode, "NOERROR", "DNS with an idle scrape open")
            # (b) the daemon closes it after its HTTP timeout (5 s), not at once and not never
            idle.settimeout(http_timeout + SLACK + 2)
            try:
                data = idle.recv(4096)
            except socket.timeout:
                raise AssertionError("idle metrics connection still open after %.1fs"
                                     % (time.monotonic() - t0))
            except ConnectionResetError:
                data = b""
            elapsed = time.monotonic() - t0
            check_eq(data, b"", "bytes sent on a metrics connection that never sent a request")
            check(http_timeout - 1.0 <= elapsed <= http_timeout + SLACK,
                  "idle metrics connection closed after %.1fs, want about %.0fs" % (elapsed, http_timeout))
        finally:
            idle.close()
        Scrape(mport)
    # (c) an idle scrape connection does not keep the daemon from stopping
    mport = free_port()
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon(["metrics 127.0.0.1:%d" % mport], ACL, upstreams=[ns.addr], expect_exit=True) as d:
        idle = socket.create_connection(("127.0.0.1", mport), timeout=3)
        try:
            Scrape(mport)  # accepted after the idle one: that one is open in the daemon now
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            limit = 2.0 + SLACK  # the stop grace time (STOP_GRACE_MS) and slack
            try:
                code = d.proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                raise AssertionError("dns64d still running %.1fs after SIGTERM with an idle metrics "
                                     "connection open\n--- log ---\n%s" % (limit, d.log_text()))
            check_eq(code, 0, "exit code after SIGTERM (%.1fs)" % (time.monotonic() - t0), d.log_text())
        finally:
            idle.close()


def test_metrics_address_changed_by_reload():
    """SIGHUP with a new `metrics` port: the new port serves, the old one is closed; removing
    the directive closes the endpoint; adding it back opens it again."""
    mport, mport2 = free_port(), free_port()
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, _daemon(ns, mport) as d:
        Scrape(mport)
        d.set_conf(["metrics 127.0.0.1:%d" % mport2])
        d.signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", mport2), timeout=1)
                s.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("new metrics port %d not served after SIGHUP\n%s"
                                         % (mport2, d.log_text()))
                time.sleep(0.05)
        after = Scrape(mport2)
        check("dns64d_queries_total" in after.families, "scrape of the new port", after.text)
        try:
            socket.create_connection(("127.0.0.1", mport), timeout=1).close()
            raise AssertionError("old metrics port %d still accepts after the reload" % mport)
        except ConnectionRefusedError:
            pass
        d.set_conf([])
        d.reload()
        try:
            socket.create_connection(("127.0.0.1", mport2), timeout=1).close()
            raise AssertionError("metrics port %d still accepts after `metrics` was removed" % mport2)
        except ConnectionRefusedError:
            pass
        d.set_conf(["metrics 127.0.0.1:%d" % mport])
        d.reload()
        Scrape(mport)
        check_eq(dig(d.port, "dual.dns64.test", "A").rcode, "NOERROR", "DNS after metrics reloads")



def test_answer_latency_types_reloads_process():
    """Client-facing answer latency by how it was answered (buckets from 100 us), queries by
    type, reloads by result and the standard process_* metrics."""
    mport = free_port()
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, _daemon(ns, mport, ["prefetch-a no"]) as d:
        before = Scrape(mport)
        lat = "dns64d_answer_latency_seconds"
        fam = before.family(lat, "histogram")
        bounds = sorted({float(sl["le"]) for n, sl, _ in fam["samples"] if n == lat + "_bucket"})
        check_eq(bounds[0], 0.0001, "first answer latency bucket (100 us)")
        for name, t in (("dns64d_queries_by_type_total", "counter"), ("dns64d_reloads_total", "counter"),
                        ("dns64d_config_generation", "gauge"),
                        ("process_cpu_seconds_total", "counter"), ("process_resident_memory_bytes", "gauge"),
                        ("process_open_fds", "gauge"), ("process_start_time_seconds", "gauge")):
            before.family(name, t)
        check(before.value("process_resident_memory_bytes") > 1 << 20, "resident memory", before.text)
        check(before.value("process_open_fds") >= 4, "open fds (listen sockets at least)", before.text)
        start = before.value("process_start_time_seconds")
        check(time.time() - 3600 < start <= time.time(), "start time %r" % start)
        check_eq(dig(d.port, "v4only.dns64.test", "AAAA").rdatas("AAAA"), [V4ONLY_SYNTH], "synthesized")
        check_eq(dig(d.port, "v4only.dns64.test", "AAAA").rdatas("AAAA"), [V4ONLY_SYNTH], "from cache")
        check_eq(dig(d.port, "dual.dns64.test", "A").rcode, "NOERROR", "upstream")
        check_eq(dig(d.port, "dual.dns64.test", "MX", source="127.0.0.9").rcode, "REFUSED", "refused")
        check_eq(dig(d.port, "localhost", "A").rcode, "NOERROR", "local")
        d.reload()
        with open(d.conf, "a") as f:
            f.write("bogus-directive\n")
        d.reload()
        wait_until(lambda: "reload of '" in d.log_text())
        after = Scrape(mport)
        for kind, n in (("synthesized", 1), ("hit", 1), ("miss", 1), ("none", 2)):
            check_eq(after.value(lat + "_count", cache=kind) - before.value(lat + "_count", cache=kind), n,
                     "answers of kind %s" % kind, after.text)
        # a synthesized answer needed two upstream exchanges: more than 100 us on any machine
        check(after.value(lat + "_sum", cache="synthesized") > before.value(lat + "_sum", cache="synthesized"),
              "latency sum moves")
        for t, n in (("AAAA", 2), ("A", 2), ("MX", 1)):
            check_eq(after.value("dns64d_queries_by_type_total", type=t)
                     - before.value("dns64d_queries_by_type_total", type=t), n, "queries of type %s" % t)
        check_eq(after.value("dns64d_reloads_total", result="success"), 1, "good reloads")
        check_eq(after.value("dns64d_reloads_total", result="failure"), 1, "failed reloads")
        check_eq(after.value("dns64d_config_generation"), 1, "generation after one good reload")
        check(after.value("process_cpu_seconds_total") >= before.value("process_cpu_seconds_total"), "cpu")

if __name__ == "__main__":
    run_tests(globals())

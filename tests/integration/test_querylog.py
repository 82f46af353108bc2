# Integration tests: log-queries-format text|logfmt|json (issue 16). Every format carries
# every field for every outcome (answered, synthesized, refused, dropped, FORMERR), plus the
# ACL rule that matched (FILE:LINE) and the prefix used; each is read back by a real parser:
# Python's json, a strict logfmt parser here, the text format's key 'value' grammar.
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, Nsd, check, check_eq, dig, query, run_tests, wait_until, zone_path  # noqa: E402

ACL = ["127.0.0.1/32 dns64",           # line 1
       "127.0.0.2/32 forward",         # line 2
       "127.0.0.9/32 refuse",          # line 3
       "127.0.0.8/32 drop",            # line 4
       "127.0.0.3/32 dns64 2001:db8:64::/96",  # line 5
       "::1/128 dns64"]                # line 6
KEYS = ["msg", "client", "name", "type", "transport", "action", "rcode", "synth", "reason", "upstream",
        "cache", "latency_ms", "rule", "prefix"]
PREFIX = " dns64d info: "


def parse_logfmt(s):
    """Strict logfmt: key=value pairs separated by one space; a key is [a-z_]+; a value is
    bare (no space, '=', '"' or backslash) or double-quoted with \\" \\\\ \\uXXXX escapes.
    Raises ValueError on anything else (and on a repeated key)."""
    out, i, n = {}, 0, len(s)
    while i < n:
        m = re.compile(r"[a-z_]+=").match(s, i)
        if not m:
            raise ValueError("no key at %d: %r" % (i, s[i:]))
        key = m.group()[:-1]
        i = m.end()
        if i < n and s[i] == '"':
            i += 1
            val = []
            while True:
                if i >= n:
                    raise ValueError("unterminated quote in %r" % s)
                c = s[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    e = s[i + 1:i + 2]
                    if e in ('"', "\\"):
                        val.append(e)
                        i += 2
                    elif e == "u" and re.fullmatch(r"[0-9a-f]{4}", s[i + 2:i + 6]):
                        val.append(chr(int(s[i + 2:i + 6], 16)))
                        i += 6
                    else:
                        raise ValueError("bad escape at %d in %r" % (i, s))
                    continue
                if ord(c) < 0x20:
                    raise ValueError("raw control character in %r" % s)
                val.append(c)
                i += 1
            value = "".join(val)
        else:
            m = re.compile(r'[^ ="\\]+').match(s, i)
            if not m:
                raise ValueError("empty bare value at %d in %r" % (i, s))
            value = m.group()
            i = m.end()
        if key in out:
            raise ValueError("repeated key %r" % key)
        out[key] = value
        if i < n:
            if s[i] != " " or i + 1 >= n or s[i + 1] == " ":
                raise ValueError("expected one space at %d in %r" % (i, s))
            i += 1
    return out


def parse_text(s):
    """The text format: 'query' then key 'value' pairs (latency_ms unquoted)."""
    if not s.startswith("query "):
        raise ValueError("not a query line: %r" % s)
    rest = s[len("query"):]
    out = {"msg": "query"}
    for m in re.finditer(r" ([a-z_]+) (?:'([^']*)'|(\d+))", rest):
        out[m.group(1)] = m.group(2) if m.group(2) is not None else m.group(3)
    if re.sub(r" ([a-z_]+) (?:'([^']*)'|(\d+))", "", rest) != "":
        raise ValueError("text line has more than key 'value' pairs: %r" % s)
    return out


PARSERS = {"text": parse_text, "logfmt": parse_logfmt, "json": json.loads}


def formerr_query():
    """Two questions: FORMERR, with the first question readable for the log."""
    q = b"\x00\x02\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00"
    qn = b"\x06formrr\x05dns64\x04test\x00\x00\x01\x00\x01"
    return q + qn + qn


def run_format(fmt):
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon(["log-queries yes", "log-queries-format %s" % fmt, "prefetch-a no"], ACL,
                   upstreams=[ns.addr]) as d:
        acl = d.acl
        cases = [
            ("synthesized", lambda: dig(d.port, "v4only.dns64.test", "AAAA"),
             dict(name="v4only.dns64.test.", type="AAAA", action="dns64", rcode="NOERROR", synth="yes",
                  reason="synthesized", upstream=ns.addr, cache="miss", rule="%s:1" % acl,
                  prefix="64:ff9b::/96")),
            ("cached", lambda: dig(d.port, "v4only.dns64.test", "AAAA"),
             dict(name="v4only.dns64.test.", synth="yes", cache="hit", upstream="-", rule="%s:1" % acl)),
            ("answered", lambda: dig(d.port, "dual.dns64.test", "A", source="127.0.0.2"),
             dict(name="dual.dns64.test.", type="A", action="forward", rcode="NOERROR", synth="no",
                  reason="not_aaaa", upstream=ns.addr, cache="miss", rule="%s:2" % acl, prefix="-")),
            ("own prefix", lambda: dig(d.port, "v4only.dns64.test", "AAAA", source="127.0.0.3"),
             dict(action="dns64", synth="yes", rule="%s:5" % acl, prefix="2001:db8:64::/96")),
            ("refused", lambda: dig(d.port, "dual.dns64.test", "AAAA", source="127.0.0.9"),
             dict(name="dual.dns64.test.", type="AAAA", action="refuse", rcode="REFUSED", synth="no",
                  reason="-", upstream="-", cache="-", rule="%s:3" % acl, prefix="-")),
            ("dropped", lambda: dig(d.port, "dual.dns64.test", "MX", source="127.0.0.8", timeout=1),
             dict(name="dual.dns64.test.", type="MX", action="drop", rcode="none", synth="no",
                  reason="-", upstream="-", cache="-", rule="%s:4" % acl, prefix="-")),
            ("formerr", lambda: query(d.port, formerr_query(), timeout=2),
             dict(name="formrr.dns64.test.", type="A", action="dns64", rcode="FORMERR", synth="no",
                  upstream="-", cache="-", rule="%s:1" % acl)),
        ]
        for _, ask, _ in cases:
            ask()

        def lines():
            return [l.split(PREFIX, 1)[1] for l in d.log_text().splitlines()
                    if PREFIX in l and "dns64.test" in l]
        wait_until(lambda: len(lines()) >= len(cases))
        got = lines()
        check_eq(len(got), len(cases), "%s: query lines\n%s" % (fmt, d.log_text()))
        errors = []
        for (what, _, want), line in zip(cases, got):
            try:
                rec = PARSERS[fmt](line)
            except ValueError as e:
                errors.append("%s: %s does not parse: %s" % (fmt, what, e))
                continue
            check_eq(list(rec.keys()), KEYS, "%s: %s: fields in order (%r)" % (fmt, what, line))
            check(isinstance(rec["latency_ms"], int) if fmt == "json" else rec["latency_ms"].isdigit(),
                  "%s: latency_ms a number: %r" % (fmt, line))
            check(all(v != "" for v in rec.values()), "%s: %s: an empty field: %r" % (fmt, what, line))
            for k, v in want.items():
                if rec[k] != v:
                    errors.append("%s: %s: %s %r, expected %r (%s)" % (fmt, what, k, rec[k], v, line))
        check(not errors, "\n".join(errors) + "\n--- log ---\n" + d.log_text())


def test_text():
    run_format("text")


def test_logfmt():
    run_format("logfmt")


def test_json():
    run_format("json")


def test_logfmt_parser_is_strict():
    for bad in ['a=1  b=2', 'a="x', 'a=x"y', 'A=1', 'a=', 'a="\\q"', 'a=1 a=2', 'a=1 ']:
        try:
            parse_logfmt(bad)
        except ValueError:
            continue
        raise AssertionError("logfmt parser accepted %r" % bad)
    check_eq(parse_logfmt('a=1 b="x \\"y\\" \\\\" c=z'), {"a": "1", "b": 'x "y" \\', "c": "z"}, "parse")


def test_format_is_reloadable():
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns, \
            Daemon(["log-queries yes"], ACL, upstreams=[ns.addr]) as d:
        dig(d.port, "dual.dns64.test", "A")
        d.set_conf(conf_lines=["log-queries yes", "log-queries-format json"])
        d.reload()
        wait_until(lambda: "(generation 1): 'log-queries-format'" in d.log_text())

        def recs():
            return [l.split(PREFIX, 1)[1] for l in d.log_text().splitlines()
                    if PREFIX in l and "dual.dns64.test" in l]
        ok = wait_until(lambda: (dig(d.port, "dual.dns64.test", "A") and False) or
                        any(r.startswith("{") for r in recs()), timeout=10)
        check(ok, "no json line after the reload:\n" + d.log_text())
        check(recs()[0].startswith("query client '"), "text before the reload: %r" % recs()[0])
        check_eq(json.loads([r for r in recs() if r.startswith("{")][0])["name"], "dual.dns64.test.",
                 "json after the reload")


if __name__ == "__main__":
    run_tests(globals())

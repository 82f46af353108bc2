# Integration tests: the daemon says what it does (issue 16). At the default level (warn) the
# start lines (version, listen addresses, upstreams, ACL, prefix, workers), one line per reload
# saying what changed or why it failed, and one at stop appear as "notice" lines; log-level
# error hides them. Without -f (syslog), an error at start still reaches stderr.
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DNS64D_BIN, Daemon, Nsd, check, check_eq, dig, free_port, run_tests,  # noqa: E402
                     wait_until, zone_path)

ACL = ["127.0.0.1/32 dns64", "127.0.0.2/32 forward", "127.0.0.9/32 refuse", "::1/128 dns64"]
NOTICE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z dns64d notice: (.*)$")


def notices(text):
    return [m.group(1) for m in map(NOTICE.match, text.splitlines()) if m]


def test_start_lines_at_default_level():
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns:
        other = "127.0.0.1:%d" % free_port()
        with Daemon(["workers 2", "prefix 2001:db8:64::/96"], ACL, upstreams=[ns.addr, other]) as d:
            check_eq(dig(d.port, "dual.dns64.test", "A").rcode, "NOERROR", "answer")
            got = notices(d.log_text())
            want = ["dns64d %s starting with '%s'" % (_version(), d.conf),
                    "listening on '127.0.0.1:%d' udp tcp" % d.port,
                    "listening on '[::1]:%d' udp tcp" % d.port,
                    "upstream '%s' udp tcp" % ns.addr,
                    "upstream '%s' udp tcp" % other,
                    "acl '%s' with 4 rules" % d.acl,
                    "default prefix '2001:db8:64::/96'"]
            for w in want:
                check(w in got, "start line %r missing from notices:\n%s" % (w, "\n".join(got)))
            check(any(re.match(r"^serving with 2 workers, cache \d+ bytes$", l) for l in got),
                  "workers line missing:\n" + "\n".join(got))
            # the order: starting first, serving last
            check(got[0].startswith("dns64d "), "first notice %r" % got[0])
            serving = [i for i, l in enumerate(got) if l.startswith("serving with")]
            check(all(got.index(w) < serving[0] for w in want), "serving before the other start lines")
            d.expect_exit = True
            d.stop()
            check(notices(d.log_text())[-1].startswith("stopped on signal 15"),
                  "no stop line:\n" + d.log_text())


def _version():
    out = subprocess.run([DNS64D_BIN, "-V"], stdout=subprocess.PIPE, text=True).stdout.split()
    return out[1]


def test_default_acl_start_line():
    with Daemon([], None, upstreams=["127.0.0.1:%d" % free_port()]) as d:
        # the sockets listen (the harness's readiness) before the last start lines are written
        wait_until(lambda: any(l.startswith("serving with") for l in notices(d.log_text())))
        check("acl 'default' with 2 rules" in notices(d.log_text()), "default acl line:\n" + d.log_text())


def test_log_level_error_hides_notices():
    with Daemon(["log-level error"], ACL, upstreams=["127.0.0.1:%d" % free_port()]) as d:
        os.kill(d.pid, 1)
        time.sleep(0.3)
        d.expect_exit = True
        d.stop()
        check_eq(notices(d.log_text()), [], "notice lines at log-level error")


def _reload_and_wait(d, before):
    d.reload()
    wait_until(lambda: len(notices(d.log_text())) > before or "reload of '" in d.log_text())
    return notices(d.log_text())[before:]


def test_reload_lines():
    with Nsd({"dns64.test": zone_path("dns64.zone")}) as ns:
        with Daemon([], ACL, upstreams=[ns.addr]) as d:
            n = len(notices(d.log_text()))
            new = _reload_and_wait(d, n)
            check_eq(new, ["reloaded '%s' (generation 1): no change" % d.conf], "unchanged reload")
            d.set_acl(ACL + ["127.0.0.3/32 forward"])
            other = "127.0.0.1:%d" % free_port()
            d.set_conf(upstreams=[ns.addr, other])
            new = _reload_and_wait(d, n + 1)
            check_eq(new, ["reloaded '%s' (generation 2): acl rules 4 -> 5, upstreams 1 -> 2" % d.conf],
                     "reload with a new rule and upstream")
            d.set_conf(conf_lines=["timeout 1500"])
            new = _reload_and_wait(d, n + 2)
            check_eq(new, ["reloaded '%s' (generation 3): 'timeout'" % d.conf], "reload of one directive")
            d.set_acl(ACL[:3] + ["127.0.0.4/32 forward", "::1/128 dns64"])
            new = _reload_and_wait(d, n + 3)
            check(len(new) == 1 and new[0].endswith(": acl rules changed (5)"), "same count, other rules: %r" % new)
            # a failed reload: one error line saying so, the old config kept
            with open(d.conf, "a") as f:
                f.write("no-such-directive 1\n")
            before = d.log_text().count("reload of '")
            d.reload()
            wait_until(lambda: d.log_text().count("reload of '") > before)
            check(re.search(r"dns64d error: reload of '%s' failed, keeping the old config \(generation 4\)"
                            % re.escape(d.conf), d.log_text()), "failed reload line:\n" + d.log_text())
            check_eq(dig(d.port, "dual.dns64.test", "A", source="127.0.0.4").rcode, "NOERROR",
                     "old config still serving")


def test_failed_bind_without_foreground_prints_to_stderr():
    """Without -f the log goes to syslog; the reason it did not start goes to the terminal too."""
    tmp = tempfile.mkdtemp(prefix="dns64d-startlog-")
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        conf = os.path.join(tmp, "dns64d.conf")
        with open(conf, "w") as f:
            f.write("listen 127.0.0.1:%d\nupstream 127.0.0.1:%d\n" % (port, free_port()))
        p = subprocess.run([DNS64D_BIN, "-c", conf], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        check_eq(p.returncode, 1, "exit code with the port taken (stderr %r)" % p.stderr)
        check("cannot listen on '127.0.0.1:%d'" % port in p.stderr, "bind error on stderr: %r" % p.stderr)
        check_eq(p.stdout, "", "stdout")
        # with -f the same error, in the log format
        p = subprocess.run([DNS64D_BIN, "-f", "-c", conf], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        check_eq(p.returncode, 1, "exit code with -f")
        check(re.search(r"dns64d error: cannot listen on '127.0.0.1:%d'" % port, p.stderr),
              "bind error with -f: %r" % p.stderr)
        check_eq(p.stderr.count("cannot listen on"), 1, "the error once with -f")
    finally:
        blocker.close()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    run_tests(globals())

# Integration tests for the command line: -t on good and bad configs, -V, -h, bad options.
import glob
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SOURCE_DIR, Daemon, check, check_eq, free_port, run_daemon_cmd, run_tests  # noqa: E402

CONF_DIR = os.path.join(SOURCE_DIR, "tests", "conf")
ACL_OK = "127.0.0.0/8 dns64\n::1/128 dns64\n10.0.0.0/8 refuse\n"


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="dns64d-cli-")
        return self

    def write(self, name, text):
        p = os.path.join(self.path, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)
        return False


def _show(p):
    return "exit %s\n--- stdout ---\n%s--- stderr ---\n%s" % (p.returncode, p.stdout, p.stderr)


# --- -t with the checked-in example files ------------------------------------------------------

def test_check_shipped_config():
    p = run_daemon_cmd(["-t", "-c", os.path.join(SOURCE_DIR, "etc", "dns64d.conf")])
    check_eq(p.returncode, 0, "dns64d -t on etc/dns64d.conf\n" + _show(p))


def test_check_good_example_configs():
    files = sorted(glob.glob(os.path.join(CONF_DIR, "good*.conf")))
    if not files:
        print("  (no tests/conf/good*.conf yet; only generated configs are checked)")
    errors = []
    for f in files:
        for args in (["-t", "-c", f], ["--check", "--config", f]):
            p = run_daemon_cmd(args)
            if p.returncode != 0:
                errors.append("dns64d %s: expected exit 0\n%s" % (" ".join(args), _show(p)))
    check(not errors, "good examples rejected:\n" + "\n".join(errors))


def _expectations(path):
    """[(file basename, line)] from '# expect: [FILE:]LINE: message' comments of a bad example."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"\s*#\s*expect:\s*(?:([^\s:]+):)?(\d+):", line)
            if m:
                out.append((m.group(1) or os.path.basename(path), int(m.group(2))))
    return out


def test_check_bad_example_configs():
    files = sorted(glob.glob(os.path.join(CONF_DIR, "bad*.conf")))
    if not files:
        print("  (no tests/conf/bad*.conf yet; only generated configs are checked)")
    errors = []
    for f in files:
        p = run_daemon_cmd(["-t", "-c", f])
        if p.returncode != 1:
            errors.append("dns64d -t -c %s: expected exit 1\n%s" % (f, _show(p)))
            continue
        want = _expectations(f) or [(None, None)]
        for name, line in want:
            pat = r"\S+:\d+:" if name is None else r"(^|[\s/])%s:%d:" % (re.escape(name), line)
            if not re.search(pat, p.stderr, re.M):
                errors.append("dns64d -t -c %s must report %s:%s:\n%s" % (f, name or "FILE", line or "LINE", _show(p)))
    check(not errors, "%d of %d bad examples wrong:\n%s" % (len(errors), len(files), "\n".join(errors)))


# --- -t with generated configs ------------------------------------------------------------------

GOOD_CONFIGS = [
    # minimal
    "listen 127.0.0.1:5300\nupstream 127.0.0.1:53\n",
    # the issue 3 directives, comments and blank lines, relative ACL path
    "# comment line\n\nlisten 127.0.0.1:5300\nlisten [::1]:5300\nlisten 127.0.0.2\n"
    "upstream 192.0.2.1\nupstream 127.0.0.1:5353   # trailing comment\nupstream [::1]:53\n"
    "acl dns64d.acl\nprefix 64:ff9b::/96\ntimeout 500\n",
    # every directive of the later issues
    "listen 127.0.0.1:5300\nupstream 127.0.0.1\nacl dns64d.acl\nprefix 2001:db8:64::/64\n"
    "timeout 2000\nsynth-on nodata\nexclude ::ffff:0:0/96\nexclude 2001:db8:bad::/48\n"
    "mapped 192.0.2.0/24\nsynth-all example.net\nno-synth intranet.example\ncache-size 1m\n"
    "workers 2\nmax-inflight 100\ntcp-clients 10\ntcp-idle-timeout 3000\ncookies no\n"
    "log-level debug\nlog-queries yes\nmetrics 127.0.0.1:9153\n",
    "listen 127.0.0.1:5300\nupstream 127.0.0.1\ncache-size 0\nsynth-on any-error\ncookies yes\n"
    "log-level error\n",
    "listen 127.0.0.1:5300\nupstream 127.0.0.1\ncache-size 64k\nworkers 1\nlog-level warn\n",
]

# (config text, ACL text or None, file the error is in: 'conf' or 'acl', line)
BAD_CONFIGS = [
    ("listen 127.0.0.1:5300\n# fine so far\nfrobnicate yes\n", None, "conf", 3),
    ("listen 300.1.1.1:53\n", None, "conf", 1),
    ("listen 127.0.0.1:70000\n", None, "conf", 1),
    ("listen 127.0.0.1:5300\nupstream [::1:53\n", None, "conf", 2),
    ("upstream not-an-address\n", None, "conf", 1),
    ("listen 127.0.0.1:5300\n\ntimeout abc\n", None, "conf", 3),
    ("timeout\n", None, "conf", 1),
    ("prefix 64:ff9b::/33\n", None, "conf", 1),
    ("prefix 192.0.2.0/24\n", None, "conf", 1),
    ("listen 127.0.0.1:5300\nacl missing-file.acl\n", None, "conf", 2),
    ("cache-size 12x\n", None, "conf", 1),
    ("listen 127.0.0.1:5300\nlog-level loud\n", None, "conf", 2),
    ("synth-on sometimes\n", None, "conf", 1),
    ("listen 127.0.0.1:5300\nacl dns64d.acl\n", "127.0.0.0/8 dns64\n10.0.0.0/33 dns64\n", "acl", 2),
    ("acl dns64d.acl\n", "# c\n\n10.0.0.0/8 frobnicate\n", "acl", 3),
    ("acl dns64d.acl\n", "10.0.0.0/8 refuse 64:ff9b::/96\n", "acl", 1),
    ("acl dns64d.acl\n", "::1/128 dns64\n2001:db8::/48 dns64 64:ff9b::/33\n", "acl", 2),
    ("acl dns64d.acl\n", "not-a-network dns64\n", "acl", 1),
]


def test_check_generated_good_configs():
    for text in GOOD_CONFIGS:
        with TempDir() as t:
            t.write("dns64d.acl", ACL_OK)
            conf = t.write("dns64d.conf", text)
            p = run_daemon_cmd(["-t", "-c", conf])
            check_eq(p.returncode, 0, "good config rejected:\n%s\n%s" % (text, _show(p)))


def test_check_generated_bad_configs():
    errors = []
    for text, acl, where, line in BAD_CONFIGS:
        with TempDir() as t:
            aclp = t.write("dns64d.acl", acl) if acl is not None else None
            conf = t.write("dns64d.conf", text)
            p = run_daemon_cmd(["-t", "-c", conf])
            ctx = "config:\n%sACL:\n%s\n%s" % (text, acl, _show(p))
            path = conf if where == "conf" else aclp
            if p.returncode != 1:
                errors.append("bad config must give exit 1\n" + ctx)
            elif not re.search(r"%s:%d:" % (re.escape(os.path.basename(path)), line), p.stderr):
                errors.append("stderr must name %s:%d:\n%s" % (os.path.basename(path), line, ctx))
            elif p.stderr.count("\n") > 30:
                errors.append("error output should be short\n" + ctx)
    check(not errors, "%d of %d generated bad configs wrong:\n%s" % (
        len(errors), len(BAD_CONFIGS), "\n".join(errors)))


def test_check_does_not_start_daemon():
    # -t with a listen address that is in use must still only check the file and exit 0.
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    try:
        with TempDir() as t:
            conf = t.write("dns64d.conf", "listen 127.0.0.1:%d\nupstream 127.0.0.1\n" % port)
            p = run_daemon_cmd(["-t", "-c", conf], timeout=30)
            check_eq(p.returncode, 0, "-t must not bind\n" + _show(p))
    finally:
        s.close()


# --- other options ------------------------------------------------------------------------------

def test_version():
    for opt in ("-V", "--version"):
        p = run_daemon_cmd([opt])
        check_eq(p.returncode, 0, "%s exit code\n%s" % (opt, _show(p)))
        out = p.stdout + p.stderr
        check(re.search(r"dns64d", out, re.I) and re.search(r"\d+\.\d+", out),
              "%s must print 'dns64d' and a version number\n%s" % (opt, _show(p)))


def test_help():
    for opt in ("-h", "--help"):
        p = run_daemon_cmd([opt])
        check_eq(p.returncode, 0, "%s exit code\n%s" % (opt, _show(p)))
        out = p.stdout + p.stderr
        check(re.search(r"usage", out, re.I), "%s must print usage\n%s" % (opt, _show(p)))
        for o in ("-c", "-f", "-t", "-V"):
            check(o in out, "%s output must mention %s\n%s" % (opt, o, _show(p)))


def test_unknown_option():
    for args in (["-Z"], ["--no-such-option"], ["-c"]):
        p = run_daemon_cmd(args)
        check(p.returncode != 0, "%s must fail\n%s" % (args, _show(p)))
        if args != ["-c"]:
            check(re.search(r"usage", p.stderr, re.I),
                  "%s must print usage on stderr\n%s" % (args, _show(p)))


def test_missing_config_file():
    with TempDir() as t:
        missing = os.path.join(t.path, "nope.conf")
        for args in (["-t", "-c", missing], ["-f", "-c", missing]):
            p = run_daemon_cmd(args, timeout=30)
            check(p.returncode != 0, "%s must fail\n%s" % (args, _show(p)))
            check("nope.conf" in p.stderr, "error must name the missing file\n" + _show(p))
            check(re.search(r"no such file|cannot open|not found|missing", p.stderr, re.I),
                  "error must say what is wrong\n" + _show(p))


def test_upstream_loop_refused():
    """An upstream that is one of our own listen addresses (also via a wildcard listen) would
    send queries round in circles: refused at start, with the file and the address named."""
    with TempDir() as t:
        cases = (["listen 127.0.0.1:5399", "upstream 127.0.0.1:5399"],
                 ["listen 0.0.0.0:5399", "upstream 127.0.0.1:5399"],
                 ["listen [::1]:5399", "upstream [::1]:5399"])
        for lines in cases:
            conf = os.path.join(t.path, "loop.conf")
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            p = run_daemon_cmd(["-t", "-c", conf], timeout=30)
            check_eq(p.returncode, 1, "loop must be refused: %s\n%s" % (lines, _show(p)))
            check("loop.conf" in p.stderr and "would loop" in p.stderr, "error names file and problem\n" + _show(p))
        conf = os.path.join(t.path, "ok.conf")
        with open(conf, "w") as f:
            f.write("listen 127.0.0.1:5399\nupstream 127.0.0.1:5398\n")
        p = run_daemon_cmd(["-t", "-c", conf], timeout=30)
        check_eq(p.returncode, 0, "a different port is no loop\n" + _show(p))


def test_upstream_loop_wildcard():
    """With a wildcard listen only this host's addresses loop: the LAN router on the same port
    is accepted (it used to be refused), loopback on that port is not."""
    port = free_port()
    with TempDir() as t:
        good = ("listen 0.0.0.0:53\nupstream 192.0.2.1:53\n",
                "listen 0.0.0.0:%d\nupstream 192.0.2.1:%d\n" % (port, port),
                "listen 0.0.0.0:%d\nupstream 192.0.2.1:53\n" % port,
                "listen [::]:%d\nupstream [2001:db8::1]:%d\n" % (port, port),
                "listen [::]:%d\nupstream 127.0.0.1:%d\n" % (port, port))  # V6ONLY: no cross-family loop
        bad = ("listen 0.0.0.0:%d\nupstream 127.0.0.1:%d\n" % (port, port),
               "listen 0.0.0.0:%d\nupstream 127.0.0.53:%d\n" % (port, port),
               "listen [::]:%d\nupstream [::1]:%d\n" % (port, port))
        for text in good:
            conf = t.write("wild.conf", text)
            p = run_daemon_cmd(["-t", "-c", conf], timeout=10)
            check_eq(p.returncode, 0, "no loop:\n%s%s" % (text, _show(p)))
        for text in bad:
            conf = t.write("wild.conf", text)
            p = run_daemon_cmd(["-t", "-c", conf], timeout=10)
            check_eq(p.returncode, 1, "loop must be refused:\n%s%s" % (text, _show(p)))
            check("wild.conf" in p.stderr and "would loop" in p.stderr and "this host" in p.stderr,
                  "error names file, host address and problem\n" + _show(p))


def test_check_verbose_prints_config():
    """-t -v prints every directive with its value, defaults included, in config syntax: the
    output is itself a good config that prints the same again."""
    import subprocess
    names = subprocess.run(["sed", "-n", "-E", r"s/^\*([a-z][a-z0-9-]*)\* .*$/\1/p",
                            os.path.join(SOURCE_DIR, "docs", "dns64d.conf.5.scd")],
                           stdout=subprocess.PIPE, text=True).stdout.split()
    check(len(names) >= 30, "directive names from dns64d.conf(5): %s" % names)
    with TempDir() as t:
        for src in ("good-full.conf", "good-minimal.conf", "good-chaos.conf"):
            p = run_daemon_cmd(["-t", "-v", "-c", os.path.join(CONF_DIR, src)])
            check_eq(p.returncode, 0, "-t -v %s\n%s" % (src, _show(p)))
            check(p.stderr.strip().endswith(": ok") and not re.search(r": ok$", p.stdout, re.M),
                  "'ok' goes to stderr with -v\n" + _show(p))
            seen = set()
            for line in p.stdout.splitlines():
                m = re.match(r"^(?:# )?([a-z][a-z0-9-]*) ", line)
                check(m or line.startswith("# effective"), "not config syntax: %r\n%s" % (line, _show(p)))
                if m:
                    seen.add(m.group(1))
            check_eq(sorted(set(names) - seen), [], "directives missing from -t -v of %s" % src)
            again = t.write("printed.conf", p.stdout)
            q = run_daemon_cmd(["-t", "-v", "-c", again])
            check_eq(q.returncode, 0, "printed config of %s rejected\n%s" % (src, _show(q)))
            strip = lambda out: [l for l in out.splitlines() if not l.startswith("# effective")]
            check_eq(strip(q.stdout), strip(p.stdout), "printed config of %s prints the same" % src)
        p = run_daemon_cmd(["-t", "-c", os.path.join(CONF_DIR, "good-full.conf")])
        check_eq(p.stdout.strip().endswith(": ok"), True, "without -v only the ok line\n" + _show(p))


def test_check_warns_on_refuse_all():
    """An ACL that serves nobody passes -t (it may be deliberate) with a warning on stderr."""
    p = run_daemon_cmd(["-t", "-c", os.path.join(CONF_DIR, "good-acl-refuse-all.conf")])
    check_eq(p.returncode, 0, "refuse-all is not fatal\n" + _show(p))
    check(re.search(r"^warning: \S+good-acl-refuse-all.conf:5: acl .* has no dns64 or forward rule", p.stderr, re.M),
          "warning names the file, line and problem\n" + _show(p))


def _wait_log(d, pattern, timeout=10.0):
    """The daemon's log once pattern is in it (a reload is asynchronous), else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, d.log_text()):
            return d.log_text()
        time.sleep(0.05)
    return None


def test_reload_names_restart_directives():
    """SIGHUP: the directives the table marks as fixed at start are named in one warning;
    reloadable ones are not; an ACL that serves nobody is warned about."""
    acl = ["127.0.0.0/8 dns64", "::1/128 dns64"]
    with Daemon(["workers 1", "cache-size 1m", "log-level warn"], acl, upstreams=["192.0.2.1:53"]) as d:
        d.set_conf(["workers 2", "cache-size 2m", "log-level warn", "timeout 1000", "max-stale 1h",
                    "version lab build"])
        d.reload()
        log = _wait_log(d, r"changed .* take effect after a restart")
        check(log is not None, "no restart warning after the reload\n" + d.log_text())
        check(re.search(r"warn: changed 'cache-size', 'workers' take effect after a restart$", log, re.M),
              "the warning names exactly the fixed directives\n" + log)
        d.set_acl(["127.0.0.0/8 refuse", "::1/128 drop"])
        d.reload()
        log = _wait_log(d, r"has no dns64 or forward rule")
        check(log is not None, "no refuse-all warning after the reload\n" + d.log_text())
        check(d.alive(), "a refuse-all ACL is not fatal\n" + d.log_text())


if __name__ == "__main__":
    run_tests(globals(), required=())

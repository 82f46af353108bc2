#!/bin/bash
# test_quickstart.sh - the quick start never harms the host it runs on (issue 16)
#
# 1. deps.sh decides which services to disable: only in test mode, only servers whose package
#    it has just installed. Checked on its functions with made-up package lists, then end to end
#    with stand-ins for dpkg-query, apt-get, systemctl and sudo first in PATH, so nothing is
#    installed, stopped or disabled for real.
# 2. run.sh never runs a service manager (the same stand-ins record every call).
# 3. In a new network namespace (unshare -n, so the host's sockets and services are out of
#    reach), a socket on 127.0.0.1:53 (also one with SO_REUSEPORT, which dns64d could bind
#    next to), [::1]:53 (TCP) or 0.0.0.0:53 makes run.sh stop before
#    starting with a message naming the port and DNS64D_PORT; DNS64D_PORT=5353 then runs
#    dns64d on 127.0.0.1:5353 and [::1]:5353; a socket on 127.0.0.53:53 (systemd-resolved)
#    is no conflict. run.sh runs with DNS64D_BIN, so it builds nothing.
# Exit 0 pass, 1 fail, 77 skip (not root).
set -u

src=${DNS64D_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${DNS64D_BIN:-$src/build/dns64d}
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (network namespaces)"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
failmsg() {
	echo "FAIL: $*"
	fail=1
}
check_eq() { # GOT WANT WHAT
	if [ "$1" != "$2" ]; then
		failmsg "$3: got '$1', want '$2'"
	else
		echo "ok: $3"
	fi
}

# ---- 1. deps.sh: the decision, with made-up inputs ------------------------------------------

decide() { # MODE MISSING
	(DNS64D_DEPS_LIB=1 && . "$src/scripts/deps.sh" && services_to_disable "$1" "$2")
}
check_eq "$(decide test "cmake nsd unbound dnsdist")" "nsd unbound dnsdist" "test mode, all three just installed"
check_eq "$(decide test "cmake nsd dnsdist")" "nsd dnsdist" "test mode, unbound was there before"
check_eq "$(decide test "cmake scdoc")" "" "test mode, no server installed"
check_eq "$(decide test "")" "" "test mode, nothing installed"
check_eq "$(decide test "unbound-anchor nsd-tools libunbound8")" "" "names that only contain a server's name"
check_eq "$(decide build "nsd unbound dnsdist")" "" "build mode never disables anything"

# ---- 1b. deps.sh end to end, with stand-ins ---------------------------------------------------

fake=$tmp/fakebin
mkdir -p "$fake"
log=$tmp/calls.log
cat >"$fake/dpkg-query" <<'EOF'
#!/bin/sh
# dpkg-query -W -f='${Status}' PKG: installed when PKG is in $FAKE_INSTALLED
for p; do :; done
case " $FAKE_INSTALLED " in
*" $p "*) printf 'install ok installed' ;;
*) echo "dpkg-query: no packages found matching $p" >&2; exit 1 ;;
esac
EOF
for cmd in apt-get systemctl service invoke-rc.d sudo deb-systemd-invoke; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$cmd" "$log" >"$fake/$cmd"
done
chmod +x "$fake"/*

all=$(DNS64D_DEPS_LIB=1 && . "$src/scripts/deps.sh" && wanted_packages test)
except() { # PKG...: every wanted package but these
	out=""
	for p in $all; do
		case " $* " in *" $p "*) ;; *) out="$out $p" ;; esac
	done
	echo "$out"
}
deps() { # FAKE_INSTALLED MODE: run deps.sh; prints the recorded calls
	: >"$log"
	PATH=$fake:$PATH FAKE_INSTALLED=$1 sh "$src/scripts/deps.sh" "$2" >"$tmp/deps.out" 2>&1
	echo "rc=$?"
	cat "$log"
}

check_eq "$(deps "$all" test)" "rc=0" "deps.sh test, everything installed: no call at all"

want="rc=0
apt-get update -q
apt-get install -y -q --no-install-recommends cmake nsd dnsdist
systemctl disable --now nsd
systemctl disable --now dnsdist"
check_eq "$(deps "$(except cmake nsd dnsdist)" test)" "$want" \
	"deps.sh test with a production unbound: installs and disables nsd and dnsdist only"

want="rc=0
apt-get update -q
apt-get install -y -q --no-install-recommends nsd unbound dnsdist
systemctl disable --now nsd
systemctl disable --now unbound
systemctl disable --now dnsdist"
check_eq "$(deps "$(except nsd unbound dnsdist)" test)" "$want" "deps.sh test, the three servers new"

want="rc=0
apt-get update -q
apt-get install -y -q --no-install-recommends cmake"
check_eq "$(deps "$(except cmake nsd unbound dnsdist)" build)" "$want" \
	"deps.sh build: installs the build packages only, disables nothing"

check_eq "$(deps "$all" bogus)" "rc=2" "deps.sh with an unknown mode"

# ---- 2. run.sh and service managers ---------------------------------------------------------

if grep -nE '^[^#]*\b(systemctl|service|invoke-rc\.d|deb-systemd-invoke|kill|pkill|killall)\b' \
	"$src/scripts/run.sh"; then
	failmsg "run.sh mentions a service manager or kill (lines above)"
else
	echo "ok: run.sh runs no service manager"
fi

# ---- 3. port 53 taken, in a network namespace -------------------------------------------------

if ! unshare -n true 2>/dev/null; then
	echo "SKIP part 3: cannot create a network namespace here"
	exit $fail
fi
for t in ss python3 dig; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "SKIP part 3: $t not installed"
		exit $fail
	fi
done
if [ ! -x "$bin" ]; then
	failmsg "no dns64d binary at $bin (set DNS64D_BIN)"
	exit 1
fi

cat >"$tmp/ns.sh" <<'EOF'
# Runs inside `unshare -n`: a namespace with nothing but its own loopback.
set -u
src=$1 bin=$2 tmp=$3 fake=$4 log=$5
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait' EXIT
fail=0
failmsg() { echo "FAIL: $*"; fail=1; }
ip link set lo up

# occupy PROTO HOST PORT [reuseport]: a socket there until the end of the case; waits until it is bound
occupy() {
	python3 - "$@" <<'PY' &
import socket, sys, time
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
if len(sys.argv) > 4 and sys.argv[4] == "reuseport":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((host, port))
if proto == "tcp":
    s.listen()
sys.stdout.close()
time.sleep(600)
PY
	occ=$!
	pids="$pids $occ"
	for _ in $(seq 100); do
		ss -H -lntu 2>/dev/null | grep -q ":$3 " && return 0
		sleep 0.1
	done
	failmsg "the $1 socket on $2:$3 did not come up"
}
unoccupy() { kill $occ; wait $occ 2>/dev/null; }

# runsh ENV...: run.sh in the foreground; it must exit by itself (a dns64d that started after
# all is stopped after 20 s: exit 124); output in $tmp/run.out
runsh() {
	: >"$log"
	timeout 20 env PATH="$fake:$PATH" DNS64D_BIN="$bin" TMPDIR="$tmp" "$@" sh "$src/scripts/run.sh" \
		>"$tmp/run.out" 2>&1
	rc=$?
	if [ -s "$log" ]; then failmsg "run.sh called: $(cat "$log")"; fi
	return $rc
}

# expect_refusal WHAT ADDR: run.sh exits 1 before starting and names ADDR and DNS64D_PORT
expect_refusal() {
	runsh
	rc=$?
	out=$(cat "$tmp/run.out")
	if [ $rc -ne 1 ]; then failmsg "$1: run.sh exited $rc, want 1: $out"; return; fi
	case "$out" in *"cannot listen on $2: the port is already in use"*) ;; *) failmsg "$1: no word of $2: $out" ;; esac
	case "$out" in *"DNS64D_PORT=5353 scripts/run.sh"*) ;; *) failmsg "$1: no DNS64D_PORT hint: $out" ;; esac
	case "$out" in *python3*) ;; *) failmsg "$1: the occupying process is not named: $out" ;; esac
	case "$out" in *"dns64d"*started*|*"listening on"*) failmsg "$1: looks started: $out" ;; esac
	echo "ok: $1"
}

# start_bg ENV...: run.sh in the background; $daemon is its pid, which is dns64d's (exec)
start_bg() {
	: >"$log"
	env PATH="$fake:$PATH" DNS64D_BIN="$bin" TMPDIR="$tmp" "$@" sh "$src/scripts/run.sh" >"$tmp/bg.out" 2>&1 &
	daemon=$!
	pids="$pids $daemon"
}
stop_bg() {
	kill $daemon 2>/dev/null
	wait $daemon 2>/dev/null
	if [ -s "$log" ]; then failmsg "run.sh called: $(cat "$log")"; fi
}

# answers SERVER PORT: dns64d answers ipv4only.arpa AAAA there (a local answer: no upstream
# exists in this namespace); waits up to 30 s for the daemon to come up
answers() {
	for _ in $(seq 60); do
		got=$(dig @"$1" -p "$2" +short +time=1 +tries=1 AAAA ipv4only.arpa 2>/dev/null | sort | tr '\n' ' ')
		[ "$got" = "64:ff9b::c000:aa 64:ff9b::c000:ab " ] && return 0
		kill -0 $daemon 2>/dev/null || break
		sleep 0.5
	done
	failmsg "no answer from $1 port $2 (got '$got'): $(cat "$tmp/bg.out")"
	return 1
}

occupy udp 127.0.0.1 53
expect_refusal "UDP 127.0.0.1:53 taken" 127.0.0.1:53

# the same namespace, another port: dns64d runs next to the occupant
start_bg DNS64D_PORT=5353
answers 127.0.0.1 5353 && answers ::1 5353 && echo "ok: DNS64D_PORT=5353 runs dns64d on 127.0.0.1 and ::1 port 5353"
grep -q "listening on port 5353" "$tmp/bg.out" || failmsg "run.sh did not say which port: $(cat "$tmp/bg.out")"
conf=$(ls "$tmp"/dns64d-run.*/dns64d.conf 2>/dev/null | head -1)
if [ -z "$conf" ]; then
	failmsg "no generated config in $tmp"
else
	[ "$(grep -c '^listen ' "$conf")" = 2 ] && grep -qx 'listen 127.0.0.1:5353' "$conf" &&
		grep -qx 'listen \[::1\]:5353' "$conf" || failmsg "generated listen lines: $(grep listen "$conf")"
	grep -qx "acl $src/etc/dns64d.acl" "$conf" || failmsg "generated acl line: $(grep '^acl' "$conf")"
fi
stop_bg
runsh DNS64D_PORT=53x
[ $? -eq 2 ] && echo "ok: a bad DNS64D_PORT is refused" || failmsg "DNS64D_PORT=53x: $(cat "$tmp/run.out")"
unoccupy

# a server with SO_REUSEPORT, as Unbound binds by default: dns64d (root, SO_REUSEPORT too)
# could bind next to it and the kernel would split the queries between the two
occupy udp 127.0.0.1 53 reuseport
expect_refusal "UDP 127.0.0.1:53 taken by a SO_REUSEPORT socket" 127.0.0.1:53
unoccupy

occupy tcp ::1 53
expect_refusal "TCP [::1]:53 taken" "[::1]:53"
unoccupy

occupy udp 0.0.0.0 53
expect_refusal "UDP 0.0.0.0:53 (wildcard) taken" 127.0.0.1:53
unoccupy

# systemd-resolved's stub listens on 127.0.0.53:53: no conflict with 127.0.0.1:53
occupy udp 127.0.0.53 53
start_bg
answers 127.0.0.1 53 && echo "ok: 127.0.0.53:53 taken is no conflict; dns64d runs on 127.0.0.1:53"
stop_bg
unoccupy
exit $fail
EOF

unshare -n bash "$tmp/ns.sh" "$src" "$bin" "$tmp" "$fake" "$log" || fail=1
[ $fail -eq 0 ] && echo "PASS"
exit $fail

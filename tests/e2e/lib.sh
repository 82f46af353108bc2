# shellcheck shell=bash
# Shared helpers of the end-to-end shell tests: results, timings, cleanup by PID and name, nsd set-up.
#
# Sourced by tests/e2e/nat64.sh and tests/e2e/dnsdist.sh; it is not a test by itself. Use:
#
#     . "$(dirname "$0")/lib.sh"
#     e2e_init nat64                      # temp dir in $E2E_TMP, EXIT/INT/TERM trap
#     e2e_bg LOG NETNS CMD...             # start CMD in NETNS ("-" = this namespace); PID in $E2E_PID
#     check "what" CMD...                 # PASS/FAIL line from CMD's exit status
#     e2e_finish                          # summary line, exit 0 only when every check passed
#
# Every process started with e2e_bg is stopped by its PID, every namespace registered with
# e2e_netns_add is deleted and every path registered with e2e_rm_on_exit is removed, also when the
# script fails or is interrupted. E2E_KEEP=1 keeps the temp dir for inspection.

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	echo "SKIP: lib.sh is the helper library of the e2e tests, not a test"
	exit 77
fi

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_SOURCE_DIR=${DNS64D_SOURCE_DIR:-$(cd "$E2E_DIR/../.." && pwd)}
E2E_PASSES=0
E2E_FAILS=0
E2E_PIDS=()
E2E_NETNS=()
E2E_PATHS=()
E2E_TMP=
E2E_PID=

skip() {
	echo "SKIP: $*"
	exit 77
}

die() {
	echo "ERROR: $*" >&2
	exit 1
}

# note MESSAGE: a progress line with the seconds since e2e_init
note() {
	printf '[%6.2fs] %s\n' "$(elapsed "$E2E_T0")" "$*"
}

pass() {
	E2E_PASSES=$((E2E_PASSES + 1))
	echo "PASS: $*"
}

fail() {
	E2E_FAILS=$((E2E_FAILS + 1))
	echo "FAIL: $*"
}

# check DESCRIPTION CMD...: run CMD, one PASS or FAIL line from its exit status
check() {
	local what=$1
	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what"
	fi
}

now() {
	echo "$EPOCHREALTIME"
}

# elapsed START: seconds since START (a value of now), three decimals
elapsed() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'
}

# timing LABEL START: print how long LABEL took
timing() {
	echo "TIME: $1 $(elapsed "$2") s"
}

# need PROGRAM...: skip the test when one of the programs is not installed
need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || skip "'$p' is not installed"
	done
}

# dns64d_bin: path of the daemon under test (ctest sets DNS64D_BIN); fails when there is none
dns64d_bin() {
	local b
	for b in "${DNS64D_BIN:-}" "$E2E_SOURCE_DIR/build/dns64d"; do
		if [[ -n "$b" && -x "$b" ]]; then
			echo "$b"
			return 0
		fi
	done
	die "no dns64d binary: build it and set DNS64D_BIN"
}

e2e_init() {
	E2E_T0=$(now)
	E2E_TMP=$(mktemp -d "/tmp/dns64d-e2e-$1.XXXXXX") || die "mktemp failed"
	chmod 755 "$E2E_TMP"
	trap e2e_cleanup EXIT
	trap 'echo "interrupted"; exit 130' INT TERM
}

# e2e_bg LOGFILE NETNS CMD...: start CMD in the background in namespace NETNS ("-" for the
# current one), output to LOGFILE; its PID is in E2E_PID and it is stopped on exit.
# `ip netns exec` execs the command in place, so the PID is the command's own.
e2e_bg() {
	local log=$1 ns=$2
	shift 2
	if [[ "$ns" == "-" ]]; then
		"$@" </dev/null >"$log" 2>&1 &
	else
		ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 &
	fi
	E2E_PID=$!
	E2E_PIDS+=("$E2E_PID")
}

# stop_pid PID [SIGNAL]: stop one process we started (SIGTERM by default, SIGKILL after 5 s)
stop_pid() {
	local pid=$1 sig=${2:-TERM} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -"$sig" "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# a zombie child counts as stopped
		[[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]] && break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# e2e_netns_add NAME: create a namespace (deleted on exit) with lo up and IPv6 DAD off, so
# addresses are usable at once; fails when the namespace cannot be created
e2e_netns_add() {
	ip netns add "$1" 2>/dev/null || return 1
	E2E_NETNS+=("$1")
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 2>/dev/null
	return 0
}

# e2e_rm_on_exit PATH: remove PATH (file or directory) on exit
e2e_rm_on_exit() {
	E2E_PATHS+=("$1")
}

# e2e_stop_all: stop every started process (newest first) and delete every namespace
e2e_stop_all() {
	local i
	for ((i = ${#E2E_PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${E2E_PIDS[i]}"
	done
	E2E_PIDS=()
	for ((i = ${#E2E_NETNS[@]} - 1; i >= 0; i--)); do
		ip netns del "${E2E_NETNS[i]}" 2>/dev/null || echo "warning: could not delete namespace '${E2E_NETNS[i]}'"
	done
	E2E_NETNS=()
}

e2e_cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	e2e_stop_all
	for p in "${E2E_PATHS[@]}"; do
		rm -rf -- "$p"
	done
	if [[ -n "$E2E_TMP" ]]; then
		if [[ "${E2E_KEEP:-}" == 1 ]]; then
			echo "kept $E2E_TMP"
		else
			rm -rf -- "$E2E_TMP"
		fi
	fi
	exit "$rc"
}

# show_log TITLE FILE: print a log file (last 40 lines), for failures
show_log() {
	echo "---- $1 ($2) ----"
	tail -n 40 "$2" 2>/dev/null
	echo "---- end of $1 ----"
}

# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds; fails on timeout
wait_until() {
	local limit=$1 t0
	shift
	t0=$(now)
	while ! "$@" >/dev/null 2>&1; do
		if awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
			return 1
		fi
		sleep 0.05
	done
	return 0
}

# free_ports N: N distinct ports, free for UDP and TCP on 127.0.0.1, chosen at random in
# 20000-32000 (below the usual ephemeral range, so no outgoing socket takes them meanwhile)
free_ports() {
	python3 - "$1" <<-'EOF'
	import random, socket, sys
	want, got = int(sys.argv[1]), []
	rnd = random.SystemRandom()
	def free(port):
	    for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
	        s = socket.socket(socket.AF_INET, typ)
	        try:
	            s.bind(("127.0.0.1", port))
	        except OSError:
	            return False
	        finally:
	            s.close()
	    return True
	for _ in range(1000):
	    p = rnd.randint(20000, 32000)
	    if p not in got and free(p):
	        got.append(p)
	        if len(got) == want:
	            break
	if len(got) < want:
	    sys.exit("no free ports")
	print(" ".join(map(str, got)))
	EOF
}

# write_nsd_conf DIR ADDR PORT ZONE ZONEFILE: an nsd.conf for one zone, everything in DIR,
# listening on ADDR@PORT only, no chroot, no user change, no remote control, no rate limiting
write_nsd_conf() {
	local dir=$1 addr=$2 port=$3 zone=$4 zfile=$5
	cat >"$dir/nsd.conf" <<-EOF
	server:
	    ip-address: $addr@$port
	    port: $port
	    chroot: ""
	    username: ""
	    zonesdir: "$dir"
	    pidfile: "$dir/nsd.pid"
	    database: ""
	    xfrdfile: "$dir/xfrd.state"
	    zonelistfile: "$dir/zone.list"
	    xfrdir: "$dir"
	    logfile: "$dir/nsd.log"
	    server-count: 1
	    verbosity: 1
	    hide-version: yes
	    round-robin: no
	    refuse-any: no
	    # nsd's response rate limiting (200/s per /24 by default) would drop load-test answers
	    rrl-ratelimit: 0
	    rrl-whitelist-ratelimit: 0
	remote-control:
	    control-enable: no
	zone:
	    name: "$zone"
	    zonefile: "$zfile"
	EOF
}

# dns_answers NETNS SERVER PORT NAME TYPE: true when SERVER answers NAME/TYPE with NOERROR and
# at least one record (readiness probe)
dns_answers() {
	local ns=$1 srv=$2 port=$3 name=$4 type=$5 out
	if [[ "$ns" == "-" ]]; then
		out=$(dig +time=1 +tries=1 +short -p "$port" "@$srv" "$name" "$type" 2>/dev/null)
	else
		out=$(ip netns exec "$ns" dig +time=1 +tries=1 +short -p "$port" "@$srv" "$name" "$type" 2>/dev/null)
	fi
	[[ -n "$out" ]]
}

# e2e_finish: summary; exit 0 only when there was at least one check and none failed
e2e_finish() {
	echo "total: $E2E_PASSES passed, $E2E_FAILS failed ($(elapsed "$E2E_T0") s)"
	if ((E2E_FAILS == 0 && E2E_PASSES > 0)); then
		echo "RESULT: PASS"
		exit 0
	fi
	echo "RESULT: FAIL"
	exit 1
}

#!/bin/bash
# callgrind.sh - instruction counts of dns64d's user-space work per answer, for one workload.
#
# Run by hand as root (not in CI). Instruction counts do not depend on the machine's load, so
# this is the profile to trust on a busy machine (perf's cycles are not). Kernel work (the
# syscalls themselves) is not counted; `perf record` covers that.
#
#   bench/callgrind.sh [cold|hot|mixed]     (default cold)
#
# Starts nsd and dns64d (under valgrind --tool=callgrind, instrumentation off until the server
# is ready, and for hot/mixed until the hot set is warm), sends QUERIES queries of the workload
# at RATE qps with dnsperf, dumps the counts and prints the top functions (inclusive and self)
# and Ir per answer. Both servers are stopped by PID. Knobs (environment): BUILD_DIR PORT
# V4_NAMES QUERIES RATE SERVER_CPU CLIENT_CPU OUT DNS64D_EXTRA.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$REPO/bench
WORKLOAD=${1:-cold}
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
PORT=${PORT:-45363}
NSD_PORT=$((PORT + 1))
V4_NAMES=${V4_NAMES:-50000}
QUERIES=${QUERIES:-20000}
RATE=${RATE:-400} # valgrind runs dns64d some 50x slower: keep well under its capacity
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OUT=${OUT:-$BENCH/out/callgrind-$WORKLOAD-$(date +%Y%m%d-%H%M%S)}

PIDS=()
TMP=
log() { printf '[callgrind %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}
stop_pid() {
	local pid=$1 kids i k
	kids=$(descendants "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
}
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$p"; done
	[ -n "$TMP" ] && rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

wait_ready() {
	local port=$1 pid=$2 i
	for i in $(seq 240); do
		kill -0 "$pid" 2>/dev/null || die "server on port '$port' exited during start-up"
		dig +time=2 +tries=1 +short @127.0.0.1 -p "$port" bench.test. SOA 2>/dev/null | grep -q hostmaster && return 0
		sleep 0.25
	done
	die "server on port '$port' not ready after 60 s"
}

[ "$(id -u)" = 0 ] || die "run as root"
case $WORKLOAD in cold | hot | mixed) ;; *) die "workload: cold, hot or mixed" ;; esac
[ -x "$BUILD_DIR/dns64d" ] || die "no dns64d in '$BUILD_DIR' (run bench/run.sh once, or build it)"
for p in "$PORT" "$NSD_PORT"; do
	! ss -Hlnu "sport = :$p" | grep -q . || die "port '$p' is busy"
done
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/dns64-callgrind.XXXXXX)
/usr/bin/python3 "$BENCH/gen_zone.py" "$TMP" --v4 "$V4_NAMES" --ds 100 --hot 100 --mixed-cold $((QUERIES / 5))
cat >"$TMP/nsd.conf" <<EOF
server:
	ip-address: 127.0.0.1@$NSD_PORT
	server-count: 1
	username: ""
	chroot: ""
	zonesdir: "$TMP"
	database: ""
	zonelistfile: "$TMP/nsd.zonelist"
	xfrdfile: "$TMP/nsd.xfrd"
	pidfile: "$TMP/nsd.pid"
	logfile: "$TMP/nsd.log"
	verbosity: 0
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "bench.test."
	zonefile: "bench.test.zone"
EOF
printf '127.0.0.0/8 dns64\n' >"$TMP/dns64d.acl"
cat >"$TMP/dns64d.conf" <<EOF
listen 127.0.0.1:$PORT
upstream 127.0.0.1:$NSD_PORT
acl dns64d.acl
prefix 64:ff9b::/96
cache-size 64m
workers 1
log-level warn
EOF
if [ -n "${DNS64D_EXTRA:-}" ]; then printf '%s\n' "$DNS64D_EXTRA" >>"$TMP/dns64d.conf"; fi

taskset -c "$CLIENT_CPU" nsd -d -c "$TMP/nsd.conf" >"$OUT/nsd.log" 2>&1 &
PIDS+=($!)
wait_ready "$NSD_PORT" "$!"
taskset -c "$SERVER_CPU" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/callgrind.out" \
	"$BUILD_DIR/dns64d" -f -c "$TMP/dns64d.conf" >"$OUT/dns64d.log" 2>&1 &
VPID=$!
PIDS+=("$VPID")
wait_ready "$PORT" "$VPID"
if [ "$WORKLOAD" != cold ]; then
	taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$TMP/hot.txt" -n 1 -l 30 >"$OUT/warm.txt" 2>&1
fi
callgrind_control -i on "$VPID" >/dev/null
log "$WORKLOAD: $QUERIES queries at $RATE qps"
# cold and mixed: each cold name once (-n 1); hot: the 100 names over and over, so stop by time
if [ "$WORKLOAD" = hot ]; then limit=(-l $((QUERIES / RATE))); else limit=(-n 1 -l $((QUERIES / RATE + 5))); fi
taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$TMP/$WORKLOAD.txt" -c 4 -q 100 -t 5 -Q "$RATE" \
	"${limit[@]}" >"$OUT/dnsperf.txt" 2>&1 &
DPID=$!
PIDS+=("$DPID")
wait "$DPID" || true
callgrind_control -i off "$VPID" >/dev/null
callgrind_control -d "$VPID" >/dev/null
sleep 1
set +o pipefail # head closes the pipes below early
answers=$(/usr/bin/python3 "$BENCH/report.py" summary "$OUT/dnsperf.txt" | awk '{print $3}')
lost=$(/usr/bin/python3 "$BENCH/report.py" summary "$OUT/dnsperf.txt" | awk '{print $4}')
dump=$OUT/callgrind.out.1 # the dump of the measured part (callgrind.out itself: the shutdown)
callgrind_annotate --inclusive=yes "$dump" >"$OUT/inclusive.txt" 2>/dev/null
callgrind_annotate "$dump" >"$OUT/self.txt" 2>/dev/null
callgrind_annotate --inclusive=yes --tree=caller "$dump" >"$OUT/callers.txt" 2>/dev/null
total=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}' "$OUT/self.txt")
{
	echo "workload $WORKLOAD: $answers answers ($lost lost), $total Ir, $(awk -v t="$total" -v a="$answers" \
		'BEGIN { if (a > 0) printf "%.0f", t / a; else print "-" }') Ir per answer"
	echo
	echo "== inclusive =="
	sed -n '/file:function/,$p' "$OUT/inclusive.txt" | sed -n '3,42p'
	echo
	echo "== self =="
	sed -n '/file:function/,$p' "$OUT/self.txt" | sed -n '3,32p'
} | tee "$OUT/summary.txt"
log "done; $OUT/summary.txt, callgrind data $dump"

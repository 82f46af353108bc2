#!/bin/bash
# run.sh - side-by-side DNS64 benchmark: dns64d vs Unbound (and BIND 9 if installed) behind nsd.
#
# Run by hand as root (not in CI). See bench/README.md for the method.
# Every server this script starts is stopped by PID, also on Ctrl-C or failure.
# Tunables (environment): BUILD_DIR PORT V4_NAMES DS_NAMES HOT_NAMES DURATION
# OUTSTANDING CLIENTS SERVER_CPU CLIENT_CPU NSD_CPU SERVERS FIXED_QPS PROFILE
# REPEAT RESULTS OUT SKIP_BUILD DNS64D_EXTRA FLOOR FLOOR_ARGS WORKLOADS.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$REPO/bench
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
PORT=${PORT:-45353}		# resolver under test; nsd listens on PORT+1
NSD_PORT=$((PORT + 1))
V4_NAMES=${V4_NAMES:-200000}	# IPv4-only names (cold workload asks each once)
DS_NAMES=${DS_NAMES:-1000}	# dual-stack names
HOT_NAMES=${HOT_NAMES:-100}	# hot set
DURATION=${DURATION:-20}	# seconds per measured run (upper bound)
OUTSTANDING=${OUTSTANDING:-200}	# dnsperf -q
CLIENTS=${CLIENTS:-4}		# dnsperf -c
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NSD_CPU=${NSD_CPU:-$SERVER_CPU} # nsd while it is the upstream: beside the server under test (see README "Pinning")
SERVERS=${SERVERS:-"unbound dns64d bind"}	# bind is skipped when named is not installed
FLOOR=${FLOOR:-1}		# 1: the floor responder (bench/floor.c) joins the hot workload
FLOOR_ARGS=${FLOOR_ARGS:-}	# e.g. "-b": blocking recvmmsg, no epoll (see floor.c)
WORKLOADS=${WORKLOADS:-"hot cold mixed"}
FIXED_QPS=${FIXED_QPS:-}	# fixed-rate load; default: 50% of Unbound's max QPS per workload
PROFILE=${PROFILE:-1}		# 1: extra dns64d runs under perf (not part of the table)
REPEAT=${REPEAT:-1}		# runs per server, workload and mode, interleaved; the table shows the median
RESULTS=${RESULTS:-$BENCH/RESULTS.md}
OUT=${OUT:-$BENCH/out/$(date +%Y%m%d-%H%M%S)}

PIDS=()
REP=1
CUR_PID=
TMP=

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# All descendants of a PID (nsd forks two levels deep).
descendants() {
	local p c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# Stop one server we started: SIGTERM, up to 5 s, then SIGKILL; same for its children.
stop_pid() {
	local pid=$1 kids i k
	[ -n "$pid" ] || return 0
	kids=$(descendants "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for k in $kids; do
		kill -TERM "$k" 2>/dev/null || true
	done
	sleep 0.2
	for k in $kids; do
		kill -KILL "$k" 2>/dev/null || true
	done
	forget_pid "$pid"
}

# Drop a PID from the list of processes cleanup() stops.
forget_pid() {
	local p rest=()
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do
		[ "$p" = "$1" ] || rest+=("$p")
	done
	PIDS=("${rest[@]+"${rest[@]}"}")
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do
		stop_pid "$p"
	done
	[ -n "$TMP" ] && rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# Run a client command in the background and wait for it, so that Ctrl-C runs the trap at
# once (bash defers traps while a foreground child runs, and dnsperf handles SIGINT itself).
run_fg() {
	local pid rc=0
	"$@" &
	pid=$!
	PIDS+=("$pid")
	wait "$pid" || rc=$?
	forget_pid "$pid"
	return "$rc"
}

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found (apt-get install $2)"; }

port_free() { ! ss -Hlnu "sport = :$1" | grep -q . && ! ss -Hlnt "sport = :$1" | grep -q .; }

# Wait until something answers a bench.test SOA on PORT (at most ~15 s); the floor has no
# zone, so for it (third argument "aaaa") any AAAA answer will do.
wait_ready() {
	local port=$1 pid=$2 probe=${3:-soa} i q=(bench.test. SOA) want=hostmaster
	if [ "$probe" = aaaa ]; then
		q=(v4-0.bench.test. AAAA)
		want=:
	fi
	for i in $(seq 60); do
		kill -0 "$pid" 2>/dev/null || die "server on port '$port' exited during start-up"
		if dig +time=1 +tries=1 +short @127.0.0.1 -p "$port" "${q[@]}" 2>/dev/null | grep -q "$want"; then
			return 0
		fi
		sleep 0.25
	done
	die "server on port '$port' not ready after 15 s"
}

# Sum of utime+stime ticks of a process tree.
cpu_ticks() {
	local sum=0 p t
	for p in "$1" $(descendants "$1"); do
		t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}

# Sum of VmHWM (KiB) of a process tree.
peak_rss() {
	local sum=0 p v
	for p in "$1" $(descendants "$1"); do
		v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null) || v=0
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

write_configs() {
	cat >"$TMP/nsd.conf" <<-EOF
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
		hide-version: yes
		# Debian's nsd has response rate limiting on: all NODATA answers share one bucket,
		# so the cold workload (AAAA -> NODATA) would see drops and TC=1 slips.
		rrl-ratelimit: 0
		rrl-whitelist-ratelimit: 0
	remote-control:
		control-enable: no
	zone:
		name: "bench.test."
		zonefile: "bench.test.zone"
	EOF

	printf '127.0.0.0/8 dns64\n' >"$TMP/dns64d.acl"
	cat >"$TMP/dns64d.conf" <<-EOF
	listen 127.0.0.1:$PORT
	upstream 127.0.0.1:$NSD_PORT
	acl dns64d.acl
	prefix 64:ff9b::/96
	cache-size 64m
	workers 1
	log-level warn
	EOF
	# extra dns64d directives, e.g. DNS64D_EXTRA="prefetch-a no" to compare without prefetch
	if [ -n "${DNS64D_EXTRA:-}" ]; then printf '%s\n' "$DNS64D_EXTRA" >>"$TMP/dns64d.conf"; fi

	# 21m + 42m: Unbound's usual 1:2 msg:rrset split, 63m in total.
	cat >"$TMP/unbound.conf" <<-EOF
	server:
		verbosity: 0
		interface: 127.0.0.1@$PORT
		port: $PORT
		do-ip6: no
		num-threads: 1
		so-reuseport: yes
		access-control: 127.0.0.0/8 allow
		module-config: "dns64 iterator"
		dns64-prefix: 64:ff9b::/96
		do-not-query-localhost: no
		msg-cache-size: 21m
		rrset-cache-size: 42m
		chroot: ""
		username: ""
		directory: "$TMP"
		pidfile: "$TMP/unbound.pid"
		use-syslog: no
		logfile: ""
		auto-trust-anchor-file: ""
		local-zone: "test." nodefault
	remote-control:
		control-enable: no
	forward-zone:
		name: "."
		forward-addr: 127.0.0.1@$NSD_PORT
	EOF

	cat >"$TMP/named.conf" <<-EOF
	options {
		directory "$TMP";
		pid-file "$TMP/named.pid";
		listen-on port $PORT { 127.0.0.1; };
		listen-on-v6 { none; };
		recursion yes;
		allow-query { 127.0.0.0/8; };
		allow-recursion { 127.0.0.0/8; };
		forwarders { 127.0.0.1 port $NSD_PORT; };
		forward only;
		dnssec-validation no;
		max-cache-size 64m;
		dns64 64:ff9b::/96 { clients { any; }; };
	};
	controls { };
	EOF
}

start_nsd() {
	local cpu=$1
	port_free "$NSD_PORT" || die "port '$NSD_PORT' is busy"
	taskset -c "$cpu" nsd -d -c "$TMP/nsd.conf" >>"$OUT/nsd.log" 2>&1 &
	CUR_PID=$!
	PIDS+=("$CUR_PID")
	wait_ready "$NSD_PORT" "$CUR_PID"
}

start_server() {
	local name=$1
	port_free "$PORT" || die "port '$PORT' is busy"
	case $name in
	dns64d) taskset -c "$SERVER_CPU" "$BUILD_DIR/dns64d" -f -c "$TMP/dns64d.conf" >>"$OUT/dns64d.log" 2>&1 & ;;
	unbound) taskset -c "$SERVER_CPU" unbound -d -c "$TMP/unbound.conf" >>"$OUT/unbound.log" 2>&1 & ;;
	bind) taskset -c "$SERVER_CPU" named -g -n 1 -U 1 -c "$TMP/named.conf" >>"$OUT/bind.log" 2>&1 & ;;
	floor) taskset -c "$SERVER_CPU" "$TMP/floor" $FLOOR_ARGS 127.0.0.1 "$PORT" >>"$OUT/floor.log" 2>&1 & ;;
	*) die "unknown server '$name'" ;;
	esac
	CUR_PID=$!
	PIDS+=("$CUR_PID")
	if [ "$name" = floor ]; then
		wait_ready "$PORT" "$CUR_PID" aaaa
	else
		wait_ready "$PORT" "$CUR_PID"
	fi
}

# One pass over the hot set, so that the measured hot answers (and mixed's 90 %) are cache hits.
warm_hot() {
	run_fg taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$TMP/hot.txt" -n 1 -l 10 \
		>"$OUT/$1.hot.warm.txt" 2>&1
}

# measure WORKLOAD SERVER MODE PORT FILE [dnsperf args...]: one dnsperf run against CUR_PID.
measure() {
	local workload=$1 server=$2 mode=$3 port=$4 file=$5 out c0 c1 t0 t1 cpu wall rss
	shift 5
	out="$OUT/$server.$workload.$mode.$REP.txt"
	c0=$(cpu_ticks "$CUR_PID")
	t0=$(date +%s.%N)
	run_fg taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$file" -c "$CLIENTS" \
		-q "$OUTSTANDING" -t 5 "$@" >"$out" 2>"$out.err" || log "dnsperf exited with '$?' ($out)"
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$CUR_PID")
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
	wall=$(awk -v s="$t0" -v e="$t1" 'BEGIN { printf "%.2f", e - s }')
	rss=$(peak_rss "$CUR_PID")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workload" "$server" "$mode" "$out" "$rss" "$cpu" "$wall" \
		>>"$OUT/runs.tsv"
	log "$workload $server $mode: $(/usr/bin/python3 "$BENCH/report.py" summary "$out" |
		awk '{printf "%s qps, sent %s, lost %s, avg %s ms", $1, $2, $4, $5}'), server cpu ${cpu} s in ${wall} s, rss ${rss} KiB"
}

# run_workload WORKLOAD MODE SERVER [dnsperf args...]: fresh server, warm if hot, one measured run.
run_workload() {
	local workload=$1 mode=$2 server=$3
	shift 3
	start_server "$server"
	case $workload in hot | mixed) warm_hot "$server" ;; esac
	local file=$TMP/$workload.txt
	measure "$workload" "$server" "$mode" "$PORT" "$file" "$@"
	if [ "$workload" = cold ] && [ "$mode" = max ]; then
		if run_fg /usr/bin/python3 "$BENCH/check_answers.py" 127.0.0.1 "$PORT" --v4 "$V4_NAMES" --ds "$DS_NAMES" \
			--sample 100 --cold "$file" >"$OUT/$server.check.$REP.txt" 2>&1; then
			log "$server answers: $(tail -1 "$OUT/$server.check.$REP.txt")"
		else
			log "$server answers WRONG: see $OUT/$server.check.$REP.txt"
		fi
	fi
	stop_pid "$CUR_PID"
	CUR_PID=
}

# Median max-throughput QPS of SERVER in WORKLOAD over the repetitions.
qps_of() {
	local f v=()
	for f in "$OUT/$1.$2.max."*.txt; do
		[ -f "$f" ] || return 1
		v+=("$(/usr/bin/python3 "$BENCH/report.py" summary "$f" | awk '{print $1}')")
	done
	printf '%s\n' "${v[@]}" | sort -g | awk '{a[NR] = $1} END { print a[int((NR + 1) / 2)] }'
}

# perf profile of dns64d under a workload (extra run, not in the table).
profile() {
	local workload=$1 secs=8 ppid
	start_server dns64d
	[ "$workload" != cold ] && warm_hot dns64d-profile
	taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$TMP/$workload.txt" -c "$CLIENTS" \
		-q "$OUTSTANDING" -l $((secs + 2)) $([ "$workload" != hot ] && echo "-n 1") \
		>"$OUT/dns64d.$workload.profile-dnsperf.txt" 2>&1 &
	local dpid=$!
	PIDS+=("$dpid")
	sleep 1
	perf record -F 999 -g -p "$CUR_PID" -o "$OUT/perf.$workload.data" -- sleep "$secs" \
		>"$OUT/perf.$workload.log" 2>&1 &
	ppid=$!
	PIDS+=("$ppid")
	wait "$ppid" || true
	forget_pid "$ppid"
	wait "$dpid" || true
	forget_pid "$dpid"
	perf report -i "$OUT/perf.$workload.data" --stdio --no-children --sort symbol -g none \
		--percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15 >"$OUT/perf.$workload.top.txt" || true
	perf report -i "$OUT/perf.$workload.data" --stdio --no-children --sort dso -g none \
		2>/dev/null | grep -v '^#' | grep -v '^$' | head -8 >"$OUT/perf.$workload.dso.txt" || true
	stop_pid "$CUR_PID"
	CUR_PID=
}

# --- main -------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "run as root (taskset, perf, reading server /proc entries)"
need nsd nsd
need unbound unbound
need dnsperf dnsperf
need dig dnsutils
need taskset util-linux
/usr/bin/python3 -c 'import dns.message' 2>/dev/null || die "python3-dnspython missing"
[ "$(nproc)" -ge 2 ] || die "need at least 2 CPUs"

active=()
for s in $SERVERS; do
	case $s in
	bind) if command -v named >/dev/null; then active+=(bind); else log "named not installed: skipping BIND 9"; fi ;;
	*) active+=("$s") ;;
	esac
done
[ "${#active[@]}" -gt 0 ] || die "no servers selected"
need cc gcc

mkdir -p "$OUT"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d /tmp/dns64-bench.XXXXXX)
: >"$OUT/runs.tsv"

if [ -z "${SKIP_BUILD:-}" ]; then
	log "building dns64d (Release) in $BUILD_DIR"
	cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDNS64D_TESTS=OFF >"$OUT/build.log" 2>&1 ||
		die "cmake failed, see $OUT/build.log"
	cmake --build "$BUILD_DIR" -j"$(nproc)" >>"$OUT/build.log" 2>&1 || die "build failed, see $OUT/build.log"
fi
[ -x "$BUILD_DIR/dns64d" ] || die "no dns64d in '$BUILD_DIR'"
# The floor: no DNS work, only the packet I/O (bench/floor.c); not part of the daemon build.
cc -O2 -o "$TMP/floor" "$BENCH/floor.c" 2>>"$OUT/build.log" || die "floor.c did not build, see $OUT/build.log"

log "generating zone: $V4_NAMES IPv4-only + $DS_NAMES dual-stack names"
/usr/bin/python3 "$BENCH/gen_zone.py" "$TMP" --v4 "$V4_NAMES" --ds "$DS_NAMES" --hot "$HOT_NAMES"
write_configs
nsd-checkconf "$TMP/nsd.conf" || die "nsd config rejected"
unbound-checkconf "$TMP/unbound.conf" >/dev/null || die "unbound config rejected"
"$BUILD_DIR/dns64d" -t -c "$TMP/dns64d.conf" >/dev/null || die "dns64d config rejected"

# Ceiling: dnsperf straight at nsd, nsd alone on the server core.
log "ceiling: nsd on cpu $SERVER_CPU"
start_nsd "$SERVER_CPU"
measure ceiling nsd max "$NSD_PORT" "$TMP/ceiling.txt" -l "$DURATION"
stop_pid "$CUR_PID"
CUR_PID=

# The upstream for the resolver runs (2 CPUs only: it shares a core, by default the server's).
start_nsd "$NSD_CPU"
NSD_PID=$CUR_PID

LOAD_RUN_START=$(cut -d' ' -f1-3 /proc/loadavg)
for workload in $WORKLOADS; do
	case $workload in
	cold | mixed) extra=(-n 1 -l "$DURATION") ;; # each cold name once
	hot) extra=(-l "$DURATION") ;;
	*) die "unknown workload '$workload'" ;;
	esac
	servers=("${active[@]}")
	[ "$workload" = hot ] && [ "$FLOOR" = 1 ] && servers+=(floor)
	for REP in $(seq "$REPEAT"); do
		for s in "${servers[@]}"; do
			log "$workload / $s / max throughput (run $REP of $REPEAT)"
			run_workload "$workload" max "$s" "${extra[@]}"
		done
	done
	q=$FIXED_QPS
	if [ -z "$q" ]; then
		base=$(qps_of unbound "$workload" || qps_of "${active[0]}" "$workload")
		q=$(awk -v b="$base" 'BEGIN { printf "%d", b / 2 }')
	fi
	for REP in $(seq "$REPEAT"); do
		for s in "${servers[@]}"; do
			log "$workload / $s / fixed rate $q qps (run $REP of $REPEAT)"
			run_workload "$workload" fixed "$s" "${extra[@]}" -Q "$q" -v
		done
	done
done

if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
	for workload in hot cold; do
		log "profiling dns64d ($workload)"
		profile "$workload"
	done
fi

stop_pid "$NSD_PID"
LOAD_RUN_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------

rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ] && rev="$rev (with uncommitted changes)"
{
	echo "## Run of $(date -u '+%Y-%m-%d %H:%M') UTC"
	echo
	echo "Produced by \`bench/run.sh\` (method: bench/README.md). Raw output was in \`${OUT#"$REPO"/}\`."
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- Machine: $(lscpu | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print $2}'), $(nproc) CPUs," \
		"$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo), kernel $(uname -r)" \
		"$(lscpu | awk -F: '/^Hypervisor vendor/ {gsub(/^ +/, "", $2); print "(" $2 " guest)"}')"
	echo "- Load average (1/5/15 min) at start: $LOAD_START, before the first measured run: $LOAD_RUN_START," \
		"after the last: $LOAD_RUN_END, at end: $(cut -d' ' -f1-3 /proc/loadavg) (anything else running on the" \
		"machine makes the numbers noisy; a 1-minute load well above 1 on 2 CPUs means other work shared the cores)"
	echo "- dns64d: git $rev, $("$BUILD_DIR/dns64d" -V 2>&1 | head -1), Release build, \`workers 1\`, \`cache-size 64m\`"
	echo "- Unbound: $(unbound -V 2>&1 | head -1), \`num-threads: 1\`, msg 21m + rrset 42m cache"
	if [[ " ${active[*]} " == *" bind "* ]]; then
		echo "- BIND: $(named -v 2>&1 | head -1), \`-n 1 -U 1\`, \`max-cache-size 64m\`"
	fi
	echo "- nsd: $(nsd -v 2>&1 | head -1); dnsperf: $(dnsperf -h 2>&1 | awk '/^Version/ {print $2}')"
	echo "- Zone: $V4_NAMES IPv4-only names + $DS_NAMES dual-stack, TTL 3600, SOA minimum 300; hot set $HOT_NAMES names"
	if [ "$NSD_CPU" = "$CLIENT_CPU" ]; then
		shared="shared with dnsperf: this limits the cold and mixed numbers of a server that needs less CPU than the client side"
	else
		shared="shared with the server under test: its CPU pays for the upstream's answers too"
	fi
	echo "- Pinning: server under test on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU; nsd on CPU $NSD_CPU while it is" \
		"the upstream ($shared), on CPU $SERVER_CPU for the ceiling"
	echo "- Repetitions: $REPEAT per server, workload and mode, interleaved; each cell is from the run with the" \
		"median QPS (fixed-rate runs: median p99), all runs in runs.tsv"
	echo "- dnsperf: UDP, -c $CLIENTS -q $OUTSTANDING, max runs -l $DURATION; cold and mixed runs -n 1 (every cold name" \
		"asked once, a fresh server per run); fixed-rate runs -Q at 50% of Unbound's max QPS of the same workload, with -v"
	echo "- Workloads: $WORKLOADS; mixed = 90 % hot-set names (cached by a warm-up pass) and 10 % names asked once" \
		"(nine hot lines, then one cold, repeated)"
	if [ "$FLOOR" = 1 ]; then
		echo "- floor: bench/floor.c (cc -O2), pinned like the resolvers, hot workload only: echoes the question," \
			"sets QR, appends one fixed AAAA; epoll + recvmmsg/sendmmsg batches of 32, no DNS work" \
			"${FLOOR_ARGS:+(floor options: $FLOOR_ARGS)}"
	fi
	echo
	echo "QPS (max) and avg ms (max) come from the max-throughput run (at most $OUTSTANDING queries outstanding," \
		"so its latency is queueing). Latency percentiles come from the fixed-rate run, from dnsperf -v per-answer" \
		"latencies (lost queries are not in the percentiles; they are counted in 'lost')." \
		"Server CPU % is the server's utime+stime over the max run; 100% means the server was the bottleneck." \
		"Peak RSS is VmHWM (for nsd: the sum over its processes)." \
		"CPU us/answer is the server's utime+stime (whole process, /proc/PID/stat before and after the dnsperf run)" \
		"divided by the answers dnsperf counted (Queries completed); 'vs floor' divides that of the max run by" \
		"the floor's in the same workload."
	echo
	/usr/bin/python3 "$BENCH/report.py" table "$OUT/runs.tsv"
	echo "### Against the targets of issue 12 (same run)"
	echo
	/usr/bin/python3 "$BENCH/report.py" targets "$OUT/runs.tsv"
	echo "### Answer checks (after the cold max run, cached and fresh names)"
	echo
	for s in "${active[@]}"; do
		for f in "$OUT/$s.check."*.txt; do
			echo "- $s: $(tail -1 "$f" 2>/dev/null || echo 'not run')"
		done
	done
	echo
	for workload in hot cold mixed; do
		if [ -s "$OUT/perf.$workload.top.txt" ]; then
			echo "### dns64d profile, $workload (perf record -F 999 during an extra max-throughput run; top symbols)"
			echo
			echo '```'
			cat "$OUT/perf.$workload.dso.txt"
			echo
			cat "$OUT/perf.$workload.top.txt"
			echo '```'
			echo
		fi
	done
} >"$OUT/RESULTS.md"
# The newest run first, under the file's title; earlier runs stay below it.
{
	echo "# dns64d benchmark results"
	echo
	echo "Newest run first. Each section is one run of \`bench/run.sh\` (method: bench/README.md)."
	echo
	cat "$OUT/RESULTS.md"
	if [ -f "$RESULTS" ]; then
		echo
		awk 'NR == 1 && /^# / { skip = 1; next } skip && /^## / { skip = 0 } !skip' "$RESULTS"
	fi
} >"$OUT/RESULTS.merged.md"
cp "$OUT/RESULTS.merged.md" "$RESULTS"
cat "$RESULTS"
log "done; results in $RESULTS, raw output in $OUT"

#!/bin/bash
# Scale-out test: two dns64d backends behind dnsdist with health checks, one killed mid-run and restarted.
#
#   load.py ──> dnsdist 127.0.0.1:PD ──┬──> dns64d A 127.0.0.1:PA (metrics MA) ──┐
#   (fixed rate, UDP)   roundrobin     └──> dns64d B 127.0.0.1:PB (metrics MB) ──┴──> nsd 127.0.0.1:PN
#
# All on this host's loopback, on random free high ports; needs no root. A load generator sends
# AAAA queries at a fixed rate for ~24 s and records every query's fate. Checks: both backends
# receive client queries (counted in their query logs; health checks use another name); after
# A is killed (SIGKILL, by PID) dnsdist marks it down and B answers everything; queries are lost
# only in the window between the kill and dnsdist noticing; A restarted on the same port is
# marked up and receives queries again. Prints the failover figures.
#
# Exits 77 (SKIP) when dnsdist, nsd, dig or curl is missing. E2E_KEEP=1 keeps the temp dir.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need dnsdist nsd dig curl python3 awk
DNS64D=$(dns64d_bin)
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

RATE=${E2E_RATE:-300}
DURATION=24
KILL_AT=6        # seconds after the load starts
DOWN_FOR=4       # seconds A stays dead after dnsdist marked it down
PREFIX=2001:db8:64::/96

e2e_init dnsdist
D=$E2E_TMP
read -r PN PA PB MA MB PD <<<"$(free_ports 6)" || die "no free ports"
[[ -n "$PD" ]] || die "no free ports"
note "ports: nsd $PN, dns64d A $PA (metrics $MA), B $PB (metrics $MB), dnsdist $PD"

# --- nsd with 500 IPv4-only names and the health-check name ---------------------------------
{
	echo "\$ORIGIN e2e.test."
	echo "\$TTL 300"
	echo "@ SOA ns hostmaster 1 3600 900 604800 300"
	echo "@ NS ns"
	echo "ns A 127.0.0.1"
	echo "health 1 A 198.51.100.1"
	for ((i = 1; i <= 500; i++)); do
		echo "q$i A 10.$((i / 256)).$((i % 256)).1"
	done
} >"$D/e2e.test.zone"
mkdir -p "$D/nsd"
write_nsd_conf "$D/nsd" 127.0.0.1 "$PN" e2e.test "$D/e2e.test.zone"
e2e_bg "$D/nsd/stderr.log" - nsd -d -c "$D/nsd/nsd.conf"
wait_until 30 dns_answers - 127.0.0.1 "$PN" e2e.test SOA ||
	{ show_log nsd "$D/nsd/nsd.log"; die "nsd did not start"; }

# --- two dns64d instances --------------------------------------------------------------------
echo "127.0.0.0/8 dns64" >"$D/backends.acl"
for b in a b; do
	if [[ $b == a ]]; then port=$PA mport=$MA; else port=$PB mport=$MB; fi
	cat >"$D/$b.conf" <<-EOF
	listen 127.0.0.1:$port
	upstream 127.0.0.1:$PN
	acl backends.acl
	prefix $PREFIX
	metrics 127.0.0.1:$mport
	workers 2
	log-level info
	log-queries yes
	EOF
	"$DNS64D" -t -c "$D/$b.conf" >"$D/$b-check.log" 2>&1 || { show_log "dns64d -t" "$D/$b-check.log"; die "bad config"; }
done

# start_backend NAME LOG: start dns64d NAME in the foreground, wait until it answers
start_backend() {
	local b=$1 log=$2 port
	[[ $b == a ]] && port=$PA || port=$PB
	e2e_bg "$log" - "$DNS64D" -f -c "$D/$b.conf"
	wait_until 30 dns_answers - 127.0.0.1 "$port" e2e.test SOA || { show_log "dns64d $b" "$log"; return 1; }
}
start_backend a "$D/a1.log" || die "dns64d A did not start"
PID_A=$E2E_PID
start_backend b "$D/b.log" || die "dns64d B did not start"
PID_B=$E2E_PID

# --- dnsdist ---------------------------------------------------------------------------------
cat >"$D/dnsdist.conf" <<EOF
setLocal("127.0.0.1:$PD")
setACL({"127.0.0.0/8"})
setSecurityPollSuffix("")
newServer({address="127.0.0.1:$PA", name="dns64d-a",
           checkName="health.e2e.test.", checkType="AAAA", mustResolve=true,
           checkInterval=1, maxCheckFailures=2, rise=2, checkTimeout=500})
newServer({address="127.0.0.1:$PB", name="dns64d-b",
           checkName="health.e2e.test.", checkType="AAAA", mustResolve=true,
           checkInterval=1, maxCheckFailures=2, rise=2, checkTimeout=500})
setServerPolicy(roundrobin)
EOF
dnsdist --check-config -C "$D/dnsdist.conf" >"$D/dnsdist-check.log" 2>&1 ||
	{ show_log "dnsdist --check-config" "$D/dnsdist-check.log"; die "bad dnsdist config"; }
DNSDIST_LOG="$D/dnsdist.log"
e2e_bg "$DNSDIST_LOG" - dnsdist --supervised --disable-syslog -C "$D/dnsdist.conf"
PID_DNSDIST=$E2E_PID
wait_until 30 dns_answers - 127.0.0.1 "$PD" e2e.test SOA || { show_log dnsdist "$DNSDIST_LOG"; die "dnsdist did not start"; }
note "dnsdist and both backends up"

# --- a first query through the chain ---------------------------------------------------------
want=$(python3 -c 'import ipaddress, sys
print(ipaddress.IPv6Address(int(ipaddress.IPv6Network(sys.argv[1]).network_address) | int(ipaddress.IPv4Address(sys.argv[2]))))' \
	"$PREFIX" 10.0.1.1)
got=$(dig +time=2 +tries=1 +short -p "$PD" @127.0.0.1 AAAA q1.e2e.test)
check "AAAA q1.e2e.test through dnsdist is synthesized: $want (got '${got//$'\n'/ }')" test "$got" == "$want"

# --- load generator: fixed rate, every query's fate in a JSON file ----------------------------
cat >"$D/load.py" <<'EOF'
# Fixed-rate UDP DNS load: sends AAAA qNNN.e2e.test to HOST:PORT, records send time and outcome.
import json, select, socket, struct, sys, time

host, port, rate, duration, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
TIMEOUT = 2.0

def query(qid, name):
    wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        wire += bytes([len(label)]) + label.encode()
    return wire + b"\x00" + struct.pack("!HH", 28, 1)

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.connect((host, port))
s.setblocking(False)
sent = []          # [send_time, outcome]; outcome: None pending, "ok", "bad:<why>", "lost"
pending = {}       # qid -> index in sent
t0 = time.time()
end = t0 + duration
next_send = t0
n = 0
while True:
    now = time.time()
    while next_send <= now and next_send < end:
        qid = n & 0xFFFF
        if qid in pending:          # id reused after 65536 queries while still pending: lost
            sent[pending.pop(qid)][1] = "lost"
        try:
            s.send(query(qid, "q%d.e2e.test" % (n % 500 + 1)))
        except OSError:
            pass                    # counted as lost when it times out
        pending[qid] = len(sent)
        sent.append([next_send, None])
        n += 1
        next_send = t0 + n / rate
    for qid in [q for q, i in pending.items() if now - sent[i][0] > TIMEOUT]:
        sent[pending.pop(qid)][1] = "lost"
    if now >= end and not pending:
        break
    wait = min(max(next_send - now, 0), 0.02) if now < end else 0.05
    r, _, _ = select.select([s], [], [], wait)
    while r:
        try:
            data = s.recv(4096)
        except (BlockingIOError, ConnectionRefusedError):
            break
        if len(data) < 12:
            continue
        qid, flags, qd, an = struct.unpack("!HHHH", data[:8])
        i = pending.pop(qid, None)
        if i is None:
            continue
        rc = flags & 0xF
        sent[i][1] = "ok" if rc == 0 and an > 0 else "bad:rcode%d-an%d" % (rc, an)
json.dump({"t0": t0, "rate": rate, "queries": sent}, open(out, "w"))
EOF

# count_load LOGFILE [FROM_LINE]: client (load) queries a backend logged, from line FROM_LINE on
count_load() {
	tail -n +"${2:-1}" "$1" 2>/dev/null | grep -cE "name 'q[0-9]+\.e2e\.test\.'"
}
lines_of() {
	wc -l <"$1"
}
# metrics_total PORT: sum of dns64d_queries_total on a backend's metrics endpoint
metrics_total() {
	curl -s --max-time 2 "http://127.0.0.1:$1/metrics" |
		awk '/^dns64d_queries_total\{/ { s += $NF } END { printf "%d\n", s }'
}
# wait_log PATTERN FROM_LINE SECONDS: wait until dnsdist logs PATTERN after line FROM_LINE
wait_log() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	wait_until "$3" bash -c 'tail -n +"$2" "$3" | grep -q -- "$1"' _ "$1" "$2" "$DNSDIST_LOG"
}

note "load: $RATE queries/s for $DURATION s through dnsdist"
e2e_bg "$D/load.log" - "$PY" "$D/load.py" 127.0.0.1 "$PD" "$RATE" "$DURATION" "$D/load.json"
PID_LOAD=$E2E_PID

sleep "$KILL_AT"
A1_LOAD=$(count_load "$D/a1.log")
B_BEFORE=$(count_load "$D/b.log")
A1_METRICS=$(metrics_total "$MA")
check "both backends receive client queries before the kill (A $A1_LOAD, B $B_BEFORE)" \
	test "$A1_LOAD" -ge $((RATE * KILL_AT / 5)) -a "$B_BEFORE" -ge $((RATE * KILL_AT / 5))
check "dns64d A metrics count its client and health-check queries ($A1_METRICS >= $A1_LOAD)" \
	test "$A1_METRICS" -ge "$A1_LOAD" -a "$A1_LOAD" -gt 0

# --- kill A, wait for dnsdist to mark it down ------------------------------------------------
LOG_MARK=$(($(lines_of "$DNSDIST_LOG") + 1))
T_KILL=$(now)
{
	kill -KILL "$PID_A"
	wait "$PID_A"
} 2>/dev/null # no "Killed" job message
note "killed dns64d A (PID $PID_A, SIGKILL)"
if wait_log "dns64d-a.*'down'" "$LOG_MARK" 20; then
	T_DOWN=$(now)
	DETECT=$(elapsed "$T_KILL")
	pass "dnsdist marked A down ${DETECT} s after the kill"
else
	T_DOWN=$(now)
	DETECT=none
	fail "dnsdist did not mark A down within 20 s"
	show_log dnsdist "$DNSDIST_LOG"
fi
B_MARK_DOWN=$(($(lines_of "$D/b.log") + 1))

sleep "$DOWN_FOR"
B_WHILE_DOWN=$(count_load "$D/b.log" "$B_MARK_DOWN")
check "B answers the clients while A is down ($B_WHILE_DOWN queries in ${DOWN_FOR} s)" \
	test "$B_WHILE_DOWN" -ge $((RATE * DOWN_FOR / 2))

# --- restart A on the same port, wait for dnsdist to mark it up -------------------------------
LOG_MARK=$(($(lines_of "$DNSDIST_LOG") + 1))
T_RESTART=$(now)
if start_backend a "$D/a2.log"; then
	PID_A=$E2E_PID
	note "restarted dns64d A (PID $PID_A)"
	if wait_log "dns64d-a.*'up'" "$LOG_MARK" 20; then
		T_UP=$(now)
		pass "dnsdist marked A up again $(elapsed "$T_RESTART") s after the restart"
	else
		T_UP=$(now)
		fail "dnsdist did not mark A up within 20 s of the restart"
		show_log dnsdist "$DNSDIST_LOG"
	fi
else
	T_UP=$(now)
	fail "dns64d A did not restart"
fi
B_MARK_UP=$(($(lines_of "$D/b.log") + 1))

wait "$PID_LOAD"
LOAD_RC=$?
check "load generator finished" test "$LOAD_RC" -eq 0
A2_LOAD=$(count_load "$D/a2.log")
B_AFTER=$(count_load "$D/b.log" "$B_MARK_UP")
check "restarted A receives client queries again (A $A2_LOAD, B $B_AFTER after A came back)" \
	test "$A2_LOAD" -gt 0 -a "$A2_LOAD" -ge $((B_AFTER / 3))

# --- failover figures from the load generator's record -----------------------------------------
"$PY" - "$D/load.json" "$T_KILL" "$T_DOWN" "$T_RESTART" "$T_UP" >"$D/figures.txt" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
kill, down, restart, up = map(float, sys.argv[2:6])
q = d["queries"]
lost = [t for t, o in q if o == "lost"]
bad = [o for t, o in q if o and o.startswith("bad")]
# a query is exposed to the failover when sent from just before the kill (in flight at A: up
# to a second on a busy machine) until dnsdist's next health check after it logged 'down'
# could have been acted on
lo, hi = kill - 1.0, down + 0.5
inside = [t for t in lost if lo <= t <= hi]
outside = [t for t in lost if not lo <= t <= hi]
print("sent %d" % len(q))
print("answered %d" % sum(1 for t, o in q if o == "ok"))
print("bad %d %s" % (len(bad), sorted(set(bad))[:5]))
print("lost %d" % len(lost))
print("lost_in_window %d" % len(inside))
print("lost_outside %d %s" % (len(outside), ["%+.2f" % (t - kill) for t in outside[:10]]))
if lost:
    print("lost_span %+.3f %+.3f" % (min(lost) - kill, max(lost) - kill))
else:
    print("lost_span none")
print("sent_while_down %d" % sum(1 for t, o in q if down + 0.5 < t < up))
for sec in range(int(max(t for t, o in q) - d["t0"]) + 1):
    s = [o for t, o in q if sec <= t - d["t0"] < sec + 1]
    print("second %2d sent %4d ok %4d lost %4d" % (sec, len(s), s.count("ok"), s.count("lost")))
EOF
field() {
	awk -v k="$1" '$1 == k { print $2 }' "$D/figures.txt"
}
SENT=$(field sent)
LOST=$(field lost)
echo "---- load timeline (kill at +$KILL_AT s) ----"
grep '^second' "$D/figures.txt"
echo "----"
echo "FAILOVER: sent $SENT, answered $(field answered), lost $LOST (all within $(awk '$1 == "lost_span" { print $2 " .. " $3 }' "$D/figures.txt") s of the kill), dnsdist detection ${DETECT} s, rate $RATE/s"
check "every answer is NOERROR with a synthesized AAAA ($(grep '^bad' "$D/figures.txt"))" test "$(field bad)" == 0
check "queries were lost only between the kill and dnsdist marking A down ($(grep '^lost_outside' "$D/figures.txt"))" \
	test "$(field lost_outside)" == 0
check "at least 95% of the queries were answered ($LOST of $SENT lost)" test "$((LOST * 20))" -le "$SENT"
check "dns64d B still running" kill -0 "$PID_B"
check "dnsdist still running" kill -0 "$PID_DNSDIST"
if ((E2E_FAILS > 0)); then
	show_log dnsdist "$DNSDIST_LOG"
	cat "$D/figures.txt"
fi
e2e_finish

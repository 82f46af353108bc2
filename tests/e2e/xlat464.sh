#!/bin/bash
# End-to-end 464XLAT: an IPv6-only client with a CLAT (a second Tayga) reaches an IPv4 literal through the NAT64 gateway.
#
# The NAT64 path of nat64.sh (three namespaces: client, gw with Tayga as the PLAT and dns64d,
# v4net with nsd and a web server), plus what clatd does on a Linux client: a Tayga in the
# client namespace that translates the client's own IPv4 traffic (host address 192.0.0.1, an
# IPv4 default route into the tun "clat") to IPv6 from a dedicated address 2001:db8:c1a7::1,
# routed back to the client by the gw. The CLAT's NAT64 prefix is discovered by a few lines of
# script, twice:
#
#   phase rfc7050  PLAT prefix 2001:db8:64::/96, dns64d `prefix 2001:db8:64::/96`; the client
#                  asks dns64d for AAAA ipv4only.arpa and finds 192.0.0.170/171 in the answer
#                  (RFC 7050 section 3, every RFC 6052 length tried, /96 first).
#   phase pref64   PLAT prefix 2001:db8:46::/64; the gw sends router advertisements with a
#                  PREF64 option (RFC 8781) for it, once a second; the client reads the prefix
#                  from them, and dns64d, with `prefix-from-ra cl` and no `prefix` line, learns
#                  it from the same advertisements (their copy looped back to the gw itself).
#
# In each phase: without the CLAT `curl http://SRV4/` fails (no IPv4 route); with it the page
# comes from the IPv4 literal, the web server sees a Tayga pool address (the PLAT translated
# it); `curl` by name still connects to the synthesized IPv6 address (no CLAT, one translation).
#
# Needs root, `ip netns`, /dev/net/tun, tayga, nsd, dig, curl, python3; exits 77 (SKIP) otherwise.
# E2E_KEEP=1 keeps the temp dir with all configs and logs.

# shellcheck source=tests/e2e/lib.sh disable=SC2317 # helpers are called through check
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, tun device)"
[[ -c /dev/net/tun ]] || skip "/dev/net/tun is missing (no tun module)"
need ip tayga nsd dig curl python3 awk
DNS64D=$(dns64d_bin)

e2e_init xlat464

probe="e2e-probe-$$"
ip netns add "$probe" 2>/dev/null || skip "'ip netns add' failed (no permission to create network namespaces)"
ip netns del "$probe"

CLIENT6=2001:db8:1::10
GW6=2001:db8:1::1
SRV4=10.64.0.10
GW4=10.64.0.1
POOL4=192.168.255.0/24
CLAT_NET6=2001:db8:c1a7::/64
CLAT_HOST6=2001:db8:c1a7::1 # the client's IPv4 traffic comes from here
CLAT_SELF6=2001:db8:c1a7::2 # Tayga's own (ICMP errors)
CLAT_HOST4=192.0.0.1        # the client's IPv4 address (RFC 7335 range)
CLAT_SELF4=192.0.0.2

NS_V4="e2e-x-v4net-$$"
NS_GW="e2e-x-gw-$$"
NS_CL="e2e-x-client-$$"

# The RFC 6052 addresses the checks expect, all in one python3 run (startup is what costs):
# SYNTH[PREFIX,IPV4] for the two prefixes and the server and ipv4only.arpa addresses. dig and
# curl print addresses in the RFC 5952 form Python's ipaddress writes.
declare -A SYNTH
while read -r key addr; do
	SYNTH[$key]=$addr
done < <(python3 - <<-'EOF'
	import ipaddress
	for prefix in ("2001:db8:64::/96", "2001:db8:46::/64"):
	    for v4 in ("10.64.0.10", "192.0.0.170"):
	        n = ipaddress.IPv6Network(prefix)
	        b = bytearray(n.network_address.packed)
	        pos = [i for i in range(n.prefixlen // 8, 16) if i != 8][:4]
	        for i, v in zip(pos, ipaddress.IPv4Address(v4).packed):
	            b[i] = v
	        print("%s,%s %s" % (prefix, v4, ipaddress.IPv6Address(bytes(b))))
	EOF
)

# discover_rfc7050 SERVER: the NAT64 prefix from SERVER's AAAA answer for ipv4only.arpa, as
# clatd finds it: the well-known addresses 192.0.0.170/171 at the position of each RFC 6052 length
discover_rfc7050() {
	ip netns exec "$NS_CL" python3 - "$1" <<-'EOF'
	import ipaddress, subprocess, sys
	out = subprocess.run(["dig", "+short", "+time=2", "+tries=2", "@" + sys.argv[1], "AAAA", "ipv4only.arpa"],
	                     stdout=subprocess.PIPE, text=True).stdout.split()
	wka = {bytes([192, 0, 0, 170]), bytes([192, 0, 0, 171])}
	found = set()
	for a in out:
	    b = ipaddress.IPv6Address(a).packed
	    for plen in (96, 64, 56, 48, 40, 32):
	        pos = [i for i in range(plen // 8, 16) if i != 8][:4]
	        if bytes(b[i] for i in pos) in wka:
	            found.add(str(ipaddress.IPv6Network((b[:plen // 8] + bytes(16 - plen // 8), plen))))
	            break
	if len(found) != 1:
	    sys.exit("no single prefix in %r: %r" % (out, sorted(found)))
	print(found.pop())
	EOF
}

# discover_pref64 IFACE SECONDS: solicit a router advertisement on IFACE in the client and print
# the prefix of the first PREF64 option with a lifetime (RFC 8781 section 4)
discover_pref64() {
	ip netns exec "$NS_CL" python3 - "$1" "$2" <<-'EOF'
	import ipaddress, select, socket, sys, time
	ifname, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
	idx = socket.if_nametoindex(ifname)
	s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
	s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
	s.sendto(bytes([133, 0, 0, 0, 0, 0, 0, 0]), ("ff02::2", 0, 0, idx))  # router solicitation
	while time.monotonic() < deadline:
	    if not select.select([s], [], [], max(0, deadline - time.monotonic()))[0]:
	        break
	    m = s.recv(4096)
	    off = 16
	    while m[:1] == b"\x86" and off + 2 <= len(m) and m[off + 1]:
	        t, olen = m[off], m[off + 1] * 8
	        if t == 38 and olen == 16:
	            word = m[off + 2] << 8 | m[off + 3]
	            plen = (96, 64, 56, 48, 40, 32, 0, 0)[word & 7]
	            if plen and word >> 3:
	                a = m[off + 4:off + 4 + plen // 8] + bytes(16 - plen // 8)
	                print(ipaddress.IPv6Network((a, plen)))
	                sys.exit(0)
	        off += olen
	sys.exit("no PREF64 option within the time")
	EOF
}

# write_ra_sender FILE: a script "FILE IFACE PREFIX" that sends a router advertisement with a
# PREF64 option for PREFIX (lifetime 600 s, router lifetime 0) to all nodes on IFACE once a second
write_ra_sender() {
	cat >"$1" <<-'EOF'
	import ipaddress, socket, struct, sys, time
	ifname, net = sys.argv[1], ipaddress.IPv6Network(sys.argv[2])
	idx = socket.if_nametoindex(ifname)
	plc = {96: 0, 64: 1, 56: 2, 48: 3, 40: 4, 32: 5}[net.prefixlen]
	pref64 = struct.pack("!BBH", 38, 2, (600 // 8) << 3 | plc) + net.network_address.packed[:12]
	ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 0, 0, 0) + pref64
	s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
	s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
	while True:
	    s.sendto(ra, ("ff02::1", 0, 0, idx))
	    print("sent", flush=True)
	    time.sleep(1)
	EOF
}

# setup: namespaces, links, addresses, routes; nsd and the web server in v4net; the tuns
setup() {
	local dir=$E2E_TMP ns
	mkdir -p "$dir/www" "$dir/nsd"
	for ns in "$NS_V4" "$NS_GW" "$NS_CL"; do
		e2e_netns_add "$ns" || { fail "create namespace '$ns'"; return 1; }
	done
	ip link add v4 netns "$NS_GW" type veth peer name gw netns "$NS_V4" || return 1
	ip link add cl netns "$NS_GW" type veth peer name gw netns "$NS_CL" || return 1

	ip netns exec "$NS_V4" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$NS_V4" addr add "$SRV4/24" dev gw
	ip -n "$NS_V4" link set gw up
	ip -n "$NS_V4" route add default via "$GW4"

	ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$NS_GW" addr add "$GW4/24" dev v4
	ip -n "$NS_GW" addr add "$GW6/64" dev cl nodad
	ip -n "$NS_GW" link set v4 up
	ip -n "$NS_GW" link set cl up
	ip -n "$NS_GW" -6 route add "$CLAT_NET6" via "$CLIENT6" dev cl

	# the client forwards between its link and the CLAT's tun, as a clatd host does
	ip netns exec "$NS_CL" sysctl -qw net.ipv6.conf.all.forwarding=1
	ip -n "$NS_CL" addr add "$CLIENT6/64" dev gw nodad
	ip -n "$NS_CL" link set gw up
	ip -n "$NS_CL" -6 route add default via "$GW6" dev gw
	mkdir -p "/etc/netns/$NS_CL"
	e2e_rm_on_exit "/etc/netns/$NS_CL"
	echo "nameserver $GW6" >"/etc/netns/$NS_CL/resolv.conf"

	PAGE_TOKEN="dns64d-e2e-xlat-$$-$RANDOM$RANDOM"
	echo "$PAGE_TOKEN" >"$dir/www/hello.txt"
	e2e_bg "$dir/http.log" "$NS_V4" python3 -u -m http.server 80 --bind "$SRV4" --directory "$dir/www"
	HTTP_LOG="$dir/http.log"
	cat >"$dir/nsd/e2e.test.zone" <<-EOF
	\$ORIGIN e2e.test.
	\$TTL 300
	@         SOA   ns hostmaster 1 3600 900 604800 300
	@         NS    ns
	ns        A     $SRV4
	v4only    A     $SRV4
	EOF
	write_nsd_conf "$dir/nsd" "$SRV4" 53 e2e.test "$dir/nsd/e2e.test.zone"
	e2e_bg "$dir/nsd/stderr.log" "$NS_V4" nsd -d -c "$dir/nsd/nsd.conf"

	# the PLAT's tun in gw, the CLAT's in the client: persistent, each phase starts its Taygas
	printf 'tun-device nat64\nipv4-addr 192.168.255.1\nprefix 2001:db8:64::/96\ndynamic-pool %s\ndata-dir %s\n' \
		"$POOL4" "$dir" >"$dir/mktun-plat.conf"
	printf 'tun-device clat\nipv4-addr %s\nprefix 2001:db8:64::/96\nmap %s %s\ndata-dir %s\n' "$CLAT_SELF4" \
		"$CLAT_HOST4" "$CLAT_HOST6" "$dir" >"$dir/mktun-clat.conf"
	if ! ip netns exec "$NS_GW" tayga -c "$dir/mktun-plat.conf" --mktun >"$dir/mktun.log" 2>&1 ||
		! ip netns exec "$NS_CL" tayga -c "$dir/mktun-clat.conf" --mktun >>"$dir/mktun.log" 2>&1; then
		show_log "tayga --mktun" "$dir/mktun.log"
		return 1
	fi
	ip -n "$NS_GW" link set nat64 up
	ip -n "$NS_GW" route add "$POOL4" dev nat64
	ip -n "$NS_CL" link set clat up
	ip -n "$NS_CL" addr add "$CLAT_HOST4/29" dev clat
	ip -n "$NS_CL" -6 route add "$CLAT_NET6" dev clat

	wait_until 30 dns_answers "$NS_V4" "$SRV4" 53 e2e.test SOA ||
		{ show_log nsd "$dir/nsd/nsd.log"; return 1; }
	wait_until 30 ip netns exec "$NS_V4" curl -s -o /dev/null --max-time 1 "http://$SRV4/hello.txt" ||
		{ show_log http.server "$HTTP_LOG"; return 1; }
}

# start_plat PHASE PREFIX: Tayga in gw for PREFIX (its route into the tun added once)
start_plat() {
	local dir=$E2E_TMP/$1
	mkdir -p "$dir/plat"
	printf 'tun-device nat64\nipv4-addr 192.168.255.1\nprefix %s\ndynamic-pool %s\ndata-dir %s\n' "$2" "$POOL4" \
		"$dir/plat" >"$dir/plat.conf"
	ip -n "$NS_GW" -6 route replace "$2" dev nat64
	e2e_bg "$dir/plat.log" "$NS_GW" tayga -c "$dir/plat.conf" --nodetach
	PLAT_PID=$E2E_PID
}

# start_dns64d PHASE CONFIG-LINES: dns64d in gw, its config's last lines given
start_dns64d() {
	local dir=$E2E_TMP/$1
	mkdir -p "$dir"
	cat >"$dir/dns64d.conf" <<-EOF
	listen 127.0.0.1:53
	listen [$GW6]:53
	upstream $SRV4:53
	acl dns64d.acl
	timeout 1000
	workers 2
	log-level info
	log-queries yes
	$2
	EOF
	printf '127.0.0.0/8 dns64\n::1/128 dns64\n2001:db8:1::/64 dns64\n' >"$dir/dns64d.acl"
	ip netns exec "$NS_GW" "$DNS64D" -t -c "$dir/dns64d.conf" >"$dir/dns64d-check.log" 2>&1 ||
		{ show_log "dns64d -t" "$dir/dns64d-check.log"; return 1; }
	e2e_bg "$dir/dns64d.log" "$NS_GW" "$DNS64D" -f -c "$dir/dns64d.conf"
	DNS64D_PID=$E2E_PID
	DNS64D_LOG="$dir/dns64d.log"
	wait_until 30 dns_answers "$NS_GW" 127.0.0.1 53 e2e.test SOA || { show_log dns64d "$DNS64D_LOG"; return 1; }
}

# start_clat PHASE PREFIX: the CLAT Tayga in the client, IPv4 default route into it
start_clat() {
	local dir=$E2E_TMP/$1
	mkdir -p "$dir/clat"
	printf 'tun-device clat\nipv4-addr %s\nipv6-addr %s\nprefix %s\nmap %s %s\ndata-dir %s\n' "$CLAT_SELF4" \
		"$CLAT_SELF6" "$2" "$CLAT_HOST4" "$CLAT_HOST6" "$dir/clat" >"$dir/clat.conf"
	e2e_bg "$dir/clat.log" "$NS_CL" tayga -c "$dir/clat.conf" --nodetach
	CLAT_PID=$E2E_PID
	CLAT_LOG="$dir/clat.log"
	ip -n "$NS_CL" route replace default dev clat src "$CLAT_HOST4"
}

# curl_page OUTVAR URL: curl in the client; the page must be the token; remote IP in OUTVAR
curl_page() {
	local -n _ip=$1
	local out body err="$E2E_TMP/curl.err"
	out=$(ip netns exec "$NS_CL" curl -g -sS --max-time 10 -w '\n%{remote_ip}' "$2" 2>"$err")
	body=$(head -n -1 <<<"$out")
	_ip=$(tail -n 1 <<<"$out")
	[[ "$body" == "$PAGE_TOKEN" ]] && return 0
	echo "  curl $2: got '${body//$'\n'/ | }' $(cat "$err")"
	return 1
}

no_ipv4_path() {
	! ip netns exec "$NS_CL" curl -sS --max-time 3 "http://$SRV4/hello.txt" >/dev/null 2>&1
}

ipv4only_in() {
	local want=$1 got
	got=$(ip netns exec "$NS_CL" dig +short +time=2 +tries=1 "@$GW6" AAAA ipv4only.arpa | head -n 1)
	[[ -n "$got" && "$got" == "${SYNTH[$want,192.0.0.170]}" ]] ||
		{ echo "  ipv4only.arpa AAAA '$got', expected ${SYNTH[$want,192.0.0.170]}"; return 1; }
}

# the checks of one phase once the CLAT runs with PREFIX
xlat_checks() {
	local phase=$1 prefix=$2 ip t hits
	t=$(now)
	hits=$(grep -c '"GET /hello.txt' "$HTTP_LOG")
	check "[$phase] curl http://$SRV4/hello.txt (an IPv4 literal) through CLAT and PLAT" \
		curl_page ip "http://$SRV4/hello.txt"
	timing "[$phase] curl to the IPv4 literal" "$t"
	check "[$phase] the client connected to $SRV4 over IPv4 (got '$ip')" test "$ip" == "$SRV4"
	check "[$phase] the web server saw an address of the PLAT's pool $POOL4" \
		test "$(grep '"GET /hello.txt' "$HTTP_LOG" | tail -n +$((hits + 1)) | grep -cE '^192\.168\.255\.')" -ge 1
	check "[$phase] curl http://v4only.e2e.test/hello.txt by name" curl_page ip http://v4only.e2e.test/hello.txt
	check "[$phase] by name it connected to the synthesized ${SYNTH[$prefix,$SRV4]}, not through the CLAT" \
		test "${ip:-none}" == "${SYNTH[$prefix,$SRV4]}"
	check "[$phase] CLAT Tayga still running" kill -0 "$CLAT_PID"
	check "[$phase] PLAT Tayga still running" kill -0 "$PLAT_PID"
	check "[$phase] dns64d still running" kill -0 "$DNS64D_PID"
}

# end_phase PHASE: stop the phase's processes (not the web server and nsd)
end_phase() {
	stop_pid "$CLAT_PID"
	stop_pid "$DNS64D_PID"
	stop_pid "$PLAT_PID"
	[[ -n "${RA_PID:-}" ]] && stop_pid "$RA_PID"
	RA_PID=
	ip -n "$NS_CL" route del default dev clat 2>/dev/null
	if ((E2E_FAILS > 0)); then
		show_log dns64d "$DNS64D_LOG"
		show_log "CLAT tayga" "$CLAT_LOG"
	fi
}

t=$(now)
if ! setup; then
	fail "set-up of namespaces, tuns, nsd, web server"
	e2e_finish
fi
timing "set-up (3 netns, 2 tuns, nsd, http.server)" "$t"

echo "=== phase rfc7050: PLAT 2001:db8:64::/96, the CLAT asks dns64d for ipv4only.arpa ==="
P1=2001:db8:64::/96
t=$(now)
start_plat rfc7050 "$P1"
if start_dns64d rfc7050 "prefix $P1"; then
	timing "[rfc7050] PLAT and dns64d started" "$t"
	t=$(now)
	check "[rfc7050] without a CLAT the IPv4 literal is unreachable" no_ipv4_path
	timing "[rfc7050] curl without a CLAT" "$t"
	t=$(now)
	found=$(discover_rfc7050 "$GW6")
	timing "[rfc7050] prefix discovery" "$t"
	check "[rfc7050] the CLAT's prefix from AAAA ipv4only.arpa is $P1 (found '$found')" test "$found" == "$P1"
	start_clat rfc7050 "${found:-$P1}"
	xlat_checks rfc7050 "$P1"
else
	fail "[rfc7050] dns64d start"
fi
t=$(now)
end_phase rfc7050
timing "[rfc7050] stopped" "$t"

echo "=== phase pref64: PLAT 2001:db8:46::/64 advertised in RAs; CLAT and dns64d learn it there ==="
P2=2001:db8:46::/64
start_plat pref64 "$P2"
write_ra_sender "$E2E_TMP/ra_sender.py"
e2e_bg "$E2E_TMP/ra.log" "$NS_GW" python3 "$E2E_TMP/ra_sender.py" cl "$P2"
RA_PID=$E2E_PID
t=$(now)
if start_dns64d pref64 "prefix-from-ra cl"; then
	timing "[pref64] PLAT and dns64d started" "$t"
	check "[pref64] dns64d synthesizes with the advertised prefix (ipv4only.arpa in $P2)" \
		wait_until 10 ipv4only_in "$P2"
	check "[pref64] dns64d logged the advertised prefix" \
		grep -q "prefix-from-ra: 'cl' advertises NAT64 prefix '$P2'" "$DNS64D_LOG"
	check "[pref64] without a CLAT the IPv4 literal is unreachable" no_ipv4_path
	t=$(now)
	found=$(discover_pref64 gw 10)
	timing "[pref64] prefix discovery from a router advertisement" "$t"
	check "[pref64] the CLAT's prefix from the PREF64 option is $P2 (found '$found')" test "$found" == "$P2"
	start_clat pref64 "${found:-$P2}"
	xlat_checks pref64 "$P2"
else
	fail "[pref64] dns64d start"
fi
end_phase pref64

e2e_finish

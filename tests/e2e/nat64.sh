#!/bin/bash
# End-to-end NAT64 test: an IPv6-only client reaches an IPv4-only web server by name through dns64d and Tayga.
#
# Three network namespaces per phase, joined by veth pairs created directly inside them (nothing
# of the host's own network is touched):
#
#   client (IPv6 only)          gw (NAT64 gateway)                       v4net (IPv4 only)
#   2001:db8:1::10/64  ── gw|cl ── 2001:db8:1::1/64   [dns64d :53]        SRV4/24  nsd :53
#   2001:db8:2::10/64 (refused)    Tayga tun "nat64"  GW4/24 ── v4|gw ── python3 -m http.server :80
#                                  pool 192.168.255.0/24
#
# Phase "nsp": prefix 2001:db8:64::/96, server 10.64.0.10 (private IPv4 works with a network-
# specific prefix). Phase "wkp": prefix 64:ff9b::/96, server 11.0.0.10 (global-looking, exists only
# inside the namespaces). Checks from the client: AAAA of the IPv4-only name is synthesized, curl
# fetches the page through Tayga with that address (and by name through the system resolver),
# the dual-stack name keeps its real AAAA, a source from 2001:db8:2::/64 is REFUSED, and a
# non-global IPv4 address is synthesized with the NSP but not with the WKP (RFC 6052 section 3.1).
#
# Needs root, `ip netns`, /dev/net/tun, tayga, nsd, dig, curl, python3; exits 77 (SKIP) otherwise.
# E2E_KEEP=1 keeps the temp dir with all configs and logs.

# shellcheck source=tests/e2e/lib.sh disable=SC2317 # helpers are called through check
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, tun device)"
[[ -c /dev/net/tun ]] || skip "/dev/net/tun is missing (no tun module)"
need ip tayga nsd dig curl python3 awk
DNS64D=$(dns64d_bin)

e2e_init nat64

probe="e2e-probe-$$"
ip netns add "$probe" 2>/dev/null || skip "'ip netns add' failed (no permission to create network namespaces)"
ip netns del "$probe"

CLIENT6=2001:db8:1::10
REFUSED6=2001:db8:2::10
GW6=2001:db8:1::1
DUAL6=2001:db8:99::80
NONGLOBAL4=192.168.77.7
POOL4=192.168.255.0/24
TAYGA4=192.168.255.1

# v6norm ADDR...: canonical (RFC 5952) text of IPv6 addresses, one per line, sorted
v6norm() {
	python3 -c 'import ipaddress, sys
def norm(a):
    try:
        return str(ipaddress.IPv6Address(a))
    except ValueError:
        return "invalid:" + a
print("\n".join(sorted(norm(a) for a in sys.argv[1:])))' "$@"
}

# synth PREFIX/96 IPV4: the RFC 6052 address of IPV4 in a /96 prefix
synth() {
	python3 -c 'import ipaddress, sys
p = ipaddress.IPv6Network(sys.argv[1])
print(ipaddress.IPv6Address(int(p.network_address) | int(ipaddress.IPv4Address(sys.argv[2]))))' "$1" "$2"
}

# cdig ARGS...: dig in the client namespace, short timeouts
cdig() {
	ip netns exec "$NS_CL" dig +time=2 +tries=1 "$@"
}

# rcode_is RCODE ARGS...: the client's dig ARGS gets RCODE
rcode_is() {
	local want=$1 out
	shift
	out=$(cdig "$@" 2>&1)
	if grep -q "status: $want," <<<"$out"; then
		return 0
	fi
	echo "  dig $*: $(grep -o 'status: [A-Z]*' <<<"$out" || echo "no answer")"
	return 1
}

# aaaa_in EXPECTED DIGOUTPUT: the dig output is NOERROR with exactly the AAAA set EXPECTED
# (space-separated, empty for NODATA)
aaaa_in() {
	local want=$1 out=$2 got
	if ! grep -q "status: NOERROR," <<<"$out"; then
		echo "  dig: $(grep -o 'status: [A-Z]*' <<<"$out" || echo "no answer: ${out//$'\n'/ | }")"
		return 1
	fi
	got=$(awk '$4 == "AAAA" && $0 !~ /^;/ { print $5 }' <<<"$out")
	# shellcheck disable=SC2086
	got=$( [[ -n "$got" ]] && v6norm $got)
	# shellcheck disable=SC2086
	want=$( [[ -n "$want" ]] && v6norm $want)
	if [[ "$got" == "$want" ]]; then
		return 0
	fi
	echo "  dig: AAAA '${got//$'\n'/ }', expected '${want//$'\n'/ }'"
	return 1
}

# aaaa_is EXPECTED ARGS...: the client's dig ARGS returns NOERROR with exactly the AAAA set EXPECTED
aaaa_is() {
	local want=$1
	shift
	aaaa_in "$want" "$(cdig "$@" 2>&1)"
}

# setup_phase PHASE PREFIX SRV4 GW4 [TAYGA6]: namespaces, links, addresses, routes, sysctls,
# nsd + http.server in v4net, Tayga + dns64d in gw
setup_phase() {
	local phase=$1 prefix=$2 srv4=$3 gw4=$4 tayga6=${5:-} dir
	dir="$E2E_TMP/$phase"
	mkdir -p "$dir/www" "$dir/nsd" "$dir/tayga" "$dir/dns64d"
	NS_V4="e2e-v4net-$phase-$$"
	NS_GW="e2e-gw-$phase-$$"
	NS_CL="e2e-client-$phase-$$"
	local ns
	for ns in "$NS_V4" "$NS_GW" "$NS_CL"; do
		e2e_netns_add "$ns" || { fail "create namespace '$ns'"; return 1; }
	done

	# links: created inside the namespaces, never in the host's
	ip link add v4 netns "$NS_GW" type veth peer name gw netns "$NS_V4" || return 1
	ip link add cl netns "$NS_GW" type veth peer name gw netns "$NS_CL" || return 1

	# v4net: IPv4 only
	ip netns exec "$NS_V4" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$NS_V4" addr add "$srv4/24" dev gw
	ip -n "$NS_V4" link set gw up
	ip -n "$NS_V4" route add default via "$gw4"

	# gw: forwarding, its two links, Tayga's routes below
	ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$NS_GW" addr add "$gw4/24" dev v4
	ip -n "$NS_GW" addr add "$GW6/64" dev cl nodad
	ip -n "$NS_GW" link set v4 up
	ip -n "$NS_GW" link set cl up
	ip -n "$NS_GW" -6 route add 2001:db8:2::/64 dev cl

	# client: IPv6 only, two source networks, default route via gw
	ip -n "$NS_CL" addr add "$CLIENT6/64" dev gw nodad
	# deprecated (preferred_lft 0): never picked as a source address, only used with dig -b
	ip -n "$NS_CL" addr add "$REFUSED6/64" dev gw nodad preferred_lft 0
	ip -n "$NS_CL" link set gw up
	ip -n "$NS_CL" -6 route add default via "$GW6" dev gw
	# the client's system resolver (ip netns exec bind-mounts /etc/netns/NAME/resolv.conf)
	mkdir -p "/etc/netns/$NS_CL"
	e2e_rm_on_exit "/etc/netns/$NS_CL"
	echo "nameserver $GW6" >"/etc/netns/$NS_CL/resolv.conf"

	# v4net: web server with a known page, nsd with the test zone
	PAGE_TOKEN="dns64d-e2e-$phase-$$-$RANDOM$RANDOM"
	echo "$PAGE_TOKEN" >"$dir/www/hello.txt"
	e2e_bg "$dir/http.log" "$NS_V4" python3 -u -m http.server 80 --bind "$srv4" --directory "$dir/www"
	HTTP_LOG="$dir/http.log"
	cat >"$dir/nsd/e2e.test.zone" <<-EOF
	\$ORIGIN e2e.test.
	\$TTL 300
	@         SOA   ns hostmaster 1 3600 900 604800 300
	@         NS    ns
	ns        A     $srv4
	v4only    A     $srv4
	dual      A     $srv4
	dual      AAAA  $DUAL6
	nonglobal A     $NONGLOBAL4
	EOF
	write_nsd_conf "$dir/nsd" "$srv4" 53 e2e.test "$dir/nsd/e2e.test.zone"
	e2e_bg "$dir/nsd/stderr.log" "$NS_V4" nsd -d -c "$dir/nsd/nsd.conf"

	# gw: Tayga on a persistent tun, routes for the prefix and the pool into it
	{
		echo "tun-device nat64"
		echo "ipv4-addr $TAYGA4"
		[[ -n "$tayga6" ]] && echo "ipv6-addr $tayga6"
		echo "prefix $prefix"
		echo "dynamic-pool $POOL4"
		echo "data-dir $dir/tayga"
	} >"$dir/tayga.conf"
	ip netns exec "$NS_GW" tayga -c "$dir/tayga.conf" --mktun >"$dir/tayga-mktun.log" 2>&1 ||
		{ show_log "tayga --mktun" "$dir/tayga-mktun.log"; return 1; }
	ip -n "$NS_GW" link set nat64 up
	ip -n "$NS_GW" route add "$POOL4" dev nat64
	ip -n "$NS_GW" -6 route add "$prefix" dev nat64
	[[ -n "$tayga6" ]] && ip -n "$NS_GW" -6 route add "$tayga6/128" dev nat64
	e2e_bg "$dir/tayga.log" "$NS_GW" tayga -c "$dir/tayga.conf" --nodetach
	TAYGA_PID=$E2E_PID
	TAYGA_LOG="$dir/tayga.log"

	# gw: dns64d, same prefix, upstream nsd in v4net, ACL: client net dns64, 2001:db8:2::/64 refused
	cat >"$dir/dns64d/dns64d.acl" <<-EOF
	127.0.0.0/8      dns64
	::1/128          dns64
	2001:db8:1::/64  dns64
	2001:db8:2::/64  refuse
	EOF
	cat >"$dir/dns64d/dns64d.conf" <<-EOF
	listen 127.0.0.1:53
	listen [$GW6]:53
	upstream $srv4:53
	acl dns64d.acl
	prefix $prefix
	timeout 1000
	workers 2
	log-level info
	log-queries yes
	EOF
	"$DNS64D" -t -c "$dir/dns64d/dns64d.conf" >"$dir/dns64d-check.log" 2>&1 ||
		{ show_log "dns64d -t" "$dir/dns64d-check.log"; return 1; }
	e2e_bg "$dir/dns64d.log" "$NS_GW" "$DNS64D" -f -c "$dir/dns64d/dns64d.conf"
	DNS64D_PID=$E2E_PID
	DNS64D_LOG="$dir/dns64d.log"

	wait_until 30 dns_answers "$NS_V4" "$srv4" 53 e2e.test SOA ||
		{ show_log nsd "$dir/nsd/nsd.log"; show_log "nsd stderr" "$dir/nsd/stderr.log"; return 1; }
	# readiness of dns64d through the whole DNS path, without touching the names checked below
	wait_until 30 dns_answers "$NS_GW" 127.0.0.1 53 e2e.test SOA ||
		{ show_log dns64d "$DNS64D_LOG"; return 1; }
	wait_until 30 ip netns exec "$NS_V4" python3 -c \
		'import socket, sys; socket.create_connection((sys.argv[1], 80), 1).close()' "$srv4" ||
		{ show_log http.server "$HTTP_LOG"; return 1; }
	kill -0 "$TAYGA_PID" 2>/dev/null || { show_log tayga "$TAYGA_LOG"; return 1; }
	return 0
}

# client_is_ipv6_only: no IPv4 address but lo's 127.0.0.1, no IPv4 route outside lo
client_is_ipv6_only() {
	local a r
	a=$(ip -n "$NS_CL" -4 -o addr show | awk '{ print $4 }' | grep -v '^127\.0\.0\.1/8$')
	r=$(ip -n "$NS_CL" -4 route show table main)
	[[ -z "$a" && -z "$r" ]] || { echo "  client IPv4: '$a' routes: '$r'"; return 1; }
}

# curl_page OUTVAR ARGS...: curl in the client, the page must be the token; remote IP in OUTVAR
curl_page() {
	local -n _ip=$1
	shift
	local out body err
	err="$E2E_TMP/curl.err"
	out=$(ip netns exec "$NS_CL" curl -g -sS --max-time 10 -w '\n%{remote_ip}' "$@" 2>"$err")
	body=$(head -n -1 <<<"$out")
	_ip=$(tail -n 1 <<<"$out")
	if [[ "$body" == "$PAGE_TOKEN" ]]; then
		return 0
	fi
	echo "  curl $*: got '${body//$'\n'/ | }' $(cat "$err")"
	return 1
}

# run_phase PHASE PREFIX SRV4 GW4 [TAYGA6]
run_phase() {
	local phase=$1 prefix=$2 srv4=$3 t want addr ip out
	echo "=== phase $phase: prefix $prefix, IPv4 server $srv4 ==="
	t=$(now)
	if ! setup_phase "$@"; then
		fail "[$phase] set-up of namespaces, Tayga, nsd, dns64d"
		e2e_stop_all
		return
	fi
	timing "[$phase] namespace set-up (3 netns, Tayga, nsd, http.server, dns64d ready)" "$t"
	check "[$phase] client namespace has no IPv4 address or route" client_is_ipv6_only

	want=$(synth "$prefix" "$srv4")
	t=$(now)
	out=$(cdig "@$GW6" AAAA v4only.e2e.test 2>&1)
	timing "[$phase] first dig (AAAA v4only, cache cold; dig's 'Query time' $(awk '/Query time:/ { print $4, $5 }' <<<"$out"))" "$t"
	check "[$phase] AAAA v4only.e2e.test from dns64d is synthesized: $want" aaaa_in "$want" "$out"

	# use the address dns64d actually returned, not the computed one
	addr=$(cdig +short "@$GW6" AAAA v4only.e2e.test | head -n 1)
	if [[ -z "$addr" ]]; then
		fail "[$phase] curl through Tayga (dns64d returned no AAAA)"
	else
		t=$(now)
		check "[$phase] curl http://v4only.e2e.test/hello.txt via [$addr] (dig answer) through Tayga" \
			curl_page ip --resolve "v4only.e2e.test:80:[$addr]" http://v4only.e2e.test/hello.txt
		timing "[$phase] curl via the dug address" "$t"
		check "[$phase] curl connected to the synthesized address" test "$(v6norm "$ip")" == "$(v6norm "$addr")"
	fi

	t=$(now)
	check "[$phase] curl http://v4only.e2e.test/hello.txt by name (client resolv.conf -> dns64d)" \
		curl_page ip http://v4only.e2e.test/hello.txt
	timing "[$phase] curl by name" "$t"
	check "[$phase] curl by name connected to $want (got '${ip}')" test "$(v6norm "${ip:-none}")" == "$want"
	check "[$phase] web server saw the client as an address of Tayga's pool $POOL4" \
		grep -qE '^192\.168\.255\.[0-9]+ .*"GET /hello.txt' "$HTTP_LOG"
	check "[$phase] dns64d logged the synthesized answer to $CLIENT6" \
		grep -qE "client '\[?$CLIENT6\]?(:[0-9]+)?' name 'v4only\.e2e\.test\.?' type 'AAAA' .*synth 'yes'" "$DNS64D_LOG"

	check "[$phase] AAAA dual.e2e.test is its real AAAA $DUAL6" \
		aaaa_is "$DUAL6" "@$GW6" AAAA dual.e2e.test
	check "[$phase] A v4only.e2e.test is passed through" \
		test "$(cdig +short "@$GW6" A v4only.e2e.test)" == "$srv4"
	check "[$phase] client from refused network $REFUSED6 gets REFUSED" \
		rcode_is REFUSED -b "$REFUSED6" "@$GW6" AAAA v4only.e2e.test
	check "[$phase] client from allowed network $CLIENT6 gets NOERROR (-b)" \
		rcode_is NOERROR -b "$CLIENT6" "@$GW6" AAAA v4only.e2e.test
	if [[ "$prefix" == "64:ff9b::/96" ]]; then
		check "[$phase] non-global $NONGLOBAL4 is not synthesized with the WKP (NOERROR, no AAAA)" \
			aaaa_is "" "@$GW6" AAAA nonglobal.e2e.test
	else
		check "[$phase] non-global $NONGLOBAL4 is synthesized with a network-specific prefix" \
			aaaa_is "$(synth "$prefix" "$NONGLOBAL4")" "@$GW6" AAAA nonglobal.e2e.test
	fi
	check "[$phase] Tayga still running" kill -0 "$TAYGA_PID"
	check "[$phase] dns64d still running" kill -0 "$DNS64D_PID"

	if ((E2E_FAILS > 0)); then
		show_log dns64d "$DNS64D_LOG"
		show_log tayga "$TAYGA_LOG"
		show_log http.server "$HTTP_LOG"
	fi
	t=$(now)
	e2e_stop_all
	timing "[$phase] teardown" "$t"
}

run_phase nsp 2001:db8:64::/96 10.64.0.10 10.64.0.1
# with the WKP Tayga cannot derive its own IPv6 address from the private ipv4-addr: give it one
run_phase wkp 64:ff9b::/96 11.0.0.10 11.0.0.1 2001:db8:ff::1

e2e_finish

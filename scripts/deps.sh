#!/bin/sh
# shellcheck disable=SC2086 # package lists are split into words on purpose
# deps.sh - install the Debian 12 packages dns64d needs to build, run and test (as root).
# Usage: scripts/deps.sh [build|test]
#
# It never touches a service that was on the host before it ran. Debian starts packaged
# servers when they are installed; only for the test suite (`deps.sh test`), and only for a
# server whose package this very run has just installed, that service is stopped and disabled
# again (the tests start their own nsd, unbound and dnsdist on other ports). An Unbound or nsd
# that was already installed is left exactly as it was, running or not.
#
# Sourced with DNS64D_DEPS_LIB=1, it only defines the functions (tests/ops/test_quickstart.sh).
set -eu

BUILD="build-essential cmake pkg-config libuv1-dev libldns-dev libsodium-dev libcmocka-dev scdoc
       libgnutls28-dev libfstrm-dev libprotobuf-c-dev protobuf-c-compiler"
TEST="nsd dnsutils ldnsutils dnsperf unbound python3 python3-dnspython curl iproute2 procps
      clang-14 libfuzzer-14-dev libclang-rt-14-dev valgrind tayga dnsdist systemd
      debhelper devscripts lintian fakeroot gnutls-bin knot-dnsutils fstrm-bin"
# Servers that Debian starts on install, each named as its package.
SERVICES="nsd unbound dnsdist"

# wanted_packages MODE: the packages MODE (build or test) needs.
wanted_packages() {
	if [ "$1" = test ]; then
		echo $BUILD $TEST
	else
		echo $BUILD
	fi
}

# missing_packages PKG...: those of PKG that are not installed.
missing_packages() {
	out=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out="$out $p"
	done
	echo $out
}

# services_to_disable MODE MISSING: the services to stop and disable after installing MISSING
# (the packages that were missing before the install). Only in test mode, and only servers
# whose package is in MISSING.
services_to_disable() {
	mode=$1
	missing=" $2 "
	out=""
	[ "$mode" = test ] || return 0
	for s in $SERVICES; do
		case "$missing" in
		*" $s "*) out="$out $s" ;;
		esac
	done
	echo $out
}

main() {
	mode=${1:-build}
	case "$mode" in
	build | test) ;;
	*)
		echo "usage: $0 [build|test]" >&2
		exit 2
		;;
	esac
	# shellcheck disable=SC2046
	missing=$(missing_packages $(wanted_packages "$mode"))
	[ -z "$missing" ] && exit 0
	disable=$(services_to_disable "$mode" "$missing")
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	echo "deps.sh: installing: $missing"
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends $missing
	for s in $disable; do
		echo "deps.sh: $s was installed just now for the tests; stopping and disabling its service"
		$SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
	done
}

if [ "${DNS64D_DEPS_LIB:-0}" != 1 ]; then
	main "$@"
fi

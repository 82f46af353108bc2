#!/bin/sh
# deps.sh - install the Debian 12 packages dns64d needs to build, run and test (as root).
# Usage: scripts/deps.sh [build|test]
set -eu
BUILD="build-essential cmake pkg-config libuv1-dev libldns-dev libsodium-dev libcmocka-dev scdoc"
TEST="nsd dnsutils ldnsutils dnsperf unbound python3 python3-dnspython curl iproute2 procps
      clang-14 libfuzzer-14-dev libclang-rt-14-dev valgrind tayga dnsdist systemd
      debhelper devscripts lintian fakeroot"
want="$BUILD"
[ "${1:-build}" = test ] && want="$BUILD $TEST"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
# Debian starts packaged servers on install; the tests start their own on other ports.
for s in nsd unbound dnsdist; do
	$SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
done

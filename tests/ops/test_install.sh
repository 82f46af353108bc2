#!/bin/bash
# test_install.sh - a source install (cmake --install) is complete and never overwrites a config
#
# 1. DESTDIR=$(mktemp -d) cmake --install of the test build (whatever its prefix): binary in
#    sbin, man pages in share/man/man5 and man8, the unit in PREFIX/lib/systemd/system with
#    ExecStart at the installed binary, commented examples and the docs in share/doc/dns64d,
#    and /etc/dns64d/dns64d.conf and dns64d.acl; the installed config passes dns64d -t.
# 2. Installed again over a changed /etc/dns64d/dns64d.conf: the change stays, a missing ACL
#    comes back.
# 3. A build configured with prefix /usr (only the daemon and man pages are built) installs
#    the Debian layout: /usr/sbin, /usr/share/man, /lib/systemd/system (systemd.pc), /etc/dns64d.
# Exit 0 pass, 1 fail, 77 skip (no build directory).
set -u

src=${DNS64D_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${DNS64D_BUILD_DIR:-$src/build}
if [ ! -f "$build/CMakeCache.txt" ] || [ ! -x "$build/dns64d" ]; then
	echo "SKIP: no built tree at $build"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
failmsg() {
	echo "FAIL: $*"
	fail=1
}
has() { # FILE WHAT
	if [ -f "$1" ] && [ -s "$1" ]; then
		echo "ok: $2 ($1)"
	else
		failmsg "$2: $1 missing or empty"
	fi
}
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }

# check_tree DESTDIR PREFIX UNITDIR BUILDDIR
check_tree() {
	d=$1 prefix=$2 unitdir=$3 b=$4
	has "$d$prefix/sbin/dns64d" "binary"
	[ -x "$d$prefix/sbin/dns64d" ] || failmsg "$d$prefix/sbin/dns64d not executable"
	"$d$prefix/sbin/dns64d" -V | grep -q '^dns64d ' || failmsg "installed dns64d -V"
	if [ -f "$b/dns64d.8" ]; then
		has "$d$prefix/share/man/man8/dns64d.8" "dns64d(8)"
		has "$d$prefix/share/man/man5/dns64d.conf.5" "dns64d.conf(5)"
		grep -q '^\.TH "dns64d" "8"' "$d$prefix/share/man/man8/dns64d.8" || failmsg "dns64d.8 is not a man page"
		grep -q '^\.TH "dns64d.conf" "5"' "$d$prefix/share/man/man5/dns64d.conf.5" ||
			failmsg "dns64d.conf.5 is not a man page"
	else
		echo "note: man pages not built (no scdoc), not checked"
	fi
	# the control command, once it exists (another branch adds it)
	if [ -x "$b/dns64d-control" ]; then
		has "$d$prefix/sbin/dns64d-control" "dns64d-control"
	fi
	unit=$d$unitdir/dns64d.service
	has "$unit" "systemd unit"
	grep -qxF "ExecStart=$prefix/sbin/dns64d -f -c /etc/dns64d/dns64d.conf" "$unit" ||
		failmsg "unit's ExecStart: $(grep '^ExecStart=' "$unit")"
	grep -qxF "ExecStartPre=$prefix/sbin/dns64d -t -c /etc/dns64d/dns64d.conf" "$unit" ||
		failmsg "unit's ExecStartPre: $(grep '^ExecStartPre=' "$unit")"
	if command -v systemd-analyze >/dev/null 2>&1; then
		# verify resolves ExecStart on this host: point it at the staged binary
		sed "s|$prefix/sbin/dns64d|$d$prefix/sbin/dns64d|" "$unit" >"$tmp/dns64d.service"
		if ! MANPATH=$d$prefix/share/man systemd-analyze verify "$tmp/dns64d.service" >"$tmp/verify" 2>&1; then
			failmsg "systemd-analyze verify: $(cat "$tmp/verify")"
		fi
	fi
	doc=$d$prefix/share/doc/dns64d
	for f in dns64d.conf dns64d.acl; do
		has "$doc/examples/$f" "example $f"
		cmp -s "$doc/examples/$f" "$src/etc/$f" || failmsg "example $f differs from etc/$f"
		has "$d/etc/dns64d/$f" "/etc/dns64d/$f"
		cmp -s "$d/etc/dns64d/$f" "$src/etc/$f" || failmsg "/etc/dns64d/$f differs from etc/$f"
	done
	grep -q '^#' "$doc/examples/dns64d.conf" && grep -q '^#' "$doc/examples/dns64d.acl" ||
		failmsg "examples without comments"
	while read -r f; do
		case "$f" in '' | '#'*) continue ;; esac
		has "$doc/$(basename "$f")" "doc $(basename "$f")"
	done <"$src/packaging/debian/dns64d.docs"
	if ! "$d$prefix/sbin/dns64d" -t -c "$d/etc/dns64d/dns64d.conf" >"$tmp/t.out" 2>&1; then
		failmsg "installed config does not pass dns64d -t: $(cat "$tmp/t.out")"
	else
		echo "ok: the installed config passes dns64d -t"
	fi
}

# ---- 1. the test build, as it is configured -------------------------------------------------
prefix=$(cache CMAKE_INSTALL_PREFIX)
unitdir=$(cache DNS64D_SYSTEMD_UNITDIR)
[ -n "$unitdir" ] || failmsg "no DNS64D_SYSTEMD_UNITDIR in the cache"
d1=$tmp/stage1
if ! DESTDIR=$d1 cmake --install "$build" >"$tmp/install1.log" 2>&1; then
	cat "$tmp/install1.log"
	failmsg "cmake --install failed"
	exit 1
fi
case "$prefix" in
/usr) [ "$unitdir" = "$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)" ] ||
	failmsg "prefix /usr: unit dir $unitdir" ;;
*) [ "$unitdir" = "$prefix/lib/systemd/system" ] || failmsg "prefix $prefix: unit dir $unitdir" ;;
esac
check_tree "$d1" "$prefix" "$unitdir" "$build"

# ---- 2. an existing config is kept -----------------------------------------------------------
echo "# the admin's own" >"$d1/etc/dns64d/dns64d.conf"
rm "$d1/etc/dns64d/dns64d.acl"
DESTDIR=$d1 cmake --install "$build" >"$tmp/install2.log" 2>&1 || failmsg "second cmake --install failed"
[ "$(cat "$d1/etc/dns64d/dns64d.conf")" = "# the admin's own" ] &&
	echo "ok: an existing /etc/dns64d/dns64d.conf is kept" ||
	failmsg "/etc/dns64d/dns64d.conf overwritten"
grep -q "Keeping existing: $d1/etc/dns64d/dns64d.conf" "$tmp/install2.log" ||
	failmsg "the install does not say it kept the config: $(cat "$tmp/install2.log")"
cmp -s "$d1/etc/dns64d/dns64d.acl" "$src/etc/dns64d.acl" && echo "ok: a missing ACL is installed again" ||
	failmsg "missing /etc/dns64d/dns64d.acl not installed again"

# ---- 3. prefix /usr: the Debian layout -------------------------------------------------------
b2=$tmp/build-usr
targets="dns64d dns64d-control"
command -v scdoc >/dev/null 2>&1 && targets="$targets man"
if ! { cmake -S "$src" -B "$b2" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr -DDNS64D_TESTS=OFF &&
	cmake --build "$b2" -j2 --target $targets; } >"$tmp/build-usr.log" 2>&1; then
	tail -n 30 "$tmp/build-usr.log"
	failmsg "configuring or building with prefix /usr failed"
	exit 1
fi
d2=$tmp/stage2
DESTDIR=$d2 cmake --install "$b2" >"$tmp/install3.log" 2>&1 || failmsg "cmake --install (prefix /usr) failed"
debunit=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
check_tree "$d2" /usr "$debunit" "$b2"
find "$d2" -type f | sed "s|^$d2||" | sort >"$tmp/files"
echo "prefix /usr installs $(wc -l <"$tmp/files") files:"
sed 's/^/    /' "$tmp/files"

[ $fail -eq 0 ] && echo "PASS"
exit $fail

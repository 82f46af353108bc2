#!/bin/bash
# test_deb.sh - the Debian package builds, holds what it should, and lintian finds no errors
#
# dpkg-buildpackage wants debian/ at the top of the source tree, so this copies the tree to a
# temp dir, moves packaging/debian to debian/, builds with `dpkg-buildpackage -us -uc -b`
# (unit tests only; DEB_BUILD_OPTIONS=nocheck skips them), checks the .deb contents with
# dpkg-deb and runs lintian, failing on any E: line.
# Exit 0 pass, 1 fail, 77 skip (build tools or build dependencies missing).
set -u

src=${DNS64D_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
for tool in dpkg-buildpackage dpkg-deb dh; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not installed (apt-get install dpkg-dev debhelper)"
		exit 77
	fi
done
if [ ! -d "$src/packaging/debian" ]; then
	echo "FAIL: $src/packaging/debian missing"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
failmsg() { echo "FAIL: $*"; fail=1; }

# Copy the source tree without VCS data and build directories.
mkdir "$tmp/dns64d-pkg"
tar -C "$src" --exclude=.git --exclude='./build*' --exclude='./obj-*' \
	--exclude=./debian -cf - . | tar -C "$tmp/dns64d-pkg" -xf - || { echo "FAIL: copy"; exit 1; }
cd "$tmp/dns64d-pkg" || exit 1
mv packaging/debian debian

if ! dpkg-checkbuilddeps >"$tmp/builddeps.log" 2>&1; then
	echo "SKIP: build dependencies missing: $(cat "$tmp/builddeps.log")"
	exit 77
fi

start=$(date +%s)
if ! timeout 600 dpkg-buildpackage -us -uc -b -j"$(nproc)" >"$tmp/build.log" 2>&1; then
	tail -n 60 "$tmp/build.log"
	echo "FAIL: dpkg-buildpackage failed (or took longer than 600 s)"
	exit 1
fi
echo "dpkg-buildpackage: $(($(date +%s) - start)) s"

deb=$(ls "$tmp"/dns64d_*.deb 2>/dev/null | grep -v dbgsym | head -n 1)
if [ -z "$deb" ]; then
	echo "FAIL: no .deb produced"
	exit 1
fi
echo "built $(basename "$deb")"

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/contents"
for f in /usr/sbin/dns64d /etc/dns64d/dns64d.conf /etc/dns64d/dns64d.acl \
	/lib/systemd/system/dns64d.service /usr/share/man/man8/dns64d.8.gz \
	/usr/share/man/man5/dns64d.conf.5.gz /usr/share/doc/dns64d/copyright; do
	grep -qxF "$f" "$tmp/contents" || failmsg "$f not in the package"
done
# Docs larger than 4 KiB are compressed by dh_compress.
for f in operator-guide deployment-tayga deployment-jool router-advertisements 464xlat \
	scale-out security; do
	grep -Eqx "/usr/share/doc/dns64d/$f\.md(\.gz)?" "$tmp/contents" ||
		failmsg "docs/$f.md not in the package"
done

mkdir "$tmp/ctrl" "$tmp/root"
dpkg-deb -e "$deb" "$tmp/ctrl"
dpkg-deb -x "$deb" "$tmp/root"
for f in /etc/dns64d/dns64d.conf /etc/dns64d/dns64d.acl; do
	grep -qxF "$f" "$tmp/ctrl/conffiles" 2>/dev/null || failmsg "$f is not a conffile"
done
grep -qx 'user dns64d' "$tmp/root/etc/dns64d/dns64d.conf" ||
	failmsg "the packaged dns64d.conf does not drop to user dns64d"
cmp -s "$tmp/root/etc/dns64d/dns64d.acl" "$src/etc/dns64d.acl" ||
	failmsg "the packaged dns64d.acl differs from etc/dns64d.acl"
cmp -s "$tmp/root/lib/systemd/system/dns64d.service" "$src/packaging/systemd/dns64d.service" ||
	failmsg "the packaged unit differs from packaging/systemd/dns64d.service"
grep -q 'adduser --system --group --no-create-home' "$tmp/ctrl/postinst" 2>/dev/null ||
	failmsg "postinst does not create the dns64d system user"
grep -q 'deb-systemd-helper' "$tmp/ctrl/postinst" 2>/dev/null ||
	failmsg "postinst does not enable the unit (dh_installsystemd snippet missing)"
grep -Eq '^Depends:.*adduser' "$tmp/ctrl/control" || failmsg "package does not depend on adduser"
grep -Eq '^Depends:.*libuv1' "$tmp/ctrl/control" || failmsg "shlibs:Depends did not pick up libuv1"
# The packaged binary runs.
if "$tmp/root/usr/sbin/dns64d" -V >"$tmp/version" 2>&1; then
	echo "packaged binary: $(head -n 1 "$tmp/version")"
else
	failmsg "packaged dns64d -V failed: $(cat "$tmp/version")"
fi

if command -v lintian >/dev/null 2>&1; then
	changes=$(ls "$tmp"/dns64d_*.changes | head -n 1)
	lintian -I --tag-display-limit 0 "$changes" >"$tmp/lintian.log" 2>&1
	echo "lintian: $(grep -c '^E:' "$tmp/lintian.log") errors, $(grep -c '^W:' "$tmp/lintian.log") warnings, $(grep -c '^I:' "$tmp/lintian.log") info"
	cat "$tmp/lintian.log"
	if grep -q '^E:' "$tmp/lintian.log"; then
		failmsg "lintian reports errors"
	fi
else
	echo "note: lintian not installed, not run"
fi

[ "$fail" = 0 ] || exit 1
echo "PASS: dns64d .deb builds with binary, conffiles, unit, man pages and user creation; lintian clean of errors"
exit 0

#!/bin/bash
# test_manpages.sh - man pages build with scdoc, cover every shipped directive and render cleanly
#
# Builds dns64d(8) and dns64d.conf(5) from docs/*.scd into a temp dir, checks that every
# directive in etc/dns64d.conf (commented out or not) and every ACL action is documented in
# dns64d.conf(5), that dns64d(8) covers every signal and exit code, and that man/groff
# render both pages without warnings. Exit 0 pass, 1 fail, 77 skip (no scdoc).
set -u

src=${DNS64D_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! command -v scdoc >/dev/null 2>&1; then
	echo "SKIP: scdoc not installed"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
failmsg() { echo "FAIL: $*"; fail=1; }

for page in dns64d.8 dns64d.conf.5; do
	if ! scdoc <"$src/docs/$page.scd" >"$tmp/$page" 2>"$tmp/$page.err"; then
		failmsg "scdoc $page: $(cat "$tmp/$page.err")"
		continue
	fi
	[ -s "$tmp/$page" ] || failmsg "scdoc produced an empty $page"
done
[ "$fail" = 0 ] || exit 1

# Plain text of the pages, without hyphenation or adjustment, for the coverage checks.
render() { MANWIDTH=200 LC_ALL=C.UTF-8 man -l "$1" 2>/dev/null | col -b; }
render "$tmp/dns64d.conf.5" >"$tmp/conf5.txt"
render "$tmp/dns64d.8" >"$tmp/man8.txt"
[ -s "$tmp/conf5.txt" ] || failmsg "dns64d.conf.5 renders to nothing"
[ -s "$tmp/man8.txt" ] || failmsg "dns64d.8 renders to nothing"

# Every directive of the shipped config, commented out or not: a line starting with '#'
# followed directly by a lowercase keyword and an argument is a commented directive;
# "# prose" (with a space) is a comment.
directives=$(sed -n -E 's/^#?([a-z][a-z0-9-]*)[[:space:]]+[^[:space:]].*$/\1/p' "$src/etc/dns64d.conf" | sort -u)
n=$(printf '%s\n' "$directives" | grep -c .)
if [ "$n" -lt 10 ]; then
	failmsg "found only $n directives in etc/dns64d.conf; the parser of this test is off"
fi
for d in $directives; do
	# A directive is documented when a line of the DIRECTIVES section starts with it.
	if ! grep -Eq "^ {7}$d( |$)" "$tmp/conf5.txt"; then
		failmsg "directive '$d' from etc/dns64d.conf is not documented in dns64d.conf(5)"
	fi
done
echo "checked $n directives: $(echo $directives)"

for a in dns64 forward refuse drop; do
	grep -Eq "^ {7}$a$" "$tmp/conf5.txt" || failmsg "ACL action '$a' not documented in dns64d.conf(5)"
done
for s in "ACL FILE" "EXAMPLE" "most specific" "IPv4-mapped"; do
	grep -q "$s" "$tmp/conf5.txt" || failmsg "dns64d.conf(5) lacks '$s'"
done

for s in SIGHUP SIGTERM SIGINT "EXIT STATUS" SYNOPSIS FILES "SEE ALSO" \
	--config --foreground --check --verbose --version --help; do
	grep -q -- "$s" "$tmp/man8.txt" || failmsg "dns64d(8) lacks '$s'"
done
for code in 0 1 2; do
	grep -Eq "^ {7}$code$" "$tmp/man8.txt" || failmsg "dns64d(8) does not document exit status $code"
done

# Render with warnings on: man-db's --warnings passes -w to groff; groff -ww -z as well.
for page in dns64d.8 dns64d.conf.5; do
	out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$tmp/$page" 2>&1 >/dev/null)
	[ -z "$out" ] || failmsg "man --warnings $page: $out"
	if command -v groff >/dev/null 2>&1; then
		out=$(groff -ww -z -man "$tmp/$page" 2>&1)
		[ -z "$out" ] || failmsg "groff -ww $page: $out"
	fi
done

if [ "$fail" != 0 ]; then
	exit 1
fi
echo "PASS: man pages build, cover every directive, signal and exit code, render without warnings"
exit 0

#!/bin/sh
# test.sh - install what is needed and run the whole test suite: a normal build running the
# unit, fuzz-replay, valgrind, e2e, ops and slow tests, then an AddressSanitizer + UBSan
# build running the unit and fuzz-replay tests again and every integration test (the
# integration tests run once, under the sanitizers, which check more than a plain build
# would; valgrind runs a set of them on the plain build). ctest prints the totals of each pass.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)
status=0

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" -LE '^integration$') || status=1

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDNS64D_SANITIZE=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --output-on-failure -j"$jobs" -L 'unit|fuzz|integration' -LE slow) || status=1

exit $status

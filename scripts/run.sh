#!/bin/sh
# run.sh - install what is needed, build, and run dns64d in the foreground with the shipped config.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNS64D_TESTS=OFF
cmake --build build -j"$(nproc)"
exec build/dns64d -f -c etc/dns64d.conf "$@"

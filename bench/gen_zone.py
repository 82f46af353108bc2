#!/usr/bin/python3
# gen_zone.py - writes the benchmark zone for nsd and the dnsperf query files.
"""Generate the bench.test. zone and dnsperf query lists.

Names:
  v4-N.bench.test.  A only (N = 0 .. v4-1); the address is a pure function of N
                    (see v4_addr) so checks can recompute the expected answer.
  ds-N.bench.test.  A and AAAA (dual stack; DNS64 must pass the AAAA through).

Files written to OUTDIR:
  bench.test.zone   the zone (TTL 3600, SOA minimum 300)
  hot.txt           AAAA for the first HOT v4 names (cached synthesis workload)
  cold.txt          AAAA for every v4 name, shuffled, each once (cold workload)
  ceiling.txt       A for every name, shuffled (straight at nsd)
  mixed.txt         AAAA, 90 % hot / 10 % cold: blocks of ten lines, nine from the hot set
                    (cycling through it in order) and one v4 name outside the hot set, each
                    of those asked once (shuffled, at most --mixed-cold of them)
The addresses are in public-looking space and are never contacted.
"""

import argparse
import ipaddress
import os
import random

ZONE = "bench.test."
V4_BASE = int(ipaddress.IPv4Address("23.0.0.0"))
DS_V4_BASE = int(ipaddress.IPv4Address("45.0.0.0"))
DS_V6_BASE = int(ipaddress.IPv6Address("2a0b:4d07:64::"))


def v4_addr(n):
	"""Address of v4-N: 23.0.0.0 + N, skipping .0 and .255 host bytes."""
	return str(ipaddress.IPv4Address(V4_BASE + (n // 254) * 256 + n % 254 + 1))


def ds_addrs(n):
	a = str(ipaddress.IPv4Address(DS_V4_BASE + (n // 254) * 256 + n % 254 + 1))
	aaaa = str(ipaddress.IPv6Address(DS_V6_BASE + n + 1))
	return a, aaaa


def write_zone(path, v4, ds):
	with open(path, "w") as f:
		f.write("$ORIGIN %s\n$TTL 3600\n" % ZONE)
		f.write("@ IN SOA ns1.%s hostmaster.%s 1 3600 900 604800 300\n" % (ZONE, ZONE))
		f.write("@ IN NS ns1.%s\n" % ZONE)
		f.write("ns1 IN A 127.0.0.1\n")
		for n in range(v4):
			f.write("v4-%d IN A %s\n" % (n, v4_addr(n)))
		for n in range(ds):
			a, aaaa = ds_addrs(n)
			f.write("ds-%d IN A %s\nds-%d IN AAAA %s\n" % (n, a, n, aaaa))


def write_list(path, lines):
	with open(path, "w") as f:
		f.write("\n".join(lines))
		f.write("\n")


def main():
	ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
	ap.add_argument("outdir")
	ap.add_argument("--v4", type=int, default=50000, help="IPv4-only names (default 50000)")
	ap.add_argument("--ds", type=int, default=1000, help="dual-stack names (default 1000)")
	ap.add_argument("--hot", type=int, default=100, help="names in the hot set (default 100)")
	ap.add_argument("--mixed-cold", type=int, default=200000,
		help="cold names in mixed.txt, at most (default 200000; the file has ten times as many lines)")
	ap.add_argument("--seed", type=int, default=64, help="shuffle seed (default 64)")
	args = ap.parse_args()
	if args.hot > args.v4:
		ap.error("--hot must not exceed --v4")
	os.makedirs(args.outdir, exist_ok=True)
	rng = random.Random(args.seed)

	write_zone(os.path.join(args.outdir, "bench.test.zone"), args.v4, args.ds)
	write_list(os.path.join(args.outdir, "hot.txt"),
		["v4-%d.%s AAAA" % (n, ZONE) for n in range(args.hot)])
	cold = ["v4-%d.%s AAAA" % (n, ZONE) for n in range(args.v4)]
	rng.shuffle(cold)
	write_list(os.path.join(args.outdir, "cold.txt"), cold)
	ceiling = ["v4-%d.%s A" % (n, ZONE) for n in range(args.v4)]
	ceiling += ["ds-%d.%s A" % (n, ZONE) for n in range(args.ds)]
	rng.shuffle(ceiling)
	write_list(os.path.join(args.outdir, "ceiling.txt"), ceiling)
	# a separate shuffle, so mixed's cold names come in another order than cold.txt's
	rest = ["v4-%d.%s AAAA" % (n, ZONE) for n in range(args.hot, args.v4)]
	rng.shuffle(rest)
	rest = rest[:args.mixed_cold]
	hot = ["v4-%d.%s AAAA" % (n, ZONE) for n in range(args.hot)]
	mixed, h = [], 0
	for name in rest:
		for _ in range(9):
			mixed.append(hot[h % len(hot)] if hot else name)
			h += 1
		mixed.append(name)
	write_list(os.path.join(args.outdir, "mixed.txt"), mixed)


if __name__ == "__main__":
	main()

#!/usr/bin/python3
# check_answers.py - verifies a DNS64 resolver's answers for the bench zone before trusting its numbers.
"""Usage: check_answers.py HOST PORT --v4 N --ds N [--sample K] [--prefix 64:ff9b::]

Asks, over UDP:
  AAAA v4-i  -> exactly one AAAA, PREFIX + the A address of v4-i (RFC 6052 /96), 0 < TTL <= 3600
  AAAA ds-i  -> exactly the native AAAA of ds-i, nothing synthesized
  A    v4-i  -> the A address unchanged
for K sampled names of each kind (the first names of cold.txt order are included
so answers served from cache are checked too). Prints one line per problem and a
summary; exit status 1 if anything was wrong or unanswered.
"""

import argparse
import ipaddress
import os
import random
import sys

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_zone import ZONE, ds_addrs, v4_addr  # noqa: E402


def synth(prefix, v4):
	return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address(prefix)) | int(ipaddress.IPv4Address(v4))))


def ask(host, port, name, rdtype):
	q = dns.message.make_query(name, rdtype)
	last = None
	for _ in range(3):
		try:
			return dns.query.udp(q, host, port=port, timeout=2.0)
		except dns.exception.Timeout as e:
			last = e
	raise last


def answer_set(resp, rdtype):
	addrs, ttls = [], []
	for rrset in resp.answer:
		if rrset.rdtype == rdtype:
			addrs.extend(r.address for r in rrset)
			ttls.append(rrset.ttl)
	return sorted(addrs), ttls


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("host")
	ap.add_argument("port", type=int)
	ap.add_argument("--v4", type=int, required=True)
	ap.add_argument("--ds", type=int, required=True)
	ap.add_argument("--sample", type=int, default=100)
	ap.add_argument("--prefix", default="64:ff9b::")
	ap.add_argument("--cold", help="cold.txt; its first names are checked too (already cached)")
	args = ap.parse_args()

	rng = random.Random()
	v4_names = rng.sample(range(args.v4), min(args.sample, args.v4))
	if args.cold:
		with open(args.cold) as f:
			for _, line in zip(range(args.sample), f):
				v4_names.append(int(line.split(".")[0][3:]))
	ds_names = rng.sample(range(args.ds), min(args.sample, args.ds)) if args.ds else []

	problems = 0
	checked = 0
	for n in v4_names:
		name = "v4-%d.%s" % (n, ZONE)
		want = synth(args.prefix, v4_addr(n))
		try:
			r = ask(args.host, args.port, name, dns.rdatatype.AAAA)
		except dns.exception.Timeout:
			print("TIMEOUT %s AAAA" % name)
			problems += 1
			continue
		got, ttls = answer_set(r, dns.rdatatype.AAAA)
		checked += 1
		if r.rcode() != dns.rcode.NOERROR or got != [want] or not all(0 < t <= 3600 for t in ttls):
			print("WRONG %s AAAA rcode=%s got=%s ttl=%s want=%s" % (name, dns.rcode.to_text(r.rcode()), got, ttls, want))
			problems += 1
		r = ask(args.host, args.port, name, dns.rdatatype.A)
		got, _ = answer_set(r, dns.rdatatype.A)
		checked += 1
		if got != [v4_addr(n)]:
			print("WRONG %s A got=%s want=%s" % (name, got, v4_addr(n)))
			problems += 1
	for n in ds_names:
		name = "ds-%d.%s" % (n, ZONE)
		want = ds_addrs(n)[1]
		try:
			r = ask(args.host, args.port, name, dns.rdatatype.AAAA)
		except dns.exception.Timeout:
			print("TIMEOUT %s AAAA" % name)
			problems += 1
			continue
		got, _ = answer_set(r, dns.rdatatype.AAAA)
		checked += 1
		if r.rcode() != dns.rcode.NOERROR or got != [str(ipaddress.IPv6Address(want))]:
			print("WRONG %s AAAA rcode=%s got=%s want=%s" % (name, dns.rcode.to_text(r.rcode()), got, want))
			problems += 1
	print("checked %d answers, %d problems" % (checked, problems))
	return 1 if problems else 0


if __name__ == "__main__":
	sys.exit(main())

#!/usr/bin/python3
# report.py - parses dnsperf output and renders the benchmark table for bench/run.sh.
"""Helpers for bench/run.sh.

  report.py summary FILE      -> "qps sent completed lost avg_ms noerror_pct" from a dnsperf summary
  report.py latency FILE      -> "n avg_ms p50_ms p99_ms p999_ms max_ms" from `dnsperf -v` lines
  report.py table RUNS.tsv    -> markdown tables on stdout
  report.py targets RUNS.tsv  -> the issue 12 targets (dns64d vs floor and Unbound), markdown

RUNS.tsv has one line per measured run, tab separated:
  workload server mode file rss_kib cpu_seconds wall_seconds
(cpu_seconds: the server's utime+stime during the dnsperf run, wall_seconds: that run's length)
mode is "max" (max throughput) or "fixed" (rate limited with -Q, run with -v).
Runs of one workload, server and mode appear in repetition order (run.sh interleaves servers).
"""

import glob
import os

import math
import re
import sys

NUM = r"([0-9.]+)"


def parse_summary(path):
	text = open(path, errors="replace").read()

	def grab(pattern, default=None):
		m = re.search(pattern, text)
		return float(m.group(1)) if m else default

	sent = grab(r"Queries sent:\s+" + NUM, 0.0)
	completed = grab(r"Queries completed:\s+" + NUM, 0.0)
	lost = grab(r"Queries lost:\s+" + NUM, 0.0)
	qps = grab(r"Queries per second:\s+" + NUM, 0.0)
	avg = grab(r"Average Latency \(s\):\s+" + NUM, float("nan"))
	noerror = grab(r"NOERROR \d+ \(" + NUM + r"%\)", 0.0)
	m = re.search(r"Response codes:\s+(.*)", text)
	rcodes = m.group(1).strip() if m else ""
	return {
		"qps": qps, "sent": int(sent), "completed": int(completed), "lost": int(lost),
		"avg_ms": avg * 1000.0, "noerror_pct": noerror, "rcodes": rcodes,
	}


def percentile(sorted_vals, p):
	"""Nearest-rank percentile (p in 0..100) of an ascending list."""
	if not sorted_vals:
		return float("nan")
	rank = max(1, int(math.ceil(p / 100.0 * len(sorted_vals))))
	return sorted_vals[rank - 1]


def parse_latency(path):
	"""Per-answer latencies from `dnsperf -v` lines: '> RCODE NAME TYPE SECONDS'."""
	vals = []
	with open(path, errors="replace") as f:
		for line in f:
			if not line.startswith("> "):
				continue
			parts = line.split()
			try:
				vals.append(float(parts[-1]) * 1000.0)
			except (ValueError, IndexError):
				continue
	vals.sort()
	n = len(vals)
	avg = sum(vals) / n if n else float("nan")
	return {
		"n": n, "avg_ms": avg, "p50_ms": percentile(vals, 50), "p99_ms": percentile(vals, 99),
		"p999_ms": percentile(vals, 99.9), "max_ms": vals[-1] if vals else float("nan"),
	}


def fmt(v, digits=3):
	if v is None or (isinstance(v, float) and math.isnan(v)):
		return "-"
	return "%.*f" % (digits, v)


def pick_median(mode, recs):
	"""The run with the median QPS (max mode) or median p99 (fixed mode); lower middle if even."""
	if mode == "fixed":
		key = lambda r: r["lat"]["p99_ms"]
	else:
		key = lambda r: r["qps"]
	recs = sorted(recs, key=key)
	return recs[(len(recs) - 1) // 2]


def load(tsv):
	"""All runs: {(workload, server, mode): [rec, ...]} in repetition order, and the name orders."""
	runs = {}
	order_w, order_s = [], []
	for line in open(tsv):
		if not line.strip() or line.startswith("#"):
			continue
		workload, server, mode, path, rss, cpu, wall = line.rstrip("\n").split("\t")
		if workload not in order_w:
			order_w.append(workload)
		if server not in order_s:
			order_s.append(server)
		rec = parse_summary(path)
		if mode == "fixed":
			rec.update({"lat": parse_latency(path)})
		rec["rss_kib"] = int(rss) if rss.isdigit() else None
		cpu, wall = float(cpu), float(wall)
		rec["cpu_pct"] = cpu / wall * 100.0 if wall > 0 else None
		rec["cpu_us_per_q"] = cpu * 1e6 / rec["completed"] if rec["completed"] else None
		runs.setdefault((workload, server, mode), []).append(rec)
	return runs, order_w, order_s


def table(tsv):
	allruns, order_w, order_s = load(tsv)
	runs = {k: pick_median(k[2], v) for k, v in allruns.items()}

	out = []
	for w in order_w:
		base = runs.get((w, "unbound", "max"))
		fixed_q = None
		for s in order_s:
			r = runs.get((w, s, "fixed"))
			if r and r.get("sent"):
				fixed_q = r
				break
		out.append("### %s\n" % w)
		out.append("| server | QPS (max) | vs Unbound | avg ms (max) | QPS (fixed) | avg ms (fixed) "
			"| p99 ms (fixed) | p99.9 ms (fixed) | lost (max / fixed) | NOERROR % | server CPU % (max) "
			"| CPU us/answer (max / fixed) | vs floor (max) | peak RSS MiB |")
		out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		floor = runs.get((w, "floor", "max"))
		for s in order_s:
			mx = runs.get((w, s, "max"))
			fx = runs.get((w, s, "fixed"))
			if not mx and not fx:
				continue
			ratio = "-"
			if mx and base and base["qps"] > 0:
				ratio = "%.2fx" % (mx["qps"] / base["qps"])
			lat = fx["lat"] if fx else {}
			rss = max([r["rss_kib"] for r in (mx, fx) if r and r["rss_kib"] is not None] or [0])
			noerr = min([r["noerror_pct"] for r in (mx, fx) if r] or [0.0])
			vs_floor = "-"
			if mx and floor and mx["cpu_us_per_q"] and floor["cpu_us_per_q"]:
				vs_floor = "%.2fx" % (mx["cpu_us_per_q"] / floor["cpu_us_per_q"])
			out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s / %s | %s | %s |" % (
				s,
				fmt(mx["qps"], 0) if mx else "-",
				ratio,
				fmt(mx["avg_ms"]) if mx else "-",
				fmt(fx["qps"], 0) if fx else "-",
				fmt(lat.get("avg_ms")) if fx else "-",
				fmt(lat.get("p99_ms")) if fx else "-",
				fmt(lat.get("p999_ms")) if fx else "-",
				mx["lost"] if mx else "-", fx["lost"] if fx else "-",
				fmt(noerr, 2),
				fmt(mx["cpu_pct"], 0) if mx and mx["cpu_pct"] is not None else "-",
				fmt(mx["cpu_us_per_q"], 2) if mx else "-",
				fmt(fx["cpu_us_per_q"], 2) if fx else "-",
				vs_floor,
				fmt(rss / 1024.0, 1) if rss else "-"))
		out.append("")
		odd = ["%s/%s: %s" % (s, m, runs[(w, s, m)]["rcodes"]) for s in order_s for m in ("max", "fixed")
			if (w, s, m) in runs and runs[(w, s, m)]["noerror_pct"] < 100.0]
		if odd:
			out.append("Response codes not all NOERROR: " + "; ".join(odd) + "\n")
		if fixed_q is None and w != "ceiling":
			out.append("(no fixed-rate run)\n")
	return "\n".join(out)


def ratios(a_runs, b_runs, key):
	"""key(a) / key(b) per repetition (run.sh interleaves servers, so run i of each shared the
	machine's conditions); returns the sorted list."""
	out = []
	for a, b in zip(a_runs, b_runs):
		x, y = key(a), key(b)
		if x is not None and y:
			out.append(x / y)
	return sorted(out)


def spread(vals, digits=2):
	"""'median (min-max)' of a sorted list, lower middle if even."""
	if not vals:
		return "-"
	med = vals[(len(vals) - 1) // 2]
	if len(vals) == 1:
		return "%.*fx" % (digits, med)
	return "%.*fx (%.*f-%.*f)" % (digits, med, digits, vals[0], digits, vals[-1])


def check_results(outdir, server):
	"""(answers checked, problems) summed over SERVER's check_answers.py outputs in OUTDIR."""
	n = bad = files = 0
	for path in sorted(glob.glob(os.path.join(outdir, "%s.check.*.txt" % server))):
		files += 1
		m = re.search(r"checked (\d+) answers, (\d+) problems", open(path, errors="replace").read())
		if not m:
			return None
		n, bad = n + int(m.group(1)), bad + int(m.group(2))
	return (n, bad, files) if files else None


def targets(tsv):
	"""Issue 12's performance targets for dns64d (1 worker) against the floor and Unbound."""
	allruns, order_w, _ = load(tsv)
	med = {k: pick_median(k[2], v) for k, v in allruns.items()}
	cpu = lambda r: r["cpu_us_per_q"]
	qps = lambda r: r["qps"]
	p99 = lambda r: r["lat"]["p99_ms"]
	out = ["| target | measured: median of per-repetition ratios (min-max) | met |", "|---|---|---|"]

	def row(name, vals, ok):
		out.append("| %s | %s | %s |" % (name, vals, "-" if ok is None else ("yes" if ok else "**no**")))

	g = lambda w, s, m: allruns.get((w, s, m), [])
	if g("hot", "floor", "max"):
		r = ratios(g("hot", "dns64d", "max"), g("hot", "floor", "max"), cpu)
		m, f = med.get(("hot", "dns64d", "max")), med.get(("hot", "floor", "max"))
		detail = "%s; median runs %s vs %s us/answer" % (
			spread(r, 3), fmt(m and m["cpu_us_per_q"], 2), fmt(f and f["cpu_us_per_q"], 2))
		row("hot: CPU per answer <= 1.07x the floor's (max run)", detail, r[(len(r) - 1) // 2] <= 1.07 if r else None)
		r = ratios(g("hot", "dns64d", "fixed"), g("hot", "floor", "fixed"), cpu)
		row("hot: the same at the fixed rate (for reference)", spread(r, 3), None)
	for w in ("cold", "mixed"):
		if not g(w, "dns64d", "max") or not g(w, "unbound", "max"):
			continue
		r = ratios(g(w, "dns64d", "max"), g(w, "unbound", "max"), qps)
		m, u = med[(w, "dns64d", "max")], med[(w, "unbound", "max")]
		row("%s: QPS >= 2x Unbound's" % w, "%s; median runs %s vs %s QPS" % (spread(r), fmt(m["qps"], 0),
			fmt(u["qps"], 0)), r[(len(r) - 1) // 2] >= 2.0 if r else None)
		# When the machine is busy, neither server gets its core to itself (server CPU % well below
		# 100) and QPS measures the scheduler as much as the server; CPU per answer still says what
		# one answer costs, so its inverse ratio is the QPS ratio two CPU-bound servers would have.
		r = ratios(g(w, "unbound", "max"), g(w, "dns64d", "max"), cpu)
		row("%s: the same as CPU capacity (Unbound's CPU per answer / dns64d's, max run)" % w,
			"%s; median runs %s vs %s us/answer (server CPU %% %s vs %s)" % (spread(r),
			fmt(m["cpu_us_per_q"], 2), fmt(u["cpu_us_per_q"], 2), fmt(m["cpu_pct"], 0), fmt(u["cpu_pct"], 0)),
			None)
	for w in order_w:
		if not g(w, "dns64d", "fixed") or not g(w, "unbound", "fixed"):
			continue
		r = ratios(g(w, "dns64d", "fixed"), g(w, "unbound", "fixed"), p99)
		m, u = med[(w, "dns64d", "fixed")], med[(w, "unbound", "fixed")]
		row("%s: p99 <= Unbound's (fixed rate)" % w, "%s; median runs %s vs %s ms" % (spread(r), fmt(p99(m)),
			fmt(p99(u))), r[(len(r) - 1) // 2] <= 1.0 if r else None)
	lost = {w: sum(r["lost"] for m in ("max", "fixed") for r in g(w, "dns64d", m)) for w in order_w
		if g(w, "dns64d", "max") or g(w, "dns64d", "fixed")}
	row("nothing lost (dns64d, every run)", ", ".join("%s %d" % kv for kv in lost.items()),
		all(v == 0 for v in lost.values()) if lost else None)
	c = check_results(os.path.dirname(os.path.abspath(tsv)), "dns64d")
	row("DNS64 answer checks pass (dns64d, after each cold max run)",
		"%d answers in %d runs, %d problems" % (c[0], c[2], c[1]) if c else "not run", c[1] == 0 if c else None)
	out.append("")
	return "\n".join(out)


def main():
	if len(sys.argv) != 3 or sys.argv[1] not in ("summary", "latency", "table", "targets"):
		sys.stderr.write(__doc__)
		return 2
	cmd, path = sys.argv[1], sys.argv[2]
	if cmd == "summary":
		r = parse_summary(path)
		print("%.2f %d %d %d %.3f %.2f" % (r["qps"], r["sent"], r["completed"], r["lost"], r["avg_ms"], r["noerror_pct"]))
	elif cmd == "latency":
		r = parse_latency(path)
		print("%d %.3f %.3f %.3f %.3f %.3f" % (r["n"], r["avg_ms"], r["p50_ms"], r["p99_ms"], r["p999_ms"], r["max_ms"]))
	elif cmd == "targets":
		print(targets(path))
	else:
		print(table(path))
	return 0


if __name__ == "__main__":
	sys.exit(main())

#!/usr/bin/env python3
"""Summarises the alternated runs of scripts/bench-compare: per workload and metric, the median
of the baseline's runs, the candidate's, and their ratio oriented so that above 1 is better
(rates: candidate / baseline; times: baseline / candidate). Only metrics with a direction
("better": higher or lower) are compared.

Beside it, the paired ratio: the median over the rounds of each round's own ratio. The two
runs of a round are seconds to minutes apart, and the load on these machines changes from
one minute to the next: the paired ratio leaves out what moves between rounds, the ratio of
the two medians does not."""
import json
import statistics
import sys
from pathlib import Path


def runs_of(directory, tag, rounds, which):
    """{(workload, metric): {"runs": [values], "by_round": {round: [values]}}} over the rounds of
    one side, and the machine of each run."""
    values, machines = {}, []
    for r in range(1, rounds + 1):
        path = Path(directory) / f"{tag}-{r}-{which}.json"
        if not path.exists():
            continue
        doc = json.loads(path.read_text())
        machines.append(doc.get("machine", {}).get("loadavg", "?"))
        for workload, result in doc.get("workloads", {}).items():
            for metric, m in result.get("metrics", {}).items():
                if m.get("better") not in ("higher", "lower"):
                    continue
                key = (workload, metric)
                values.setdefault(key, {"better": m["better"], "unit": m.get("unit", ""), "runs": [], "by_round": {}})
                these = m.get("runs", [m.get("median")])
                values[key]["runs"].extend(these)
                values[key]["by_round"][r] = these
    return values, machines


def oriented(better, baseline, candidate):
    """Candidate against baseline, above 1 when the candidate is better."""
    return candidate / baseline if better == "higher" else baseline / candidate


def paired_ratio(b, c):
    """The median of the rounds' own ratios, over the rounds where both sides have a value."""
    ratios = []
    for r, base_runs in b["by_round"].items():
        cand_runs = c["by_round"].get(r)
        if not base_runs or not cand_runs:
            continue
        bm, cm = statistics.median(base_runs), statistics.median(cand_runs)
        if bm > 0 and cm > 0:
            ratios.append(oriented(b["better"], bm, cm))
    return statistics.median(ratios) if ratios else None


def main():
    directory, tag, rounds, base_rev, cand_rev = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    base, base_load = runs_of(directory, tag, rounds, "baseline")
    cand, cand_load = runs_of(directory, tag, rounds, "candidate")
    print(f"baseline {base_rev} vs candidate {cand_rev}, {rounds} alternated rounds")
    print(f"load average at the start of each run: baseline {', '.join(base_load)}; candidate {', '.join(cand_load)}")
    header = (f"{'workload':<22} {'metric':<28} {'baseline':>12} {'candidate':>12} {'ratio':>7} {'paired':>7}  "
              "spread (cand min..max)")
    print(header)
    print("-" * len(header))
    worst = None
    worst_paired = None
    for key in sorted(set(base) & set(cand)):
        b, c = base[key], cand[key]
        if not b["runs"] or not c["runs"]:
            continue
        bm, cm = statistics.median(b["runs"]), statistics.median(c["runs"])
        if bm <= 0 or cm <= 0:
            continue
        ratio = oriented(b["better"], bm, cm)
        worst = ratio if worst is None else min(worst, ratio)
        paired = paired_ratio(b, c)
        if paired is not None:
            worst_paired = paired if worst_paired is None else min(worst_paired, paired)
        paired_text = f"{paired:>6.2f}x" if paired is not None else f"{'-':>7}"
        unit = c["unit"]
        print(f"{key[0]:<22} {key[1]:<28} {bm:>12.4g} {cm:>12.4g} {ratio:>6.2f}x {paired_text}  "
              f"{min(c['runs']):.4g}..{max(c['runs']):.4g} {unit}")
    if worst is not None:
        print(f"lowest ratio: {worst:.2f}x (1.00x = the same; below 1, the candidate is worse)")
    if worst_paired is not None:
        print(f"lowest paired ratio (median of the rounds' own ratios): {worst_paired:.2f}x")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Draws how each scale figure grows with the node count (issue 14) as an SVG, and prints the
same figures as a Markdown table.

    bench/scale_plot.py RESULTS.json [--svg docs/scale.svg]

RESULTS.json is what `syn-bench --only scale_8,scale_16,scale_32,scale_64 --json RESULTS.json`
wrote. Each metric is drawn relative to its value at the smallest cluster, on log-log axes,
beside the line of linear growth (K / K0): a metric above that line grows worse than linearly.
Python's standard library only.
"""
import argparse
import json
import math
import re
import sys

METRICS = [  # (metric, label, how to print the median)
    ("mesh", "mesh forms from one seed", lambda v: f"{v:.2f} s"),
    ("register_all", "names registered from every node, all agree", lambda v: f"{v:.2f} s"),
    ("purge_after_kill", "a node SIGKILLed, its names purged everywhere", lambda v: f"{v:.2f} s"),
    ("join_sync", "a new node holds the whole scope", lambda v: f"{v:.2f} s"),
    ("frames_per_write", "frames sent per write, all nodes", lambda v: f"{v:.2f}"),
    ("rss_per_node", "memory (RSS) per node", lambda v: f"{v / 1048576:.1f} MB"),
    ("idle_cpu_per_node", "CPU per node at rest", lambda v: f"{v:.2f}%"),
    ("fds_per_node", "file descriptors per node", lambda v: f"{v:.0f}"),
]
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]


def load(path):
    workloads = json.load(open(path))["workloads"]
    sizes = {}
    for name, w in workloads.items():
        m = re.fullmatch(r"scale_(\d+)", name.split(" ")[0].split("[")[0])
        if m and w.get("metrics"):
            sizes[int(m.group(1))] = {k: v["median"] for k, v in w["metrics"].items()}
    if not sizes:
        sys.exit(f"{path}: no scale_K workload with results")
    return dict(sorted(sizes.items()))


def table(sizes):
    ks = list(sizes)
    lines = ["| | " + " | ".join(f"{k} nodes" for k in ks) +
             f" | growth {ks[0]} to {ks[-1]} (linear: {ks[-1] / ks[0]:g}x) |",
             "|---" * (len(ks) + 2) + "|"]
    for metric, label, fmt in METRICS:
        if not all(metric in sizes[k] for k in ks):
            continue
        values = [sizes[k][metric] for k in ks]
        growth = f"{values[-1] / values[0]:.1f}x" if values[0] > 0 else "-"
        lines.append(f"| {label} | " + " | ".join(fmt(v) for v in values) + f" | {growth} |")
    return "\n".join(lines)


def svg(sizes):
    ks = list(sizes)
    w, h, left, right, top, bottom = 760, 420, 60, 300, 30, 50
    plot_w, plot_h = w - left - right, h - top - bottom
    series = []
    for i, (metric, label, _) in enumerate(METRICS):
        if all(metric in sizes[k] and sizes[k][metric] > 0 for k in ks):
            base = sizes[ks[0]][metric]
            series.append((label, COLORS[i % len(COLORS)], [sizes[k][metric] / base for k in ks]))
    linear = [k / ks[0] for k in ks]
    top_ratio = max([max(s[2]) for s in series] + linear + [2.0])
    low_ratio = min([min(s[2]) for s in series] + [0.5])
    x_of = lambda k: left + plot_w * math.log(k / ks[0]) / math.log(ks[-1] / ks[0])
    y_of = lambda r: top + plot_h * (1 - (math.log(r) - math.log(low_ratio)) / (math.log(top_ratio) - math.log(low_ratio)))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14">syn-cpp: cost against cluster size, relative to {ks[0]} nodes (log-log)</text>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>']
    for k in ks:
        out.append(f'<text x="{x_of(k):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{k}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{h - 10}" text-anchor="middle">nodes</text>')
    r = 1.0
    while r <= top_ratio * 1.01:
        out.append(f'<text x="{left - 6}" y="{y_of(r) + 4:.1f}" text-anchor="end">{r:g}x</text>')
        out.append(f'<line x1="{left}" y1="{y_of(r):.1f}" x2="{left + plot_w}" y2="{y_of(r):.1f}" stroke="#ddd"/>')
        r *= 2
    def polyline(values, color, dash=""):
        pts = " ".join(f"{x_of(k):.1f},{y_of(v):.1f}" for k, v in zip(ks, values))
        return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2" {dash}/>'
    out.append(polyline(linear, "black", 'stroke-dasharray="6,4"'))
    legend = [("linear growth (K / K0)", "black")] + [(s[0], s[1]) for s in series]
    for s in series:
        out.append(polyline(s[2], s[1]))
    for i, (label, color) in enumerate(legend):
        y = top + 10 + i * 20
        dash = 'stroke-dasharray="6,4"' if i == 0 else ""
        out.append(f'<line x1="{w - right + 15}" y1="{y}" x2="{w - right + 40}" y2="{y}" stroke="{color}" stroke-width="2" {dash}/>')
        out.append(f'<text x="{w - right + 46}" y="{y + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--svg", help="where the SVG goes")
    args = parser.parse_args()
    sizes = load(args.results)
    print(table(sizes))
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(sizes))
        print(f"\nSVG: {args.svg}")


if __name__ == "__main__":
    main()

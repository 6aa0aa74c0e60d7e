#!/usr/bin/env python3
"""Summarises benchmark runs (one JSON line per client run, as scripts/bench.sh writes them).

    report.py RUNS.jsonl [--summary OUT.json] [--chart docs/bench.png|.svg] [--autobahn DIR]
              [--autobahn-compare DIR]

Prints a table of medians with min-max per group and client, client CPU seconds per GB (1 GB =
1e9 echoed bytes) or per 1M messages, ratios against libwebsockets (and against the plain TCP
echo baseline when present: the ceiling of ws:// and wss:// throughput alike), and the echo
server's CPU. A group is a mode, "wss-" before it for runs over TLS and "+deflate" after it
for runs with permessage-deflate ("wss-ticks+deflate"). Standard library only; the chart
needs matplotlib (PNG) and falls back to a hand-written SVG without it. When
scripts/autobahn.sh --compare-lws has run, its durations per case group follow the table.
"""
import argparse
import json
import os
import statistics
import sys

MODES = ["rtt", "throughput", "text", "conns", "ticks", "bigmsg"]


def group_of(r):
    """The group of one run: its mode, over TLS or not, with permessage-deflate or not."""
    tls = "wss-" if str(r.get("url", "")).startswith("wss:") else ""
    return tls + r.get("mode", "?") + ("+deflate" if r.get("deflate") else "")


def base_mode(group):
    return group.split("+")[0].removeprefix("wss-")


def groups_in_order(groups):
    """rtt, wss-rtt, rtt+deflate, wss-rtt+deflate, throughput, ..."""
    def key(g):
        m = base_mode(g)
        return (MODES.index(m) if m in MODES else 99, "+deflate" in g, g.startswith("wss-"))
    return sorted(groups, key=key)
REFERENCE = "libwebsockets"


def cpu(r):
    return r.get("user_s", 0.0) + r.get("sys_s", 0.0)


def derived(r):
    """Adds the per-unit CPU figures to one run."""
    mode = r["mode"]
    if r.get("client") == "wsc" and r.get("nocopy") == 0:
        r["client"] = "wsc-copy"  # wsc_send_* instead of the default wsc_send_*_nocopy
    elif r.get("client") == "wsc" and r.get("check_text") == 0:
        r["client"] = "wsc-trust"  # outgoing text not checked (trust_outgoing_text)
    elif r.get("client") == "wsc" and r.get("stream") == 1 and mode != "bigmsg":
        r["client"] = "wsc-stream"  # echoes received in parts (stream_messages)
    if mode == "rtt":
        msgs = r.get("n", 0) + r.get("warmup", 0)
        r["cpu_s_per_1M_msgs"] = cpu(r) / msgs * 1e6 if msgs else 0.0
        r["user_s_per_1M_msgs"] = r.get("user_s", 0.0) / msgs * 1e6 if msgs else 0.0
        r["server_cpu_s_per_1M_msgs"] = r.get("server_cpu_s", 0.0) / msgs * 1e6 if msgs else 0.0
    elif mode in ("throughput", "text", "bigmsg"):
        gb = r.get("bytes", 0) / 1e9
        r["cpu_s_per_GB"] = cpu(r) / gb if gb else 0.0
        # User space is the library's own work; the kernel's share is read against the plain
        # TCP echo of the same messages.
        r["user_s_per_GB"] = r.get("user_s", 0.0) / gb if gb else 0.0
        r["sys_s_per_GB"] = r.get("sys_s", 0.0) / gb if gb else 0.0
        r["server_cpu_s_per_GB"] = r.get("server_cpu_s", 0.0) / gb if gb else 0.0
        msgs = r.get("msgs", 0)
        r["cpu_s_per_1M_msgs"] = cpu(r) / msgs * 1e6 if msgs else 0.0
    elif mode == "conns":
        c = r.get("connected", 0)
        r["cpu_ms_per_conn"] = cpu(r) / c * 1e3 if c else 0.0
    elif mode == "ticks":
        msgs = r.get("msgs", 0)
        r["cpu_us_per_msg"] = cpu(r) / msgs * 1e6 if msgs else 0.0
        r["server_cpu_us_per_msg"] = r.get("server_cpu_s", 0.0) / msgs * 1e6 if msgs else 0.0
    r["group"] = group_of(r)
    return r


# (key, label, format, higher is better)
METRICS = {
    "rtt": [
        ("msgs_per_s", "round trips/s", "{:.0f}", True),
        ("p50_us", "p50 us", "{:.1f}", False),
        ("p99_us", "p99 us", "{:.1f}", False),
        ("cpu_s_per_1M_msgs", "client CPU s/1M msgs", "{:.2f}", False),
        ("user_s_per_1M_msgs", "client user s/1M msgs", "{:.2f}", False),
        ("server_cpu_s_per_1M_msgs", "server CPU s/1M msgs", "{:.2f}", False),
        ("wire_per_payload", "wire/payload bytes", "{:.3f}", False),
    ],
    "throughput": [
        ("mb_per_s", "MB/s", "{:.0f}", True),
        ("cpu_s_per_GB", "client CPU s/GB", "{:.3f}", False),
        ("user_s_per_GB", "client user s/GB", "{:.3f}", False),
        ("sys_s_per_GB", "client kernel s/GB", "{:.3f}", False),
        ("cpu_s_per_1M_msgs", "client CPU s/1M msgs", "{:.0f}", False),
        ("server_cpu_s_per_GB", "server CPU s/GB", "{:.3f}", False),
        ("wire_per_payload", "wire/payload bytes", "{:.3f}", False),
    ],
    "text": [
        ("mb_per_s", "MB/s", "{:.0f}", True),
        ("cpu_s_per_GB", "client CPU s/GB", "{:.3f}", False),
        ("user_s_per_GB", "client user s/GB", "{:.3f}", False),
        ("sys_s_per_GB", "client kernel s/GB", "{:.3f}", False),
        ("cpu_s_per_1M_msgs", "client CPU s/1M msgs", "{:.0f}", False),
        ("server_cpu_s_per_GB", "server CPU s/GB", "{:.3f}", False),
        ("wire_per_payload", "wire/payload bytes", "{:.3f}", False),
    ],
    "bigmsg": [
        ("mb_per_s", "MB/s", "{:.0f}", True),
        ("ru_maxrss_kb", "peak RSS KB", "{:.0f}", False),
        ("cpu_s_per_GB", "client CPU s/GB", "{:.3f}", False),
        ("server_cpu_s_per_GB", "server CPU s/GB", "{:.3f}", False),
    ],
    "conns": [
        ("conns_per_s", "conns/s", "{:.0f}", True),
        ("rss_per_conn_kb", "KB RSS/conn", "{:.2f}", False),
        ("cpu_ms_per_conn", "client CPU ms/conn", "{:.3f}", False),
        ("server_cpu_s", "server CPU s", "{:.2f}", False),
    ],
    "ticks": [
        ("msgs_per_s", "msgs/s", "{:.0f}", True),
        ("cpu_us_per_msg", "client CPU us/msg", "{:.2f}", False),
        ("wire_per_payload", "wire/payload bytes", "{:.3f}", False),
        ("server_cpu_us_per_msg", "server CPU us/msg", "{:.2f}", False),
    ],
}


def load(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(derived(json.loads(line)))
    return runs


def summarise(runs):
    """{group: {client: {metric: {median,min,max,n}, 'ok': k, 'runs': n, 'errors': [...]}}}"""
    out = {}
    for group in groups_in_order({r["group"] for r in runs if base_mode(r["group"]) in MODES}):
        mode = base_mode(group)
        by_client = {}
        for r in runs:
            if r["group"] == group:
                by_client.setdefault(r["client"], []).append(r)
        out[group] = {}
        for client, rs in by_client.items():
            good = [r for r in rs if r.get("ok")]
            s = {"runs": len(rs), "ok": len(good),
                 "errors": sorted({r.get("error", "") for r in rs if not r.get("ok")})}
            for key, _, _, _ in METRICS[mode]:
                vals = [r[key] for r in good if key in r]
                if vals:
                    s[key] = {"median": statistics.median(vals), "min": min(vals),
                              "max": max(vals), "n": len(vals)}
            out[group][client] = s
    # The plain TCP echo is the ceiling of throughput over ws:// and wss:// alike (not with
    # deflate: a payload that compresses goes faster than TCP).
    tcp = out.get("throughput", {}).get("tcp")
    for group, clients in out.items():
        if tcp and group == "wss-throughput" and "tcp" not in clients:
            clients["tcp"] = tcp
    return out


def client_order(clients):
    order = {"wsc": 0, "wsc-copy": 1, "wsc-trust": 2, "wsc-stream": 3, REFERENCE: 4, "tcp": 5}
    return sorted(clients, key=lambda c: (order.get(c, 9), c))


def table(summary):
    lines = []
    for group, clients in summary.items():
        lines.append(f"== {group}")
        metrics = METRICS[base_mode(group)]
        head = f"{'client':<15}{'ok':>6}  " + "  ".join(f"{m[1]:>24}" for m in metrics)
        lines.append(head)
        for client in client_order(clients):
            s = clients[client]
            cells = []
            for key, _, fmt, _ in metrics:
                if key in s:
                    v = s[key]
                    cells.append(f"{fmt.format(v['median'])} [{fmt.format(v['min'])}-"
                                 f"{fmt.format(v['max'])}]")
                else:
                    cells.append("-")
            lines.append(f"{client:<15}{s['ok']:>3}/{s['runs']:<2}  "
                         + "  ".join(f"{c:>24}" for c in cells))
            for e in s["errors"]:
                lines.append(f"{'':15}error: {e}")
        for other in (REFERENCE, "tcp"):
            if "wsc" in clients and other in clients:
                ratios = []
                for key, label, _, _ in metrics:
                    a, b = clients["wsc"].get(key), clients[other].get(key)
                    if a and b and b["median"]:
                        ratios.append(f"{label} x{a['median'] / b['median']:.2f}")
                if ratios:
                    lines.append(f"wsc / {other}: " + ", ".join(ratios))
        lines.append("")
    return "\n".join(lines)


def autobahn(directory):
    path = os.path.join(directory, "index.json")
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        index = json.load(f)
    cases = ["9.1.6", "9.2.6", "9.7.6", "9.8.6"]
    lws = {"9.1.6": 333, "9.2.6": 511, "9.7.6": 247, "9.8.6": 285}
    lines = ["== Autobahn 9.* durations (ms) from " + path]
    lines.append(f"{'agent':<20}" + "".join(f"{c:>10}" for c in cases))
    for agent, results in index.items():
        lines.append(f"{agent:<20}" + "".join(
            f"{results.get(c, {}).get('duration', '-'):>10}" for c in cases))
    lines.append(f"{'libwebsockets 4.1.6':<20}" + "".join(f"{lws[c]:>10}" for c in cases))
    return "\n".join(lines) + "\n"


# Per mode: (key, title); a group's panels are titled with the group's name.
def autobahn_compare(directory):
    """Case durations per group of scripts/autobahn.sh --compare-lws, when it was run."""
    runs = {}
    for agent in ("wsc", REFERENCE):
        path = os.path.join(directory, agent, "index.json")
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            runs[agent] = json.load(f).get(agent, {})
    passed = ("OK", "NON-STRICT", "INFORMATIONAL")
    groups = {}
    for case, r in runs["wsc"].items():
        o = runs[REFERENCE].get(case)
        if r.get("behavior") in passed and o and o.get("behavior") in passed:
            g = groups.setdefault(case.rsplit(".", 1)[0], {"wsc": 0, REFERENCE: 0})
            g["wsc"] += r.get("duration", 0)
            g[REFERENCE] += o.get("duration", 0)

    def key(g):
        return tuple(int(p) for p in g.split("."))
    lines = [f"== Autobahn durations (ms, sum per case group, cases both passed) from {directory}",
             f"{'group':<10}{'wsc':>10}{REFERENCE:>15}{'ratio':>8}"]
    for g in sorted(groups, key=key):
        a, b = groups[g]["wsc"], groups[g][REFERENCE]
        lines.append(f"{g:<10}{a:>10}{b:>15}" + (f"{a / b:>8.2f}" if b else f"{'-':>8}"))
    return "\n".join(lines) + "\n"


CHART = {"rtt": [("msgs_per_s", "round trips/s"), ("cpu_s_per_1M_msgs", "client CPU s / 1M msgs")],
         "throughput": [("mb_per_s", "1 MiB: MB/s"), ("cpu_s_per_GB", "client CPU s / GB")],
         "text": [("mb_per_s", "1 MiB: MB/s"), ("cpu_s_per_GB", "client CPU s / GB")],
         "conns": [("conns_per_s", "handshakes/s"), ("rss_per_conn_kb", "KB RSS / connection")],
         "ticks": [("cpu_us_per_msg", "client CPU us / msg"),
                   ("wire_per_payload", "wire / payload bytes")]}
COLORS = {"wsc": "#2b6cb0", "wsc-copy": "#63b3ed", "wsc-trust": "#2c5282",
          "wsc-stream": "#4299e1", REFERENCE: "#c05621", "tcp": "#718096"}


def panels(summary):
    out = []
    for group, clients in summary.items():
        for key, title in CHART.get(base_mode(group), []):
            bars = [(c, clients[c][key]) for c in client_order(clients) if key in clients[c]]
            if bars:
                out.append((f"{group}: {title}", bars))
    return out


def chart_png(summary, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ps = panels(summary)
    cols = 2
    rows = (len(ps) + 1) // 2
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.4 * rows), squeeze=False)
    for ax, (title, bars) in zip(axes.flat, ps):
        names = [b[0] for b in bars]
        med = [b[1]["median"] for b in bars]
        err = [[m - b[1]["min"] for m, b in zip(med, bars)],
               [b[1]["max"] - m for m, b in zip(med, bars)]]
        ax.barh(names, med, xerr=err, color=[COLORS.get(n, "#999") for n in names], capsize=3)
        ax.set_title(title, fontsize=10)
        ax.invert_yaxis()
        for i, m in enumerate(med):
            ax.text(m, i, f" {m:.3g}", va="center", fontsize=8)
    for ax in list(axes.flat)[len(ps):]:
        ax.axis("off")
    fig.suptitle("wsc vs libwebsockets 4.1.6: medians, bars min-max (scripts/bench.sh)",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / (2.4 * rows)))  # room for the title
    fig.savefig(path, dpi=100)


def chart_svg(summary, path):
    ps = panels(summary)
    w, ph = 900, 110
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{ph * len(ps) + 30}"'
             ' font-family="sans-serif" font-size="12">',
             '<text x="10" y="18" font-size="14">wsc vs libwebsockets: medians, '
             'lines min-max</text>']
    for i, (title, bars) in enumerate(ps):
        y0 = 30 + i * ph
        parts.append(f'<text x="10" y="{y0 + 14}">{title}</text>')
        top = max(b[1]["max"] for b in bars) or 1
        for j, (name, v) in enumerate(bars):
            y = y0 + 22 + j * 26
            scale = (w - 260) / top
            parts.append(f'<text x="10" y="{y + 14}">{name}</text>')
            parts.append(f'<rect x="120" y="{y}" width="{v["median"] * scale:.1f}" height="18" '
                         f'fill="{COLORS.get(name, "#999")}"/>')
            parts.append(f'<line x1="{120 + v["min"] * scale:.1f}" x2="{120 + v["max"] * scale:.1f}"'
                         f' y1="{y + 9}" y2="{y + 9}" stroke="black"/>')
            parts.append(f'<text x="{126 + v["max"] * scale:.1f}" y="{y + 14}">'
                         f'{v["median"]:.3g}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("--summary")
    ap.add_argument("--chart")
    ap.add_argument("--autobahn", default="reports/autobahn")
    ap.add_argument("--autobahn-compare", default="reports/autobahn-compare")
    a = ap.parse_args()
    summary = summarise(load(a.runs))
    print(table(summary))
    ab = autobahn(a.autobahn)
    if ab:
        print(ab)
    abc = autobahn_compare(a.autobahn_compare)
    if abc:
        print(abc)
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
    if a.chart:
        path = a.chart
        try:
            if path.endswith(".svg"):
                raise ImportError
            chart_png(summary, path)
        except ImportError:
            path = os.path.splitext(path)[0] + ".svg"
            chart_svg(summary, path)
        print(f"chart: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

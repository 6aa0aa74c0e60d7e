#!/usr/bin/env python3
"""Summarise an Autobahn (kosoku fuzzingserver) run and compare it with the
expected results.

    autobahn_summary.py REPORT_DIR [--agent wsc] [--cases GLOB ...]
                        [--check EXPECTED | --write-expected EXPECTED]
                        [--elapsed SECONDS]
    autobahn_summary.py --update-reports WS_URL --agent wsc
    autobahn_summary.py REPORT_DIR --agent wsc [--cases GLOB ...] [--elapsed S]
                        --compare OTHER_DIR --compare-agent libwebsockets
                        [--compare-elapsed S]

REPORT_DIR/index.json maps agent -> case -> {behavior, behaviorClose, duration,
...}. The expected file maps case -> {behavior, behaviorClose} (no durations:
they change from run to run). --cases names the globs that were run, so that a
partial run is compared with the matching part of the expected file and
--write-expected replaces only that part.

--compare prints the case durations of two runs of the same cases side by
side (per case, per case group such as 12.1, and in all), with each run's
verdicts when they are not OK (scripts/autobahn.sh --compare-lws).

--update-reports asks the fuzzing server to write its reports (what a client
does at the end of a run), so that a run whose client crashed still leaves
reports to read.
"""

import argparse
import base64
import collections
import fnmatch
import json
import os
import socket
import sys
import urllib.parse


def case_key(case):
    return tuple(int(part) for part in case.split("."))


def load_run(report_dir, agent):
    path = os.path.join(report_dir, "index.json")
    with open(path) as f:
        index = json.load(f)
    if agent not in index:
        sys.exit(f"{path}: no results for agent {agent!r} (agents: {', '.join(index)})")
    return index[agent]


def selected(case, globs):
    return not globs or any(fnmatch.fnmatchcase(case, g) for g in globs)


def verdict(result):
    return {"behavior": result["behavior"], "behaviorClose": result["behaviorClose"]}


def summarise(run, report_dir, elapsed):
    counts = collections.Counter(r["behavior"] for r in run.values())
    print(f"{len(run)} cases: " + ", ".join(f"{n} {b}" for b, n in sorted(counts.items())))
    not_ok = [c for c in sorted(run, key=case_key)
              if run[c]["behavior"] != "OK" or run[c]["behaviorClose"] != "OK"]
    if not_ok:
        print("cases not OK (behavior / behaviorClose):")
        for case in not_ok:
            r = run[case]
            print(f"  {case:<10} {r['behavior']} / {r['behaviorClose']}")
    perf = [c for c in sorted(run, key=case_key) if c.startswith("9.")]
    if perf:  # the performance cases: message sizes and fragmentation
        print(f"9.* durations (ms), total {sum(run[c]['duration'] for c in perf)}:")
        groups = collections.defaultdict(list)
        for c in perf:
            groups[c.rsplit(".", 1)[0]].append(f"{c}={run[c]['duration']}")
        for group in groups.values():
            print("  " + " ".join(group))
    total = sum(r["duration"] for r in run.values())
    line = f"sum of case durations: {total / 1000:.1f} s"
    if elapsed is not None:
        line += f"; whole run: {elapsed:.1f} s"
    print(line)
    print(f"report: {os.path.abspath(os.path.join(report_dir, 'index.html'))}")


def compare(run, agent, other, other_agent, elapsed, other_elapsed):
    """Durations (ms) of the cases of two runs side by side, then per group and in all."""
    cases = sorted(set(run) | set(other), key=case_key)
    width = max([len(agent), len(other_agent), 8])

    def cell(r, case):
        if case not in r:
            return f"{'-':>{width}}"
        mark = "" if r[case]["behavior"] == "OK" and r[case]["behaviorClose"] == "OK" else "*"
        return f"{str(r[case]['duration']) + mark:>{width}}"

    def ratio(a, b):
        return f"{a / b:7.2f}" if b else f"{'-':>7}"

    def passed(r, case):
        return case in r and r[case]["behavior"] in ("OK", "NON-STRICT", "INFORMATIONAL")

    print(f"{'case':<10} {agent:>{width}} {other_agent:>{width}} {'ratio':>7}")
    groups = collections.OrderedDict()
    both = 0
    for case in cases:
        a = run.get(case, {}).get("duration", 0)
        b = other.get(case, {}).get("duration", 0)
        print(f"{case:<10} {cell(run, case)} {cell(other, case)} {ratio(a, b)}")
        if passed(run, case) and passed(other, case):
            both += 1
            g = groups.setdefault(case.rsplit(".", 1)[0], [0, 0])
            g[0] += a
            g[1] += b
    print(f"per group (sum of durations, ms; the {both} of {len(cases)} cases both passed):")
    for g, (a, b) in groups.items():
        print(f"{g:<10} {a:>{width}} {b:>{width}} {ratio(a, b)}")
    a = sum(g[0] for g in groups.values())
    b = sum(g[1] for g in groups.values())
    print(f"{'all':<10} {a:>{width}} {b:>{width}} {ratio(a, b)}")
    if elapsed is not None and other_elapsed is not None:
        print(f"whole runs: {agent} {elapsed:.1f} s, {other_agent} {other_elapsed:.1f} s")
    print("* behavior or behaviorClose not OK (see each run's index.html); "
          f"ratio = {agent} / {other_agent}")


def check(run, expected_path, globs):
    try:
        with open(expected_path) as f:
            expected = json.load(f)
    except FileNotFoundError:
        print(f"{expected_path} does not exist: review a run, then create it with "
              "scripts/autobahn.sh --write-expected", file=sys.stderr)
        return 1
    expected = {c: v for c, v in expected.items() if selected(c, globs)}
    differences = []
    for case in sorted(set(expected) | set(run), key=case_key):
        want = expected.get(case)
        got = verdict(run[case]) if case in run else None
        if want != got:
            differences.append((case, want, got))
    if not differences:
        print(f"all {len(run)} cases match {expected_path}")
        return 0
    print(f"{len(differences)} cases differ from {expected_path}:")
    for case, want, got in differences:
        want = "(not in file)" if want is None else f"{want['behavior']} / {want['behaviorClose']}"
        got = "(not run)" if got is None else f"{got['behavior']} / {got['behaviorClose']}"
        print(f"  {case:<10} expected {want:<28} got {got}")
    return 1


def write_expected(run, expected_path, globs):
    expected = {}
    if os.path.exists(expected_path):
        with open(expected_path) as f:
            expected = {c: v for c, v in json.load(f).items() if not selected(c, globs)}
    expected.update({c: verdict(r) for c, r in run.items()})
    ordered = {c: expected[c] for c in sorted(expected, key=case_key)}
    with open(expected_path, "w") as f:  # one case a line: readable diffs
        lines = [f"  {json.dumps(c)}: {json.dumps(v)}" for c, v in ordered.items()]
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"wrote {len(ordered)} cases to {expected_path}")


def update_reports(url, agent):
    """One WebSocket handshake to URL/updateReports?agent=AGENT, then wait for
    the server to close: that is when the reports are written."""
    u = urllib.parse.urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    path = "/updateReports?agent=" + urllib.parse.quote(agent)
    with socket.create_connection((u.hostname, u.port or 80), timeout=60) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        while s.recv(4096):
            pass


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report_dir", nargs="?")
    p.add_argument("--agent", default="wsc")
    p.add_argument("--cases", nargs="*", default=[], metavar="GLOB")
    p.add_argument("--elapsed", type=float)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", metavar="EXPECTED")
    mode.add_argument("--write-expected", metavar="EXPECTED")
    mode.add_argument("--update-reports", metavar="WS_URL")
    mode.add_argument("--compare", metavar="OTHER_REPORT_DIR")
    p.add_argument("--compare-agent", default="libwebsockets")
    p.add_argument("--compare-elapsed", type=float)
    args = p.parse_args()

    if args.update_reports:
        update_reports(args.update_reports, args.agent)
        return 0
    if not args.report_dir:
        p.error("REPORT_DIR is required")
    run = {c: r for c, r in load_run(args.report_dir, args.agent).items()
           if selected(c, args.cases)}
    if args.compare:
        other = {c: r for c, r in load_run(args.compare, args.compare_agent).items()
                 if selected(c, args.cases)}
        compare(run, args.agent, other, args.compare_agent, args.elapsed, args.compare_elapsed)
        return 0
    summarise(run, args.report_dir, args.elapsed)
    if args.check:
        return check(run, args.check, args.cases)
    if args.write_expected:
        write_expected(run, args.write_expected, args.cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())

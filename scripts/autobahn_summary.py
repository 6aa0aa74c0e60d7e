#!/usr/bin/env python3
"""Summarise an Autobahn (kosoku fuzzingserver) run and compare it with the
expected results.

    autobahn_summary.py REPORT_DIR [--agent wsc] [--cases GLOB ...]
                        [--check EXPECTED | --write-expected EXPECTED]
                        [--elapsed SECONDS]
    autobahn_summary.py --update-reports WS_URL --agent wsc

REPORT_DIR/index.json maps agent -> case -> {behavior, behaviorClose, duration,
...}. The expected file maps case -> {behavior, behaviorClose} (no durations:
they change from run to run). --cases names the globs that were run, so that a
partial run is compared with the matching part of the expected file and
--write-expected replaces only that part.

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
    args = p.parse_args()

    if args.update_reports:
        update_reports(args.update_reports, args.agent)
        return 0
    if not args.report_dir:
        p.error("REPORT_DIR is required")
    run = {c: r for c, r in load_run(args.report_dir, args.agent).items()
           if selected(c, args.cases)}
    summarise(run, args.report_dir, args.elapsed)
    if args.check:
        return check(run, args.check, args.cases)
    if args.write_expected:
        write_expected(run, args.write_expected, args.cases)
    return 0


if __name__ == "__main__":
    sys.exit(main())

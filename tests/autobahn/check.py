#!/usr/bin/env python3
"""Gate on an Autobahn|Testsuite report (kosoku's or wstest's index.json).

Usage:
    check.py INDEX_JSON [--override INDEX_JSON ...] [--broken-out FILE]
             [--allow-runner-broken]

A case passes when both its `behavior` and its `behaviorClose` are one of
OK, NON-STRICT or INFORMATIONAL. Anything else (FAILED, WRONG CODE,
UNCLEAN, UNIMPLEMENTED, ERROR, ...) is a failure.

kosoku 0.1.0 has a bug of its own: on the first case of some
permessage-deflate groups (12.*/13.* with an empty payload) its Python 3 port
of the case hashes a `str`, and the case ends with the result text
"Strings must be encoded before hashing". The reference runner (wstest,
Python 2) passes those cases. Such cases are reported as "runner-broken":
never counted as passed, listed by id, and written to --broken-out so that
exactly those can be re-run under the reference runner. Results from an
--override report (e.g. the wstest re-run) replace the primary report's
result for the cases they contain.

Exit status: 0 when every case passed (runner-broken cases that were not
re-run count against it unless --allow-runner-broken is given), else 1.
The last line printed is always `N passed, M failed`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}
RUNNER_BROKEN_TEXT = "Strings must be encoded before hashing"


def case_key(case_id: str) -> list[int]:
    try:
        return [int(p) for p in case_id.split(".")]
    except ValueError:
        return [sys.maxsize]


def load_index(path: str) -> dict[str, dict]:
    """Return {case_id: entry} for every agent in the report.

    Each entry gets the detail report's `result` text added (empty when the
    per-case file is missing) and the agent name.
    """
    with open(path, encoding="utf-8") as f:
        index = json.load(f)
    if not isinstance(index, dict) or not index:
        raise ValueError(f"{path}: no agents in report")
    base = os.path.dirname(os.path.abspath(path))
    cases: dict[str, dict] = {}
    for agent, agent_cases in index.items():
        for case_id, entry in agent_cases.items():
            entry = dict(entry)
            entry["agent"] = agent
            entry["source"] = path
            entry["result"] = ""
            report = entry.get("reportfile")
            if report:
                try:
                    with open(os.path.join(base, report), encoding="utf-8") as rf:
                        detail = json.load(rf)
                    entry["result"] = str(detail.get("result") or "")
                    entry["resultClose"] = str(detail.get("resultClose") or "")
                except (OSError, ValueError):
                    pass
            # Several agents in one report: key by agent too.
            key = case_id if len(index) == 1 else f"{agent}:{case_id}"
            cases[key] = entry
    return cases


def passed(entry: dict) -> bool:
    return entry.get("behavior") in PASSING and entry.get("behaviorClose") in PASSING


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index", help="primary index.json (kosoku)")
    ap.add_argument(
        "--override",
        action="append",
        default=[],
        help="index.json whose results replace the primary's for its cases (repeatable)",
    )
    ap.add_argument("--broken-out", help="write runner-broken case ids here, one a line")
    ap.add_argument(
        "--allow-runner-broken",
        action="store_true",
        help="do not fail on runner-broken cases that were not re-run (still printed)",
    )
    args = ap.parse_args()

    try:
        cases = load_index(args.index)
    except (OSError, ValueError) as e:
        print(f"check.py: cannot read report: {e}")
        print("0 passed, 1 failed")
        return 1

    overridden: set[str] = set()
    for path in args.override:
        try:
            extra = load_index(path)
        except (OSError, ValueError) as e:
            print(f"check.py: cannot read override report: {e}")
            print("0 passed, 1 failed")
            return 1
        for case_id, entry in extra.items():
            # Match by bare case id, whatever the agent name in the other runner.
            bare = case_id.split(":")[-1]
            target = bare if bare in cases else case_id
            cases[target] = entry
            overridden.add(target)

    ok, failed, broken = [], [], []
    for case_id in sorted(cases, key=lambda c: case_key(c.split(":")[-1])):
        entry = cases[case_id]
        if passed(entry):
            ok.append(case_id)
        elif RUNNER_BROKEN_TEXT in entry.get("result", ""):
            broken.append(case_id)
        else:
            failed.append(case_id)

    if overridden:
        rerun_ok = sorted((c for c in overridden if c in ok), key=case_key)
        print(
            f"re-run under the reference runner: {len(overridden)} case(s), "
            f"{len(rerun_ok)} passed: {' '.join(sorted(overridden, key=case_key))}"
        )
    for case_id in failed:
        e = cases[case_id]
        detail = e.get("result") or ""
        if len(detail) > 160:
            detail = detail[:157] + "..."
        print(
            f"FAIL {case_id}: behavior={e.get('behavior')} "
            f"behaviorClose={e.get('behaviorClose')} "
            f"closeCode={e.get('remoteCloseCode')} {detail}".rstrip()
        )
    if broken:
        print(
            f"RUNNER-BROKEN {len(broken)} case(s) (kosoku: \"{RUNNER_BROKEN_TEXT}\"; "
            f"not counted as passed, re-run them under wstest): {' '.join(broken)}"
        )
    if args.broken_out:
        with open(args.broken_out, "w", encoding="utf-8") as f:
            f.writelines(f"{c.split(':')[-1]}\n" for c in broken)

    n_failed = len(failed) + (0 if args.allow_runner_broken else len(broken))
    if failed:
        print(f"failing cases: {' '.join(failed)}")
    print(f"{len(ok)} passed, {n_failed} failed")
    return 0 if n_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

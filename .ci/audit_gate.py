"""Judge a `pip-audit --format json` report: fail on any known vulnerability.

    python .ci/audit_gate.py REPORT.json [--allow-unaudited]

Exit 1 when a dependency has a known vulnerability (each is listed with its fix versions).
A dependency pip-audit could not audit (the vulnerability service did not answer for it) also
fails, unless `--allow-unaudited` is given: then it is reported, loudly, and CI goes on. CI
passes that flag because its machines reach PyPI's package index but not PyPI's per-version
JSON API (404) nor api.osv.dev (no DNS), so nothing can be audited there; a vulnerability that
is reported still fails the build.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def judge(report: dict, allow_unaudited: bool) -> tuple[int, list[str]]:
    """The exit status and the lines to print for one pip-audit JSON report."""
    deps = report.get("dependencies")
    if not isinstance(deps, list):
        return 2, ["audit report has no 'dependencies' list: not a pip-audit JSON report"]
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = len(deps) - len(skipped)
    lines = [f"dependency audit: {audited} of {len(deps)} dependencies audited, "
             f"{sum(len(d['vulns']) for d in vulnerable)} known vulnerabilities"]
    for d in vulnerable:
        for v in d["vulns"]:
            fixes = ", ".join(v.get("fix_versions") or []) or "no fix yet"
            lines.append(f"VULNERABLE {d['name']} {d.get('version', '?')}: {v.get('id')} "
                         f"(fixed in {fixes})")
    if skipped:
        lines.append(f"NOT AUDITED {len(skipped)} dependencies; first: {skipped[0]['name']}: "
                     f"{skipped[0]['skip_reason']}")
    if vulnerable:
        return 1, lines
    if skipped and not allow_unaudited:
        return 1, lines
    return 0, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--allow-unaudited", action="store_true")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{args.report}: cannot read the audit report ({exc})", file=sys.stderr)
        return 2
    status, lines = judge(report, args.allow_unaudited)
    for line in lines:
        print(line, file=sys.stderr if status else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""The CI dependency audit's gate (.ci/audit_gate.py) on pip-audit JSON reports: a known
vulnerability always fails; dependencies the service did not answer for fail unless CI's
`--allow-unaudited` is given, and are reported either way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

GATE = Path(__file__).resolve().parents[1] / ".ci" / "audit_gate.py"

CLEAN = {"name": "requests", "version": "2.32.5", "vulns": []}
VULNERABLE = {"name": "jinja2", "version": "3.1.2", "vulns": [
    {"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": ["CVE-2024-22195"],
     "description": "xmlattr filter allows keys with spaces"}]}
SKIPPED = {"name": "annotated-doc", "skip_reason":
           "Dependency not found on PyPI and could not be audited: annotated-doc (0.0.7)"}


def gate(tmp_path: Path, report: object, *flags: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "report.json"
    path.write_text(report if isinstance(report, str) else json.dumps(report), encoding="utf-8")
    return subprocess.run([sys.executable, str(GATE), str(path), *flags],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("flags", [(), ("--allow-unaudited",)])
def test_a_known_vulnerability_fails_with_or_without_the_flag(tmp_path: Path,
                                                              flags: tuple[str, ...]) -> None:
    done = gate(tmp_path, {"dependencies": [CLEAN, VULNERABLE, SKIPPED], "fixes": []}, *flags)
    assert done.returncode == 1
    assert "VULNERABLE jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in done.stderr


def test_a_clean_report_passes(tmp_path: Path) -> None:
    done = gate(tmp_path, {"dependencies": [CLEAN], "fixes": []})
    assert done.returncode == 0
    assert "1 of 1 dependencies audited, 0 known vulnerabilities" in done.stdout


def test_unaudited_dependencies_fail_unless_allowed_and_are_always_reported(
        tmp_path: Path) -> None:
    report = {"dependencies": [CLEAN, SKIPPED], "fixes": []}
    strict = gate(tmp_path, report)
    assert strict.returncode == 1
    assert "NOT AUDITED 1 dependencies; first: annotated-doc" in strict.stderr
    allowed = gate(tmp_path, report, "--allow-unaudited")
    assert allowed.returncode == 0
    assert "NOT AUDITED 1 dependencies" in allowed.stdout


@pytest.mark.parametrize("text", ["", "{not json", json.dumps({"fixes": []})])
def test_a_missing_or_broken_report_fails(tmp_path: Path, text: str) -> None:
    done = gate(tmp_path, text, "--allow-unaudited")
    assert done.returncode == 2
    assert done.stderr.strip()

"""The YAML corpus: every valid file loads and validates clean; every invalid file reports the
exact paths (and message fragments) its ``# expect: <path> | <fragment>`` header lines name."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_executor.errors import Issue, SpecError
from workflow_executor.spec import check, load_file

CORPUS = Path(__file__).parent / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.yaml"))
INVALID = sorted((CORPUS / "invalid").glob("*.yaml"))


def builtins_only(ref: str) -> str | None:
    return None if ref.startswith("builtins.") else f"function '{ref}' is not allowed"


def expectations(path: Path, tag: str = "expect") -> list[tuple[str, str]]:
    """``# expect: <path> | <fragment>`` (an error) or ``# warn: ...`` (a warning) header lines."""
    out = []
    for line in path.read_text().splitlines():
        if not line.startswith("# "):
            break
        if line.startswith(f"# {tag}:"):
            where, _, fragment = line.removeprefix(f"# {tag}:").partition("|")
            out.append((where.strip(), fragment.strip()))
    return out


def findings_of(path: Path) -> tuple[list[Issue], list[Issue]]:
    """(errors, warnings) of loading and checking ``path``."""
    warnings: list[Issue] = []
    try:
        doc = load_file(path, warnings=warnings)
    except SpecError as exc:
        return exc.issues, exc.warnings
    report = check(doc, source=str(path), function_checker=builtins_only)
    return report.errors, warnings + report.warnings


def issues_of(path: Path) -> list[Issue]:
    return findings_of(path)[0]


def test_the_corpus_has_files_of_both_kinds() -> None:
    assert len(VALID) >= 9
    assert len(INVALID) >= 15


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_a_valid_corpus_file_loads_and_validates_without_errors_or_warnings(path: Path) -> None:
    doc = load_file(path)
    report = check(doc, source=str(path), function_checker=builtins_only, allowed_env=frozenset({"REGION"}))
    assert report.errors == []
    assert report.warnings == []
    assert report.ok


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_an_invalid_corpus_file_reports_each_expected_path(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' header"
    issues = issues_of(path)
    for where, fragment in expected:
        matches = [i for i in issues if i.path == where]
        assert matches, f"no issue at {where}; got {[i.path for i in issues]}"
        assert any(fragment in i.message for i in matches), [i.message for i in matches]
        assert all(i.file == str(path) and i.fix for i in matches)
    warnings = findings_of(path)[1]
    for where, fragment in expectations(path, "warn"):
        matches = [w for w in warnings if w.path == where]
        assert matches, f"no warning at {where}; got {[w.path for w in warnings]}"
        assert any(fragment in w.message for w in matches), [w.message for w in matches]
        assert all(w.file == str(path) and w.fix and w.severity == "warning" for w in matches)

"""Safe YAML loading: limits fail fast with ``limit_exceeded``; bad YAML fails with a location."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from workflow_executor.errors import LimitExceeded, SpecError
from workflow_executor.spec import load_file, load_text
from workflow_executor.spec.yamlsafe import load_yaml

FIFTY_MB = 50 * 1024 * 1024


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
        prev = name
    return "\n".join(lines) + "\n"


def test_a_50_mb_document_is_rejected_before_parsing() -> None:
    text = "workflows:\n" + "#" * FIFTY_MB
    start = time.perf_counter()
    with pytest.raises(LimitExceeded) as err:
        load_text(text, source="big.yaml")
    assert time.perf_counter() - start < 5.0  # a parse of it would take minutes
    assert err.value.code == "limit_exceeded"
    assert err.value.details["limit"] == "document_bytes"
    assert "big.yaml" in err.value.message


def test_a_50_mb_file_is_rejected_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(FIFTY_MB)
    start = time.perf_counter()
    with pytest.raises(LimitExceeded) as err:
        load_file(big)
    assert time.perf_counter() - start < 5.0  # a parse of it would take minutes
    assert err.value.code == "limit_exceeded"


def test_the_size_limit_counts_bytes_not_characters() -> None:
    with pytest.raises(LimitExceeded):
        load_yaml("x: " + "é" * 600, max_bytes=1000)


def test_an_alias_bomb_is_rejected_fast() -> None:
    start = time.perf_counter()
    with pytest.raises(LimitExceeded) as err:
        load_text(billion_laughs(), source="bomb.yaml")
    assert time.perf_counter() - start < 5.0  # a parse of it would take minutes
    assert err.value.details["limit"] == "yaml_nodes"
    assert "alias" in err.value.message


def test_a_few_aliases_are_fine() -> None:
    assert load_yaml("base: &b {x: 1}\nother: *b\n") == {"base": {"x": 1}, "other": {"x": 1}}


def test_deep_nesting_is_rejected_with_the_depth_limit() -> None:
    with pytest.raises(LimitExceeded) as err:
        load_text("[" * 10_000 + "]" * 10_000)
    assert err.value.details["limit"] == "yaml_depth"


def test_a_recursive_alias_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as err:
        load_yaml("&a [*a]")
    assert "recursive alias" in err.value.issues[0].message


def test_a_syntax_error_names_the_line_and_column() -> None:
    with pytest.raises(SpecError) as err:
        load_text("workflows:\n  a:\n    - id: x\n   bad: 1\n", source="f.yaml")
    issue = err.value.issues[0]
    assert issue.file == "f.yaml"
    assert "line 4" in issue.message


def test_python_tags_are_rejected() -> None:
    with pytest.raises(SpecError) as err:
        load_yaml("x: !!python/object/apply:os.system [echo]")
    assert "unsupported YAML" in err.value.issues[0].message


def test_non_string_keys_are_rejected_with_their_path() -> None:
    with pytest.raises(SpecError) as err:
        load_yaml("a:\n  b: {1: x, [y]: z}\n")
    assert [i.path for i in err.value.issues] == ["a.b", "a.b"]


def test_switch_case_keys_keep_the_text_written() -> None:
    assert load_yaml("cases: {1: a, true: b, null: c}") == {"cases": {"1": "a", "true": "b", "null": "c"}}


def test_dates_stay_strings() -> None:
    assert load_yaml("version: 2024-01-01") == {"version": "2024-01-01"}


def test_several_documents_in_one_text_are_rejected() -> None:
    with pytest.raises(SpecError):
        load_yaml("a: 1\n---\nb: 2\n")


def test_control_characters_are_a_spec_error() -> None:
    with pytest.raises(SpecError):
        load_yaml("a: \x00")

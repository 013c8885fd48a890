"""The text a workflow was registered or run with is kept with its version (comments and all),
while ``source`` still names only a file: inline text, a file, a mapping, an inline run."""

from __future__ import annotations

from pathlib import Path

from workflow_executor.api import Executor

TEXT = "# keep me\nworkflows:\n  w:\n    steps:\n      - {id: a, function: builtins.echo}  # the only step\n"


def test_inline_text_is_kept_and_source_stays_empty(wfx: Executor) -> None:
    [stored] = wfx.register(TEXT)
    assert (stored.source, stored.source_text) == (None, TEXT)
    assert wfx.registry.get("w") == stored


def test_a_file_keeps_its_path_as_source_and_its_text(wfx: Executor, tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(TEXT.replace("keep me", "from a file"))
    [stored] = wfx.register(path)
    assert (stored.source, stored.source_text) == (str(path), path.read_text())


def test_a_mapping_has_no_text_unless_one_is_given(wfx: Executor) -> None:
    doc = {"workflows": {"m": {"steps": [{"id": "a", "function": "builtins.echo"}]}}}
    assert wfx.register(doc)[0].source_text is None
    other = {"workflows": {"n": {"steps": [{"id": "a", "function": "builtins.echo"}]}}}
    assert wfx.register(other, source_text="# as typed\n")[0].source_text == "# as typed\n"


def test_an_inline_run_stores_its_version_with_the_text_it_ran(wfx: Executor) -> None:
    res = wfx.run(input="x", workflow=TEXT.replace("keep me", "run inline"))
    ran = wfx.registry.get("w", res.workflow_hash)
    assert ran is not None and ran.source_text is not None and ran.source_text.startswith("# run inline")
    assert wfx.registry.get("w") is None  # running a document never registers its name


def test_a_text_over_the_limit_is_not_kept(wfx: Executor) -> None:
    from workflow_executor.spec.sources import MAX_SOURCE_TEXT

    big = TEXT + "#" * MAX_SOURCE_TEXT + "\n"
    assert wfx.register(big)[0].source_text is None

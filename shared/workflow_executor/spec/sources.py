"""A workflow source as the API takes it (a path, YAML text or a mapping): which str is a path,
and the text kept with a stored version so the web view shows the YAML as it was written."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

# the longest source text kept with a version (a longer one is shown as its normalised document):
# a Firestore version document holds it beside the document, under Firestore's 1 MiB
MAX_SOURCE_TEXT = 200_000


def text_of(source: str | Path | Mapping[str, Any]) -> str | None:
    """The document as the user wrote it: inline text, or a file's text (None for a mapping, a
    folder of section files, or a file that cannot be read again)."""
    if isinstance(source, str):
        return source
    if isinstance(source, Path) and source.is_file():
        try:
            return source.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    return None


def as_path(source: str | Path | Mapping[str, Any]) -> str | Path | Mapping[str, Any]:
    """A one-line str that names an existing file or ends in .yaml/.yml/.json is a path (YAML
    text always has a newline or a ': '); everything else is returned unchanged."""
    if isinstance(source, str) and "\n" not in source and source.strip():
        text = source.strip()
        if text.lower().endswith((".yaml", ".yml", ".json")) or (": " not in text and Path(text).exists()):
            return Path(text)
    return source

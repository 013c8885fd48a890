"""The workflow language: load (any accepted form -> one model), validate, and read the graph.

The names below load their module on first use: importing one submodule (the engine needs only
the model and expressions) does not pull in the loaders and the validator (cold start)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# A name that is also a submodule's name must be bound now: importing the submodule would
# otherwise leave the module itself under that name.
from .graph import Graph, graph
from .validate import Report, check, validate

if TYPE_CHECKING:
    from .folder import is_config_folder, load_path
    from .loader import document_hash, load_file, load_object, load_text
    from .model import WorkflowDocument

_HOME = {
    "is_config_folder": "folder", "load_path": "folder", "document_hash": "loader", "load_file": "loader",
    "load_object": "loader", "load_text": "loader", "WorkflowDocument": "model",
}

__all__ = [
    "Graph",
    "Report",
    "WorkflowDocument",
    "check",
    "document_hash",
    "graph",
    "is_config_folder",
    "load_file",
    "load_object",
    "load_path",
    "load_text",
    "validate",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # once: later lookups are plain module attributes
    return value

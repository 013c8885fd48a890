"""The workflow language: load (any accepted form -> one model), validate, and read the graph."""

from .folder import is_config_folder, load_path
from .graph import Graph, graph
from .loader import document_hash, load_file, load_object, load_text
from .model import WorkflowDocument
from .validate import Report, check, validate

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

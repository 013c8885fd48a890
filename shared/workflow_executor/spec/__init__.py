"""The workflow language: load (any accepted form -> one model), validate, and read the graph."""

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
    "load_file",
    "load_object",
    "load_text",
    "validate",
]

"""Safe YAML loading of untrusted text: size, depth and alias-expansion limits, safe types only.

Syntax and shape problems raise ``SpecError``; exceeded limits raise ``LimitExceeded``.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import Issue, LimitExceeded, SpecError
from .jsondata import MAX_DEPTH
from .model import MAX_DOCUMENT_BYTES

MAX_YAML_NODES = 100_000  # nodes after expanding every alias (stops "billion laughs")

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _DepthLimited(Exception):
    """Raised inside the composer; turned into LimitExceeded with the file name outside."""

    def __init__(self, mark: Any) -> None:
        super().__init__()
        self.mark = mark


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that stops composing past ``max_depth`` and keeps dates as strings
    (a date object would not survive JSON and surprises ``version: 2024-01-01``)."""

    max_depth = MAX_DEPTH

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def construct_yaml_binary(self, node: Any) -> Any:
        """``!!binary`` would put bytes (perhaps not text at all) into a document that must
        be JSON: refused like any other tag."""
        raise yaml.constructor.ConstructorError(None, None, "!!binary values are not supported",
                                                node.start_mark)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(ScalarEvent, AliasEvent):
            return super().compose_node(parent, index)  # only mappings and sequences nest
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise _DepthLimited(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_SafeLoader.add_constructor("tag:yaml.org,2002:binary", _SafeLoader.construct_yaml_binary)


def load_yaml(
    text: str,
    *,
    source: str = "<string>",
    max_bytes: int = MAX_DOCUMENT_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_YAML_NODES,
) -> Any:
    """Parse one YAML document from untrusted ``text`` into plain Python values.

    The size is checked before parsing. Mapping keys must be strings, except directly under a
    ``cases`` key (switch cases), where scalar keys are kept as the text the author wrote.
    Raises ``LimitExceeded`` (size, depth, alias expansion) or ``SpecError`` (syntax with
    line/column, unsupported tags, non-string keys, several documents).
    """
    # len() counts characters, each at least one byte: the cheap test rejects huge text at once.
    size = len(text)
    if size <= max_bytes:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise LimitExceeded(
            f"{source}: the document is {size:,} bytes, over the limit of {max_bytes:,} bytes",
            fix="split it into smaller documents or remove unused parts",
            file=source, limit="document_bytes", max=max_bytes, size=size,
        )
    try:
        loader = _SafeLoader(text)
    except yaml.YAMLError as exc:  # the reader rejects control characters up front
        raise SpecError([Issue(
            path="<document>", message=f"cannot read YAML: {exc}", file=source,
            fix="save the file as UTF-8 text without control characters",
        )]) from None
    loader.max_depth = max_depth
    try:
        try:
            node = loader.get_single_node()
        except _DepthLimited as exc:
            raise LimitExceeded(
                f"{source}, {_where(exc.mark)}: nesting deeper than {max_depth} levels",
                fix="flatten the document; workflows never need this much nesting",
                file=source, limit="yaml_depth", max=max_depth,
            ) from None
        if node is None:
            return None
        _check_graph(node, source, max_nodes)
        try:
            return loader.construct_document(node)
        except ValueError as exc:  # an integer past Python's 4300-digit limit
            raise SpecError([Issue(path="<document>", message=f"unsupported value: {str(exc)[:120]}", file=source,
                                   fix="quote very long numbers so they are text")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        tagged = isinstance(exc, yaml.constructor.ConstructorError)
        at = f" at {_where(mark)}" if mark else ""
        raise SpecError([Issue(
            path="<document>",
            message=f"{'unsupported YAML' if tagged else 'YAML syntax error'}{at}: {what}",
            file=source,
            fix="only plain YAML types are allowed; remove the !!tag" if tagged
            else "check indentation, quoting and the colon after each key near that line",
        )]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Issue(
            path="<document>", message=f"cannot read YAML: {exc}", file=source,
            fix="save the file as UTF-8 text without control characters",
        )]) from None
    finally:
        loader.dispose()


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _check_graph(root: Node, source: str, max_nodes: int) -> None:
    """Count nodes as if every alias were expanded (memoised per node, so an alias bomb costs
    only its composed size) and check that mapping keys are strings."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    issues: list[Issue] = []

    def size(node: Node, path: str, under_cases: bool) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise SpecError([Issue(
                path=path or "<document>", file=source,
                message=f"recursive alias at {_where(node.start_mark)}",
                fix="an anchor cannot contain an alias to itself; copy the data instead",
            )])
        active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            for i, child in enumerate(node.value):
                total += size(child, f"{path}[{i}]", False)
                if total > max_nodes:
                    break
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                name = _key_name(k, path, under_cases, source, issues)
                total += size(k, path, False) + size(v, f"{path}.{name}" if path else name, name == "cases")
                if total > max_nodes:
                    break
        active.discard(key)
        if total > max_nodes:
            raise LimitExceeded(
                f"{source}: the document expands to more than {max_nodes:,} YAML nodes "
                "(anchors and aliases are expanded)",
                fix="use fewer aliases (*name) or a smaller document",
                file=source, limit="yaml_nodes", max=max_nodes,
            )
        sizes[key] = total
        return total

    size(root, "", False)
    if issues:
        raise SpecError(issues)


def _key_name(k: Node, path: str, under_cases: bool, source: str, issues: list[Issue]) -> str:
    if isinstance(k, ScalarNode):
        if k.tag in (_STR_TAG, _MERGE_TAG):
            return str(k.value)
        if under_cases:
            k.tag = _STR_TAG  # a switch case keeps the text written: `1:` -> "1", `true:` -> "true"
            return str(k.value)
    shown = k.value if isinstance(k, ScalarNode) else type(k).__name__.removesuffix("Node").lower()
    issues.append(Issue(
        path=path or "<document>", file=source,
        message=f"mapping key {shown!r} at {_where(k.start_mark)} is not a string",
        fix=f'quote the key, e.g. "{shown}":' if isinstance(k, ScalarNode) else "use a plain text key",
    ))
    return str(shown)

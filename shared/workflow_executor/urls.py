"""The one URL check for every tool that takes a URL (http_request, mcpremote, ``mcp_call``, ...):
parse, refuse userinfo, normalise (percent-encoding, ``.``/``..`` segments), then compare scheme,
host, port and whole path segments with an operator's allow-list entry. What was checked is what
is sent: callers request ``Url.text``, never the raw string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from .errors import InvalidArgument

DEFAULT_PORTS = {"http": 80, "https": 443}
# encoded separators would let a server see segments the check did not see
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.I)


@dataclass(frozen=True)
class Url:
    """An http(s) URL in normal form: lower-case scheme and host, explicit port, a path of
    decoded segments with no dot segments, and the query as given."""

    scheme: str
    host: str
    port: int
    segments: tuple[str, ...]
    query: str = ""
    trailing_slash: bool = False

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port

    @property
    def path(self) -> str:
        text = "/" + "/".join(quote(s, safe="!$&'()*+,;=:@~") for s in self.segments)
        return text + "/" if self.trailing_slash and self.segments else text

    @property
    def text(self) -> str:
        """The URL to send (the one that was checked)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"
        return urlunsplit((self.scheme, netloc, self.path, self.query, ""))

    @property
    def shown(self) -> str:
        """Fit for messages and logs: no query."""
        return urlunsplit((self.scheme, f"{self.host}:{self.port}", self.path, "", ""))

    def under(self, entry: Url) -> bool:
        """Same scheme, host and port as ``entry`` and its path segments as a prefix of ours."""
        return self.origin == entry.origin and self.segments[:len(entry.segments)] == entry.segments


def parse(url: str) -> Url:
    """``url`` in normal form. Errors: InvalidArgument for anything but an http(s) URL with a
    host, for userinfo (``user@host``), a bad port, or an encoded ``/``, ``\\`` or NUL in the path."""
    raw = str(url).strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise InvalidArgument(f"'{_cut(raw)}' is not a valid URL", fix="write http(s)://host/path") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidArgument(f"'{_cut(raw)}' is not an http(s) URL", fix="write http(s)://host/path")
    if "@" in parts.netloc:
        raise InvalidArgument("a URL with user information (user@host) is not accepted",
                              fix="write http(s)://host/path; credentials belong in the operator's settings")
    if _ENCODED_SEPARATOR.search(parts.path) or "\\" in parts.path:
        raise InvalidArgument(f"the path of '{_cut(raw)}' holds an encoded separator (%2F, %5C or %00)",
                              fix="write the path plainly")
    segments: list[str] = []
    pieces = parts.path.split("/")
    for piece in pieces[1:] if parts.path.startswith("/") else pieces:
        seg = unquote(piece)
        if seg in ("", "."):
            continue
        if seg == "..":
            if segments:
                segments.pop()
            continue
        segments.append(seg)
    trailing = parts.path.endswith("/") and bool(segments)
    return Url(scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme], tuple(segments),
               parts.query, trailing)


def allowed_by(url: Url, entries: tuple[str, ...]) -> bool:
    """Whether ``url`` lies under one of ``entries`` (URL prefixes; an unreadable entry matches nothing)."""
    for entry in entries:
        try:
            if url.under(parse(entry)):
                return True
        except InvalidArgument:
            continue
    return False


def host_allowed(url: Url, allow: tuple[str, ...]) -> bool:
    """Whether ``url``'s host is on ``allow``: ``host`` (any port), ``host:port``, or
    ``*.domain`` (its subdomains)."""
    for entry in allow:
        name, _, want_port = entry.lower().rpartition(":") if entry.count(":") == 1 else (entry.lower(), "", "")
        if want_port and (not want_port.isdigit() or int(want_port) != url.port):
            continue
        if name == url.host or (name.startswith("*.") and url.host.endswith(name[1:])):
            return True
    return False


def _cut(raw: str) -> str:
    """``raw`` for an error message: no userinfo, query or fragment, at most 200 characters."""
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))[:200]
    except ValueError:
        return "(unreadable URL)"

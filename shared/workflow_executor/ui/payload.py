"""Readable payloads for the web view: JSON pretty-printed, plain text as text, and Markdown
rendered to a small, safe subset of HTML - every character is escaped first and only our own
tags are added, so no HTML from a payload ever reaches the page. Each comes with a copy button
(app.js copies the raw text kept beside it)."""

from __future__ import annotations

import json
import re
from typing import Any

from .html import PREVIEW_BYTES, esc

_MD_HINT = re.compile(r"(^|\n)(#{1,6} |[-*] |\d+\. |```|> )|\*\*[^*\n]+\*\*|`[^`\n]+`|\[[^\]\n]+\]\(https?://")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)\"'<>]+)\)")


def _cut(text: str) -> str:
    return text if len(text) <= PREVIEW_BYTES else text[:PREVIEW_BYTES] + f"\n… ({len(text):,} characters, cut)"


def _inline(escaped: str) -> str:
    """Inline Markdown over text that is already escaped (so the markers are plain characters)."""
    parts = re.split(r"(`[^`\n]+`)", escaped)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # code span: nothing inside is formatted
            out.append(f"<code>{part[1:-1]}</code>")
            continue
        part = re.sub(r"\*\*([^*\n]+)\*\*", r"<strong>\1</strong>", part)
        part = re.sub(r"(?<![*\w])\*([^*\n]+)\*(?![*\w])", r"<em>\1</em>", part)
        part = _LINK.sub(lambda m: f'<a href="{m.group(2)}" rel="noopener noreferrer nofollow" target="_blank">'
                                   f"{m.group(1)}</a>", part)
        out.append(part)
    return "".join(out)


def markdown(text: str) -> str:
    """``text`` as HTML: headings, lists, code blocks, quotes, paragraphs, code, bold, italic and
    http(s) links. Escapes everything first: a ``<script>`` in the text stays text."""
    lines = esc(text).split("\n")
    html: list[str] = []
    para: list[str] = []
    listing: str | None = None

    def close() -> None:
        nonlocal listing
        if para:
            html.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if listing:
            html.append(f"</{listing}>")
            listing = None

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            close()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            html.append("<pre><code>" + "\n".join(lines[i + 1:j]) + "</code></pre>")
            i = j + 1
            continue
        heading = re.match(r"(#{1,6}) (.*)", line)
        item = re.match(r"\s*(?:([-*])|\d+\.) (.*)", line)
        if heading:
            close()
            tag = f"h{min(len(heading.group(1)) + 2, 6)}"  # the page's own h1/h2 stay above
            html.append(f"<{tag}>{_inline(heading.group(2))}</{tag}>")
        elif item:
            kind = "ul" if item.group(1) else "ol"
            if para or listing != kind:
                close()
                html.append(f"<{kind}>")
                listing = kind
            html.append(f"<li>{_inline(item.group(2))}</li>")
        elif line.startswith("&gt; "):
            close()
            html.append(f"<blockquote>{_inline(line[5:])}</blockquote>")
        elif not line.strip():
            close()
        else:
            if listing:
                close()
            para.append(line)
        i += 1
    close()
    return "".join(html)


def render(value: Any) -> str:
    """A payload as HTML with its copy button: Markdown-looking text rendered, other text as
    text, anything else as pretty JSON."""
    if isinstance(value, str):
        raw = _cut(value)
        if _MD_HINT.search(raw):
            body = f'<div class="md">{markdown(raw)}</div><pre class="raw" hidden>{esc(raw)}</pre>'
            kind = "markdown"
        else:
            body, kind = f'<pre class="raw text">{esc(raw)}</pre>', "text"
    else:
        try:
            raw = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        except ValueError:
            raw = repr(value)
        body, kind = f'<pre class="raw json">{esc(_cut(raw))}</pre>', "json"
    return (f'<div class="payload" data-kind="{kind}"><button type="button" class="copy" data-action="copy">'
            f"Copy</button>{body}</div>")

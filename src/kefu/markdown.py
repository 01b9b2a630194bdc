"""Markdown to HTML on the server (help centre articles): markdown-it-py with raw HTML
off, so a tag someone typed comes out as the text they typed, and links and images
limited to http(s), mailto, tel and relative URLs (markdown-it's own check already
refuses javascript:, vbscript:, file: and data:). Links open in a new tab without an
opener and carry nofollow. The console and the widget do the same with `marked`
(widgets/*/src/markdown.ts)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)
_ALLOWED = frozenset({"http", "https", "mailto", "tel"})


def safe_url(url: str) -> bool:
    """A link target we will emit: no scheme (relative), or one of the allowed ones."""
    if any(ord(c) < 32 or ord(c) == 127 for c in url):
        return False
    match = _SCHEME.match(url.strip())
    return match is None or match.group(1).lower() in _ALLOWED


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    token.attrSet("target", "_blank")
    token.attrSet("rel", "noopener noreferrer nofollow")
    return self.renderToken(tokens, idx, options, env)


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = lambda url: safe_url(url)  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


_MD = _build()


def to_html(text: str) -> str:
    """`text` (Markdown) as HTML that contains no markup its author typed."""
    html: str = _MD.render(text)
    return html


def _texts(tokens: Sequence[Token], out: list[str]) -> None:
    for token in tokens:
        if token.type in ("text", "code_inline", "code_block", "fence"):
            out.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            out.append(" ")
        if token.children:
            _texts(token.children, out)


def to_text(text: str) -> str:
    """The words of a Markdown text, for a meta description or a snippet."""
    out: list[str] = []
    _texts(_MD.parse(text), out)
    return re.sub(r"\s+", " ", " ".join(out)).strip()

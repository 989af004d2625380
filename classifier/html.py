"""HTML pages -> blocks: a fast, forgiving segmenter on lxml (libxml2, C).

A page becomes reading-order, paragraph-like blocks:

* the subtrees of ``DROP_TAGS`` (scripts, styles, templates, forms' option lists,
  media ...) are dropped, their tail text kept; comments are ignored;
* every element of ``BLOCK_TAGS`` starts and ends a block: the text directly in it
  or in its inline descendants, between two child blocks, is one block;
* two or more consecutive ``<br>`` end a block, a single one is a space;
* text is whitespace-normalised (NFC, zero-width characters and soft hyphens
  removed) and blocks with no letter or digit are dropped.

Each block keeps its owner element's tag and how many of its characters sit
inside links (``Block.tag``, ``Block.link_chars``): facts a model can use.

Bytes are decoded by BOM, then the charset a ``<meta>`` declares, then UTF-8, then
windows-1252 (which decodes any byte), so a page in an undeclared legacy encoding
still gives text. ``MAX_HTML_BYTES`` bounds what is parsed.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator

from lxml import etree
from lxml import html as lxml_html

from .document import Block

__all__ = ["BLOCK_TAGS", "DROP_TAGS", "decode_html", "html_to_blocks"]

DROP_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "video",
    "audio", "canvas", "select", "textarea", "datalist", "title", "meta", "link", "base", "rt", "rp",
})
BLOCK_TAGS = frozenset({
    "html", "body", "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "dir",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "frameset", "frame", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "legend", "li", "main", "menu", "nav", "ol", "p", "pre",
    "section", "summary", "table", "caption", "tbody", "thead", "tfoot", "tr", "td", "th", "ul", "button",
    "noframes", "listing", "plaintext", "xmp", "search",
})

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.IGNORECASE)
_WS = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\ufeff\u00ad\u2060"), None)
_HAS_WORD = re.compile(r"[^\W_]")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode_html(data: bytes) -> str:
    """The text of an HTML page's bytes (BOM, declared charset, UTF-8, windows-1252)."""
    for bom, bom_codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(bom_codec, errors="replace")
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        codec: str | None
        try:
            codec = codecs.lookup(declared.group(1).decode("ascii", "replace")).name
        except LookupError:
            codec = None
        if codec and codec not in ("utf-8", "utf-16-le", "utf-16-be", "utf-16"):  # a wrong UTF-16 claim is common
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1252", errors="replace")


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFC", _WS.sub(" ", text.translate(_INVISIBLE))).strip()


class _Collector:
    """Accumulates the text of the current block and emits finished blocks."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.link_chars = 0
        self.blocks: list[Block] = []

    def add(self, text: str, in_link: bool) -> None:
        self.parts.append(text)
        if in_link:
            self.link_chars += len(text) - text.count(" ")

    def flush(self, tag: str | None) -> None:
        if self.parts:
            text = _normalise("".join(self.parts))
            if text and _HAS_WORD.search(text):
                nonspace = max(len(text) - text.count(" "), 1)
                self.blocks.append(Block(text=text, tag=tag, link_chars=min(self.link_chars, nonspace)))
        self.parts.clear()
        self.link_chars = 0


def _walk(root: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        if event == "start" and (not isinstance(el.tag, str) or el.tag.lower() in DROP_TAGS):
            walker.skip_subtree()  # comments and dropped elements: only their tail counts
        yield event, el


def html_to_blocks(page: str | bytes) -> list[Block]:
    """The blocks of an HTML page (bytes are decoded with ``decode_html``)."""
    text = decode_html(page) if isinstance(page, bytes) else page
    if not text.strip():
        return []
    try:
        root = lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError):  # "Document is empty", encoding declarations in str
        try:
            root = lxml_html.document_fromstring(text.encode("utf-8"),
                                                 parser=lxml_html.HTMLParser(encoding="utf-8"))
        except (etree.ParserError, ValueError):
            return []
    # comments and processing instructions go, their tail text stays with the parent
    etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
    out = _Collector()
    owners: list[str] = []
    links = 0
    brs = 0
    for event, el in _walk(root):
        tag = el.tag.lower() if isinstance(el.tag, str) else None
        dropped = tag is None or tag in DROP_TAGS
        if event == "start":
            if dropped:
                continue
            if tag == "br":
                brs += 1
                if brs >= 2:
                    out.flush(owners[-1] if owners else None)
                else:
                    out.add(" ", False)
                continue
            if tag in BLOCK_TAGS:
                out.flush(owners[-1] if owners else None)
                owners.append(tag)
            elif tag == "a":
                links += 1
            if el.text:
                if el.text.strip():
                    brs = 0
                out.add(el.text, links > 0)
        else:
            if not dropped and tag != "br":
                if tag in BLOCK_TAGS:
                    out.flush(owners.pop() if owners else None)
                elif tag == "a":
                    links = max(links - 1, 0)
            if el.tail:
                if el.tail.strip():
                    brs = 0
                out.add(el.tail, links > 0)
    out.flush(owners[-1] if owners else None)
    return out.blocks

"""Template memory: blocks that repeat across many pages of one publisher.

Menus, footers, cookie notices and recurring syndication lines (the French footer
of a news site) appear on most pages of a publisher. ``TemplateMemory.learn``
counts, per publisher, on how many distinct pages each block text appears, and in
which role (``block_role``: the block's tag, and whether it is link text, when
the record tells; texts normalised: lower case, whitespace collapsed, digits as 0;
kept as a 16-hex hash plus a short preview, so the file stays small). At labelling
time ``adjust`` moves a template block's content probability to the more likely of
boilerplate and navigation:

* a template is a text seen on at least ``min_pages`` pages and ``min_share`` of
  the publisher's pages *in the block's role*: a story's headline, a link in the
  "Related stories" of every other page, is no template as the ``h1`` of its own
  page. A block whose role is unknown (plain text) counts the pages of the text's
  least frequent role: a template only if it is one in every role it was seen in;
* a block the model is confident is content (``CONFIDENT_CONTENT``) is only
  overridden with twice that evidence (pages and share): never on a hunch.

Memories are per publisher, versioned (``FORMAT``), and mergeable (``merge`` adds
the page counts). ``learn`` keeps the texts seen on ``min_pages`` pages (a small
file, to use); with ``partial=True`` it keeps every text (a bigger file, only to
merge), so that a crawl learned shard by shard and merged (``final`` keeps the
texts that reach ``min_pages`` in the sum) gives the memory learned at once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .document import Block, Document, host_name, url_host
from .errors import ModelError
from .readers import decompressed_bytes
from .writers import write_text_atomic

if TYPE_CHECKING:  # no NumPy at import: a run's dispatching process stays one thread (engine._start_method)
    import numpy as np

__all__ = ["FORMAT", "TemplateMemory", "block_role", "publisher_of"]

FORMAT = "sieve-templates/2"
#: Formats of earlier Sieves, refused with the reason (learning again is cheap: no labels).
OLD_FORMATS = {
    "sieve-templates/1": "it counted a text on a page whatever its role there (a story's headline became a "
                         "template because the other pages link to it) and kept only each file's own frequent "
                         "texts, so shard memories did not merge",
}
#: A block with at least this content probability needs twice the evidence.
CONFIDENT_CONTENT = 0.9
_DIGITS = re.compile(r"\d+")
_WS = re.compile(r"\s+")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_LOG_LINKS: int | None = None  # html.DOM_FACTS.index("log_links"), looked up on first use


def publisher_of(doc: Document) -> str | None:
    """The document's publisher: its ``publisher`` field, else its URL's host, both as
    ``document.host_name`` writes them (lower case, no ``www.``, no trailing dot)."""
    if doc.publisher and (name := host_name(doc.publisher)):
        return name
    return url_host(doc.url)


def text_key(text: str) -> str:
    norm = _DIGITS.sub("0", _WS.sub(" ", text.lower()).strip())
    return hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def block_role(block: Block) -> str:
    """What a block is on its page, as far as its record tells: its tag (``h1``-``h6``
    as ``h``), with ``/link`` when it holds links (its DOM facts' link count; a
    block without DOM facts: when half its characters or more are link text). A
    page and the labelled JSONL `sieve align` writes of it give the same roles.
    ``""`` when the record tells nothing (plain text)."""
    if block.tag is None and block.path is None and block.dom is None:
        return ""
    tag = (block.tag or "").lower()
    role = "h" if tag in _HEADINGS else tag
    if block.dom is not None:
        global _LOG_LINKS
        if _LOG_LINKS is None:
            from .html import DOM_FACTS

            _LOG_LINKS = DOM_FACTS.index("log_links")
        linked = block.dom[_LOG_LINKS] > 0
    else:
        linked = block.mostly_links
    return role + "/link" if linked else role


def _role_pages(hit: dict[str, Any], role: str) -> int:
    """On how many pages a text (a memory entry) was seen in ``role``: a known role
    counts only its own pages (or, for a text seen only where roles were unknown,
    those); an unknown role the pages of the text's least frequent known role."""
    roles: dict[str, int] = hit.get("roles", {})
    known = [c for r, c in roles.items() if r]
    if not known:
        return int(roles.get("", 0))
    if role:
        return int(roles.get(role, 0))
    return min(known)


@dataclass
class TemplateMemory:
    """Per publisher: pages seen, and for each repeated text on how many pages it was
    (``pages``) and in which roles (``roles``: role -> pages)."""

    min_pages: int = 3
    min_share: float = 0.2
    publishers: dict[str, dict[str, Any]] = field(default_factory=dict)  # pub -> {"pages": n, "blocks": {...}}
    partial: bool = False  # every text kept (for merging), not only those on min_pages pages
    # not stored: what `learn` left out, and what `adjust` saw (for a run's summary)
    unattributed: int = field(default=0, compare=False, repr=False)  # documents without a publisher
    repeated: int = field(default=0, compare=False, repr=False)  # pages given again (same url or same blocks)
    documents: int = field(default=0, compare=False, repr=False)
    applied: int = field(default=0, compare=False, repr=False)
    turned: int | None = field(default=0, compare=False, repr=False)  # blocks moved from content (None: unknown)

    def __post_init__(self) -> None:
        # a memory file is data from elsewhere: "min_pages": 0 made every block of a known
        # publisher, in the memory or not, a template
        if isinstance(self.min_pages, bool) or not isinstance(self.min_pages, int) or self.min_pages < 2:
            raise ValueError(f"min_pages {self.min_pages!r}: a template is a text seen on 2 pages or more")
        if not isinstance(self.min_share, int | float) or not 0.0 <= self.min_share <= 1.0:
            raise ValueError(f"min_share {self.min_share!r}: a share of pages, from 0 to 1")

    # -- learning -------------------------------------------------------------------
    @classmethod
    def learn(cls, documents: Iterable[Document], *, min_pages: int = 3, min_share: float = 0.2,
              partial: bool = False) -> TemplateMemory:
        """Count repeated blocks per publisher over ``documents`` (no labels needed).

        Only texts seen on ``min_pages`` pages are kept, unless ``partial`` (for a
        shard whose memory will be merged with others': see ``final``). Documents
        without a publisher are left out (counted in ``unattributed``), and so is a
        page given again (its url as ``align.url_key`` reads it, or the same block
        texts under any url; counted in ``repeated``): a crawl that fetched a story
        three times, with tracking parameters or not, must not make its paragraphs
        templates.
        """
        from .align import url_key

        pages: dict[str, int] = {}
        known: dict[str, set[bytes]] = {}  # per publisher, the pages counted (digests)
        counts: dict[str, dict[str, dict[str, Any]]] = {}
        previews: dict[str, dict[str, str]] = {}
        unattributed = repeated = 0
        for doc in documents:
            pub = publisher_of(doc)
            if pub is None:
                unattributed += 1
                continue
            # a page is known by its url and by its texts: the same story under two urls
            # (tracking parameters, a mobile path) is one page too
            texts = "\x00".join(b.text for b in doc.blocks)
            ways = ([f"texts:{texts}"] if texts.strip("\x00 \t\r\n") or not doc.url else []) + (
                [f"url:{url_key(doc.url)}"] if doc.url else [])
            digests = [hashlib.blake2b(w.encode("utf-8", "surrogatepass"), digest_size=12).digest() for w in ways]
            seen_pages = known.setdefault(pub, set())
            if any(d in seen_pages for d in digests):
                repeated += 1
                continue
            seen_pages.update(digests)
            pages[pub] = pages.get(pub, 0) + 1
            seen = counts.setdefault(pub, {})
            preview = previews.setdefault(pub, {})
            here: dict[str, set[str]] = {}  # text key -> its roles on this page
            for b in doc.blocks:
                if b.text.strip():
                    key = text_key(b.text)
                    here.setdefault(key, set()).add(block_role(b))
                    shown = " ".join(b.text.split())[:60]
                    # the least of the texts sharing a key: the same preview in any order of pages
                    preview[key] = min(preview.get(key, shown), shown)
            for key, roles in here.items():
                entry = seen.setdefault(key, {"pages": 0, "roles": {}})
                entry["pages"] += 1
                for role in roles:
                    entry["roles"][role] = entry["roles"].get(role, 0) + 1
        memory = cls(min_pages=min_pages, min_share=min_share, partial=partial, unattributed=unattributed,
                     repeated=repeated)
        for pub, n in pages.items():
            blocks = {k: {"pages": e["pages"], "roles": dict(sorted(e["roles"].items())), "text": previews[pub][k]}
                      for k, e in sorted(counts[pub].items())}
            memory.publishers[pub] = {"pages": n, "blocks": blocks}
        return memory if partial else memory.final()

    def merge(self, other: TemplateMemory) -> TemplateMemory:
        """A memory holding both (page counts added, nothing left out); thresholds from
        ``self``. Partial when both are; merging memories learned without ``partial``
        misses the texts each left out (those seen on fewer than ``min_pages`` of its
        pages), which may add up to templates across them."""
        out = TemplateMemory(min_pages=self.min_pages, min_share=self.min_share,
                             partial=self.partial and other.partial)
        out.publishers = _added({}, self.publishers.items(), other.publishers.items())
        return out

    def final(self, min_pages: int | None = None, min_share: float | None = None) -> TemplateMemory:
        """The memory to use: only the texts seen on at least ``min_pages`` pages
        (default: the memory's own thresholds, which it keeps for use)."""
        pages = self.min_pages if min_pages is None else min_pages
        share = self.min_share if min_share is None else min_share
        out = TemplateMemory(min_pages=pages, min_share=share, unattributed=self.unattributed, repeated=self.repeated)
        for pub, entry in self.publishers.items():
            out.publishers[pub] = {"pages": entry["pages"],
                                   "blocks": {k: b for k, b in entry["blocks"].items() if b["pages"] >= pages}}
        return out

    def count_templates(self) -> int:
        """How many texts reach the thresholds in some role (what `show` and the
        commands count as templates)."""
        n = 0
        for entry in self.publishers.values():
            need = max(self.min_pages, self.min_share * entry["pages"])
            n += sum(1 for b in entry["blocks"].values() if max(b["roles"].values(), default=0) >= need)
        return n

    # -- using ----------------------------------------------------------------------
    def evidence(self, pub: str | None, text: str, role: str = "") -> tuple[int, float]:
        """(pages, share of the publisher's pages) on which ``text`` was seen in
        ``role`` (``block_role``; ``""``: unknown, as for plain text)."""
        entry = self.publishers.get(pub or "")
        if not entry:
            return 0, 0.0
        hit = entry["blocks"].get(text_key(text))
        if not hit:
            return 0, 0.0
        pages = _role_pages(hit, role)
        return pages, pages / max(entry["pages"], 1)

    def adjust(self, doc: Document, probs: np.ndarray) -> np.ndarray:
        """``probs`` (n, 3) with template blocks turned to non-content (a new array)."""
        self.documents += 1
        pub = publisher_of(doc)
        if pub not in self.publishers:
            return probs
        self.applied += 1
        if len(probs) == 0:
            return probs
        out = probs.copy()
        for i, b in enumerate(doc.blocks):
            pages, share = self.evidence(pub, b.text, block_role(b))
            if pages < self.min_pages or share < self.min_share:
                continue
            p = out[i]
            if p[0] >= CONFIDENT_CONTENT and (pages < 2 * self.min_pages or share < 2 * self.min_share):
                continue
            if self.turned is not None and p[0] >= p[1] and p[0] >= p[2]:  # content was its label
                self.turned += 1
            rest = p[1] + p[2]
            bp, nav = (p[1] / rest, p[2] / rest) if rest > 0 else (0.5, 0.5)
            # the content probability goes to the other two in their own proportion
            content = min(p[0], 0.05)
            out[i] = (content, (1.0 - content) * bp, (1.0 - content) * nav)
        return out

    def summary(self) -> str:
        """One line for a run's summary: to how many of the documents it saw the
        memory applied, and why when to none."""
        names = sorted(self.publishers)
        line = f"the template memory applied to {self.applied:,} of {self.documents:,} documents"
        if self.applied and self.turned is not None:  # "applied" alone read as if it had changed them
            line += (f" and turned {self.turned:,} block{'' if self.turned == 1 else 's'} the model labelled "
                     "content to non-content")
        if not self.applied:
            known = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            line += (": it applies to documents whose publisher it learned, the record's `publisher` field, else "
                     "its url's host without www. (--publisher names it for documents that name none); it knows "
                     f"{known or 'no publisher'}")
        return line

    # -- files ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        # no creation time: the same pages give the same bytes (a memory learned again is
        # the same --templates to `sieve clean`, which compares memories by their sha256)
        return {"format": FORMAT, "min_pages": self.min_pages, "min_share": self.min_share, "partial": self.partial,
                "publishers": {p: self.publishers[p] for p in sorted(self.publishers)}}

    def save(self, path: Path) -> Path:
        """Write the memory as JSON to ``path`` (atomically; compressed for a name
        ending in ``.gz`` or ``.zst``: a ``--partial`` memory of a crawl is large)."""
        return write_text_atomic(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> TemplateMemory:
        """Read a memory file (JSON, plain or gzip- or zstd-compressed whatever its
        name: no code runs). Raises ``ModelError`` when it is
        not one, or of another format version (an earlier one: with the reason)."""
        try:
            data = json.loads(decompressed_bytes(path).decode("utf-8"))
        except (OSError, ValueError, RecursionError) as err:
            why = "nested too deeply" if isinstance(err, RecursionError) else err
            raise ModelError(f"{path}: cannot read the template memory ({why}); a memory is one JSON file "
                             "written by `sieve templates learn`, not JSONL data") from err
        found = data.get("format") if isinstance(data, dict) else None
        if isinstance(found, str) and found in OLD_FORMATS:
            raise ModelError(f"{path}: a template memory of an earlier Sieve ({found}; this one reads {FORMAT}): "
                             f"{OLD_FORMATS[found]}; learn it again with `sieve templates learn` "
                             "(with --partial for shards to merge)")
        if not isinstance(data, dict) or found != FORMAT:
            raise ModelError(f"{path}: not a Sieve template memory of format {FORMAT} "
                             f"(found {found if isinstance(data, dict) else type(data).__name__!r}); "
                             "learn it again with `sieve templates learn`")
        try:
            publishers = data.get("publishers", {})
            if not isinstance(publishers, dict) or not all(
                    isinstance(e, dict) and isinstance(e.get("pages"), int) and isinstance(e.get("blocks"), dict)
                    and all(_valid_block(b) for b in e["blocks"].values()) for e in publishers.values()):
                raise ValueError("'publishers' must map each publisher to {pages, blocks}, each block with "
                                 "its pages, roles and text (a string)")
            # publishers as this Sieve names them (a memory of an earlier one may say www.Example.com)
            named = _added({}, ((host_name(pub) or pub, entry) for pub, entry in publishers.items()))
            return cls(min_pages=int(data.get("min_pages", 3)), min_share=float(data.get("min_share", 0.2)),
                       publishers=named, partial=bool(data.get("partial", False)))
        except (TypeError, ValueError) as err:
            raise ModelError(f"{path}: a damaged template memory ({err}); learn it again") from err


def _added(out: dict[str, dict[str, Any]], *entries: Any) -> dict[str, dict[str, Any]]:
    """``out`` with each (publisher, entry) of ``entries`` added: pages, and each
    text's pages per role, summed where a publisher or text is there already."""
    for items in entries:
        for pub, entry in items:
            dst = out.setdefault(pub, {"pages": 0, "blocks": {}})
            dst["pages"] += entry["pages"]
            for k, v in entry["blocks"].items():
                b = dst["blocks"].setdefault(k, {"pages": 0, "roles": {}, "text": v.get("text", "")})
                b["text"] = min(b["text"], v.get("text", ""))  # as `learn` picks it: in any order of merging
                b["pages"] += v["pages"]
                for role, c in v["roles"].items():
                    b["roles"][role] = b["roles"].get(role, 0) + c
    for entry in out.values():
        entry["blocks"] = {k: {**b, "roles": dict(sorted(b["roles"].items()))}
                           for k, b in sorted(entry["blocks"].items())}
    return out


def _valid_block(b: Any) -> bool:
    return (isinstance(b, dict) and isinstance(b.get("pages"), int) and isinstance(b.get("roles"), dict)
            and all(isinstance(r, str) and isinstance(c, int) for r, c in b["roles"].items())
            and isinstance(b.get("text", ""), str))

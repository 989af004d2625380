"""Template memory: blocks that repeat across many pages of one publisher.

Menus, footers, cookie notices and recurring syndication lines (the French footer
of a news site) appear on most pages of a publisher. ``TemplateMemory.learn``
counts, per publisher, on how many distinct pages each block text appears
(texts normalised: lower case, whitespace collapsed, digits as 0; kept as a 16-hex
hash plus a short preview, so the file stays small). At labelling time
``adjust`` moves a template block's content probability to the more likely of
boilerplate and navigation:

* a template is a text seen on at least ``min_pages`` pages and ``min_share`` of
  the publisher's pages;
* a block the model is confident is content (``CONFIDENT_CONTENT``) is only
  overridden with twice that evidence (pages and share): never on a hunch.

Memories are per publisher, versioned (``FORMAT``), and mergeable (``merge``
adds the page counts), so a crawl can learn them shard by shard.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .document import Document, url_host
from .errors import ModelError
from .writers import write_text_atomic

__all__ = ["FORMAT", "TemplateMemory", "publisher_of"]

FORMAT = "sieve-templates/1"
#: A block with at least this content probability needs twice the evidence.
CONFIDENT_CONTENT = 0.9
_DIGITS = re.compile(r"\d+")
_WS = re.compile(r"\s+")


def publisher_of(doc: Document) -> str | None:
    """The document's publisher: its ``publisher`` field, else its URL's host without ``www.``."""
    if doc.publisher:
        return doc.publisher.lower()
    return url_host(doc.url)


def text_key(text: str) -> str:
    norm = _DIGITS.sub("0", _WS.sub(" ", text.lower()).strip())
    return hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


@dataclass
class TemplateMemory:
    """Per publisher: pages seen, and for each repeated text on how many pages it was."""

    min_pages: int = 3
    min_share: float = 0.2
    publishers: dict[str, dict[str, Any]] = field(default_factory=dict)  # pub -> {"pages": n, "blocks": {...}}

    # -- learning -------------------------------------------------------------------
    @classmethod
    def learn(cls, documents: Iterable[Document], *, min_pages: int = 3, min_share: float = 0.2,
              keep_all: bool = False) -> TemplateMemory:
        """Count repeated blocks per publisher over ``documents`` (no labels needed).

        Only texts that reach ``min_pages`` are kept unless ``keep_all`` (for a
        shard whose memory will be merged with others').
        """
        pages: dict[str, int] = {}
        counts: dict[str, dict[str, int]] = {}
        previews: dict[str, dict[str, str]] = {}
        for doc in documents:
            pub = publisher_of(doc)
            if pub is None:
                continue
            pages[pub] = pages.get(pub, 0) + 1
            seen = counts.setdefault(pub, {})
            preview = previews.setdefault(pub, {})
            for key, text in {text_key(b.text): b.text for b in doc.blocks if b.text.strip()}.items():
                seen[key] = seen.get(key, 0) + 1
                preview.setdefault(key, " ".join(text.split())[:60])
        memory = cls(min_pages=min_pages, min_share=min_share)
        for pub, n in pages.items():
            blocks = {k: {"pages": c, "text": previews[pub][k]} for k, c in sorted(counts[pub].items())
                      if keep_all or c >= min_pages}
            memory.publishers[pub] = {"pages": n, "blocks": blocks}
        return memory

    def merge(self, other: TemplateMemory) -> TemplateMemory:
        """A memory holding both (page counts added); thresholds from ``self``."""
        out = TemplateMemory(min_pages=self.min_pages, min_share=self.min_share)
        for mem in (self, other):
            for pub, entry in mem.publishers.items():
                dst = out.publishers.setdefault(pub, {"pages": 0, "blocks": {}})
                dst["pages"] += entry["pages"]
                for k, v in entry["blocks"].items():
                    b = dst["blocks"].setdefault(k, {"pages": 0, "text": v.get("text", "")})
                    b["pages"] += v["pages"]
        for entry in out.publishers.values():
            entry["blocks"] = dict(sorted(entry["blocks"].items()))
        return out

    # -- using ----------------------------------------------------------------------
    def evidence(self, pub: str | None, text: str) -> tuple[int, float]:
        """(pages, share of the publisher's pages) on which ``text`` was seen."""
        entry = self.publishers.get(pub or "")
        if not entry:
            return 0, 0.0
        hit = entry["blocks"].get(text_key(text))
        if not hit:
            return 0, 0.0
        return hit["pages"], hit["pages"] / max(entry["pages"], 1)

    def adjust(self, doc: Document, probs: np.ndarray) -> np.ndarray:
        """``probs`` (n, 3) with template blocks turned to non-content (a new array)."""
        pub = publisher_of(doc)
        if pub not in self.publishers or len(probs) == 0:
            return probs
        out = probs.copy()
        for i, b in enumerate(doc.blocks):
            pages, share = self.evidence(pub, b.text)
            if pages < self.min_pages or share < self.min_share:
                continue
            p = out[i]
            if p[0] >= CONFIDENT_CONTENT and (pages < 2 * self.min_pages or share < 2 * self.min_share):
                continue
            rest = p[1] + p[2]
            bp, nav = (p[1] / rest, p[2] / rest) if rest > 0 else (0.5, 0.5)
            # the content probability goes to the other two in their own proportion
            content = min(p[0], 0.05)
            out[i] = np.array([content, (1.0 - content) * bp, (1.0 - content) * nav])
        return out

    # -- files ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "min_pages": self.min_pages, "min_share": self.min_share,
                "publishers": {p: self.publishers[p] for p in sorted(self.publishers)}}

    def save(self, path: Path) -> Path:
        return write_text_atomic(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> TemplateMemory:
        """Read a memory file (JSON: no code runs). Raises ``ModelError`` when it is
        not one, or of another format version."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ModelError(f"{path}: cannot read the template memory ({err})") from err
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"{path}: not a Sieve template memory of format {FORMAT} "
                             f"(found {data.get('format') if isinstance(data, dict) else type(data).__name__!r}); "
                             "learn it again with `sieve templates learn`")
        try:
            publishers = data.get("publishers", {})
            if not isinstance(publishers, dict) or not all(
                    isinstance(e, dict) and isinstance(e.get("pages"), int) and isinstance(e.get("blocks"), dict)
                    and all(isinstance(b, dict) and isinstance(b.get("pages"), int) for b in e["blocks"].values())
                    for e in publishers.values()):
                raise ValueError("'publishers' must map each publisher to {pages, blocks}")
            return cls(min_pages=int(data.get("min_pages", 3)), min_share=float(data.get("min_share", 0.2)),
                       publishers=dict(publishers))
        except (TypeError, ValueError) as err:
            raise ModelError(f"{path}: a damaged template memory ({err}); learn it again") from err

"""Adapting a model to a publisher it handles poorly, from a few labelled pages.

``fit_adapter`` learns, for the publishers of the labelled documents it is given:

* a **block memory**: texts (normalised as in ``templates``) whose label is the same
  every time they occur in those pages: a platform's comment form, "Gefällt mir",
  "Ähnliche Beiträge";
* a **text model**: a linear model on the blocks' hashed n-grams, trained on those
  pages only, blended with the base model's probabilities (geometric mix); the
  blend weight is chosen by leave-one-page-out on the labelled pages.

``PublisherAdapter.adjust`` applies both to documents of those publishers only (the
record's ``publisher``, else its URL host): every other document is labelled
exactly as by the base model, so adapting forgets nothing. A model folder with an
``adapter.joblib`` (written by ``sieve train --base``) applies it automatically.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import SGDClassifier

from .cards import load_checked_pickle, verify_file, write_card
from .document import LABELS, Document
from .errors import ModelError
from .features import TextNgrams
from .templates import publisher_of, text_key

__all__ = ["ADAPTER_FILE", "PublisherAdapter", "fit_adapter", "load_adapter", "save_adapter"]

logger = logging.getLogger(__name__)

ADAPTER_FILE = "adapter.joblib"
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 0.9)


@dataclass
class PublisherAdapter:
    publishers: frozenset[str]
    memory: dict[str, int] = field(default_factory=dict)  # text key -> label index
    text_model: SGDClassifier | None = None
    weight: float = 0.0  # share of the text model in the blend
    n_char_features: int = 2**16
    n_word_features: int = 2**14
    pages: int = 0
    blocks: int = 0

    def _text_proba(self, texts: Sequence[str]) -> np.ndarray:
        assert self.text_model is not None
        x = TextNgrams(self.n_char_features, self.n_word_features).transform_texts(texts)
        proba = self.text_model.predict_proba(x)
        full = np.full((len(texts), len(LABELS)), 1e-3)
        full[:, self.text_model.classes_.astype(int)] = proba
        return full / full.sum(axis=1, keepdims=True)

    def applies_to(self, doc: Document) -> bool:
        return publisher_of(doc) in self.publishers

    def adjust(self, doc: Document, probs: np.ndarray) -> np.ndarray:
        """The base ``probs`` (n, 3) of a document, adapted when it is one of the
        adapter's publishers (a new array), else unchanged."""
        if not self.applies_to(doc) or len(probs) == 0:
            return probs
        return self._blend(doc, probs, self.weight)

    def _blend(self, doc: Document, probs: np.ndarray, weight: float) -> np.ndarray:
        out = probs.copy()
        if self.text_model is not None and weight > 0:
            text = self._text_proba([b.text for b in doc.blocks])
            mixed = np.exp((1 - weight) * np.log(np.clip(probs, 1e-6, 1)) + weight * np.log(text))
            out = mixed / mixed.sum(axis=1, keepdims=True)
        for i, b in enumerate(doc.blocks):
            known = self.memory.get(text_key(b.text))
            if known is not None:
                row = np.full(len(LABELS), 0.01)
                row[known] = 0.98
                out[i] = row
        return out

    def describe(self) -> dict[str, Any]:
        return {"publishers": sorted(self.publishers), "pages": self.pages, "blocks": self.blocks,
                "remembered_blocks": len(self.memory), "text_model_weight": self.weight}


def _fit_text_model(texts: list[str], y: np.ndarray, n_char: int, n_word: int) -> SGDClassifier | None:
    if len(set(y.tolist())) < 2:
        return None
    x = TextNgrams(n_char, n_word).transform_texts(texts)
    clf = SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=30, tol=None, class_weight="balanced", random_state=0)
    clf.fit(x, y)
    return clf


def _memory(docs: Sequence[Document]) -> dict[str, int]:
    seen: dict[str, set[int]] = {}
    for d in docs:
        for b, g in zip(d.blocks, d.gold_labels):
            if g is not None:
                seen.setdefault(text_key(b.text), set()).add(LABELS.index(g))
    return {k: next(iter(v)) for k, v in sorted(seen.items()) if len(v) == 1}


def _labelled(docs: Sequence[Document]) -> tuple[list[str], np.ndarray]:
    texts, y = [], []
    for d in docs:
        for b, g in zip(d.blocks, d.gold_labels):
            if g is not None:
                texts.append(b.text)
                y.append(LABELS.index(g))
    return texts, np.array(y, dtype=np.int64)


def _macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    f1s = []
    for c in range(len(LABELS)):
        tp = int(((pred == c) & (y == c)).sum())
        fp = int(((pred == c) & (y != c)).sum())
        fn = int(((pred != c) & (y == c)).sum())
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else 0.0


def fit_adapter(docs: Sequence[Document], base_probs: Sequence[np.ndarray], *, n_char_features: int = 2**16,
                n_word_features: int = 2**14) -> PublisherAdapter:
    """An adapter for the publishers of the labelled ``docs``; ``base_probs`` are
    the base model's probabilities for them (same order)."""
    publishers = frozenset(p for p in (publisher_of(d) for d in docs) if p)
    texts, y = _labelled(docs)
    adapter = PublisherAdapter(publishers, n_char_features=n_char_features, n_word_features=n_word_features,
                               pages=len(docs), blocks=len(y))
    # the blend weight: leave one page out, fit on the rest, score the page (macro-F1 over all)
    if len(docs) >= 2 and len(set(y.tolist())) >= 2:
        gold_all: list[int] = []
        preds: dict[float, list[int]] = {w: [] for w in WEIGHTS}
        for k in range(len(docs)):
            rest = [d for i, d in enumerate(docs) if i != k]
            t_rest, y_rest = _labelled(rest)
            trial = PublisherAdapter(publishers, memory=_memory(rest),
                                     text_model=_fit_text_model(t_rest, y_rest, n_char_features, n_word_features),
                                     n_char_features=n_char_features, n_word_features=n_word_features)
            labels = docs[k].gold_labels
            keep = [i for i, g in enumerate(labels) if g is not None]
            if not keep:
                continue
            gold_all.extend(LABELS.index(labels[i]) for i in keep)  # type: ignore[arg-type]
            for w in WEIGHTS:
                p = trial._blend(docs[k], np.asarray(base_probs[k]), w)
                preds[w].extend(int(np.argmax(p[i])) for i in keep)
        gold = np.array(gold_all)
        scores = {w: _macro_f1(gold, np.array(preds[w])) for w in WEIGHTS}
        adapter.weight = max(WEIGHTS, key=lambda w: (round(scores[w], 6), -w))
        logger.info("adapter blend weights (leave one page out): %s", scores)
    adapter.memory = _memory(docs)
    adapter.text_model = _fit_text_model(texts, y, n_char_features, n_word_features)
    return adapter


ADAPTER_FORMAT = "sieve-publisher-adapter/1"


def save_adapter(adapter: PublisherAdapter, path: Path, card: dict[str, Any] | None = None) -> Path:
    """Write the adapter and its card (sha256 checked before it is ever unpickled)."""
    import joblib
    import sklearn

    part = path.with_name(path.name + ".part")
    joblib.dump(adapter, part, compress=("zlib", 6))
    part.replace(path)
    write_card(path, {"kind": "publisher-adapter", "model_format": ADAPTER_FORMAT,
                      "sklearn_version": sklearn.__version__, **adapter.describe(), **(card or {})})
    return path


def load_adapter(path: Path) -> PublisherAdapter:
    """Load an adapter after checking its card (missing, tampered: ``ModelError``)."""
    card = verify_file(path)
    if card.get("model_format") != ADAPTER_FORMAT:
        raise ModelError(f"{path}: adapter format {card.get('model_format')!r}, this Sieve reads {ADAPTER_FORMAT!r}")
    adapter: PublisherAdapter = load_checked_pickle(path, card, PublisherAdapter, "a Sieve publisher adapter",
                                                    "adapt again with `sieve train --base`")
    return adapter

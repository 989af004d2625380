"""Adapting a model to a publisher it handles poorly, from a few labelled pages.

``fit_adapter`` learns, for the publishers of the labelled documents it is given:

* a **block memory**: per publisher, the texts (normalised as in ``templates``) that
  have the same label at every labelled occurrence in one role on the page (or
  boilerplate on some pages and navigation on others, as `sieve align` guesses them:
  the reviewed pages' label, else the most given)
  (``templates.block_role``: the tag, link text or not): a platform's comment form,
  "Gefällt mir", "Ähnliche Beiträge". A label given on ``MEMORY_PAGES`` pages or
  more sets the block's label; one given on fewer is mixed with what the rest says
  (a geometric mix, half and half): one answer tips an unsure block but does not
  overrule a sure model. A story's headline labelled content on its page says
  nothing of the links to it on the publisher's other pages (another role);
* a **text model**: a linear model on the blocks' hashed n-grams, trained on those
  pages only;
* for pages cut from HTML, a **path model**: a linear model on where each block sits
  in the page (``Block.path``: its ancestors' tags, classes and ids, such as
  ``div.entry-content`` or ``aside.widget``), trained on those pages only: a
  platform's templates put the article and the widgets in the same containers on
  every page.

The path model also learns from the labelled pages' unlabelled blocks that the base
model is sure of (pseudo-labels: a few dozen labelled blocks show few of a platform's
containers). The models are blended with the base model's probabilities (a geometric
mix); the two blend weights and the pseudo-label confidence are chosen together by
leave-one-page-out log-loss on the labelled pages (``choose_blend``).

``PublisherAdapter.adjust`` applies both to documents of those publishers only (the
record's ``publisher``, else its URL host): every other document is labelled
exactly as by the base model, so adapting forgets nothing. A model folder with an
``adapter.joblib`` (written by ``sieve train --base``) applies it automatically.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .cards import load_checked_pickle, read_verified, write_model
from .document import LABELS, Document, host_name
from .errors import ModelError
from .features import TextNgrams
from .sparse import SparseRows, index_dtype, row_pointers
from .templates import block_role, publisher_of, text_key
from .trees import compiled_modules, linear_proba
from .versions import ADAPTER_FORMAT, check_adapter_card

if TYPE_CHECKING:  # a loaded adapter's models are ``trees.LinearPass``: labelling does not import scikit-learn
    from sklearn.linear_model import SGDClassifier

__all__ = ["ADAPTER_FILE", "PublisherAdapter", "choose_blend", "fit_adapter", "load_adapter", "save_adapter"]

logger = logging.getLogger(__name__)

ADAPTER_FILE = "adapter.joblib"
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 0.9)
#: (text model, path model) weights tried: each in WEIGHTS, together at most 0.9
WEIGHT_PAIRS = tuple((w, v) for w in WEIGHTS for v in WEIGHTS if w + v <= 0.9 + 1e-9)
#: The path model also learns from the labelled pages' *unlabelled* blocks, each with
#: the label the base model gives it when at least this sure (pseudo-labels, weight 1;
#: a labelled block weighs GOLD_WEIGHT): a few dozen labelled blocks show too few of a
#: platform's containers (sidebar widgets, author boxes, feeds). ``None``: labelled
#: blocks only. Chosen with the blend weights by leave-one-page-out log-loss.
#: (training/NOTES.md, session 7: with ``choose_blend``, held-out wordpress.com pages
#: 0.930 -> 0.962 against 0.932 before.)
PSEUDO_CONFIDENCES: tuple[float | None, ...] = (None, 0.9, 0.7, 0.5)
GOLD_WEIGHT = 3.0
_STEP_NAMES = re.compile(r"[.#]")
#: A remembered label seen on this many pages sets the block's label; on fewer it is
#: mixed with the blend at MEMORY_MIX (a geometric mix).
MEMORY_PAGES = 2
MEMORY_MIX = 0.5
#: What a remembered label is as a probability row: the label, and the rest shared.
_REMEMBERED = 0.98
#: (publisher, text key, role): what the block memory is keyed by.
MemoryKey = tuple[str, str, str]


def memory_key(publisher: str, text: str, role: str) -> MemoryKey:
    return publisher, text_key(text), role


def path_tokens(path: str | None) -> list[str]:
    """What the path model reads of a block's DOM path: each ancestor step, each
    class or id name, and the last one, two and three steps."""
    if not path:
        return []
    steps = path.split(" ")
    tokens = ["s:" + step for step in steps]
    tokens += ["c:" + name for step in steps for name in _STEP_NAMES.split(step)[1:] if name]
    tokens += ["e1:" + steps[-1], "e2:" + " ".join(steps[-2:]), "e3:" + " ".join(steps[-3:])]
    return tokens


def path_matrix(paths: Sequence[str | None], n_features: int) -> SparseRows:
    """Hashed, binary, l2-normalised ``path_tokens`` (a row of zeros for a block without
    a path): the tokens hashed by scikit-learn's ``FeatureHasher`` (its compiled
    hashing, loaded without scikit-learn's initialisers: labelling with an adapter
    imports neither scikit-learn nor SciPy's sparse package), each column once, all of
    a row's values ``1 / sqrt(its columns)``. A row's columns run from the highest down:
    the order in which SciPy's product of the normalising diagonal with the hashed
    matrix left them when this was computed with SciPy, which the path models were
    fitted on and sum in (a test compares the two bit for bit)."""
    hashed_columns, hashed_ptr, _ = _hashing().transform(
        iter([((token, 1) for token in path_tokens(p)) for p in paths]), n_features, np.float64, False, 0)
    rows = np.repeat(np.arange(len(paths), dtype=np.int64), np.diff(hashed_ptr))
    # each (row, column) once; the columns of a row from the highest down
    keys = np.unique(rows * n_features + (n_features - 1 - np.asarray(hashed_columns, dtype=np.int64)))
    row_of = keys // n_features
    indptr = row_pointers(row_of, len(paths))
    norms = np.sqrt(np.diff(indptr).astype(np.float64))
    norms[norms == 0] = 1.0
    index = index_dtype(n_features, len(keys))
    return SparseRows((1.0 / norms)[row_of], (n_features - 1 - keys % n_features).astype(index), indptr.astype(index),
                      n_features)


def _hashing() -> Any:
    """scikit-learn's compiled ``_hashing_fast`` (``FeatureHasher``'s)."""
    return compiled_modules(("sklearn", "sklearn.utils", "sklearn.feature_extraction"),
                            ("sklearn.feature_extraction._hashing_fast",),
                            ("sklearn", "sklearn.feature_extraction"))[0]


@dataclass
class PublisherAdapter:
    publishers: frozenset[str]
    memory: dict[MemoryKey, tuple[int, int]] = field(default_factory=dict)  # -> (label index, pages)
    text_model: SGDClassifier | None = None
    weight: float = 0.0  # share of the text model in the blend
    n_char_features: int = 2**16
    n_word_features: int = 2**14
    base_model: str = "text"  # the block model whose output it adjusts: "text" or "html" (pages with DOM facts)
    path_model: SGDClassifier | None = None
    path_weight: float = 0.0  # share of the path model in the blend
    n_path_features: int = 2**16
    pages: int = 0
    blocks: int = 0
    pseudo_confidence: float | None = None  # the path model's pseudo-labels: base model at least this sure

    def _text_proba(self, texts: Sequence[str]) -> np.ndarray:
        assert self.text_model is not None
        x = TextNgrams(self.n_char_features, self.n_word_features).transform_texts(texts)
        return _full_proba(self.text_model, linear_proba(self.text_model, x))

    def _path_proba(self, paths: Sequence[str | None]) -> np.ndarray:
        assert self.path_model is not None
        return _full_proba(self.path_model, linear_proba(self.path_model, path_matrix(paths, self.n_path_features)))

    def applies_to(self, doc: Document, model_kind: str | None = None) -> bool:
        """Whether the adapter adjusts ``doc``: one of its publishers' documents, and,
        when ``model_kind`` ("text" or "html") says which model labelled it, the
        model the adapter was fitted on."""
        return (model_kind is None or model_kind == self.base_model) and publisher_of(doc) in self.publishers

    def adjust(self, doc: Document, probs: np.ndarray, model_kind: str | None = None) -> np.ndarray:
        """The base ``probs`` (n, 3) of a document, adapted when the adapter applies to
        it (``applies_to``; a new array), else unchanged."""
        if not self.applies_to(doc, model_kind) or len(probs) == 0:
            return probs
        return self._blend(self._views(doc), probs, self.weight, self.path_weight)

    def _views(self, doc: Document) -> Views:
        """What the adapter's parts say of a document's blocks: the text model's and
        the path model's probabilities (None without that model or, for the path
        model, without any path), which blocks have a path, the remembered labels
        (label index and pages, for the document's publisher and the block's role)."""
        text = self._text_proba([b.text for b in doc.blocks]) if self.text_model is not None else None
        has_path = np.array([bool(b.path) for b in doc.blocks], dtype=bool)
        path = (self._path_proba([b.path for b in doc.blocks])
                if self.path_model is not None and has_path.any() else None)
        pub = publisher_of(doc)
        remembered: list[tuple[int, int] | None] = [None] * len(doc.blocks)
        if pub is not None and self.memory:
            remembered = [self.memory.get(memory_key(pub, b.text, block_role(b))) for b in doc.blocks]
        return text, path, has_path, remembered

    @staticmethod
    def _blend(views: Views, probs: np.ndarray, weight: float, path_weight: float = 0.0) -> np.ndarray:
        text, path, has_path, memory = views
        out = probs.copy()
        w = weight if text is not None else 0.0
        # per block: the path model has no say on a block without a path
        v = np.where(has_path, path_weight, 0.0)[:, None] if path is not None else np.zeros((len(probs), 1))
        if w > 0 or v.any():
            log = (1 - w - v) * np.log(np.clip(probs, 1e-6, 1))
            # clipped as the base's are: a model trained without one label gives it 0, and log(0)
            # times a block's weight of 0 (a block without a path) was NaN for its whole row
            if w > 0:
                log += w * np.log(np.clip(text, 1e-6, 1))  # type: ignore[arg-type]
            if path is not None:
                log += v * np.log(np.clip(path, 1e-6, 1))
            mixed = np.exp(log - log.max(axis=1, keepdims=True))
            out = mixed / mixed.sum(axis=1, keepdims=True)
        for i, known in enumerate(memory):
            if known is None:
                continue
            label, pages = known
            row = np.full(len(LABELS), (1 - _REMEMBERED) / (len(LABELS) - 1))
            row[label] = _REMEMBERED
            if pages >= MEMORY_PAGES:  # the same label on several pages: it is the block's
                out[i] = row
            else:  # one answer: it tips an unsure block, it does not overrule a sure one
                mixed = np.exp((1 - MEMORY_MIX) * np.log(np.clip(out[i], 1e-6, 1)) + MEMORY_MIX * np.log(row))
                out[i] = mixed / mixed.sum()
        return out

    def describe(self) -> dict[str, Any]:
        return {"publishers": sorted(self.publishers), "base_model": self.base_model, "pages": self.pages,
                "blocks": self.blocks, "remembered_blocks": len(self.memory), "text_model_weight": self.weight,
                "path_model_weight": self.path_weight, "path_pseudo_labels_from": self.pseudo_confidence}


#: What ``PublisherAdapter._views`` returns: text-model and path-model probabilities,
#: which blocks have a path, and per block its remembered (label, pages) or None.
Views = tuple[np.ndarray | None, np.ndarray | None, np.ndarray, list[tuple[int, int] | None]]


def _full_proba(clf: SGDClassifier, proba: np.ndarray) -> np.ndarray:
    """``proba`` over the classes ``clf`` saw, as (n, 3) in LABELS order (unseen: 1e-3)."""
    full = np.full((len(proba), len(LABELS)), 1e-3)
    full[:, clf.classes_.astype(int)] = proba
    return full / full.sum(axis=1, keepdims=True)


def _fit_linear(x: Any, y: np.ndarray, weights: np.ndarray | None = None) -> SGDClassifier | None:
    from sklearn.linear_model import SGDClassifier

    if len(set(y.tolist())) < 2:
        return None
    clf = SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=30, tol=None, class_weight="balanced", random_state=0)
    clf.fit(x, y, sample_weight=weights)
    return clf


def _fit_text_model(texts: list[str], y: np.ndarray, n_char: int, n_word: int) -> SGDClassifier | None:
    return _fit_linear(TextNgrams(n_char, n_word).transform_texts(texts).tocsr(), y)


@dataclass
class _PathPage:
    """What the path model reads of one labelled page, computed once: its blocks'
    ``path_matrix``, which blocks have a path, their gold label index (-1: none),
    and the base model's top label and its probability."""

    matrix: Any
    has_path: np.ndarray
    gold: np.ndarray
    top: np.ndarray
    top_p: np.ndarray

    @classmethod
    def of(cls, doc: Document, probs: np.ndarray, n_features: int) -> _PathPage:
        p = np.asarray(probs, dtype=np.float64).reshape(len(doc.blocks), len(LABELS))
        matrix = path_matrix([b.path for b in doc.blocks], n_features)
        return cls(matrix,
                   np.array([bool(b.path) for b in doc.blocks], dtype=bool),
                   np.array([LABELS.index(g) if g is not None else -1 for g in doc.gold_labels], dtype=np.int64),
                   p.argmax(axis=1) if len(p) else np.zeros(0, np.int64), p.max(axis=1) if len(p) else np.zeros(0))


def _fit_path_model(pages: Sequence[_PathPage], confidence: float | None) -> SGDClassifier | None:
    """The path model of ``pages``: their labelled blocks, and with ``confidence`` their
    unlabelled blocks the base model is at least that sure of, labelled so
    (``PSEUDO_CONFIDENCES``)."""
    parts, ys, ws = [], [], []
    any_labelled = False
    for page in pages:
        labelled = page.has_path & (page.gold >= 0)
        pseudo = (page.has_path & (page.gold < 0) & (page.top_p >= confidence) if confidence is not None
                  else np.zeros_like(labelled))
        rows = np.flatnonzero(labelled | pseudo)
        any_labelled = any_labelled or bool(labelled.any())
        if len(rows):
            parts.append(page.matrix.take(rows))
            ys.append(np.where(labelled, page.gold, page.top)[rows])
            ws.append(np.where(labelled, GOLD_WEIGHT, 1.0)[rows])
    if not any_labelled:
        return None  # text pages, or no labelled block with a path: nothing to learn
    return _fit_linear(SparseRows.stacked(parts).tocsr(), np.concatenate(ys), np.concatenate(ws))


def _memory(docs: Sequence[Document]) -> dict[MemoryKey, tuple[int, int]]:
    """The block memory: per (publisher, text, role) whose labelled occurrences all
    have one label, that label and on how many pages it was given. Occurrences that
    are all boilerplate or navigation (`sieve align` labels a block missing from the
    clean text either, as the base model guesses on each page) are not content: the
    label of the reviewed pages when they give one, else the one on most pages."""
    labels: dict[MemoryKey, dict[int, set[int]]] = {}
    reviewed: dict[MemoryKey, set[int]] = {}
    pages: dict[MemoryKey, set[int]] = {}
    for n, d in enumerate(docs):
        pub = publisher_of(d)
        if pub is None:  # an adapter applies to publishers' documents only
            continue
        for b, g, persons in zip(d.blocks, d.gold_labels, persons_labels(d)):
            if g is not None:
                key = memory_key(pub, b.text, block_role(b))
                labels.setdefault(key, {}).setdefault(LABELS.index(g), set()).add(n)
                if persons:
                    reviewed.setdefault(key, set()).add(LABELS.index(g))
                pages.setdefault(key, set()).add(n)
    memory = {}
    for k, v in sorted(labels.items()):
        if len(v) == 1:
            memory[k] = (next(iter(v)), len(pages[k]))
        elif 0 not in v:  # boilerplate against navigation: not content either way
            if len(reviewed.get(k, ())) == 1:
                memory[k] = (next(iter(reviewed[k])), len(pages[k]))
            else:  # the label on most pages (a tie: boilerplate, LABELS' order)
                most = min(v, key=lambda lab: (-len(v[lab]), lab))
                memory[k] = (most, len(pages[k]))
    return memory


def _labelled(docs: Sequence[Document]) -> tuple[list[str], list[str | None], np.ndarray]:
    texts, paths, y = [], [], []
    for d in docs:
        for b, g in zip(d.blocks, d.gold_labels):
            if g is not None:
                texts.append(b.text)
                paths.append(b.path)
                y.append(LABELS.index(g))
    return texts, paths, np.array(y, dtype=np.int64)


Choice = tuple[float | None, float, float]  # (pseudo-label confidence, text weight, path weight)


def choose_blend(losses: dict[Choice, list[float]], confidences: Sequence[float | None]
                 ) -> tuple[Choice, dict[Choice, float]]:
    """The adapter's choice from its leave-one-page-out log-losses per labelled block,
    and every choice's mean loss.

    A few dozen labelled blocks make a noisy estimate. The text and the path model
    both carry the publisher's evidence, the path model with far fewer weights to
    fit (a page's containers against tens of thousands of n-grams): among the
    choices within one standard error (of the best one's per-block losses) of the
    best that give the adapter at least the best one's weight in all, the one with
    the least text weight; then the lowest loss, the smaller total weight, the
    fewest pseudo-labels (the order of ``confidences``). (training/NOTES.md, session 7)

    Without a path model to choose (text pages), the same rule leans toward the base
    model: the least text weight within one standard error of the best. A weight the
    held-out pages cannot tell from less is noise fitted to a few dozen blocks: on the
    wordpress.com pages (26 labelled blocks on 5 pages) a text weight of 0.25, the lowest
    mean loss (0.146 against the base's 0.183, within its standard error), took the
    held-out content-vs-rest F1 from 0.910 to 0.893 (training/NOTES.md, session 11).
    """
    scores = {cwv: round(float(np.mean(v)), 6) if v else float("inf") for cwv, v in losses.items()}  # no evidence
    top = min(losses, key=lambda cwv: (scores[cwv], cwv[1] + cwv[2], cwv[1], confidences.index(cwv[0])))
    n_top = len(losses[top])
    margin = float(np.std(losses[top]) / np.sqrt(n_top)) if n_top > 1 else 0.0
    if all(cwv[2] == 0 for cwv in losses):  # text weights only
        near = [cwv for cwv in losses if scores[cwv] <= scores[top] + margin]
        return min(near, key=lambda cwv: (cwv[1], scores[cwv])), scores
    near = [cwv for cwv in losses
            if scores[cwv] <= scores[top] + margin and cwv[1] + cwv[2] >= top[1] + top[2] - 1e-9]
    best = min(near, key=lambda cwv: (cwv[1], scores[cwv], cwv[1] + cwv[2], confidences.index(cwv[0])))
    return best, scores


#: Up to this many labelled pages, the choices are scored leaving one page out; with
#: more, in this many folds of pages (page i in fold i mod MAX_FOLDS).
MAX_FOLDS = 10


def _page_folds(n: int) -> list[list[int]]:
    return [[k] for k in range(n)] if n <= MAX_FOLDS else [list(range(f, n, MAX_FOLDS)) for f in range(MAX_FOLDS)]


def fit_adapter(docs: Sequence[Document], base_probs: Sequence[np.ndarray], *, base_model: str = "text",
                n_char_features: int = 2**16, n_word_features: int = 2**14,
                n_path_features: int = 2**16) -> PublisherAdapter:
    """An adapter for the publishers of the labelled ``docs``; ``base_probs`` are
    the probabilities the ``base_model`` ("text" or "html") gave them (same order),
    the model whose output the adapter will adjust. The pages are taken in one order
    whatever theirs (by url or id, then texts): the same pages in other files, or the
    files in another order, give the same adapter."""
    order = sorted(range(len(docs)), key=lambda i: (_page_key(docs[i]) or "", str(docs[i].id), docs[i].texts))
    docs, base_probs = [docs[i] for i in order], [base_probs[i] for i in order]
    publishers = frozenset(p for p in (publisher_of(d) for d in docs) if p)
    texts, paths, y = _labelled(docs)
    adapter = PublisherAdapter(publishers, pages=len(docs), blocks=len(y), base_model=base_model,
                               n_char_features=n_char_features, n_word_features=n_word_features,
                               n_path_features=n_path_features)
    # the blend weights: leave one page out (or a fold of pages: _page_folds), fit on the
    # rest, score the page's labelled blocks by log-loss. A few pages hold a few dozen
    # labelled blocks: right-or-wrong counts (F1) tie across most weights and flip on one
    # block, log-loss weighs how sure each blend is of the right label (training/NOTES.md,
    # session 5); choose_blend then prefers the path model where the losses cannot tell
    # text pages: no path model, no path weight to choose
    confidences = PSEUDO_CONFIDENCES if any(paths) else (None,)
    pairs = WEIGHT_PAIRS if any(paths) else tuple((w, 0.0) for w in WEIGHTS)
    # each page's path facts once: the folds fit on the same pages again and again
    path_pages = ([_PathPage.of(d, p, n_path_features) for d, p in zip(docs, base_probs, strict=True)]
                  if any(paths) else None)
    if len(docs) >= 2 and len(set(y.tolist())) >= 2:
        losses: dict[Choice, list[float]] = {(c, w, v): [] for c in confidences for w, v in pairs}
        for held in _page_folds(len(docs)):
            rest = [d for i, d in enumerate(docs) if i not in held]
            t_rest, _, y_rest = _labelled(rest)
            text_model = _fit_text_model(t_rest, y_rest, n_char_features, n_word_features)
            trial = PublisherAdapter(publishers, memory=_memory(rest), text_model=text_model,
                                     n_char_features=n_char_features, n_word_features=n_word_features,
                                     n_path_features=n_path_features)
            path_models = {c: _fit_path_model([pp for i, pp in enumerate(path_pages) if i not in held], c)
                           for c in confidences} if path_pages is not None else {}
            for k in held:
                labels = docs[k].gold_labels
                keep = [i for i, g in enumerate(labels) if g is not None]
                if not keep:
                    continue
                gold = [LABELS.index(labels[i]) for i in keep]  # type: ignore[arg-type]
                text_view, _, has_path, remembered = trial._views(docs[k])  # the text and memory views once
                for c in confidences:
                    trial.path_model = path_models.get(c)
                    path_view = (trial._path_proba([b.path for b in docs[k].blocks])
                                 if trial.path_model is not None and has_path.any() else None)
                    views = (text_view, path_view, has_path, remembered)  # then each weight pair is a cheap mix
                    for w, v in pairs:
                        p = trial._blend(views, np.asarray(base_probs[k]), w, v)
                        losses[c, w, v].extend(-float(np.log(max(p[i, g], 1e-6))) for i, g in zip(keep, gold))
        best, scores = choose_blend(losses, confidences)
        adapter.pseudo_confidence, adapter.weight, adapter.path_weight = best
        if not adapter.path_weight:
            adapter.pseudo_confidence = None
        logger.info("adapter choices (pseudo-label confidence, text weight, path weight), leave-one-page-out "
                    "log-loss: %s", scores)
    adapter.memory = _memory(docs)
    adapter.text_model = _fit_text_model(texts, y, n_char_features, n_word_features)
    adapter.path_model = (_fit_path_model(path_pages, adapter.pseudo_confidence) if path_pages is not None
                          else None)
    return adapter


def _page_key(doc: Document) -> str | None:
    """What names a page across files: its url as ``align.url_key`` reads it (the
    scheme, ``www.``, a trailing ``/`` aside), else its own id (not one the reader
    made up from file name and line)."""
    from .align import url_key

    if doc.url:
        return "url:" + url_key(doc.url)
    return f"id:{doc.id}" if doc.id_given else None


def merge_repeated_pages(docs: Sequence[Document]) -> tuple[list[Document], int]:
    """One document per page: a page given again (the same url, or without one the
    same id, and the same block texts), as `sieve review`'s corrections repeat pages
    `sieve align` labelled, becomes one document. A reviewed page's labels (a record
    `sieve review` wrote: ``"reviewed": true``) win over the others whatever the
    order of the files; between two of the same kind, the later one's; a block the
    winner leaves unlabelled keeps the other's label. The merged page keeps the url
    and publisher either names, and align's figures (an ``align`` field) whichever came
    first. Returns the documents (first occurrence order) and
    how many repeats were merged."""
    from dataclasses import replace

    out: list[Document] = []
    where: dict[str, int] = {}
    merged = 0
    for d in docs:
        key = _page_key(d)
        k = where.get(key) if key is not None else None
        if k is None or out[k].texts != d.texts:
            if key is not None and k is None:
                where[key] = len(out)
            out.append(d)
            continue
        first = out[k]
        low, high = (d, first) if _reviewed(first) and not _reviewed(d) else (first, d)
        gold = [dict(low.gold[i]) if i < len(low.gold) else {} for i in range(len(first.blocks))]
        # which labels a person gave, block by block: the memory takes theirs over align's. A
        # record merged already (a page given a third time: two review files) is marked
        # reviewed, but only its marked labels are a person's; the rest are align's
        low_persons, high_persons = persons_labels(low), persons_labels(high)
        for i, given in enumerate(gold):
            given.pop("reviewed", None)
            if given.get("label") is not None and i < len(low_persons) and low_persons[i]:
                given["reviewed"] = True
        for i, g in enumerate(high.gold[:len(gold)]):
            if g.get("label") is not None:
                gold[i]["label"] = g["label"]
                if high_persons[i]:
                    gold[i]["reviewed"] = True
                else:
                    gold[i].pop("reviewed", None)
        extra = dict(first.extra)
        if _reviewed(d):
            extra["reviewed"] = True
        if "align" in d.extra and "align" not in extra:  # the corrections' file came first: the page
            extra["align"] = d.extra["align"]  # still carries align's labels (train's caveat, doubts)
        out[k] = replace(first, gold=tuple(gold), url=first.url or d.url, publisher=first.publisher or d.publisher,
                         extra=extra)
        merged += 1
    return out, merged


def _reviewed(doc: Document) -> bool:
    return doc.extra.get("reviewed") is True


def persons_labels(doc: Document) -> list[bool]:
    """Per block, whether its label is a person's: on a page merged with its corrections
    (``merge_repeated_pages`` marks the labels a person gave), the marked ones; on another
    page marked ``reviewed`` (`sieve review`'s own records), every label; else none
    (`sieve align`'s guesses)."""
    if any(g.get("reviewed") is True for g in doc.gold):
        return [g.get("reviewed") is True for g in doc.gold]
    return [_reviewed(doc) and g.get("label") is not None for g in doc.gold]


def save_adapter(adapter: PublisherAdapter, path: Path, card: dict[str, Any] | None = None) -> Path:
    """Write the adapter and its card (sha256 checked before it is ever unpickled)."""
    import joblib
    import sklearn

    write_model(path, lambda part: joblib.dump(adapter, part, compress=("zlib", 6)),
                {"kind": "publisher-adapter", "model_format": ADAPTER_FORMAT, "sklearn_version": sklearn.__version__,
                 **adapter.describe(), **(card or {})})
    return path




def load_adapter(path: Path, model_dir: Path | None = None) -> PublisherAdapter:
    """Load an adapter after checking its card (missing, tampered: ``ModelError``).

    With ``model_dir``, the model the adapter adjusts there must be the one it was
    fitted on (its card's ``base_model_sha256``): probabilities of another model,
    say a retrained HTML model copied into the folder, would be blended with weights
    chosen for the old one, without a word. Adapters written before the card named
    the model are not checked.
    """
    card, data = read_verified(path)  # the bytes that match the card, and only those, are unpickled
    check_adapter_card(path, card, model_dir)
    adapter: PublisherAdapter = load_checked_pickle(path, card, data, PublisherAdapter, "a Sieve publisher adapter",
                                                    "adapt again with `sieve train --base`")
    # publishers as this Sieve names them (an adapter of an earlier one may say www.Example.com)
    adapter.publishers = frozenset(host_name(pub) or pub for pub in adapter.publishers)
    said = card.get("publishers")
    if isinstance(said, list) and frozenset(host_name(str(p)) or str(p) for p in said) != adapter.publishers:
        # an edited card: `sieve models` showed its list while the adapter applied to its own
        raise ModelError(f"{path}: its card names the publishers {', '.join(map(str, said)) or '(none)'}, the adapter "
                         f"was fitted for {', '.join(sorted(adapter.publishers)) or '(none)'} (was the card edited?): "
                         "an adapter adjusts the pages of the publishers it learned from; to adjust another's, "
                         "adapt on its labelled pages with `sieve train --base`")
    memory: dict[MemoryKey, tuple[int, int]] = {}
    for (pub, key, role), (label, pages) in sorted(adapter.memory.items()):
        named = (host_name(pub) or pub, key, role)
        if named not in memory or memory[named][1] < pages:
            memory[named] = (label, pages)
    adapter.memory = memory
    return adapter

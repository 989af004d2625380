"""The block model: labels and probabilities for every block of a document.

Two passes, both trained on labelled blocks (``label: null`` blocks are skipped as
samples but stay in their documents as context):

1. **Block pass**: a linear model (SGD, log loss) on the block's hashed character
   and word n-grams plus its scaled dense features (shape, position, neighbours'
   shape, repetition; see ``features``).
2. **Context pass**: gradient-boosted trees on the dense features, the block's
   pass-1 probabilities and those of its neighbours and surrounding windows
   (``probability_context``). Pass 2 learns from *out-of-fold* pass-1
   probabilities (publisher-grouped), so it sees the errors pass 1 makes on
   publishers it has not seen.

``smooth`` then applies a few rules over neighbouring probabilities, and for blocks
cut from HTML ``drop_copies`` keeps one copy of text the page repeats elsewhere.
Save/load go through a model card (``cards``): nothing is unpickled unless its
sha256 matches the card.
"""

from __future__ import annotations

import functools
import logging
import platform
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .cards import load_checked_pickle, read_verified, verify_file, write_model
from .document import LABELS, Block, Document, Label, without_blank_blocks
from .errors import ModelError
from .features import (
    ARTICLE_CONTEXT_WIDTH,
    CONTAINER_WIDTH,
    FEATURES_VERSION,
    BlockRow,
    article_context,
    build_text_features,
    container_context,
    document_feature_columns,
    document_features,
    one_block_contexts,
    one_block_features,
    probability_context,
)
from .language import _text_weight
from .sparse import SparseRows
from .templates import publisher_of
from .trees import LinearPass, TreePass, bin_columns, binned_proba, empty_bins, linear_proba
from .trees import tree_proba as tree_proba
from .versions import MODEL_FORMAT, RETRAIN, check_block_model_card, features_compatible

if TYPE_CHECKING:  # training imports scikit-learn; labelling does not (``trees``)
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import SGDClassifier

__all__ = [
    "BLOCK_MODEL_FILE",
    "HTML_MODEL_FILE",
    "BlockModel",
    "check_model_card",
    "content_recalls",
    "drop_copies",
    "ModelParams",
    "evaluate",
    "fit_block_model",
    "load_model",
    "save_model",
    "smooth",
]

logger = logging.getLogger(__name__)

BLOCK_MODEL_FILE = "blocks.joblib"
#: The model for blocks cut from HTML pages (text features plus DOM facts).
HTML_MODEL_FILE = "html.joblib"

#: smooth(): a block whose own content probability is at least this, lying between
#: two blocks labelled content with at least STRONG_CONTENT, is content too: a short
#: line inside the article body. Chosen on publisher-grouped CV of the dev files.
WEAK_CONTENT = 0.25
STRONG_CONTENT = 0.8
#: smooth(): a heading-like block right before strong content needs this much.
WEAK_HEADING = 0.3
#: drop_copies(): only blocks of at least this many words count as copies of each other.
COPY_MIN_WORDS = 8


@dataclass(frozen=True, slots=True)
class ModelParams:
    """Hyper-parameters of the block model (all have working defaults)."""

    n_char_features: int = 2**17
    n_word_features: int = 2**15
    max_text_chars: int = 600  # characters of a block the n-gram families read
    alpha: float = 1e-5  # SGD L2 strength of the block pass
    epochs: int = 15
    average_sgd: bool = False  # averaged SGD weights for pass 1
    inner_folds: int = 4  # publisher-grouped folds for pass 2's out-of-fold inputs
    trees: int = 100  # pass-2 boosting rounds; 100 x 0.15 matched 150 x 0.1 in CV at 2/3 the cost
    learning_rate: float = 0.15
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 20
    l2_regularization: float = 0.0
    balanced_context: bool = False  # class_weight="balanced" for pass 2
    smooth: bool = True  # apply smooth() after pass 2
    use_dom: bool = False  # the HTML model: DOM facts of blocks cut from pages (features._dom_columns)
    random_state: int = 0
    container_context: bool = False  # pass 2 also reads the pass-1 view of blocks in the same page container

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    # Pickled by name: a slotted dataclass pickles its values as a list in field order,
    # so a field added later would shift every value after it in older files.
    def __getstate__(self) -> dict[str, Any]:
        return self.to_dict()

    def __setstate__(self, state: dict[str, Any] | list[Any] | tuple[Any, ...]) -> None:
        names = list(self.__dataclass_fields__)
        if isinstance(state, dict):
            values = dict(state)
        else:  # a model pickled before this method: its values in the field order of its time
            values = dict(zip(_LIST_ORDERS.get(len(state), names), state))
        for name, f in self.__dataclass_fields__.items():
            object.__setattr__(self, name, values.get(name, f.default))


def _list_orders() -> dict[int, list[str]]:
    """The field orders ``ModelParams`` pickled its values in, as lists, by length:
    without ``use_dom`` and ``container_context``; with ``use_dom`` before
    ``random_state``; briefly (models never shipped) ``container_context`` after
    ``use_dom``. Pickles by name (``__getstate__``) need none of this."""
    names = [n for n in ModelParams.__dataclass_fields__ if n != "container_context"]
    with_dom = names.copy()
    without_dom = [n for n in names if n != "use_dom"]
    briefly = names.copy()
    briefly.insert(briefly.index("use_dom") + 1, "container_context")
    return {len(without_dom): without_dom, len(with_dom): with_dom, len(briefly): briefly}


_LIST_ORDERS = _list_orders()


@dataclass
class _Features:
    """Per-block matrices of a batch of documents, rows in document order."""

    text: SparseRows
    dense: np.ndarray
    bounds: list[tuple[int, int]]  # (start, end) rows of each document
    paths: list[str | None] | None = None  # per row, the block's DOM path (container context only)

    def take(self, docs: Sequence[int]) -> _Features:
        idx = np.concatenate([np.arange(*self.bounds[d]) for d in docs]) if docs else np.zeros(0, int)
        bounds, start = [], 0
        for d in docs:
            n = self.bounds[d][1] - self.bounds[d][0]
            bounds.append((start, start + n))
            start += n
        paths = [self.paths[i] for i in idx] if self.paths is not None else None
        return _Features(self.text.take(idx), self.dense[idx], bounds, paths)

    def followed_by(self, other: _Features) -> _Features:
        """The rows of both batches, ``other``'s documents after this one's."""
        start = self.bounds[-1][1] if self.bounds else 0
        paths = self.paths + other.paths if self.paths is not None and other.paths is not None else None
        return _Features(SparseRows.stacked([self.text, other.text]), np.vstack([self.dense, other.dense]),
                         self.bounds + [(a + start, b + start) for a, b in other.bounds], paths)


@dataclass
class BlockModel:
    """The trained two-pass block classifier (see the module docstring)."""

    params: ModelParams = field(default_factory=ModelParams)
    features_version_: int = FEATURES_VERSION
    n_dense_: int = 0
    #: trained: scikit-learn's estimators; loaded from a file: their stand-ins (``trees``)
    block_pass_: SGDClassifier | LinearPass | None = None
    context_pass_: HistGradientBoostingClassifier | TreePass | None = None

    # -- features ----------------------------------------------------------------
    def featurize(self, documents: Sequence[Document]) -> _Features:
        text = self._text_rows(documents)
        bounds = _bounds_of(documents)
        dense = np.empty((bounds[-1][1] if bounds else 0, self._dense_width()))
        self._dense_rows(documents, bounds, into=dense)
        return _Features(text, dense, bounds, self._paths(documents))

    def _text_rows(self, documents: Sequence[Document]) -> SparseRows:
        """The hashed n-grams of every block of ``documents``, rows in document order."""
        text_features = build_text_features(n_char_features=self.params.n_char_features,
                                            n_word_features=self.params.n_word_features,
                                            max_chars=self.params.max_text_chars)
        # n-grams depend on the text alone: hash each distinct text once (menus, footers
        # and share bars repeat within a page and across a site's pages)
        first: dict[str, int] = {}
        unique_rows: list[BlockRow] = []
        which: list[int] = []
        for d in documents:
            for i, b in enumerate(d.blocks):
                k = first.setdefault(b.text, len(unique_rows))
                if k == len(unique_rows):
                    unique_rows.append(BlockRow(d.blocks, i))
                which.append(k)
        return (text_features.transform(unique_rows).take(which) if unique_rows
                else SparseRows.empty(0, self.params.n_char_features + self.params.n_word_features))

    def _dense_width(self) -> int:
        """Columns of the dense features this model's documents get (``_dense_rows``)."""
        return _dense_width(bool(getattr(self.params, "use_dom", False)), self.features_version_)

    def _dense_rows(self, documents: Sequence[Document], bounds: Sequence[tuple[int, int]], *,
                    into: np.ndarray | None = None,
                    sink: Callable[[slice | list[int], int, np.ndarray], None] | None = None) -> None:
        """The dense features of ``documents``' blocks (``bounds``: each document's
        rows), written ``into`` the matrix of all rows, or given to ``sink(rows, first
        column, values)``: first those of all documents of one block at once (an index
        list of rows, all columns), then each other document's a block of columns at a
        time (``document_feature_columns``: a long page's whole matrix never exists) when
        it has ``COLUMN_BLOCK_ROWS`` blocks or more, else all its columns at once."""
        shapes: dict[tuple[str, int], list[float]] = {}
        dom = getattr(self.params, "use_dom", False)  # models pickled before the field existed: text
        version = self.features_version_  # a model of an earlier version reads its version's shapes
        # documents of one block (short records) all at once, the others one by one
        ones = [i for i, d in enumerate(documents) if len(d.blocks) == 1]
        one_rows = one_block_features([documents[i].blocks[0] for i in ones], shapes, dom=dom, version=version)
        if into is not None:
            into[[bounds[i][0] for i in ones]] = one_rows
        elif sink is not None:
            sink([bounds[i][0] for i in ones], 0, one_rows)
        del one_rows
        for d, (lo, hi) in zip(documents, bounds):
            if hi - lo > 1:
                if into is not None:
                    document_features(d.blocks, shapes, dom=dom, version=version, out=into[lo:hi])
                elif sink is not None and hi - lo >= COLUMN_BLOCK_ROWS:
                    document_feature_columns(d.blocks, functools.partial(sink, slice(lo, hi)), shapes, dom=dom,
                                             version=version)
                elif sink is not None:  # a page of usual length: all its columns at once, fewer calls
                    sink(slice(lo, hi), 0, document_features(d.blocks, shapes, dom=dom, version=version))

    def _paths(self, documents: Sequence[Document]) -> list[str | None] | None:
        return ([b.path for d in documents for b in d.blocks] if getattr(self.params, "container_context", False)
                else None)

    # -- training ----------------------------------------------------------------
    def fit(self, documents: Sequence[Document], *, groups: Sequence[str] | None = None,
            features: _Features | None = None, weights: Sequence[float] | None = None) -> BlockModel:
        """Train on the labelled blocks of ``documents``.

        Args:
            groups: a group per document (the publisher) for pass 2's out-of-fold
                inputs; defaults to each document's publisher, else its id.
            weights: a sample weight per document (for all its labelled blocks);
                default 1.
            features: ``documents`` featurized already (``featurize``), as they are.

        Without ``features``, blank blocks (``document.is_blank``) are left out of the
        documents, as labelling leaves them out of every block's context.
        """
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import GroupKFold
        from threadpoolctl import threadpool_limits

        if features is None:
            documents = [without_blank_blocks(d)[0] for d in documents]
        y = _gold_vector(documents)
        w = np.concatenate([np.full(len(d.blocks), wt, dtype=np.float64) for d, wt in zip(documents, weights)]) \
            if weights is not None and documents else np.ones(len(y))
        if groups is None:
            groups = publisher_groups(documents)
        if len(set(int(v) for v in y[y >= 0])) < 2:
            raise ModelError("training data needs labelled blocks of at least two labels")
        # a model refitted is of this Sieve's features (a loaded model of an earlier version
        # was featurized as that version and then stamped with this one)
        self.features_version_ = FEATURES_VERSION
        feats = features or self.featurize(documents)
        p = self.params
        self.n_dense_ = feats.dense.shape[1]
        # pass 1 on everything; then out-of-fold pass-1 probabilities for pass 2
        self.block_pass_ = self._fit_block_pass(feats, y, w)
        oof = np.zeros((len(y), len(LABELS)))
        n_groups = len(set(groups))
        folds = min(p.inner_folds, n_groups)
        if folds >= 2:
            doc_ids = np.arange(len(documents))
            for tr, te in GroupKFold(n_splits=folds).split(doc_ids, groups=list(groups)):
                rows = _rows_of(feats, tr)
                test = feats.take(list(te))
                if len(set(y[rows][y[rows] >= 0].tolist())) < 2:  # the other publishers show one label
                    oof[_rows_of(feats, te)] = _block_proba(self.block_pass_, test)  # in-sample, as for one
                    continue
                clf = self._fit_block_pass(feats.take(list(tr)), y[rows], w[rows])
                oof[_rows_of(feats, te)] = _block_proba(clf, test)
        else:  # one publisher: no honest out-of-fold estimate, use in-sample
            oof = _block_proba(self.block_pass_, feats)
        x2 = _context_matrix(feats, oof)
        labelled = y >= 0
        # one OpenMP thread: parallel workers (CV, training beside a run) would
        # oversubscribe the cores; labelling walks the trees on one thread too
        with threadpool_limits(limits=1, user_api="openmp"):
            self.context_pass_ = HistGradientBoostingClassifier(
                max_iter=p.trees, learning_rate=p.learning_rate, max_leaf_nodes=p.max_leaf_nodes,
                min_samples_leaf=p.min_samples_leaf, l2_regularization=p.l2_regularization,
                class_weight="balanced" if p.balanced_context else None,
                random_state=p.random_state, early_stopping=False,
            ).fit(x2[labelled], y[labelled], sample_weight=w[labelled])
        return self

    def _fit_block_pass(self, feats: _Features, y: np.ndarray, w: np.ndarray) -> SGDClassifier:
        from sklearn.linear_model import SGDClassifier

        labelled = np.flatnonzero(y >= 0)
        x = feats.text.take(labelled).tocsr()
        clf = SGDClassifier(loss="log_loss", alpha=self.params.alpha, max_iter=self.params.epochs, tol=None,
                            class_weight="balanced", random_state=self.params.random_state,
                            average=self.params.average_sgd)
        classes = sorted(set(int(v) for v in y[labelled]))
        clf.fit(x, y[labelled], sample_weight=w[labelled])
        clf.coef_ = clf.coef_.astype(np.float32)  # half the file; no measurable change in output
        if len(classes) < len(LABELS):  # once, not once per fold
            _warn_once(f"training data has no blocks labelled "
                       f"{', '.join(LABELS[i].value for i in range(len(LABELS)) if i not in classes)}")
        return clf

    # -- prediction --------------------------------------------------------------
    def predict_proba(self, documents: Sequence[Document], *, features: _Features | None = None
                      ) -> list[np.ndarray]:
        """Per document, an (n_blocks, 3) array of probabilities in ``LABELS`` order.
        Blocks are read with their languages as annotated (``label_many``)."""
        if self.block_pass_ is None or self.context_pass_ is None:
            raise ModelError("the block model is not trained")
        if not features_compatible(self.features_version_, getattr(self.params, "use_dom", False),
                                   getattr(self.params, "container_context", False)):
            raise ModelError(f"the block model was trained on features version {self.features_version_}, "
                             f"this Sieve computes version {FEATURES_VERSION}; {RETRAIN}")
        clf = self.context_pass_
        bounds = _bounds_of(documents) if features is None else features.bounds
        if not bounds or bounds[-1][1] == 0:
            return [np.zeros((0, len(LABELS))) for _ in documents]
        width = self._dense_width() if features is None else features.dense.shape[1]
        if width != self.n_dense_:
            raise ModelError(f"the block model expects {self.n_dense_} dense features, this Sieve computes "
                             f"{width}; {RETRAIN}")
        if features is None:
            # each stage's arrays as few and as short-lived as they can be (a page of
            # 6,000 blocks): the n-grams are let go once pass 1 has read them, and each
            # document's dense features once they are binned for pass 2 (its trees
            # read the bins, uint8, not the float64 values)
            p1 = _expand(linear_proba(self.block_pass_, self._text_rows(documents)), self.block_pass_.classes_)
            binned = empty_bins(clf, len(p1))
            chars = np.empty(len(p1))

            def to_bins(rows: slice | list[int], start: int, values: np.ndarray) -> None:
                if start == 0:
                    chars[rows] = np.expm1(values[:, 0])  # column 0 is log1p(characters)
                bin_columns(clf, values, binned, start, rows)

            self._dense_rows(documents, bounds, sink=to_bins)
            paths = self._paths(documents)
        else:
            paths = features.paths
            p1 = _block_proba(self.block_pass_, features)
            binned = empty_bins(clf, len(p1))
            bin_columns(clf, features.dense, binned)
            chars = np.expm1(features.dense[:, 0])
        # pass 2's other columns, binned beside the dense features' (the same bins as
        # those of the whole matrix side by side: each value is binned on its own)
        start = self.n_dense_
        for part in [p1, *_context_columns(bounds, paths, p1, chars)]:
            bin_columns(clf, part, binned, start)
            start += part.shape[1]
        if start != clf.n_features_in_:
            raise ModelError(f"the context pass expects {clf.n_features_in_} features, not {start}")
        # the trees walk on one thread (``binned_proba``): a thread's start-up per call
        # costs more than it gains on batches this size, and parallel workers would
        # oversubscribe the cores
        p2 = _expand(binned_proba(clf, binned), clf.classes_)
        if not self.params.smooth:
            return [p2[a:b] for a, b in bounds]
        out = [smooth(p2[a:b], [blk.text for blk in doc.blocks]) for (a, b), doc in zip(bounds, documents)]
        if getattr(self.params, "use_dom", False):  # pages: one copy of repeated text
            out = [drop_copies(p, doc.blocks) for p, doc in zip(out, documents)]
        # a page's headline, whichever model labels it (a text model trained with
        # `sieve train` labels pages too when its folder has no HTML model)
        return [headline_as_content(p, doc.blocks, doc.extra.get("title")) if doc.extra.get("title") else p
                for p, doc in zip(out, documents)]

    def label_many(self, documents: Sequence[Document]) -> list[Document]:
        """Each document with a label and scores on every block (one batch). The model
        reads the blocks' languages: annotate them first
        (``LanguageIdentifier.annotate_blocks``), as ``Sieve`` does; blocks without a
        language are read as having none, and a warning says so."""
        _warn_unannotated(documents)
        out = []
        for doc, probs in zip(documents, self.predict_proba(documents)):
            labels, scores = labels_and_scores(probs)
            blocks = tuple(replace(b, label=lab, scores=sc) for b, lab, sc in zip(doc.blocks, labels, scores))
            out.append(replace(doc, blocks=blocks))
        return out


def labels_and_scores(probs: np.ndarray) -> tuple[list[Label], list[tuple[float, float, float]]]:
    """Per block: the top label, and the probabilities clipped to 0..1 and summing to 1."""
    if len(probs) == 0:
        return [], []
    q = np.clip(probs, 0.0, 1.0)
    total = q.sum(axis=1, keepdims=True)
    q = np.where(total > 0, q / np.where(total > 0, total, 1.0), 1.0 / len(LABELS))
    labels = [LABELS[i] for i in np.argmax(probs, axis=1).tolist()]
    return labels, [tuple(row) for row in q.tolist()]  # type: ignore[misc]


def _gold_vector(documents: Sequence[Document]) -> np.ndarray:
    index = {lab: i for i, lab in enumerate(LABELS)}
    return np.array([index[g] if g is not None else -1 for d in documents for g in d.gold_labels], dtype=np.int64)


#: Warnings given in the current training run (``one_warning_each``), or None outside one.
_RUN_WARNINGS: set[str] | None = None


@contextmanager
def one_warning_each() -> Iterator[None]:
    """A training run (cross-validation, a fit, or both, as `sieve train` does) in
    which each warning is given once, not once per fold and inner fold."""
    global _RUN_WARNINGS
    if _RUN_WARNINGS is not None:  # inside a run already
        yield
        return
    _RUN_WARNINGS = set()
    try:
        yield
    finally:
        _RUN_WARNINGS = None


def _warn_once(message: str) -> None:
    if _RUN_WARNINGS is not None:
        if message in _RUN_WARNINGS:
            return
        _RUN_WARNINGS.add(message)
    logger.warning(message)


def _warn_unannotated(documents: Sequence[Document]) -> None:
    """Warn when no block of ``documents`` has a language although some have text: the
    language features are then zeros, and the labels are not those ``Sieve`` gives."""
    if any(b.lang is not None for d in documents for b in d.blocks):
        return
    if any(len(b.text) >= 20 for d in documents for b in d.blocks):
        logger.warning("no block has a language: the model reads block languages; annotate the documents first "
                       "(LanguageIdentifier.annotate_blocks), as Sieve and `sieve train` do")


def _rows_of(feats: _Features, docs: Iterable[int]) -> np.ndarray:
    return np.concatenate([np.arange(*feats.bounds[d]) for d in docs])


def _expand(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Probabilities over all three labels even when training lacked one."""
    full = np.zeros((proba.shape[0], len(LABELS)))
    full[:, classes.astype(int)] = proba
    return full


def _block_proba(clf: SGDClassifier | LinearPass, feats: _Features) -> np.ndarray:
    # pass 1 reads the text alone: with the dense features too it grows confident in
    # ways that do not carry to new publishers (measured: pass 2 loses 2-3 points F1)
    return _expand(linear_proba(clf, feats.text), clf.classes_)


def _context_matrix(feats: _Features, p1: np.ndarray) -> np.ndarray:
    return np.hstack(_context_parts(feats, p1))


def _context_parts(feats: _Features, p1: np.ndarray) -> list[np.ndarray]:
    """The context matrix's column blocks: the dense features, pass 1's probabilities,
    the document context, and on pages the container context."""
    return [feats.dense, p1, *_context_columns(feats.bounds, feats.paths, p1, np.expm1(feats.dense[:, 0]))]


def _context_columns(bounds: Sequence[tuple[int, int]], paths: Sequence[str | None] | None, p1: np.ndarray,
                     chars: np.ndarray) -> list[np.ndarray]:
    """The context matrix's column blocks after the dense features and pass 1's
    probabilities ``p1``: the document context (from ``p1`` and the blocks' lengths
    ``chars``), and with ``paths`` the container context."""
    # documents of one block (short records) all at once, the others one by one
    ones = np.array([a for a, b in bounds if b - a == 1], dtype=np.int64)
    one_ctx = one_block_contexts(p1[ones], chars[ones])
    ctx = np.empty((len(p1), one_ctx.shape[1]))
    ctx[ones] = one_ctx
    del one_ctx
    split = ctx.shape[1] - ARTICLE_CONTEXT_WIDTH  # probability_context's columns, then article_context's
    for a, b in bounds:
        if b - a > 1:  # written into the rows: no copy of a long page's context beside them
            probability_context(p1[a:b], out=ctx[a:b, :split])
            article_context(p1[a:b], chars[a:b], out=ctx[a:b, split:])
    if paths is None:
        return [ctx]
    around = np.empty((len(p1), CONTAINER_WIDTH))
    for a, b in bounds:
        container_context(p1[a:b], paths[a:b], out=around[a:b])
    return [ctx, around]


#: Labelling gives the dense features of a document of this many blocks or more a
#: block of columns at a time (at most 32 columns: 250 kB of 1,000 rows), and of a
#: shorter one all at once (1.5 MB at most, one call to bin them instead of ~25).
COLUMN_BLOCK_ROWS = 1000


@functools.cache
def _dense_width(dom: bool, version: int) -> int:
    return int(one_block_features([], dom=dom, version=version).shape[1])


def _bounds_of(documents: Sequence[Document]) -> list[tuple[int, int]]:
    """(start, end) rows of each document's blocks, one after another."""
    bounds, start = [], 0
    for d in documents:
        bounds.append((start, start + len(d.blocks)))
        start += len(d.blocks)
    return bounds


def smooth(probs: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
    """Pass 3: small rules over neighbouring probabilities (returns a new array).

    * A block between two strong content blocks whose own content probability is
      at least ``WEAK_CONTENT`` becomes content: inside an article body, a short line
      (a subheading, a list item) belongs to the story far more often than not.
    * With ``texts``: a heading-like block (3-25 words, no closing punctuation, no
      ``|``, not all capitals) right before a strong content block, whose own content
      probability is at least ``WEAK_HEADING``, becomes content: the headline or a
      subheading of the article (publisher-grouped CV: no change on labelled
      blocks, where the dev data leaves headlines unlabelled).
    """
    out = probs.copy()
    n = len(out)
    for i in range(n):
        p = out[i]
        if np.argmax(p) == 0:
            continue
        between = (0 < i < n - 1 and p[0] >= WEAK_CONTENT
                   and probs[i - 1, 0] >= STRONG_CONTENT and probs[i + 1, 0] >= STRONG_CONTENT)
        heading = (texts is not None and i < n - 1 and p[0] >= WEAK_HEADING
                   and probs[i + 1, 0] >= STRONG_CONTENT and _heading_like(texts[i]))
        if between or heading:
            out[i] = _as_content(p)
    return out


_NON_WORD = re.compile(r"\W+")


def drop_copies(probs: np.ndarray, blocks: Sequence[Block]) -> np.ndarray:
    """One copy of repeated text on a page stays content (returns a new array).

    Pages repeat text in other places: a photo caption in the gallery, under the
    photo and again truncated, a standfirst as the teaser and as the first paragraph.
    Among blocks labelled content with at least ``COPY_MIN_WORDS`` words and the same
    text (case and punctuation aside) under *different* DOM paths (``Block.path``),
    only the copies under the path of the most confident one stay content; the others
    get their best other label. Copies under the same path (a list whose items repeat
    a line) are left alone, and so are blocks without a path.
    (Publisher-grouped CV, 2 seeds: AEB token F1 +0.003, precision +0.005.)
    """
    out = probs.copy()
    groups: dict[str, list[int]] = {}
    for i, b in enumerate(blocks):
        if b.path is None or i >= len(out) or int(np.argmax(out[i])) != 0:
            continue
        key = _NON_WORD.sub(" ", b.text.lower()).strip()
        if key.count(" ") + 1 >= COPY_MIN_WORDS:
            groups.setdefault(key, []).append(i)
    for members in groups.values():
        if len({blocks[i].path for i in members}) < 2:
            continue
        keep = blocks[max(members, key=lambda i: (out[i][0], -i))].path
        for i in members:
            if blocks[i].path != keep:
                out[i] = _as_not_content(out[i])
    return out


def headline_as_content(probs: np.ndarray, blocks: Sequence[Block], title: object) -> np.ndarray:
    """The page's headline is content (returns a new array, or ``probs`` unchanged).

    The headline is the ``<h1>`` or ``<h2>`` block that matches the most of the page's
    title (``og:title`` or ``<title>``; ``headline_index``): the whole title, the
    part before the site's name ("Headline | Site") or after it ("Site | Headline").
    The dev data
    leaves headlines unlabelled, so the model learned nothing of them: it called the
    ``<h1>`` navigation on most pages, while the article's headline is content.
    """
    i = headline_index(blocks, title)
    if i is None or i >= len(probs) or int(np.argmax(probs[i])) == 0:
        return probs
    out = probs.copy()
    out[i] = _as_content(probs[i])
    return out


#: What separates a page title's parts: "Headline | Site", "Site » Blog » Headline".
_TITLE_SEPARATOR = re.compile(r"\s+(?:[|–—•·»~/]|::|-{1,2})\s+")


def headline_index(blocks: Sequence[Block], title: object) -> int | None:
    """Which block is the page's headline (``headline_as_content``), if any: among the
    ``<h1>`` and ``<h2>`` blocks of ``HEADLINE_MIN_CHARS`` or more that are the page's
    title, its beginning ("Headline | Site") or its parts after a separator ("Site »
    Blog » Headline"), the first of: one not in the page's header or navigation (a
    logo with the site's name is; ``_site_furniture``); the whole title before its
    beginning before its end; an ``<h1>`` before an ``<h2>``; the first on the page.
    A Blogger title "Blog: Post" (a colon right after a word) where an ``<h1>`` or
    ``<h2>`` is the blog's name and another heading, ``<h3>`` too, the post's title:
    the post's title (before the beginning, after the whole title)."""
    if not isinstance(title, str) or not title:
        return None
    wanted = _NON_WORD.sub(" ", title.lower()).strip()
    parts = [part for part in _TITLE_SEPARATOR.split(title) if part.strip()]
    endings = {_NON_WORD.sub(" ", " ".join(parts[k:]).lower()).strip() for k in range(1, len(parts))}
    every = [(i, b, _NON_WORD.sub(" ", b.text.lower()).strip()) for i, b in enumerate(blocks)
             if b.tag in ("h1", "h2", "h3")]
    headings = [(i, b, text) for i, b, text in every if long_enough_for_a_headline(text)]
    # "Blog: Post" (Blogger's titles): the blog's name in an <h1> (of any length), then a
    # colon, then the post's title in an <h2> or <h3>: that one is the headline
    blog, colon, post = title.partition(": ")
    colon = colon if blog[-1:].strip() else ""  # "Headline : Site" is a separator
    blog, post = (_NON_WORD.sub(" ", part.lower()).strip() for part in (blog, post))
    blog_post = bool(colon) and any(b.tag != "h3" and text == blog for _, b, text in every) \
        and any(text == post for _, _, text in headings)
    best: tuple[tuple[bool, int, bool, int], int] | None = None
    for i, b, text in headings:
        if blog_post and text in (blog, post):
            match: int | None = 1 if text == post else None
        else:
            match = (None if b.tag == "h3" else 0 if text == wanted else 2 if wanted.startswith(text + " ")
                     else 3 if text in endings else None)
        if match is None:
            continue
        key = (_site_furniture(b), match, b.tag != "h1", i)
        if best is None or key < best[0]:
            best = (key, i)
    if best is None:  # no heading is the title: an <h1> worded much as it is (an SEO title over the headline)
        return _h1_like_title(headings, title)
    return best[1]


#: An ``<h1>`` is the headline of a page whose title no heading is when at least this
#: share of its words are the title's ("Distillery to create 60 jobs | Site" over "New
#: distillery on Skye to create 60 jobs"), and at least HEADLINE_LIKE_MIN_WORDS of them.
HEADLINE_LIKE_SHARE = 0.5
HEADLINE_LIKE_MIN_WORDS = 2


def _h1_like_title(headings: list[tuple[int, Block, str]], title: str) -> int | None:
    """The ``<h1>`` (of ``headings``: index, block, its words lower-cased) that shares
    the most of its words with ``title``, the first of those, when one shares enough
    (``HEADLINE_LIKE_SHARE``) and is not the site's furniture; else None."""
    words = set(_NON_WORD.sub(" ", title.lower()).split())
    best: tuple[float, int] | None = None
    for i, b, text in headings:
        own = text.split()
        shared = sum(w in words for w in own)
        if b.tag != "h1" or shared < HEADLINE_LIKE_MIN_WORDS or shared < HEADLINE_LIKE_SHARE * len(own) \
                or _site_furniture(b):
            continue
        if best is None or shared / len(own) > best[0]:
            best = (shared / len(own), i)
    return best[1] if best is not None else None


def _site_furniture(block: Block) -> bool:
    """A heading in the page's header (not an article's) or navigation (a page's blocks), or mostly link
    text (blocks without DOM facts): the site's name in a logo rather than the
    article's headline (which a theme may link to its own page: within the article,
    that link says nothing)."""
    if block.dom is None:
        return block.mostly_links
    from .html import DOM_FACTS

    def has(name: str) -> bool:
        return bool(block.dom[DOM_FACTS.index(name)] > 0)  # type: ignore[index]

    # an article's own <header> holds its headline: only the page's header counts
    return has("in_nav") or (has("in_header") and not has("in_main"))


#: A headline found by the page's title has at least this many characters (a Han or
#: kana character counting as ``language.CJK_LETTER_WEIGHT``, as it weighs elsewhere),
#: and at least HEADLINE_MIN_CJK_CHARS of them: "国际新闻" (international news) and
#: "ニュース" (news) are section names, "茶农今年迎来丰收" a headline.
HEADLINE_MIN_CHARS = 12
HEADLINE_MIN_CJK_CHARS = 5


def long_enough_for_a_headline(text: str) -> bool:
    """Whether ``text`` is long enough to be a page's headline (``HEADLINE_MIN_CHARS``)."""
    return len(text) >= HEADLINE_MIN_CHARS or (len(text) >= HEADLINE_MIN_CJK_CHARS
                                               and _text_weight(text) >= HEADLINE_MIN_CHARS)


def _as_not_content(p: np.ndarray) -> np.ndarray:
    """``p`` changed as little as possible so that its best other label is on top."""
    other = 1 + int(np.argmax(p[1:]))
    q = p.copy()
    q[0], q[other] = p[other], p[0]  # swap: the probabilities stay a distribution
    if q[0] >= q[other]:  # a tie: move a little of it
        shift = min(1e-3, q[0])
        q[0], q[other] = q[0] - shift, q[other] + shift
    return q


def _heading_like(text: str) -> bool:
    words = text.split()
    return (3 <= len(words) <= 25 and not text.rstrip().endswith((".", ":", ";", ","))
            and "|" not in text and not text.isupper())


def _as_content(p: np.ndarray) -> np.ndarray:
    """``p`` changed as little as possible so that content is its top label."""
    rest = 1.0 - p[0]
    top = max(p[1], p[2])
    new_c = top + 1e-3 if rest > 0 else 1.0
    if new_c >= 1.0 and rest > 0:  # another label all but sure: content just above its share of the rest
        new_c = top / (rest + top) + 1e-3
    scale = (1.0 - new_c) / rest if rest > 0 else 0.0
    return np.array([new_c, p[1] * scale, p[2] * scale])


# -- evaluation ----------------------------------------------------------------------

def evaluate(predicted: Sequence[Document], gold: Sequence[Document]) -> dict[str, Any]:
    """Per-label precision/recall/F1, macro-F1, content-vs-rest F1 and the confusion
    matrix of ``predicted`` labels against ``gold`` (blocks without gold are skipped)."""
    conf: dict[tuple[str, str], int] = {}
    for p_doc, g_doc in zip(predicted, gold, strict=True):
        for block, g in zip(p_doc.blocks, g_doc.gold_labels, strict=True):
            if g is None:
                continue
            key = (g.value, Label(block.label).value if block.label else "none")  # a label given as its name too
            conf[key] = conf.get(key, 0) + 1
    return metrics_from_confusion(conf)


def content_recalls(predicted: Sequence[Document], gold: Sequence[Document]) -> tuple[float, float]:
    """(content recall, non-content recall) of ``predicted`` against ``gold``: the
    share of gold content blocks kept as content, and of gold boilerplate and
    navigation blocks labelled anything else (0.0 where there are none)."""
    conf = evaluate(predicted, gold)["confusion"]
    content = conf["content"]
    rest = [conf[lab.value] for lab in LABELS if lab is not Label.CONTENT]
    n_content, n_rest = sum(content.values()), sum(sum(row.values()) for row in rest)
    kept = sum(sum(v for p, v in row.items() if p != Label.CONTENT.value) for row in rest)
    return (content[Label.CONTENT.value] / n_content if n_content else 0.0, kept / n_rest if n_rest else 0.0)


def metrics_from_confusion(conf: dict[tuple[str, str], int]) -> dict[str, Any]:
    names = [lab.value for lab in LABELS]
    per: dict[str, dict[str, float]] = {}
    for c in names:
        tp = conf.get((c, c), 0)
        fp = sum(v for (g, p), v in conf.items() if p == c and g != c)
        fn = sum(v for (g, p), v in conf.items() if g == c and p != c)
        per[c] = {**_prf(tp, fp, fn), "support": tp + fn}
    ctp = conf.get(("content", "content"), 0)
    cfp = sum(v for (g, p), v in conf.items() if p == "content" and g != "content")
    cfn = sum(v for (g, p), v in conf.items() if g == "content" and p != "content")
    n = sum(conf.values())
    # labels that some block has, in the gold or the predictions: a label absent from
    # both scores F1 0 in macro_f1 (as ../shared/eval/score.py counts), which makes a
    # small sample look bad where every block is right
    present = [c for c in names if per[c]["support"] or any(v for (g, q), v in conf.items() if q == c)]
    return {
        "per_label": per,
        "macro_f1": sum(per[c]["f1"] for c in names) / len(names),
        "macro_f1_present": sum(per[c]["f1"] for c in present) / len(present) if present else 0.0,
        "labels_present": present,
        "accuracy": sum(conf.get((c, c), 0) for c in names) / n if n else 0.0,
        "content_vs_rest": _prf(ctp, cfp, cfn),
        "confusion": {g: {p: conf.get((g, p), 0) for p in names + ["none"]} for g in names},
        "blocks": n,
    }


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


# -- training entry point, save and load ---------------------------------------------

def fit_block_model(documents: Sequence[Document], *, params: ModelParams | None = None,
                    groups: Sequence[str] | None = None) -> BlockModel:
    """Train a ``BlockModel`` on the labelled blocks of ``documents``, their languages
    annotated (``LanguageIdentifier.annotate_blocks``), as ``sieve train`` does: a
    warning says when no block has one."""
    _warn_unannotated(documents)
    with one_warning_each():
        return BlockModel(params or ModelParams()).fit(documents, groups=groups)


def save_model(model: BlockModel, model_dir: Path, *, card: dict[str, Any] | None = None,
               file_name: str = BLOCK_MODEL_FILE) -> Path:
    """Write ``model_dir/blocks.joblib`` (or ``file_name``) and its card; return the model path."""
    import joblib
    import sklearn

    path = model_dir / file_name
    write_model(path, lambda part: joblib.dump(model, part, compress=("zlib", 6)), {
        "kind": "block-model",
        "model_format": MODEL_FORMAT,
        "labels": [lab.value for lab in LABELS],
        "params": model.params.to_dict(),
        "features_version": model.features_version_,
        "sklearn_version": sklearn.__version__,
        "sieve_version": _sieve_version(),
        "python_version": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **(card or {}),
    })
    return path


def _sieve_version() -> str:
    from . import __version__

    return __version__


def load_model(model_dir: Path, file_name: str = BLOCK_MODEL_FILE) -> BlockModel:
    """Load ``model_dir/blocks.joblib`` (or ``file_name``) after checking its card (cached per process).

    Raises:
        ModelError: the model or its card is missing, the sha256 does not match,
            or it was made by an incompatible scikit-learn or Sieve.
    """
    path = Path(model_dir).resolve() / file_name
    try:
        st = path.stat()
        stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = (-1, -1)  # missing: check_model_card says so
    # keyed by the file's size and time too: a model retrained into the same folder
    # by a long-running process loads anew, not the one cached before
    return _load_model_cached(Path(model_dir).resolve(), file_name, stamp)




def check_model_card(path: Path) -> dict[str, Any]:
    """Everything that can be known about a block model file without loading it: it
    matches its card (sha256), and the card's model format, features version and
    scikit-learn minor version are this Sieve's. Returns the card.

    Raises:
        ModelError: naming the file and what to do.
    """
    card = verify_file(path)  # before unpickling: only files that match their card are loaded
    check_block_model_card(path, card)
    return card


@functools.lru_cache(maxsize=16)
def _load_model_cached(model_dir: Path, file_name: str, stamp: tuple[int, int]) -> BlockModel:
    path = model_dir / file_name
    card, data = read_verified(path)  # the bytes that match the card, and only those, are unpickled
    check_block_model_card(path, card)
    model: BlockModel = load_checked_pickle(path, card, data, BlockModel, "a Sieve block model", RETRAIN)
    width = model.params.n_char_features + model.params.n_word_features
    if model.block_pass_ is not None and model.block_pass_.coef_.shape[1] != width:
        raise ModelError(f"{path}: its block pass reads {model.block_pass_.coef_.shape[1]} n-gram columns, its "
                         f"parameters make {width}; {RETRAIN}")
    return model


def cross_validate(documents: Sequence[Document], *, params: ModelParams | None = None, folds: int = 5,
                   groups: Sequence[str] | None = None,
                   training: Callable[[Sequence[int]], tuple[Sequence[Document], Sequence[str]]] | None = None,
                   one_block_min_chars: int | None = None,
                   ) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Publisher-grouped cross-validation: train on the other publishers' documents,
    predict each fold's, and score the labelled blocks of all of them.

    Args:
        training: the documents a fold trains on and their groups, given the indices
            of its training documents: first those documents, the same blocks in the
            same order, their labels maybe completed (a teacher model's labels for the
            blocks the gold leaves unlabelled, fitted on those documents only); then any
            documents made from them (short copies), each in its source's group.
            Default: the documents as they are.
        one_block_min_chars: also label each held-out labelled block of this many
            characters or more as a record of its own, and score those under
            ``"one_block_records"`` (long dev pages alone never show how a model
            reads a record of one paragraph).

    Returns:
        The metrics of ``evaluate`` over all out-of-fold predictions, and the
        out-of-fold probabilities of every document (in input order).
    """
    with one_warning_each():
        return _cross_validate(documents, params=params, folds=folds, groups=groups, training=training,
                               one_block_min_chars=one_block_min_chars)


def _cross_validate(documents: Sequence[Document], *, params: ModelParams | None, folds: int,
                    groups: Sequence[str] | None,
                    training: Callable[[Sequence[int]], tuple[Sequence[Document], Sequence[str]]] | None,
                    one_block_min_chars: int | None) -> tuple[dict[str, Any], list[np.ndarray]]:
    from sklearn.model_selection import GroupKFold

    params = params or ModelParams()
    if groups is None:
        groups = publisher_groups(documents)
    n_groups = len(set(groups))
    if n_groups < 2:
        raise ModelError("cross-validation needs documents of at least two publishers")
    folds = min(folds, n_groups)
    template = BlockModel(params)
    feats = template.featurize(documents)
    probs: list[np.ndarray] = [np.zeros((0, len(LABELS)))] * len(documents)
    unscored: set[int] = set()
    one_block: list[Document] = []
    for k, (tr, te) in enumerate(GroupKFold(n_splits=folds).split(np.arange(len(documents)), groups=list(groups))):
        logger.info("cross-validation fold %d/%d: %d training, %d held-out documents", k + 1, folds, len(tr), len(te))
        train_docs = [documents[i] for i in tr]
        if len({g for d in train_docs for g in d.gold_labels if g is not None}) < 2:
            logger.warning("cross-validation fold %d/%d: the other publishers' documents hold blocks of one label "
                           "only; its %d held-out documents (%s) are not scored", k + 1, folds, len(te),
                           ", ".join(sorted({groups[i] for i in te})[:5]))
            unscored.update(int(i) for i in te)
            for i in te:
                probs[i] = np.full((len(documents[i].blocks), len(LABELS)), 1.0 / len(LABELS))
            continue
        train_groups, train_feats = [groups[i] for i in tr], feats.take(list(tr))
        if training is not None:
            made_docs, made_groups = training(list(tr))
            train_docs = list(made_docs)
            made = train_docs[len(tr):]
            if len(made_groups) != len(train_docs) or list(made_groups[:len(tr)]) != train_groups:
                raise ModelError("cross-validation: the training hook must return the fold's documents first, "
                                 "with their groups, then any documents made from them")
            if made:  # documents made from the fold's (short copies): featurized here
                train_groups = list(made_groups)
                train_feats = train_feats.followed_by(template.featurize(made))
        model = BlockModel(params).fit(train_docs, groups=train_groups, features=train_feats)
        test_probs = model.predict_proba([documents[i] for i in te], features=feats.take(list(te)))
        for i, p in zip(te, test_probs):
            probs[i] = p
        if one_block_min_chars is not None:  # dev pages are long: CV alone never shows a record of one block
            records = [r for i in te for r in one_block_records(documents[i], one_block_min_chars)]
            one_block.extend(_labelled(records, model.predict_proba(records)))
    scored = [i for i in range(len(documents)) if i not in unscored]
    if not scored:
        raise ModelError("cross-validation: in every fold the other publishers' documents hold blocks of one "
                         "label only; label blocks of more labels, or train with --folds 0")
    metrics = evaluate(_labelled([documents[i] for i in scored], [probs[i] for i in scored]),
                       [documents[i] for i in scored])
    if one_block_min_chars is not None:
        metrics["one_block_records"] = {"min_chars": one_block_min_chars, "records": len(one_block),
                                        **evaluate(one_block, one_block)}  # they carry their gold
    return metrics, probs


def _labelled(documents: Sequence[Document], probs: Sequence[np.ndarray]) -> list[Document]:
    """``documents`` with each block labelled by its most probable label."""
    return [replace(d, blocks=tuple(replace(b, label=LABELS[int(np.argmax(p))]) for b, p in zip(d.blocks, pr)))
            for d, pr in zip(documents, probs)]


def one_block_records(document: Document, min_chars: int = 1) -> list[Document]:
    """Each labelled block of ``document`` with ``min_chars`` characters or more as a
    record of its own (id ``<id>#<block index>``, the document's publisher and url),
    as corpora of one paragraph per record give it."""
    return [replace(document, id=f"{document.id}#{j}", blocks=(replace(document.blocks[j], label=None),),
                    gold=({"label": lab.value},))
            for j, lab in enumerate(document.gold_labels)
            if lab is not None and len(document.blocks[j].text) >= min_chars]


def publisher_groups(documents: Sequence[Document]) -> list[str]:
    """The group of each document for publisher-grouped folds: its publisher as
    Sieve reads it everywhere (the record's, else its url's host without www.,
    lower-cased: ``templates.publisher_of``), else its blocks' texts (a group of its
    own). Exact copies of a document are in its group whatever their publishers (a
    page given twice, under two ids or two publishers, must not be in the training
    folds of its own copy): publishers sharing a copy are one group, named by the
    least of their names."""
    import hashlib

    def texts(d: Document) -> str:
        joined = "\x00".join(b.text for b in d.blocks).encode("utf-8", "surrogatepass")
        return "id:" + hashlib.blake2b(joined, digest_size=12).hexdigest()

    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    keys = [(publisher_of(d), texts(d)) for d in documents]
    for publisher, copy in keys:
        if publisher:  # the least name of the two groups names both
            a, b = root(publisher), root(copy)
            if a != b:
                parent[max(a, b, key=_group_order)] = min(a, b, key=_group_order)
    return [root(publisher or copy) for publisher, copy in keys]


def _group_order(key: str) -> tuple[bool, str]:
    """Publishers' names before texts' keys, then by name."""
    return key.startswith("id:"), key

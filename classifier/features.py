"""Block features as scikit-learn transformers over ``BlockRow``s.

A sample is a ``BlockRow``: a block seen inside its document (the document's
blocks and the block's index), so context features need no row order: any split
or shuffle of rows gives the same features. Transformers are stateless maps from
rows to a matrix; documents are featurised once per ``transform`` call and cached
by identity inside that call only.

Families (each a named part of ``build_feature_union``):
- ``text``: hashed character n-grams of the block (lower-cased, first
  ``MAX_TEXT_CHARS`` characters); they carry boilerplate phrases across languages.
- ``words``: hashed word unigrams and bigrams.
- ``dense``: the block's shape (length, punctuation, capitals, digits,
  sentence-likeness, menu- and link-like tokens), its position, repetition inside
  the document, and the same shape statistics for its neighbours and windows
  around it (context), plus where it stands relative to the document's main run
  of prose.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from .document import Block, Document

__all__ = [
    "BlockRow",
    "DenseFeatures",
    "MAX_TEXT_CHARS",
    "SHAPE_NAMES",
    "build_text_features",
    "document_features",
    "probability_context",
    "iter_block_rows",
    "row_texts",
]

#: Characters of a block the n-gram families look at: the start of a block says what
#: it is, and hashing whole 2 kB paragraphs would cost time for no signal.
MAX_TEXT_CHARS = 600


@dataclass(frozen=True, slots=True)
class BlockRow:
    """A block inside its document: ``blocks[index]`` with its neighbours reachable."""

    blocks: tuple[Block, ...]
    index: int

    @property
    def block(self) -> Block:
        return self.blocks[self.index]

    @property
    def previous(self) -> Block | None:
        return self.blocks[self.index - 1] if self.index > 0 else None

    @property
    def next(self) -> Block | None:
        return self.blocks[self.index + 1] if self.index + 1 < len(self.blocks) else None

    @property
    def position(self) -> float:
        """Relative position: 0.0 for the first block, 1.0 for the last."""
        n = len(self.blocks)
        return self.index / (n - 1) if n > 1 else 0.0


def iter_block_rows(document: Document) -> Iterator[BlockRow]:
    """Every block of ``document`` as a ``BlockRow``, in reading order."""
    for i in range(len(document.blocks)):
        yield BlockRow(document.blocks, i)


def row_texts(rows: Sequence[BlockRow]) -> list[str]:
    """The (truncated) text of each row; module-level so pipelines pickle."""
    return [row.block.text[:MAX_TEXT_CHARS] for row in rows]


# --- shape of one block -------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)
_SENT_END = re.compile(r"[.!?。！？…][\"'”’»)\]]*(\s|$)")
_END_PUNCT = re.compile(r"[.!?。！？…:;][\"'”’»)\]]*\s*$")
_SEPARATORS = re.compile(r"[|•·»›«‹/\\>→←↑↓▶►◄▸◂★☆✓✔✕✖×]")
_URLISH = re.compile(r"https?://|www\.|\.(com|org|net|de|fr|html?)\b|@\w", re.IGNORECASE)
_DATEISH = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b|\b\d{1,2}:\d{2}\b")
_DIGIT = re.compile(r"\d")
_UPPER = re.compile(r"[^\W\d_]")  # letters; upper-case counted separately
_PUNCT = re.compile(r"[^\w\s]")

SHAPE_NAMES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "mean_word_len",
    "letter_share",
    "digit_share",
    "upper_share",
    "title_word_share",
    "punct_share",
    "ends_with_punct",
    "log_sentences",
    "commas_per_word",
    "separator_share",
    "starts_with_symbol",
    "urlish",
    "dateish",
    "all_caps",
    "short_word_share",
    "is_sentence_like",
    "is_menu_like",
    "link_share",
)
_N_SHAPE = len(SHAPE_NAMES)
_IDX_LOG_CHARS = SHAPE_NAMES.index("log_chars")
_IDX_SENTENCE = SHAPE_NAMES.index("is_sentence_like")
_IDX_MENU = SHAPE_NAMES.index("is_menu_like")
_IDX_ENDS = SHAPE_NAMES.index("ends_with_punct")
_IDX_WORDS = SHAPE_NAMES.index("log_words")
#: Shape columns repeated for neighbours and windows (the others add little there).
_CONTEXT_COLS = (_IDX_LOG_CHARS, _IDX_WORDS, _IDX_ENDS, _IDX_SENTENCE, _IDX_MENU,
                 SHAPE_NAMES.index("title_word_share"), SHAPE_NAMES.index("separator_share"))


def block_shape(block: Block) -> list[float]:
    """Surface statistics of one block, in ``SHAPE_NAMES`` order (all finite)."""
    text = block.text
    n = len(text)
    if n == 0:
        return [0.0] * _N_SHAPE
    words = _WORD.findall(text)
    nw = len(words)
    letters = len(_UPPER.findall(text))
    upper = sum(1 for c in text if c.isupper())
    digits = len(_DIGIT.findall(text))
    punct = len(_PUNCT.findall(text))
    sentences = len(_SENT_END.findall(text))
    ends = 1.0 if _END_PUNCT.search(text) else 0.0
    title = sum(1 for w in words if w[:1].isupper()) / nw if nw else 0.0
    short = sum(1 for w in words if len(w) <= 3) / nw if nw else 0.0
    sentence_like = 1.0 if nw >= 8 and ends and title < 0.6 else 0.0
    menu_like = 1.0 if nw <= 5 and not ends else 0.0
    stripped = text.lstrip()
    return [
        math.log1p(n),
        math.log1p(nw),
        min(sum(len(w) for w in words) / nw, 20.0) / 20.0 if nw else 0.0,
        letters / n,
        digits / n,
        upper / letters if letters else 0.0,
        title,
        punct / n,
        ends,
        math.log1p(sentences),
        min(text.count(",") / nw, 1.0) if nw else 0.0,
        min(len(_SEPARATORS.findall(text)) / max(nw, 1), 1.0),
        1.0 if stripped[:1] and not stripped[:1].isalnum() and stripped[:1] not in "\"'“‘«(" else 0.0,
        1.0 if _URLISH.search(text) else 0.0,
        1.0 if _DATEISH.search(text) else 0.0,
        1.0 if letters >= 4 and upper == letters else 0.0,
        short,
        sentence_like,
        menu_like,
        min(block.link_chars / n, 1.0),
    ]


# --- the document context -----------------------------------------------------------

#: Offsets of the neighbours whose shape is repeated as features of a block.
NEIGHBOUR_OFFSETS = (-3, -2, -1, 1, 2, 3)
#: Half-widths of the windows whose mean shape describes a block's surroundings.
WINDOWS = (2, 5, 12)


def _main_run(shape: np.ndarray) -> tuple[int, int]:
    """The contiguous run of blocks with the most prose: a maximum-sum subarray where
    sentence-like blocks add their length and other blocks cost a little."""
    chars = np.expm1(shape[:, _IDX_LOG_CHARS])
    gain = np.where(shape[:, _IDX_SENTENCE] > 0, np.minimum(chars, 1500.0) / 100.0, -1.0)
    best, best_span, cur, start = 0.0, (0, -1), 0.0, 0
    for i, g in enumerate(gain):
        if cur <= 0:
            cur, start = g, i
        else:
            cur += g
        if cur > best:
            best, best_span = cur, (start, i)
    return best_span


def document_features(blocks: tuple[Block, ...]) -> np.ndarray:
    """The dense feature matrix of a document's blocks (one row a block)."""
    n = len(blocks)
    shape = np.array([block_shape(b) for b in blocks], dtype=np.float64).reshape(n, _N_SHAPE)
    ctx = shape[:, _CONTEXT_COLS]
    k = ctx.shape[1]
    parts = [shape]
    # neighbours: their shape, zero-padded, plus a flag for "no neighbour here"
    for off in NEIGHBOUR_OFFSETS:
        nb = np.zeros((n, k + 1))
        if off < 0:
            nb[-off:, :k] = ctx[: n + off] if n + off > 0 else 0
            nb[: min(-off, n), k] = 1.0
        else:
            nb[: max(n - off, 0), :k] = ctx[off:]
            nb[max(n - off, 0):, k] = 1.0
        parts.append(nb)
    # windows: mean and max of the surroundings (block itself excluded from the mean)
    csum = np.vstack([np.zeros((1, k)), np.cumsum(ctx, axis=0)])
    for w in WINDOWS:
        lo = np.clip(np.arange(n) - w, 0, n)
        hi = np.clip(np.arange(n) + w + 1, 0, n)
        count = (hi - lo - 1).clip(min=1)[:, None]
        parts.append((csum[hi] - csum[lo] - ctx) / count)
        sentence = ctx[:, _CONTEXT_COLS.index(_IDX_SENTENCE)]
        run_max = np.array([sentence[a:b].sum() for a, b in zip(lo, hi)]) if n else np.zeros(0)
        parts.append(run_max[:, None] / (2 * w + 1))
    # position and the document as a whole
    idx = np.arange(n, dtype=np.float64)
    chars = np.expm1(shape[:, _IDX_LOG_CHARS])
    total = chars.sum() or 1.0
    before = (np.cumsum(chars) - chars) / total
    prose = chars * shape[:, _IDX_SENTENCE]
    prose_total = prose.sum()
    prose_before = (np.cumsum(prose) - prose) / prose_total if prose_total else np.zeros(n)
    start, end = _main_run(shape)
    in_run = ((idx >= start) & (idx <= end)).astype(np.float64)
    dist = np.where(idx < start, start - idx, np.where(idx > end, idx - end, 0.0))
    counts = Counter(b.text.strip().lower() for b in blocks)
    repeats = np.array([math.log(counts[b.text.strip().lower()]) for b in blocks])
    max_chars = chars.max() if n else 1.0
    parts.append(np.column_stack([
        idx / (n - 1) if n > 1 else np.zeros(n),
        np.log1p(idx),
        np.log1p(n - 1 - idx),
        np.full(n, math.log1p(n)),
        before,
        prose_before,
        in_run,
        np.log1p(dist),
        (idx < start).astype(np.float64),
        (idx > end).astype(np.float64),
        np.full(n, 1.0 if end >= start else 0.0),
        repeats,
        chars / max(max_chars, 1.0),
        np.full(n, math.log1p(prose_total)),
    ]))
    return np.hstack(parts) if n else np.zeros((0, sum(p.shape[1] for p in parts)))


class DenseFeatures(TransformerMixin, BaseEstimator):
    """Shape, position, repetition and context features of each row's block (dense)."""

    def fit(self, rows: Sequence[BlockRow], y: object = None) -> DenseFeatures:
        self.n_features_out_ = document_features((Block("x"),)).shape[1]
        return self

    def transform(self, rows: Sequence[BlockRow]) -> np.ndarray:
        cache: dict[int, np.ndarray] = {}
        out = np.empty((len(rows), self.n_features_out_))
        for r, row in enumerate(rows):
            key = id(row.blocks)
            if key not in cache:
                cache[key] = document_features(row.blocks)
            out[r] = cache[key][row.index]
        return out


def lower_texts(rows: Sequence[BlockRow]) -> list[str]:
    return [row.block.text[:MAX_TEXT_CHARS].lower() for row in rows]


def build_text_features(*, n_char_features: int = 2**18, n_word_features: int = 2**16) -> FeatureUnion:
    """The sparse n-gram families: character n-grams and word uni/bigrams, hashed."""
    chars = make_pipeline(
        FunctionTransformer(lower_texts),
        HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), n_features=n_char_features,
                          alternate_sign=False, lowercase=False, norm="l2", dtype=np.float32),
    )
    words = make_pipeline(
        FunctionTransformer(lower_texts),
        HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=n_word_features,
                          alternate_sign=False, lowercase=False, norm="l2", dtype=np.float32,
                          token_pattern=r"(?u)\b\w+\b|[^\w\s]"),
    )
    return FeatureUnion([("text", chars), ("words", words)])


# --- context of probabilities (pass 2) ----------------------------------------------

#: Windows (half-widths) over which pass 2 sees the mean of pass-1 probabilities.
PROBA_WINDOWS = (2, 5, 12)


def probability_context(probs: np.ndarray) -> np.ndarray:
    """Context features of one document from its per-block probabilities (n, 3):
    the neighbours' probabilities, window means, and the window's strongest and
    weakest content probability."""
    n, k = probs.shape
    parts = []
    for off in NEIGHBOUR_OFFSETS:
        nb = np.zeros((n, k))
        if off < 0 and n + off > 0:
            nb[-off:] = probs[: n + off]
        elif off > 0 and n - off > 0:
            nb[: n - off] = probs[off:]
        parts.append(nb)
    csum = np.vstack([np.zeros((1, k)), np.cumsum(probs, axis=0)])
    content = probs[:, 0]
    for w in PROBA_WINDOWS:
        lo = np.clip(np.arange(n) - w, 0, n)
        hi = np.clip(np.arange(n) + w + 1, 0, n)
        parts.append((csum[hi] - csum[lo] - probs) / np.maximum(hi - lo - 1, 1)[:, None])
        parts.append(np.array([[content[a:b].max(), content[a:b].min()] for a, b in zip(lo, hi)]).reshape(n, 2))
    return np.hstack(parts) if n else np.zeros((0, len(NEIGHBOUR_OFFSETS) * k + len(PROBA_WINDOWS) * (k + 2)))

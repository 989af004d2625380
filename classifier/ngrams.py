"""Hashed character and word n-grams of many texts at once, vectorised with numpy.

The block pass reads each block's text as two bags of hashed n-grams:

* **character n-grams** (default 2-4) inside words: the text is lowercased, cut to
  ``max_chars``, its whitespace collapsed and padded with one space each side, and
  every n-gram that has no space except at its first or last position is counted
  (``" th"``, ``"the"``, ``"he "``; never ``"e b"``);
* **word n-grams** (default 1-2) over the tokens ``\\w+`` and single punctuation marks.

Each family is l2-normalised per text and hashed into its own block of columns.

Why not scikit-learn's ``HashingVectorizer``: it builds every n-gram as a Python
string, which made it the largest cost of labelling a block (about 75 µs). Here the
texts of a batch become one array of code points and every n-gram's hash is computed
from prefix sums of a polynomial hash modulo 2**64 (``(P[b] - P[a]) * B**-a``), then
mixed with the splitmix64 finaliser: the same features in about a tenth of the time,
and identical on every platform and process (no per-process hash seed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .sparse import SparseRows, index_dtype, row_pointers

__all__ = ["hash_ngrams", "char_ngram_matrix", "word_ngram_matrix"]

_WS = re.compile(r"\s+")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_SURROGATE = re.compile("[\ud800-\udfff]")

_B = np.uint64(0x9E3779B97F4A7C15 | 1)  # odd, so invertible modulo 2**64
_B_INV = np.uint64(pow(int(_B), -1, 2**64))
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SPACE = 0x20


def _codepoints(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts as one uint64 array of code points, and the row of every position."""
    joined = "".join(texts)
    if _SURROGATE.search(joined):  # lone surrogates from JSON escapes: one fixed stand-in
        joined = _SURROGATE.sub("\ufffd", joined)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    rows = np.repeat(np.arange(len(texts)), [len(t) for t in texts])
    return codes, rows


def _prefix_hashes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``P`` with ``P[i] = sum_{k<i} (c_k + 1) B**k`` and the inverse powers ``B**-i``."""
    n = len(codes)
    with np.errstate(over="ignore"):
        powers = np.empty(n, dtype=np.uint64)
        inverse = np.empty(n, dtype=np.uint64)
        if n:
            powers[0] = inverse[0] = 1
            powers[1:] = _B
            inverse[1:] = _B_INV
            np.cumprod(powers, out=powers)
            np.cumprod(inverse, out=inverse)
        prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum((codes + np.uint64(1)) * powers, out=prefix[1:])
    return prefix, inverse


def _span_hashes(prefix: np.ndarray, inverse: np.ndarray, start: np.ndarray, end: np.ndarray,
                 seed: int) -> np.ndarray:
    """A well-mixed 64-bit hash of each span ``[start, end)`` (same text, same hash)."""
    with np.errstate(over="ignore"):
        h = (prefix[end] - prefix[start]) * inverse[start]
        h ^= np.uint64(seed)
        h ^= h >> np.uint64(30)
        h *= _MIX1
        h ^= h >> np.uint64(27)
        h *= _MIX2
        h ^= h >> np.uint64(31)
    return h


def _bag(rows: np.ndarray, hashes: np.ndarray, n_rows: int, n_features: int) -> SparseRows:
    """The counts of each row's hashed columns, in canonical CSR form (columns sorted,
    each once), l2-normalised: one sort of (row, column) keys, where building from
    coordinates, summing duplicates and sorting each row took half again as long."""
    cols = (hashes % np.uint64(n_features)).astype(np.int64)
    keys, counts = np.unique(rows.astype(np.int64) * n_features + cols, return_counts=True)
    indptr = row_pointers(keys // n_features, n_rows)
    index = index_dtype(n_features, len(keys))
    m = SparseRows(counts.astype(np.float32), (keys % n_features).astype(index), indptr.astype(index), n_features)
    _normalize_rows(m)
    return m


def _normalize_rows(m: SparseRows) -> None:
    """Divide each row of ``m`` (float32 counts) by its l2 norm, in place, exactly as
    scikit-learn's ``normalize(m, norm="l2")`` does (labelling does not import it): the
    squares summed in float64 (sums of integers: exact in any order), the square root
    and the division in float64, each value then rounded to float32."""
    data = m.data
    if not data.size:
        return
    lengths = np.diff(m.indptr)
    filled = lengths > 0
    sums = np.add.reduceat((data * data).astype(np.float64), m.indptr[:-1][filled])
    norms = np.sqrt(sums)
    data[:] = (data / np.repeat(norms, lengths[filled])).astype(np.float32)


#: Layout in a text's head: a run of white space, or white space other than a space.
_LAYOUT = re.compile(r"\s\s|[^\S ]")
_LEADING_WS = re.compile(r"\s*")


def _head(text: str, max_chars: int) -> str:
    """The first ``max_chars`` characters of ``text`` the n-grams read, counted after
    each run of white space is one space: a ``<pre>``'s indentation or a page's line
    breaks take no room from the words (600 spaces before a notice left it no n-gram)."""
    head = text[:max_chars]
    if len(text) <= max_chars or not _LAYOUT.search(head):
        return head
    start = _LEADING_WS.match(text).end()  # type: ignore[union-attr]  # no copy of a megabyte block
    return _WS.sub(" ", text[start:start + 4 * max_chars])[:max_chars]


def _prepare(text: str, max_chars: int) -> str:
    return _WS.sub(" ", _head(text, max_chars).lower()).strip()


def char_ngram_matrix(texts: Sequence[str], *, n_features: int, ngram_range: tuple[int, int] = (2, 4),
                      max_chars: int = 600) -> SparseRows:
    """Counts of hashed in-word character n-grams, l2-normalised per text."""
    padded = [f" {_prepare(t, max_chars)} " for t in texts]
    codes, row_of = _codepoints(padded)
    prefix, inverse = _prefix_hashes(codes)
    space = np.concatenate([[0], np.cumsum(codes == _SPACE)])
    n = len(codes)
    all_rows, all_hashes = [], []
    for size in range(ngram_range[0], ngram_range[1] + 1):
        if n < size:
            continue
        start = np.arange(n - size + 1)
        end = start + size
        ok = row_of[start] == row_of[end - 1]  # inside one text
        if size > 2:  # no space inside the n-gram, only at its ends
            ok &= space[end - 1] - space[start + 1] == 0
        else:  # a pair: not two spaces (cannot happen after collapsing, kept for safety)
            ok &= ~((codes[start] == _SPACE) & (codes[end - 1] == _SPACE))
        start, end = start[ok], end[ok]
        all_rows.append(row_of[start])
        all_hashes.append(_span_hashes(prefix, inverse, start, end, seed=size))
    if not all_rows:
        return SparseRows.empty(len(texts), n_features)
    return _bag(np.concatenate(all_rows), np.concatenate(all_hashes), len(texts), n_features)


def word_ngram_matrix(texts: Sequence[str], *, n_features: int, ngram_range: tuple[int, int] = (1, 2),
                      max_chars: int = 600) -> SparseRows:
    """Counts of hashed word n-grams (tokens: ``\\w+`` and punctuation marks), l2-normalised."""
    joined = [" ".join(_TOKEN.findall(_head(t, max_chars).lower())) + " " for t in texts]
    codes, row_of = _codepoints(joined)
    prefix, inverse = _prefix_hashes(codes)
    is_space = codes == _SPACE
    before = np.concatenate([[True], is_space[:-1]])
    starts = np.flatnonzero(~is_space & before)
    after = np.concatenate([is_space[1:], [True]])
    ends = np.flatnonzero(~is_space & after) + 1
    token_row = row_of[starts]
    all_rows, all_hashes = [], []
    for size in range(ngram_range[0], ngram_range[1] + 1):
        if len(starts) < size:
            continue
        first = np.arange(len(starts) - size + 1)
        last = first + size - 1
        ok = token_row[first] == token_row[last]
        first, last = first[ok], last[ok]
        all_rows.append(token_row[first])
        all_hashes.append(_span_hashes(prefix, inverse, starts[first], ends[last], seed=100 + size))
    if not all_rows:
        return SparseRows.empty(len(texts), n_features)
    return _bag(np.concatenate(all_rows), np.concatenate(all_hashes), len(texts), n_features)


#: Texts are hashed in chunks of about this many characters, which bounds the
#: temporary arrays (a few hundred bytes per character at their peak) whatever the
#: batch size. 64k characters: peak RSS of labelling aeb-dev x10 in one process
#: 179 MB, against 204 MB with 1M-character chunks, at the same speed (the output
#: is the same: every row is hashed and normalised on its own). 16k characters
#: (session 29): a 400 kB page's hashing peak 5.3 MB instead of 8.8 MB, and 200
#: dev pages labelled one per call peak at 83 MB instead of 92, at the same speed.
CHUNK_CHARS = 1 << 14


def hash_ngrams(texts: Sequence[str], *, n_char_features: int, n_word_features: int,
                max_chars: int = 600) -> SparseRows:
    """Both families side by side: ``n_char_features`` then ``n_word_features`` columns."""
    parts, start, size = [], 0, 0
    for i, t in enumerate(texts):
        size += min(len(t), max_chars) + 2
        if size >= CHUNK_CHARS:
            parts.append(_hash_chunk(texts[start:i + 1], n_char_features, n_word_features, max_chars))
            start, size = i + 1, 0
    if start < len(texts) or not parts:
        parts.append(_hash_chunk(texts[start:], n_char_features, n_word_features, max_chars))
    return parts[0] if len(parts) == 1 else SparseRows.stacked(parts)


def _hash_chunk(texts: Sequence[str], n_char: int, n_word: int, max_chars: int) -> SparseRows:
    return SparseRows.side_by_side(char_ngram_matrix(texts, n_features=n_char, max_chars=max_chars),
                                   word_ngram_matrix(texts, n_features=n_word, max_chars=max_chars))

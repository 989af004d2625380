"""The vectorised n-gram hasher: what it counts, and that it is stable."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier import ngrams
from classifier.sparse import SparseRows

BIG = 2**20  # wide enough that distinct n-grams of these tiny texts never share a column


# the hasher's rows, read as SciPy's matrix (what training hands scikit-learn)
def char_ngram_matrix(texts: list[str], **kw: object) -> sp.csr_matrix:
    return ngrams.char_ngram_matrix(texts, **kw).tocsr()  # type: ignore[arg-type]


def word_ngram_matrix(texts: list[str], **kw: object) -> sp.csr_matrix:
    return ngrams.word_ngram_matrix(texts, **kw).tocsr()  # type: ignore[arg-type]


def hash_ngrams(texts: list[str], **kw: object) -> sp.csr_matrix:
    return ngrams.hash_ngrams(texts, **kw).tocsr()  # type: ignore[arg-type]


def _count(texts: list[str], **kw: object) -> int:
    return char_ngram_matrix(texts, n_features=BIG, **kw).nnz  # type: ignore[arg-type]


def test_char_ngrams_stay_inside_words() -> None:
    # " ab " has " a", "ab", "b " (2), " ab", "ab " (3), " ab " (4): 6 distinct n-grams
    assert _count(["ab"]) == 6
    # two words: each word's own n-grams, none across the space ("b c" is not one)
    assert _count(["ab cd"]) == 12
    # case and whitespace do not matter
    a = char_ngram_matrix(["Ab \n\t CD"], n_features=BIG)
    b = char_ngram_matrix(["ab cd"], n_features=BIG)
    assert (a != b).nnz == 0


def test_counts_are_l2_normalised_and_repeated_ngrams_weigh_more() -> None:
    m = char_ngram_matrix(["ab ab", "ab cd"], n_features=BIG)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1))).ravel()
    assert np.allclose(norms, 1.0)
    # "ab ab": 6 distinct n-grams, each twice -> all equal weights; same set as "ab"
    assert (m[0] != char_ngram_matrix(["ab"], n_features=BIG)).nnz == 0


def test_word_ngrams_count_tokens_and_pairs() -> None:
    # tokens: "the", "cat", "!" -> 3 unigrams + 2 bigrams
    assert word_ngram_matrix(["The cat!"], n_features=BIG).nnz == 5
    assert word_ngram_matrix([""], n_features=BIG).nnz == 0
    # bigrams never join the last word of one text to the first of the next
    pair = word_ngram_matrix(["a", "b"], n_features=BIG)
    assert pair.nnz == 2


def test_empty_and_odd_texts_give_rows() -> None:
    texts = ["", " ", "\ud800 lone surrogate", "emoji 😀 ok", "x" * 5000]
    m = hash_ngrams(texts, n_char_features=2**10, n_word_features=2**8)
    assert m.shape == (5, 2**10 + 2**8)
    assert m[0].nnz == 0 and m[1].nnz == 0
    assert all(m[i].nnz > 0 for i in (2, 3, 4))


def test_only_the_first_max_chars_are_read() -> None:
    a = hash_ngrams(["abc def " + "zzz " * 50], n_char_features=2**12, n_word_features=2**8, max_chars=8)
    b = hash_ngrams(["abc def"], n_char_features=2**12, n_word_features=2**8, max_chars=8)
    assert (a != b).nnz == 0


def test_layout_white_space_takes_no_room_from_the_words() -> None:
    # 600 spaces and a line break before a notice left it no n-gram at all (a review)
    notice = "Cet article est paru dans Le Monde. Reproduction interdite. " * 12
    plain = hash_ngrams([notice], n_char_features=2**12, n_word_features=2**8, max_chars=600)
    for laid_out in ("\n" + " " * 600 + notice, notice.replace(". ", ".\n    ")):
        m = hash_ngrams([laid_out], n_char_features=2**12, n_word_features=2**8, max_chars=600)
        assert m.nnz > 0 and abs(m - plain).max() < 0.02
    # a text under the limit, or without layout, reads as before: its first max_chars
    assert (hash_ngrams(["  abc\n def"], n_char_features=2**12, n_word_features=2**8, max_chars=8)
            != hash_ngrams(["abc def"], n_char_features=2**12, n_word_features=2**8, max_chars=8)).nnz == 0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=20))
def test_chunking_does_not_change_the_result(texts: list[str]) -> None:
    whole = hash_ngrams(texts, n_char_features=2**10, n_word_features=2**8)
    old = ngrams.CHUNK_CHARS
    ngrams.CHUNK_CHARS = 16
    try:
        rows = ngrams.hash_ngrams(texts, n_char_features=2**10, n_word_features=2**8)
    finally:
        ngrams.CHUNK_CHARS = old
    assert isinstance(rows, SparseRows)
    chunked = rows.tocsr()
    assert chunked.shape == whole.shape
    assert abs(chunked - whole).max() < 1e-6 if whole.nnz else chunked.nnz == 0


def test_each_text_is_hashed_alone() -> None:
    texts = ["navigation home", "the article text", "home"]
    together = hash_ngrams(texts, n_char_features=2**12, n_word_features=2**8)
    for i, t in enumerate(texts):
        alone = hash_ngrams([t], n_char_features=2**12, n_word_features=2**8)
        assert abs(together[i] - alone).max() < 1e-6


def test_hashes_are_the_same_in_another_process() -> None:
    code = ("from classifier.ngrams import hash_ngrams;"
            "m = hash_ngrams(['Sieve cleans corpora.'], n_char_features=2**16, n_word_features=2**10);"
            "print(list(m.indices))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": ""}).stdout
    here = hash_ngrams(["Sieve cleans corpora."], n_char_features=2**16, n_word_features=2**10)
    assert out.strip() == str(list(here.indices))


@given(st.lists(st.lists(st.integers(1, 5000), max_size=40), min_size=1, max_size=30))
def test_rows_are_normalised_as_scikit_learn_normalises_them(rows: list) -> None:
    # labelling does not import scikit-learn: its l2 normalisation, bit for bit
    from sklearn.preprocessing import normalize

    from classifier.ngrams import _normalize_rows

    indptr = np.cumsum([0] + [len(r) for r in rows])
    data = np.array([v for r in rows for v in r], dtype=np.float32)
    indices = np.concatenate([np.arange(len(r)) for r in rows]).astype(np.int32) if data.size else np.zeros(0, np.int32)
    m = sp.csr_matrix((data, indices, indptr), shape=(len(rows), 40))
    expected = normalize(m.copy(), norm="l2")
    _normalize_rows(m)
    assert m.data.dtype == np.float32 and m.data.tobytes() == expected.data.tobytes()


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2**64 - 1)), max_size=200))
def test_a_bag_is_the_canonical_matrix_of_its_counts(pairs: list) -> None:
    # built from sorted (row, column) keys: the same matrix as SciPy builds from
    # coordinates with duplicates summed and indices sorted, normalised as scikit-learn does
    from sklearn.preprocessing import normalize

    rows = np.array([r for r, _ in pairs], dtype=np.int64)
    hashes = np.array([h for _, h in pairs], dtype=np.uint64)
    got = ngrams._bag(rows, hashes, 7, 50).tocsr()
    cols = (hashes % np.uint64(50)).astype(np.int64)
    expected = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(7, 50), dtype=np.float32)
    expected.sum_duplicates()
    expected.sort_indices()
    expected = normalize(expected, norm="l2")
    assert got.has_canonical_format and got.dtype == np.float32
    assert got.indptr.tolist() == expected.indptr.tolist() and got.indices.tolist() == expected.indices.tolist()
    assert got.data.tobytes() == expected.data.tobytes()

"""The dense features and pass-2 contexts written column block by column block into
their rows (``out``: a slice of a batch's matrix), or given a block of columns at a time
(``document_feature_columns``), are bit for bit those of a fresh matrix. (That these are
the values of the stacked parts computed before, session 30, was checked on the dev
data's outputs and pinned by a copy of the earlier code while the change was made:
training/NOTES.md.)"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.document import Block
from classifier.features import (
    ARTICLE_CONTEXT_WIDTH,
    CONTAINER_WIDTH,
    article_context,
    container_context,
    document_feature_columns,
    document_features,
    probability_context,
)
from classifier.html import DOM_FACTS

_TEXTS = ("Home", "", "The ferry will run all winter, the council said on Tuesday.", "© 2024 Gazette",
          "Share | Tweet | Email", "12:30", "Weiterlesen »", "a" * 2000, "Home", "It rained. Then it stopped.")
_PATHS = (None, "body div.entry p", "body div.entry h2", "body nav ul li", "body div.entry ul li")

_blocks = st.lists(st.tuples(st.sampled_from(_TEXTS), st.sampled_from((None, "en", "de")),
                             st.sampled_from((None, 0.0, 0.42, 1.0)), st.integers(0, 30),
                             st.one_of(st.none(), st.lists(st.sampled_from((0.0, 1.0, 0.5, 3.0)),
                                                           min_size=len(DOM_FACTS), max_size=len(DOM_FACTS))),
                             st.sampled_from(_PATHS)),
                   min_size=1, max_size=40)


def _make(rows: list) -> tuple[Block, ...]:
    return tuple(Block(text, lang=lang, lang_score=score, link_chars=min(links, len(text)),
                       dom=tuple(dom) if dom is not None else None, path=path)
                 for text, lang, score, links, dom, path in rows)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@settings(max_examples=150)
@given(_blocks, st.booleans())
def test_document_features_written_into_rows_are_a_fresh_matrixs(rows: list, dom: bool) -> None:
    blocks = _make(rows)
    want = document_features(blocks, {}, dom=dom)
    batch = np.full((len(blocks) + 5, want.shape[1]), 7.0)  # a document's rows inside a batch's
    got = document_features(blocks, {}, dom=dom, out=batch[2:2 + len(blocks)])
    assert _same(batch[2:2 + len(blocks)], want) and np.shares_memory(got, batch)
    assert (batch[:2] == 7.0).all() and (batch[2 + len(blocks):] == 7.0).all()
    # a block of columns at a time, to a sink: the same values
    assembled = np.full_like(want, 7.0)
    seen: list[int] = []

    def sink(start: int, values: np.ndarray) -> None:
        assert values.shape[0] == len(blocks) and values.dtype == np.float64 and start == sum(seen)
        seen.append(values.shape[1])
        assembled[:, start:start + values.shape[1]] = values

    document_feature_columns(blocks, sink, {}, dom=dom)
    assert sum(seen) == want.shape[1] and max(seen) <= 32
    assert _same(assembled, want)


@settings(max_examples=150)
@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0),
                          st.sampled_from((0.0, 1.0, 3.0, 99.0, 100.0, 250.0, 1499.0, 1500.0, 4000.0)),
                          st.sampled_from(_PATHS)),
                min_size=1, max_size=40))
def test_contexts_written_into_rows_are_a_fresh_matrixs(rows: list) -> None:
    raw = np.array([r[:3] for r in rows]) + 1e-3
    probs = raw / raw.sum(axis=1, keepdims=True)
    probs[0] = (0.5, 0.25, 0.25)  # exactly at a threshold: not above it
    chars = np.array([r[3] for r in rows])
    paths = [r[4] for r in rows]
    n = len(rows)
    for new, args in ((probability_context, (probs,)), (article_context, (probs, chars)),
                      (container_context, (probs, paths))):
        want = new(*args)
        assert want.shape[0] == n and want.dtype == np.float64
        rows_out = np.full((n + 3, want.shape[1] + 4), 7.0)[1:1 + n, 2:2 + want.shape[1]]  # a strided slice
        assert new(*args, out=rows_out) is rows_out
        assert rows_out.tobytes() == want.tobytes() or np.array_equal(rows_out, want, equal_nan=True)
        assert _same(np.ascontiguousarray(rows_out), want)


def test_out_of_the_wrong_shape_or_dtype_is_refused() -> None:
    blocks = _make([("Home", None, None, 0, None, None)] * 3)
    width = document_features(blocks).shape[1]
    with pytest.raises(ValueError):
        document_features(blocks, out=np.empty((3, width + 1)))
    with pytest.raises(ValueError):
        document_features(blocks, out=np.empty((3, width), dtype=np.float32))
    probs = np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError):
        article_context(probs, np.ones(3), out=np.empty((3, ARTICLE_CONTEXT_WIDTH - 1)))
    with pytest.raises(ValueError):
        container_context(probs, [None] * 3, out=np.empty((3, CONTAINER_WIDTH), dtype=np.float32))
    with pytest.raises(ValueError):
        probability_context(probs, out=np.empty((4, probability_context(probs).shape[1])))


def test_no_blocks_no_rows() -> None:
    one = _make([("Home", None, None, 0, None, None)])
    assert document_features((), dom=True).shape == (0, document_features(one, dom=True).shape[1])
    empty, p = np.zeros((0, 3)), np.full((1, 3), 1 / 3)
    assert probability_context(empty).shape == (0, probability_context(p).shape[1])
    assert article_context(empty, np.zeros(0)).shape == (0, ARTICLE_CONTEXT_WIDTH)
    assert container_context(empty, []).shape == (0, CONTAINER_WIDTH)


@settings(max_examples=60)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=6), st.booleans(), st.integers(0, 2**32 - 1))
def test_the_context_pass_columns_are_each_documents_stacked(sizes: list[int], with_paths: bool, seed: int) -> None:
    """``model._context_parts`` (documents of one block and of many, written into the
    batch's rows) against each document's contexts computed on their own and stacked."""
    from classifier.features import one_block_contexts
    from classifier.model import _context_parts, _Features
    from classifier.sparse import SparseRows

    rng = np.random.default_rng(seed)
    n = sum(sizes)
    bounds, start = [], 0
    for size in sizes:
        bounds.append((start, start + size))
        start += size
    raw = rng.random((n, 3)) + 1e-3
    p1 = raw / raw.sum(axis=1, keepdims=True)
    dense = rng.random((n, 5))
    dense[:, 0] = np.log1p(rng.choice([0.0, 1.0, 99.0, 100.0, 1500.0, 4000.0], n))
    paths = [_PATHS[i] for i in rng.integers(0, len(_PATHS), n)] if with_paths else None
    feats = _Features(SparseRows.empty(n, 4), dense, bounds, paths)
    chars = np.expm1(dense[:, 0])
    want = []
    for a, b in bounds:
        if b - a == 1:
            want.append(one_block_contexts(p1[a:b], chars[a:b]))
        else:
            want.append(np.hstack([probability_context(p1[a:b]), article_context(p1[a:b], chars[a:b])]))
    got = _context_parts(feats, p1)
    assert got[0] is dense and got[1] is p1
    assert _same(got[2], np.vstack(want))
    if with_paths:
        assert paths is not None
        assert _same(got[3], np.vstack([container_context(p1[a:b], paths[a:b]) for a, b in bounds]))
    else:
        assert len(got) == 3

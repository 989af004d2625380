"""sparse.py: the n-gram rows do what SciPy's CSR matrices did for labelling, with
the same arrays and the same products, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.sparse import SparseRows

N_COLS = 12

#: a matrix: per row, (column, value) pairs, in any column order, a column maybe twice
_MATRIX = st.lists(st.lists(st.tuples(st.integers(0, N_COLS - 1), st.floats(-4, 4, width=32)), max_size=8),
                   min_size=1, max_size=8)


def _both(rows: list) -> tuple[SparseRows, sp.csr_matrix]:
    indptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int32)
    indices = np.array([c for r in rows for c, _ in r], dtype=np.int32)
    data = np.array([v for r in rows for _, v in r], dtype=np.float32)
    return SparseRows(data, indices, indptr, N_COLS), sp.csr_matrix((data, indices, indptr), shape=(len(rows), N_COLS))


def _same(mine: SparseRows, scipy_matrix: sp.csr_matrix) -> None:
    assert mine.shape == scipy_matrix.shape and mine.nnz == scipy_matrix.nnz
    assert mine.indptr.tolist() == scipy_matrix.indptr.tolist()
    assert mine.indices.tolist() == scipy_matrix.indices.tolist()
    assert mine.data.dtype == scipy_matrix.data.dtype and mine.data.tobytes() == scipy_matrix.data.tobytes()
    assert mine.indices.dtype == mine.indptr.dtype


@settings(max_examples=60, deadline=None)
@given(_MATRIX, _MATRIX, st.lists(st.integers(0, 7), max_size=12))
def test_rows_are_taken_stacked_and_set_side_by_side_as_scipy_does(left: list, right: list, picks: list) -> None:
    a, a_sp = _both(left)
    b, b_sp = _both(right)
    picks = [i % len(left) for i in picks]  # a row may be taken twice, in any order
    _same(a.take(picks), a_sp[np.array(picks, dtype=int)] if picks else sp.csr_matrix((0, N_COLS), dtype=np.float32))
    _same(SparseRows.stacked([a, b, a]), sp.vstack([a_sp, b_sp, a_sp], format="csr"))
    if len(left) == len(right):
        beside = SparseRows.side_by_side(a, b)
        assert beside.n_cols == 2 * N_COLS
        _same(beside, sp.hstack([a_sp, b_sp], format="csr"))
    else:
        with pytest.raises(ValueError, match="rows beside"):
            SparseRows.side_by_side(a, b)


@settings(max_examples=60, deadline=None)
@given(_MATRIX, st.integers(1, 4), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_the_product_is_scipys_bit_for_bit(rows: list, k: int, dtype: type, seed: int) -> None:
    # each row's products summed in its own order and precision: float32 rows by
    # float32 coefficients stay float32 (the block pass), by float64 become float64
    mine, scipy_matrix = _both(rows)
    dense = np.random.default_rng(seed).standard_normal((N_COLS, k)).astype(dtype)
    got, expected = mine @ dense, scipy_matrix @ dense
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()
    transposed = np.asfortranarray(dense)  # a transposed view, as a fitted estimator's coef_.T
    assert (mine @ transposed).tobytes() == expected.tobytes()


def test_empty_rows_and_products() -> None:
    empty = SparseRows.empty(3, N_COLS)
    assert empty.shape == (3, N_COLS) and empty.nnz == 0 and empty.tocsr().nnz == 0
    assert (empty @ np.ones((N_COLS, 2), dtype=np.float32)).tolist() == [[0.0, 0.0]] * 3
    assert SparseRows.empty(0, N_COLS).take([]).shape == (0, N_COLS)


def test_a_broken_layout_is_refused_before_the_compiled_product_reads_it() -> None:
    # SciPy's compiled product reads where the indices point, without checking
    good, _ = _both([[(1, 1.0), (3, 2.0)], [(2, 1.0)]])
    ones = np.ones((N_COLS, 2), dtype=np.float32)
    broken = [
        SparseRows(good.data, np.array([1, 3, N_COLS + 5000], dtype=np.int32), good.indptr, N_COLS),  # past the end
        SparseRows(good.data, np.array([1, -7, 2], dtype=np.int32), good.indptr, N_COLS),  # before the start
        SparseRows(good.data, good.indices, np.array([0, 3, 2], dtype=np.int32), N_COLS),  # rows going back
        SparseRows(good.data, good.indices, np.array([0, 2, 9], dtype=np.int32), N_COLS),  # more values than held
        SparseRows(good.data, good.indices, good.indptr.astype(np.int64), N_COLS),  # two index dtypes
    ]
    for rows in broken:
        with pytest.raises(ValueError, match="layout is broken"):
            rows @ ones
    with pytest.raises(ValueError, match="cannot multiply"):
        good @ np.ones((N_COLS + 1, 2), dtype=np.float32)
    assert (good @ ones).tolist() == [[3.0, 3.0], [1.0, 1.0]]


def test_row_pointers_that_wrap_around_in_int32_are_refused() -> None:
    # each difference of these int32 pointers wraps around to a non-negative one
    # (2**31 - 1 - (-2**31) overflows to 1): row 0 would read 2**31 - 1 values of 3
    pointers = np.array([0, 2**31 - 1, -2**31, -1, 3], dtype=np.int32)
    rows = SparseRows(np.ones(3, np.float32), np.zeros(3, np.int32), pointers, N_COLS)
    with pytest.raises(ValueError, match="layout is broken"):
        rows._check()  # checked alone first: before the fix, the product below read past the values
    with pytest.raises(ValueError, match="layout is broken"):
        rows @ np.ones((N_COLS, 2), dtype=np.float32)


def test_columns_set_beside_two_billion_others_keep_their_place() -> None:
    # the right part's columns move on by the left part's width: past 2**31 the
    # indices widen to int64 (an int32 sum wrapped around to a negative column)
    wide = SparseRows.empty(1, 2**31 - 10)
    right = SparseRows(np.ones(1, np.float32), np.array([50], dtype=np.int32), np.array([0, 1], dtype=np.int32), 100)
    beside = SparseRows.side_by_side(wide, right)
    assert beside.indices.tolist() == [2**31 - 10 + 50] and beside.indices.dtype == beside.indptr.dtype == np.int64
    beside._check()

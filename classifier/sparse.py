"""Rows of hashed n-gram weights, in the layout of a CSR matrix, without SciPy's sparse package.

Labelling needs few things of a sparse matrix: build it from the hashed n-grams, put
two families side by side, stack batches, pick rows, and multiply it by the block
pass's coefficients. Importing ``scipy.sparse`` for them costs every process that
labels 13 MB of memory and 0.13 s (and a page's worth of Python in each of its
constructors' checks); ``SparseRows`` holds the same three arrays (values, column
indices, row pointers) and does those things with NumPy.

The product is SciPy's own compiled ``csr_matvecs`` (``trees.compiled_modules``:
imported without ``scipy.sparse``'s package initialiser), so the block pass sums each
row in the same order, at the same precision, and its probabilities stay bit for bit
what they were. ``tocsr`` gives SciPy's matrix for training, which needs it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SparseRows", "index_dtype", "row_pointers"]


def index_dtype(*sizes: int) -> type:
    """The index dtype of rows whose columns and values number up to ``sizes``: int32
    where they fit, as SciPy chooses."""
    return np.int32 if max(sizes, default=0) < 2**31 else np.int64


def row_pointers(rows: np.ndarray, n_rows: int) -> np.ndarray:
    """The row pointers (int64) of values whose rows, in order, are ``rows``."""
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr


@dataclass(frozen=True, eq=False)
class SparseRows:
    """``n_rows`` rows of ``n_cols`` columns: row ``i``'s values are
    ``data[indptr[i]:indptr[i + 1]]``, in the columns ``indices[...]`` (as
    ``scipy.sparse.csr_matrix`` holds them; ``indices`` and ``indptr`` of one dtype)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_cols: int

    @classmethod
    def empty(cls, n_rows: int, n_cols: int) -> SparseRows:
        index = index_dtype(n_cols)
        return cls(np.zeros(0, np.float32), np.zeros(0, index), np.zeros(n_rows + 1, index), n_cols)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.indptr) - 1, self.n_cols

    @property
    def nnz(self) -> int:
        return len(self.data)

    def take(self, rows: Sequence[int] | np.ndarray) -> SparseRows:
        """The rows ``rows``, in that order (a row may come more than once)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.indptr[rows].astype(np.int64)
        lengths = self.indptr[rows + 1] - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # each value's place in this matrix: its row's start here, plus its place in the row
        source = np.arange(indptr[-1], dtype=np.int64) + np.repeat(starts - indptr[:-1], lengths)
        index = index_dtype(self.n_cols, int(indptr[-1]))
        return SparseRows(self.data[source], self.indices[source].astype(index, copy=False), indptr.astype(index),
                          self.n_cols)

    @staticmethod
    def side_by_side(left: SparseRows, right: SparseRows) -> SparseRows:
        """Each row's values of ``left``, then of ``right`` in the columns after
        ``left``'s (``scipy.sparse.hstack``, in the same order within each row)."""
        if left.shape[0] != right.shape[0]:
            raise ValueError(f"{left.shape[0]} rows beside {right.shape[0]}")
        n_cols = left.n_cols + right.n_cols
        indptr = left.indptr.astype(np.int64) + right.indptr
        index = index_dtype(n_cols, int(indptr[-1]))
        data = np.empty(int(indptr[-1]), dtype=np.result_type(left.data, right.data))
        indices: np.ndarray = np.empty(len(data), dtype=index)
        for part, before, offset in ((left, right.indptr, 0), (right, left.indptr[1:], left.n_cols)):
            lengths = np.diff(part.indptr)
            # a value of row i moves on by the other part's values in the rows up to i
            # (left: rows before i; right: rows up to and including i)
            place = np.arange(part.nnz, dtype=np.int64) + np.repeat(before[:len(lengths)], lengths)
            data[place] = part.data
            indices[place] = part.indices.astype(index, copy=False) + offset if offset else part.indices
        return SparseRows(data, indices, indptr.astype(index), n_cols)

    @staticmethod
    def stacked(parts: Sequence[SparseRows]) -> SparseRows:
        """The rows of ``parts``, one after another (``scipy.sparse.vstack``)."""
        if not parts:
            raise ValueError("nothing to stack")
        n_cols = parts[0].n_cols
        if any(p.n_cols != n_cols for p in parts):
            raise ValueError("parts of different widths")
        offsets = np.cumsum([0] + [p.nnz for p in parts])
        index = index_dtype(n_cols, int(offsets[-1]))
        indptr = np.concatenate([parts[0].indptr[:1].astype(index)]
                                + [(p.indptr[1:] + o).astype(index) for p, o in zip(parts, offsets)])
        return SparseRows(np.concatenate([p.data for p in parts]),
                          np.concatenate([p.indices for p in parts]).astype(index, copy=False), indptr, n_cols)

    def __matmul__(self, dense: np.ndarray) -> np.ndarray:
        """``self @ dense`` for a dense ``(n_cols, k)`` array: each row's products
        summed in the row's order, in the wider of the two dtypes, by SciPy's compiled
        ``csr_matvecs`` (as ``scipy.sparse.csr_matrix @ dense`` computes it). The
        layout is checked first: the compiled code reads where the indices point."""
        dense = np.asarray(dense)
        if dense.ndim != 2 or dense.shape[0] != self.n_cols:
            raise ValueError(f"cannot multiply {self.shape[0]}x{self.n_cols} rows by an array of shape {dense.shape}")
        self._check()
        dtype = np.result_type(self.data, dense)
        out = np.zeros((self.shape[0], dense.shape[1]), dtype=dtype)
        if self.nnz and dense.shape[1]:
            _csr_matvecs()(self.shape[0], self.n_cols, dense.shape[1], self.indptr, self.indices,
                           self.data.astype(dtype, copy=False), np.ascontiguousarray(dense, dtype=dtype).ravel(),
                           out.ravel())
        return out

    def _check(self) -> None:
        n = self.nnz
        if (self.indptr.dtype != self.indices.dtype or self.indptr.dtype.kind != "i" or len(self.indices) != n
                or len(self.indptr) < 1 or self.indptr[0] != 0 or self.indptr[-1] != n
                # compared, not subtracted: a difference of int32 pointers wraps around
                or bool((self.indptr[1:] < self.indptr[:-1]).any())
                or (n and (self.indices.min() < 0 or self.indices.max() >= self.n_cols))):
            raise ValueError("the rows' layout is broken (row pointers or column indices out of place)")

    def tocsr(self) -> Any:
        """The same rows as a ``scipy.sparse.csr_matrix`` (imports SciPy: training)."""
        import scipy.sparse as sp

        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)


@functools.cache
def _csr_matvecs() -> Any:
    from .trees import compiled_modules

    return compiled_modules(("scipy", "scipy.sparse"), ("scipy.sparse._sparsetools",), ("scipy.sparse",))[0].csr_matvecs

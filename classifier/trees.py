"""Labelling with a trained block model without importing scikit-learn.

Training makes a block model's two passes with scikit-learn: an ``SGDClassifier``
(log loss) on the hashed n-grams and a ``HistGradientBoostingClassifier`` on the
context. Labelling needs much less: a sparse dot product and a walk down a few
hundred small trees on binned features. Importing scikit-learn to do that costs each
process about 0.9 s and 85 MB of memory (it imports most of SciPy), more than the
models and a batch of documents together; every worker of a ``sieve clean`` run paid
it, and a ``sieve score`` of one page paid it first.

So a model file is read into the small classes below (``stand_in``: the unpickler of
``cards`` makes them where the pickle names scikit-learn's estimators, keeping only
the fitted arrays it needs, and checking them as they will be read: the compiled
walker does no bounds checks, so a forged file would crash it or make it loop), and

* the block pass is ``linear_proba``: the same arithmetic as the estimator's
  ``predict_proba`` (``X @ coef.T + intercept``, ``expit``, each row over its sum);
* the context pass is ``tree_proba``: features mapped to the model's bins and the
  trees walked by scikit-learn's own compiled functions (``_compiled``), loaded
  without running scikit-learn's package initialisers, which are what imports SciPy
  and the rest. A later ``import sklearn`` in the same process works as usual and
  shares those modules.

Either way the probabilities are bit-identical to the estimators' (tests compare
them, and trained models go through the same two functions).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import math
import sys
import types
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError

__all__ = ["LinearPass", "TreePass", "bin_columns", "binned_proba", "check_read", "empty_bins", "linear_proba",
           "stand_in", "tree_proba"]

_HGB = "sklearn.ensemble._hist_gradient_boosting"
#: The compiled modules labelling uses (the last, for its node dtype), and the packages
#: whose ``__init__`` is skipped while they load (their parents: importing any of them
#: imports them all).
_COMPILED = (f"{_HGB}._binning", f"{_HGB}._predictor", f"{_HGB}.common")
_PACKAGES = ("sklearn", "sklearn.utils", "sklearn.ensemble", _HGB)


@functools.cache
def _compiled() -> tuple[Any, Any, np.dtype]:
    """scikit-learn's ``_map_to_bins`` and ``_predict_from_binned_data``, and the dtype
    of the tree nodes the latter reads (``PREDICTOR_RECORD_DTYPE``), imported by
    ``compiled_modules`` without scikit-learn's package initialisers."""
    try:
        # parents first on the plain path, as ``import sklearn.ensemble`` takes their
        # import locks: a compiled module imported first takes its own lock, then its
        # packages'; a thread importing scikit-learn meanwhile holds a package's and
        # waits for a lock below it, and Python fails that thread's import (a deadlock).
        # The ensemble's __init__ imports the rest.
        binning, predictor, common = compiled_modules(_PACKAGES, _COMPILED, ("sklearn", "sklearn.ensemble"))
        return binning._map_to_bins, predictor._predict_from_binned_data, np.dtype(common.PREDICTOR_RECORD_DTYPE)
    except (ImportError, AttributeError) as err:  # pragma: no cover - another scikit-learn
        raise ModelError(f"this scikit-learn has no compiled tree walker where Sieve reads it ({err}); "
                         "install the scikit-learn version of the model's card") from err


def compiled_modules(packages: tuple[str, ...], names: tuple[str, ...],
                     parents: tuple[str, ...]) -> list[types.ModuleType]:
    """The compiled modules ``names`` of a library whose ``packages`` (its top package
    first) have heavy initialisers labelling does not need.

    When none of ``packages`` is imported yet, they are stood in for by empty package
    modules (the same search paths, no ``__init__`` run) for as long as ``names`` take
    to import, under the import lock; then the stand-ins are removed, so that a later
    ``import`` of the library runs the real initialisers and finds these modules
    already imported. When the library is imported, or being imported by another
    thread, or anything is unexpected (another layout), ``parents`` are imported as
    usual, from the top, then ``names``.
    """
    with _imports_held():
        # decided under the lock: no thread starts an import of the library meanwhile
        if not any(name in sys.modules for name in packages):
            try:
                return _import_without_initialisers(packages, names)
            except Exception:  # another layout: the plain import below says what is wrong
                pass
    for name in parents:
        importlib.import_module(name)
    return [importlib.import_module(name) for name in names]


@contextlib.contextmanager
def _imports_held() -> Iterator[None]:
    """The interpreter's import lock, held: no other thread starts importing a module
    meanwhile (one in the middle of an import may go on until it needs another)."""
    import _imp

    _imp.acquire_lock()
    try:
        yield
    finally:
        _imp.release_lock()


def _import_without_initialisers(packages: tuple[str, ...], names: tuple[str, ...]) -> list[types.ModuleType]:
    spec = importlib.util.find_spec(packages[0])
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{packages[0]} is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    before = set(sys.modules)
    stubs = {}
    for name in packages:
        stub = types.ModuleType(name)
        stub.__path__ = [str(root.joinpath(*name.split(".")[1:]))]
        sys.modules[name] = stubs[name] = stub
    try:
        return [importlib.import_module(name) for name in names]
    except BaseException:
        for name in set(sys.modules) - before - set(packages):  # nothing half-imported stays behind
            del sys.modules[name]
        raise
    finally:
        # only the stand-ins: a thread that had just taken a package's import lock
        # puts the real package in their place, and goes on with it
        for name, stub in stubs.items():
            if sys.modules.get(name) is stub:
                del sys.modules[name]


# -- the passes ---------------------------------------------------------------------

def linear_proba(clf: Any, x: Any) -> np.ndarray:
    """``clf.predict_proba(x)`` of a fitted ``SGDClassifier(loss="log_loss")`` (or its
    ``LinearPass``): one-vs-rest logistic probabilities, each row divided by its sum
    (two classes: the one logit's pair)."""
    # a LinearPass keeps its coefficients transposed and contiguous: SciPy's sparse
    # product copies a transposed view on every call (2 MB for the block pass)
    coef_t = clf.coef_t_ if isinstance(clf, LinearPass) else clf.coef_.T
    prob = x @ coef_t + clf.intercept_
    if prob.ndim > 1 and prob.shape[1] == 1:
        prob = prob.reshape(-1)
    _expit(prob)
    if prob.ndim == 1:
        return np.stack([1 - prob, prob], axis=1)
    total = prob.sum(axis=1)
    zero = total == 0
    if zero.any():  # every class at 0: uniform, as scikit-learn answers
        prob[zero, :] = 1
        total[zero] = prob.shape[1]
    prob /= total.reshape((prob.shape[0], -1))
    return prob


def _expit(values: np.ndarray) -> None:
    """``scipy.special.expit(values, out=values)``, bit for bit, without importing
    ``scipy.special`` (5 MB of every process that labels). SciPy computes
    ``1 / (1 + exp(-x))`` in the values' own precision with the C library's ``exp``
    (float64: ``math.exp`` is it) or ``expf`` (float32, the block pass's: called
    through ctypes). NumPy's own ``exp`` differs from both in the last bit of 2% to
    40% of values. Where the C library cannot be reached, SciPy computes it."""
    if not values.flags.c_contiguous:  # computed on a contiguous copy, put back
        copy = np.ascontiguousarray(values)
        _expit(copy)
        values[...] = copy
        return
    flat = values.reshape(-1)  # a view of the contiguous values
    if flat.dtype == np.float64:
        exp = math.exp
        e = np.array([exp(-v) if v > -700.0 else _exp_or_inf(-v) for v in flat.tolist()])
    elif flat.dtype == np.float32 and (expf := _c_expf()) is not None:
        e = np.array([expf(-v) for v in flat.tolist()], dtype=np.float32)  # a float's negation: exact
    else:
        from scipy.special import expit

        expit(values, out=values)
        return
    one = flat.dtype.type(1)
    np.divide(one, one + e, out=flat)


def _exp_or_inf(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:  # past the largest float: C's exp gives inf
        return math.inf


@functools.cache
def _c_expf() -> Any:
    """The C library's ``expf``, or None where ctypes cannot find it."""
    import ctypes
    import ctypes.util

    for name in ("libm.so.6", None):  # glibc's; elsewhere found by name (that may run a subprocess)
        name = name or ctypes.util.find_library("m")
        try:
            expf = ctypes.CDLL(name).expf
        except (OSError, AttributeError, TypeError):
            continue
        expf.restype, expf.argtypes = ctypes.c_float, [ctypes.c_float]
        return expf
    return None


def tree_proba(clf: Any, x: np.ndarray) -> np.ndarray:
    """``clf.predict_proba(x)`` of a fitted ``HistGradientBoostingClassifier`` (or
    its ``TreePass``), computed on binned features: the values are first mapped to
    the model's own bins (uint8), then every tree reads those, one thread. The trees
    take the same branches either way (the bins are cut at the trees' thresholds),
    and a tree walk over 1-byte bins is about 4x faster than over the float matrix."""
    if x.shape[0] and x.shape[1] != clf.n_features_in_:
        raise ModelError(f"the context pass expects {clf.n_features_in_} features, not {x.shape[1]}")
    binned = empty_bins(clf, x.shape[0])
    bin_columns(clf, x, binned)
    return binned_proba(clf, binned)


def empty_bins(clf: Any, n_rows: int) -> np.ndarray:
    """The binned matrix of ``n_rows`` rows of the context pass ``clf``'s features
    (uint8, Fortran order, as the compiled walker reads it), for ``bin_columns`` to fill."""
    return np.zeros((n_rows, clf.n_features_in_), dtype=np.uint8, order="F")


def bin_columns(clf: Any, x: np.ndarray, binned: np.ndarray, start: int = 0, rows: Any = None) -> None:
    """Map the values ``x`` of features ``start, start + 1, ...`` to ``clf``'s bins,
    into ``binned`` (``empty_bins``) at those columns, in all its rows or in ``rows``
    (a slice or an index array). Each value is binned on its own: a matrix binned
    column block by column block, or row block by row block, is the whole one binned
    at once, and its float64 copy side by side need never exist."""
    map_to_bins, _, _ = _compiled()
    x = np.ascontiguousarray(x, dtype=np.float64)
    width = x.shape[1]
    if not (binned.dtype == np.uint8 and binned.ndim == 2 and binned.flags.f_contiguous
            and binned.shape[1] == clf.n_features_in_):
        raise ValueError("binned is not the context pass's binned matrix (empty_bins)")
    n = len(range(binned.shape[0])[rows]) if isinstance(rows, slice) else binned.shape[0] if rows is None \
        else len(rows)
    if x.shape[0] != n:
        raise ValueError(f"{x.shape[0]} rows of values for {n} rows of bins")
    if not n:
        return
    if start < 0 or start + width > clf.n_features_in_:
        raise ModelError(f"the context pass expects {clf.n_features_in_} features, not {start + width}")
    if not width:
        return
    mapper = clf._bin_mapper
    cuts = mapper.bin_thresholds_[start:start + width]
    categorical = np.ascontiguousarray(mapper.is_categorical_[start:start + width])
    if rows is None:  # a block of columns of a Fortran-ordered matrix: Fortran-ordered itself
        map_to_bins(x, cuts, categorical, mapper.missing_values_bin_idx_, 1, binned[:, start:start + width])
    else:
        part = np.zeros((n, width), dtype=np.uint8, order="F")
        map_to_bins(x, cuts, categorical, mapper.missing_values_bin_idx_, 1, part)
        binned[rows, start:start + width] = part


def binned_proba(clf: Any, binned: np.ndarray) -> np.ndarray:
    """The probabilities of ``clf``'s trees walked over the binned rows ``binned``
    (``empty_bins``, filled by ``bin_columns``), one thread."""
    _, predict_binned, _ = _compiled()
    n_classes = len(clf.classes_)
    if binned.shape[0] == 0:
        return np.zeros((0, n_classes))
    if not (binned.dtype == np.uint8 and binned.ndim == 2 and binned.flags.f_contiguous
            and binned.shape[1] == clf.n_features_in_):
        raise ValueError("binned is not the context pass's binned matrix (empty_bins)")
    missing_bin = clf._bin_mapper.missing_values_bin_idx_
    raw = np.zeros((binned.shape[0], clf.n_trees_per_iteration_), order="F")
    raw += clf._baseline_prediction
    out = np.empty(binned.shape[0])
    for trees in clf._predictors:
        for k, tree in enumerate(trees):
            predict_binned(tree.nodes, binned, tree.binned_left_cat_bitsets, missing_bin, 1, out)
            raw[:, k] += out
    if raw.shape[1] == 1:  # two classes: one logit
        p = 1.0 / (1.0 + np.exp(-raw[:, 0]))
        return np.column_stack([1.0 - p, p])
    raw -= raw.max(axis=1, keepdims=True)
    np.exp(raw, out=raw)
    raw /= raw.sum(axis=1, keepdims=True)
    return np.ascontiguousarray(raw)


# -- what a model file is read into -------------------------------------------------

class _FromState:
    """Made from a pickled estimator's state: keeps ``_KEEP`` (each required, or the
    file is no model Sieve can read) and drops the rest."""

    _KEEP: tuple[str, ...] = ()
    _WHAT = "a model part"

    def __setstate__(self, state: object) -> None:
        if not isinstance(state, dict):
            raise ModelError(f"{self._WHAT} has no fitted state")
        missing = [k for k in self._KEEP if k not in state]
        if missing:
            raise ModelError(f"{self._WHAT} lacks {', '.join(missing)}")
        for k in self._KEEP:
            setattr(self, k, state[k])
        self._check()

    def _check(self) -> None:
        pass


class LinearPass(_FromState):
    """A fitted log-loss ``SGDClassifier``'s arrays, and its ``predict_proba``."""

    _KEEP = ("coef_", "intercept_", "classes_", "loss")
    _WHAT = "a linear pass"
    coef_: np.ndarray  # a view of coef_t_
    coef_t_: np.ndarray
    intercept_: np.ndarray
    classes_: np.ndarray
    loss: str

    def _check(self) -> None:
        if self.loss != "log_loss":
            raise ModelError(f"{self._WHAT} of loss {self.loss!r} gives no probabilities")
        for k in ("coef_", "intercept_", "classes_"):
            if not isinstance(getattr(self, k), np.ndarray):
                raise ModelError(f"{self._WHAT}'s {k} is no array")
        coef, intercept, classes = self.coef_, self.intercept_, self.classes_
        if (coef.ndim != 2 or coef.dtype.kind != "f" or intercept.shape != (coef.shape[0],)
                or intercept.dtype.kind != "f" or classes.ndim != 1
                or len(classes) != (2 if coef.shape[0] == 1 else coef.shape[0])):
            raise ModelError(f"{self._WHAT}'s coefficients {coef.shape}, intercepts {intercept.shape} and "
                             f"classes {classes.shape} do not fit together")
        self.coef_t_ = np.ascontiguousarray(self.coef_.T)
        self.coef_ = self.coef_t_.T

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._KEEP}

    def predict_proba(self, x: Any) -> np.ndarray:
        return linear_proba(self, x)


class TreePass(_FromState):
    """A fitted ``HistGradientBoostingClassifier``'s trees and bins (``tree_proba``)."""

    _KEEP = ("_bin_mapper", "_predictors", "_baseline_prediction", "classes_", "n_trees_per_iteration_",
             "n_features_in_")
    _WHAT = "a context pass"
    _bin_mapper: _Bins
    _predictors: list[list[_Tree]]
    classes_: np.ndarray
    n_features_in_: int
    n_trees_per_iteration_: int

    def _check(self) -> None:
        # scikit-learn's compiled walker reads what it is given without bounds checks:
        # a forged tree (a child past the end, a feature not in the matrix, a loop)
        # would make it read outside the arrays or never stop
        if not isinstance(self._bin_mapper, _Bins) or not isinstance(self._predictors, list) or any(
                not isinstance(trees, list) or not all(isinstance(t, _Tree) for t in trees)
                for trees in self._predictors):
            raise ModelError(f"{self._WHAT} is not made of trees and bins")
        n_features, per_iteration = self.n_features_in_, self.n_trees_per_iteration_
        if not _is_int(n_features) or n_features < 1 or not _is_int(per_iteration) or not isinstance(
                self.classes_, np.ndarray) or len(self.classes_) != max(2, per_iteration) or any(
                len(trees) != per_iteration for trees in self._predictors):
            raise ModelError(f"{self._WHAT}'s trees do not match its {n_features} features and classes")
        self._bin_mapper._check_features(n_features)
        _check_trees([t for trees in self._predictors for t in trees], n_features)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return tree_proba(self, x)


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


class _Bins(_FromState):
    _KEEP = ("bin_thresholds_", "missing_values_bin_idx_", "is_categorical_")
    _WHAT = "a context pass's bins"
    bin_thresholds_: list[np.ndarray]
    is_categorical_: np.ndarray
    missing_values_bin_idx_: int

    def _check_features(self, n_features: int) -> None:
        """The bins of ``n_features`` features, as ``_map_to_bins`` reads them (a
        list, a uint8 flag and float64 cuts per feature)."""
        cuts, categorical = self.bin_thresholds_, self.is_categorical_
        if not (isinstance(cuts, list) and len(cuts) == n_features and all(
                isinstance(c, np.ndarray) and c.ndim == 1 and c.dtype == np.float64 for c in cuts)
                and isinstance(categorical, np.ndarray) and categorical.shape == (n_features,)
                and categorical.dtype == np.uint8 and _is_int(self.missing_values_bin_idx_)
                and 0 <= self.missing_values_bin_idx_ <= 255):
            raise ModelError(f"{self._WHAT} are not those of {n_features} features")


class _Tree(_FromState):
    _KEEP = ("nodes", "binned_left_cat_bitsets")
    _WHAT = "a tree"
    nodes: np.ndarray
    binned_left_cat_bitsets: np.ndarray


def _check_trees(trees: list[_Tree], n_features: int) -> None:
    """Trees the walker can follow: nodes of the dtype it reads, each split's children
    after it (scikit-learn numbers a tree depth first: a walk goes down, and ends)
    and inside the array, its feature one of ``n_features``, and a categorical
    split's bitset inside its array. All the trees' nodes are checked at once."""
    node_dtype = _compiled()[2]
    for tree in trees:
        nodes, bitsets = tree.nodes, tree.binned_left_cat_bitsets
        if not (isinstance(nodes, np.ndarray) and nodes.dtype == node_dtype and nodes.ndim == 1 and len(nodes)
                and isinstance(bitsets, np.ndarray) and bitsets.dtype == np.uint32 and bitsets.ndim == 2
                and bitsets.shape[1] == 8):
            raise ModelError(f"{tree._WHAT} is not one of this scikit-learn's trees")
    if not trees:
        return
    sizes = np.array([len(t.nodes) for t in trees])

    def field(name: str) -> np.ndarray:  # faster than the records joined
        return np.concatenate([t.nodes[name] for t in trees])

    split = field("is_leaf") == 0
    size = np.repeat(sizes, sizes)[split]
    index = (np.arange(len(split)) - np.repeat(np.cumsum(sizes) - sizes, sizes))[split]
    bitsets = np.repeat([len(t.binned_left_cat_bitsets) for t in trees], sizes)[split]
    left, right, feature = field("left")[split], field("right")[split], field("feature_idx")[split]
    categorical = field("is_categorical")[split] != 0
    if ((left <= index) | (right <= index) | (left >= size) | (right >= size) | (feature < 0)
            | (feature >= n_features) | (categorical & (field("bitset_idx")[split] >= bitsets))).any():
        raise ModelError(f"a context pass has a tree whose nodes a walk cannot follow in {n_features} features")


class _Dropped:
    """A part labelling does not use (a loss, the label encoder): made with whatever
    arguments, its state not kept."""

    def __init__(self, *args: object) -> None:
        pass

    def __setstate__(self, state: object) -> None:
        pass


def _dropped(module: str, name: str) -> Any:
    """A stand-in of its own for each name (the unpickler tells them apart by name):
    a class, or for Cython's unpickling functions (``__pyx_unpickle_...``) a function
    that makes one."""
    cls = type(name, (_Dropped,), {"__module__": __name__})
    if not name.startswith("__pyx_unpickle_"):
        return cls

    def unpickle(*args: object) -> _Dropped:
        return cls()

    return unpickle


_LOSS = "sklearn._loss"
#: What the model unpickler makes where a model's pickle names scikit-learn.
_STAND_INS: dict[tuple[str, str], Any] = {
    ("sklearn.linear_model._stochastic_gradient", "SGDClassifier"): LinearPass,
    (f"{_HGB}.gradient_boosting", "HistGradientBoostingClassifier"): TreePass,
    (f"{_HGB}.binning", "_BinMapper"): _Bins,
    (f"{_HGB}.predictor", "TreePredictor"): _Tree,
    **{(module, name): _dropped(module, name) for module, name in (
        ("sklearn.preprocessing._label", "LabelEncoder"),
        (f"{_LOSS}.loss", "HalfMultinomialLoss"), (f"{_LOSS}.loss", "HalfBinomialLoss"),
        (f"{_LOSS}.link", "MultinomialLogit"), (f"{_LOSS}.link", "LogitLink"),
        (f"{_LOSS}.link", "IdentityLink"), (f"{_LOSS}.link", "Interval"),
        (f"{_LOSS}._loss", "CyHalfBinomialLoss"), (f"{_LOSS}._loss", "CyHalfMultinomialLoss"),
        (f"{_LOSS}._loss", "__pyx_unpickle_CyHalfBinomialLoss"),
        (f"{_LOSS}._loss", "__pyx_unpickle_CyHalfMultinomialLoss"))},
}


def check_read(parts: Iterable[object]) -> None:
    """Check again each of ``parts`` (whatever a model's pickle set the state of) that
    is a stand-in, once the whole pickle is read: a pickle can change a part after
    setting its state (set a tree's or an array's state again, add to a list)."""
    for part in parts:
        if isinstance(part, _FromState):
            part._check()


def stand_in(module: str, name: str) -> Any | None:
    """What a model is read into where its pickle names ``module.name`` of
    scikit-learn, or None."""
    return _STAND_INS.get((module, name))

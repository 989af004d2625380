"""trees.py: labelling with a model file does not import scikit-learn, and answers as
scikit-learn's estimators do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifier import trees
from classifier.errors import ModelError
from classifier.model import load_model
from classifier.sparse import SparseRows

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

#: Run in a fresh interpreter: label a text file and a web page with the shipped models
#: through the real command, then say which modules were imported; then import
#: scikit-learn and train and use an estimator, as a library caller might next.
_PROBE = """
import json, sys
from classifier.cli import cli
for args in (["score", sys.argv[1], "-o", sys.argv[3]], ["score", sys.argv[2], "-o", sys.argv[4]]):
    try:
        cli.main(args, standalone_mode=False)
    except SystemExit as stop:
        assert not stop.code, stop.code
heavy = sorted(m for m in sys.modules if m in ("sklearn", "joblib", "scipy.sparse", "scipy.special") or m.startswith((
    "sklearn.base", "sklearn.utils.validation", "scipy.signal", "scipy.stats", "scipy.sparse._base")))
compiled = sys.modules["sklearn.ensemble._hist_gradient_boosting._predictor"]
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
x = np.arange(200.0).reshape(100, 2)
clf = HistGradientBoostingClassifier(max_iter=5).fit(x, (x[:, 0] > 50).astype(int))
print(json.dumps({"heavy": heavy, "predicted": clf.predict(x[[0, 99]]).tolist(),
                  "same_walker": sys.modules["sklearn.ensemble._hist_gradient_boosting._predictor"] is compiled}))
"""

_PAGE = """<html><head><title>Harbour repairs</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<article><h1>Harbour repairs</h1>
<p>The harbour wall that storms broke last winter will be rebuilt this summer, the council said on Tuesday,
after a survey found the old stones could be reused for most of its length.</p>
<p>Work starts in June and should end before the autumn gales, when fishing boats return to the inner basin.</p>
</article><footer>Copyright 2026 The Coast Gazette. All rights reserved.</footer></body></html>"""


def test_labelling_imports_no_scikit_learn_and_scikit_learn_still_imports_after(tmp_path: Path) -> None:
    page = tmp_path / "harbour.html"
    page.write_text(_PAGE, encoding="utf-8")
    text_out, page_out = tmp_path / "story.jsonl", tmp_path / "page.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", _PROBE, str(DATA / "story.txt"), str(page), str(text_out),
                          str(page_out)], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    # scikit-learn's package, SciPy's sparse matrices, special functions, signal and
    # stats, joblib: not imported to label
    assert probe["heavy"] == []
    assert probe["predicted"] == [0, 1] and probe["same_walker"]
    story = json.loads(text_out.read_text(encoding="utf-8"))
    assert story["blocks"] and all(b["label"] in ("content", "boilerplate", "navigation") for b in story["blocks"])
    labels = {b["text"][:12]: b["label"] for b in json.loads(page_out.read_text(encoding="utf-8"))["blocks"]}
    assert labels["The harbour "] == "content"


def test_compiled_walker_is_found_with_scikit_learn_imported() -> None:
    map_to_bins, predict_binned, node_dtype = trees._compiled()
    assert callable(map_to_bins) and callable(predict_binned) and "feature_idx" in node_dtype.names


def _sgd_state(**changes: object) -> dict:
    state = {"coef_": np.ones((3, 4), dtype=np.float32), "intercept_": np.zeros(3), "classes_": np.arange(3),
             "loss": "log_loss", "alpha": 1e-4}
    state.update(changes)
    return state


def test_a_linear_pass_keeps_what_labelling_needs_and_refuses_what_gives_no_probabilities() -> None:
    part = trees.LinearPass()
    part.__setstate__(_sgd_state())
    assert not hasattr(part, "alpha")
    assert part.predict_proba(np.eye(4)).shape == (4, 3)
    for bad, said in ((_sgd_state(loss="hinge"), "gives no probabilities"), (_sgd_state(coef_=[1.0]), "no array"),
                      (_sgd_state(intercept_=np.zeros(2)), "do not fit together"),
                      (_sgd_state(classes_=np.arange(4)), "do not fit together"),
                      (_sgd_state(coef_=np.ones(4)), "do not fit together")):
        with pytest.raises(ModelError, match=said):
            trees.LinearPass().__setstate__(bad)
    state = _sgd_state()
    del state["intercept_"]
    with pytest.raises(ModelError, match="lacks intercept_"):
        trees.LinearPass().__setstate__(state)


def test_a_model_file_whose_block_pass_gives_no_probabilities_is_refused(tmp_path: Path,
                                                                        labelled_documents: list) -> None:
    from conftest import TINY_PARAMS

    from classifier.model import fit_block_model, save_model

    model = fit_block_model(labelled_documents, params=TINY_PARAMS)
    model.block_pass_.loss = "modified_huber"  # its arrays read as another loss's (a forged or foreign file)
    save_model(model, tmp_path)
    with pytest.raises(ModelError, match="cannot be loaded.*gives no probabilities"):
        load_model(tmp_path)


def test_a_loaded_model_saved_again_loads_and_labels_the_same(tiny_model_dir: Path, tmp_path: Path,
                                                                labelled_documents: list) -> None:
    from classifier.model import save_model

    loaded = load_model(tiny_model_dir)
    assert isinstance(loaded.context_pass_, trees.TreePass)
    save_model(loaded, tmp_path)
    again = load_model(tmp_path)
    assert again is not loaded
    assert all(a.tobytes() == b.tobytes() for a, b in zip(again.predict_proba(labelled_documents),
                                                          loaded.predict_proba(labelled_documents)))


def test_linear_proba_is_scikit_learns_predict_proba_bit_for_bit() -> None:
    import scipy.sparse as sp
    from sklearn.linear_model import SGDClassifier

    rng = np.random.default_rng(3)
    x = sp.random(400, 50, density=0.1, format="csr", dtype=np.float32, random_state=4)
    for classes in (2, 3):
        y = rng.integers(0, classes, 400)
        clf = SGDClassifier(loss="log_loss", max_iter=20, tol=None, random_state=0).fit(x, y)
        clf.coef_ = clf.coef_.astype(np.float32)  # as the block pass keeps it
        assert trees.linear_proba(clf, x).tobytes() == clf.predict_proba(x).tobytes()
        part = trees.LinearPass()
        part.__setstate__(clf.__getstate__())  # as a model file is read
        assert part.predict_proba(x).tobytes() == clf.predict_proba(x).tobytes()
        # the n-gram rows labelling computes, without SciPy's sparse package
        rows = SparseRows(x.data, x.indices, x.indptr, x.shape[1])
        assert part.predict_proba(rows).tobytes() == clf.predict_proba(x).tobytes()
        assert trees.linear_proba(clf, rows).tobytes() == clf.predict_proba(x).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_expit_is_scipys_bit_for_bit_with_or_without_the_c_library(dtype: type, monkeypatch) -> None:
    from scipy.special import expit

    rng = np.random.default_rng(5)
    with np.errstate(over="ignore"):  # 1e300 as float32 is inf, on purpose
        values = np.concatenate([rng.standard_normal(20_000) * 12, rng.uniform(-800, 800, 2_000),
                                 [0.0, -0.0, 88.7, -88.8, 103.9, -104.0, 709.7, -709.8, -745.2, 1e300, -1e300,
                                  np.inf, -np.inf, np.nan]]).astype(dtype).reshape(-1, 2)
    expected = expit(values)
    with np.errstate(over="ignore"):
        got = values.copy()
        trees._expit(got)
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()
        wider = np.ones((values.shape[0], 5), dtype=dtype)
        wider[:, :2] = values
        trees._expit(wider[:, :2])  # no one stride reaches these values: in place all the same
        assert wider[:, :2].tobytes() == expected.tobytes() and (wider[:, 2:] == 1).all()
        monkeypatch.setattr(trees, "_c_expf", lambda: None)  # no C library: SciPy's own
        got = values.copy()
        trees._expit(got)
        assert got.tobytes() == expected.tobytes()


#: Run in a fresh interpreter: a thread imports ``sklearn.ensemble`` and is held just
#: after it took that package's import lock (before the package is in sys.modules);
#: meanwhile the main thread loads the compiled tree walker, as labelling does.
_CONCURRENT_IMPORT = """
import sys, threading
from classifier import trees
import sklearn  # the walker's plain import: scikit-learn is already imported
from importlib.machinery import PathFinder
taking, loaded = threading.Event(), threading.Event()
class Held:  # the package's loader, held before it makes the module (its lock taken)
    def __init__(self, loader):
        self.loader = loader
    def create_module(self, spec):
        taking.set()
        loaded.wait(1.5)
        return None
    def exec_module(self, module):
        self.loader.exec_module(module)
class Hold:
    def find_spec(self, name, path=None, target=None):
        if name != "sklearn.ensemble" or threading.current_thread().name != "importer":
            return None
        spec = PathFinder.find_spec(name, path)
        spec.loader = Held(spec.loader)
        return spec
sys.meta_path.insert(0, Hold())
errors = []
def importer():
    try:
        import sklearn.ensemble
    except BaseException as err:
        errors.append(repr(err))
thread = threading.Thread(target=importer, name="importer")
thread.start()
taking.wait(60)
try:
    trees._compiled()
finally:
    loaded.set()
thread.join(60)
assert not errors, errors
from sklearn.ensemble import HistGradientBoostingClassifier
print("ok")
"""


def test_the_walker_loads_while_another_thread_imports_scikit_learn() -> None:
    # the walker's modules were imported from the bottom (the compiled module, then
    # its packages) while the other thread imported from the top: each held a lock
    # the other waited for, and Python failed the other thread's import
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", _CONCURRENT_IMPORT], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def _forge(nodes: np.ndarray, what: str) -> None:
    split = np.flatnonzero(nodes["is_leaf"] == 0)
    if what == "child past the end":
        nodes["right"][split[-1]] = len(nodes) + 5
    elif what == "loop":
        nodes["left"][split[-1]] = split[0]
    elif what == "feature past the matrix":
        nodes["feature_idx"][split[0]] = 10**6
    elif what == "bitset past its array":
        nodes["is_categorical"][split[0]], nodes["bitset_idx"][split[0]] = 1, 7


@pytest.mark.parametrize("what", ["child past the end", "loop", "feature past the matrix", "bitset past its array",
                                  "bins of fewer features", "no nodes"])
def test_a_model_file_whose_trees_the_walker_cannot_follow_is_refused(tiny_model_dir: Path, tmp_path: Path,
                                                                      what: str) -> None:
    # scikit-learn's compiled walker follows a tree's indices without bounds checks:
    # such a file (its card matching: forged) crashed or hung the process that labelled
    import copy

    from classifier.model import save_model

    model = copy.deepcopy(load_model(tiny_model_dir))  # not the process's loaded model
    bins = model.context_pass_._bin_mapper
    tree = model.context_pass_._predictors[-1][0]
    if what == "bins of fewer features":
        bins.bin_thresholds_ = bins.bin_thresholds_[:-1]
    elif what == "no nodes":
        tree.nodes = tree.nodes[:0]
    else:
        tree.nodes = tree.nodes.copy()
        _forge(tree.nodes, what)
    save_model(model, tmp_path)
    with pytest.raises(ModelError, match="cannot be loaded.*(cannot follow|not those of|not one of)"):
        load_model(tmp_path)


def test_a_pickle_that_changes_a_tree_after_its_context_pass_was_read_is_refused(tiny_model_dir: Path) -> None:
    # a pickle may add to a list or set an object's state after the object holding it
    # was checked: the parts are checked again once the whole pickle is read
    import pickle
    import pickletools

    from classifier.cards import _unpickle_model

    context_pass = load_model(tiny_model_dir).context_pass_
    bad = trees._Tree()
    bad.__setstate__({"nodes": context_pass._predictors[0][0].nodes.copy(),
                      "binned_left_cat_bitsets": context_pass._predictors[0][0].binned_left_cat_bitsets})
    _forge(bad.nodes, "child past the end")
    # the file's context pass, then an iteration of trees with the bad one: added to the
    # context pass's iterations once it was read (each iteration: a tree per class)
    data = pickle.dumps([context_pass, [bad, *context_pass._predictors[0][1:]]], protocol=3)  # memo indices written
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(data)]
    at = ops.index(("BINUNICODE", "_predictors"))
    assert [name for name, _ in ops[at + 1:at + 4]] == ["LONG_BINPUT", "EMPTY_LIST", "LONG_BINPUT"]
    iterations = ops[at + 3][1]  # the memo index of the context pass's list of iterations
    made = max(i for i, (name, _) in enumerate(ops) if name == "EMPTY_LIST")  # the bad iteration, made last
    bad_iteration = ops[made + 1][1]
    assert data.endswith(pickle.APPENDS + pickle.STOP)

    def get(index: int) -> bytes:
        return pickle.LONG_BINGET + index.to_bytes(4, "little")

    assert isinstance(_unpickle_model(data)[0], trees.TreePass)
    forged = data[:-1] + get(iterations) + get(bad_iteration) + pickle.APPEND + pickle.POP + pickle.STOP
    with pytest.raises(ModelError, match="cannot follow"):
        _unpickle_model(forged)


def test_a_model_file_whose_block_pass_does_not_fit_its_n_grams_is_refused(tmp_path: Path,
                                                                           labelled_documents: list) -> None:
    from conftest import TINY_PARAMS

    from classifier.model import fit_block_model, save_model

    model = fit_block_model(labelled_documents, params=TINY_PARAMS)
    model.block_pass_.coef_ = model.block_pass_.coef_[:, :-1]  # one column short of its parameters'
    save_model(model, tmp_path)
    with pytest.raises(ModelError, match="reads .* n-gram columns, its parameters make"):
        load_model(tmp_path)


@pytest.mark.parametrize("classes", [2, 3])
def test_binning_in_blocks_of_columns_or_rows_is_binning_the_whole(classes: int) -> None:
    """``bin_columns`` of column blocks and of row blocks (slices, index lists) into one
    binned matrix gives ``tree_proba``'s bins and probabilities, bit for bit."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(11)
    x = rng.normal(size=(500, 7))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int) + (classes == 3) * (x[:, 3] > 1).astype(int)
    x[rng.random(x.shape) < 0.05] = np.nan
    clf = HistGradientBoostingClassifier(max_iter=25, random_state=0).fit(x, y)
    new = rng.normal(size=(260, 7)) * 3
    new[rng.random(new.shape) < 0.1] = np.nan
    want = trees.tree_proba(clf, new)
    whole = trees.empty_bins(clf, len(new))
    trees.bin_columns(clf, new, whole)
    by_columns = trees.empty_bins(clf, len(new))
    for start, end in ((0, 3), (3, 4), (4, 4), (4, 7)):
        trees.bin_columns(clf, new[:, start:end], by_columns, start)  # strided views too
    by_rows = trees.empty_bins(clf, len(new))
    scattered = rng.permutation(len(new))
    trees.bin_columns(clf, new[scattered[:100]], by_rows, 0, list(scattered[:100]))
    trees.bin_columns(clf, new[scattered[100:]], by_rows, 0, scattered[100:])
    again = trees.empty_bins(clf, len(new))
    for lo in range(0, len(new), 64):
        trees.bin_columns(clf, new[lo:lo + 64, :2], again, 0, slice(lo, lo + 64))
        trees.bin_columns(clf, new[lo:lo + 64, 2:], again, 2, slice(lo, lo + 64))
    for binned in (whole, by_columns, by_rows, again):
        assert binned.tobytes() == whole.tobytes()
        assert trees.binned_proba(clf, binned).tobytes() == want.tobytes()
    np.testing.assert_allclose(want, clf.predict_proba(new), rtol=0, atol=1e-12)
    assert trees.binned_proba(clf, trees.empty_bins(clf, 0)).shape == (0, classes)


def test_binning_refuses_what_does_not_fit() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 4))
    clf = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(x, (x[:, 0] > 0).astype(int))
    binned = trees.empty_bins(clf, 10)
    with pytest.raises(ModelError):
        trees.bin_columns(clf, x[:10, :3], binned, 2)  # past the model's features
    with pytest.raises(ModelError):
        trees.tree_proba(clf, x[:10, :3])
    with pytest.raises(ValueError):
        trees.bin_columns(clf, x[:9], binned)  # rows of values and of bins differ
    with pytest.raises(ValueError):
        trees.bin_columns(clf, x[:4], binned, 0, slice(2, 5))
    with pytest.raises(ValueError):
        trees.bin_columns(clf, x[:10], np.zeros((10, 4), dtype=np.uint8))  # not Fortran-ordered
    with pytest.raises(ValueError):
        trees.binned_proba(clf, np.zeros((10, 3), dtype=np.uint8, order="F"))
    assert trees.tree_proba(clf, x[:0, :3]).shape == (0, 2)  # no rows: no question of width, as before

"""cards.py: a model file is only vouched for by a card whose sha256 matches its bytes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from classifier.cards import CARD_FORMAT_VERSION, card_path, read_card, sha256_of, verify_file, write_card
from classifier.errors import ModelError


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "thing.bin"
    path.write_bytes(bytes(range(256)) * 9000)  # > 2 MiB: hashed in several chunks
    return path


def test_sha256_of_matches_hashlib(model_file: Path) -> None:
    assert sha256_of(model_file) == hashlib.sha256(model_file.read_bytes()).hexdigest()


def test_write_then_verify(model_file: Path) -> None:
    card = write_card(model_file, {"kind": "test", "metrics": {"f1": 0.5}})
    assert card_path(model_file) == model_file.with_name("thing.json")
    on_disk = json.loads(card_path(model_file).read_text(encoding="utf-8"))
    assert on_disk == card
    assert card["format_version"] == CARD_FORMAT_VERSION and card["file"] == "thing.bin"
    assert card["sha256"] == sha256_of(model_file)
    assert verify_file(model_file) == card
    assert not list(model_file.parent.glob("*.part"))


def test_a_card_cannot_claim_its_own_sha256(model_file: Path) -> None:
    card = write_card(model_file, {"sha256": "0" * 64})
    assert card["sha256"] == sha256_of(model_file)


def test_changed_bytes_are_refused(model_file: Path) -> None:
    write_card(model_file, {})
    with open(model_file, "ab") as f:
        f.write(b"\x00")
    with pytest.raises(ModelError, match="does not match its card"):
        verify_file(model_file)


@pytest.mark.parametrize(
    ("card_text", "message"),
    [("{not json", "unreadable"), ("[1, 2]", "not a JSON object"),
     (json.dumps({"format_version": 99, "sha256": "x"}), "format_version 99"),
     (json.dumps({"sha256": "x"}), "format_version None")],
)
def test_bad_cards_are_refused(model_file: Path, card_text: str, message: str) -> None:
    card_path(model_file).write_text(card_text, encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        verify_file(model_file)


def test_missing_card_or_file(model_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="is missing"):
        read_card(model_file)
    with pytest.raises(ModelError, match="not found"):
        verify_file(tmp_path / "absent.bin")


def test_block_models_swapped_with_their_cards_are_refused(copy_model_dir) -> None:
    import shutil

    from classifier import Sieve
    from classifier.errors import ModelError

    folder = copy_model_dir()
    # the text model and its card put where the HTML model goes: each matches its card
    shutil.copyfile(folder / "blocks.joblib", folder / "html.joblib")
    shutil.copyfile(folder / "blocks.json", folder / "html.json")
    with pytest.raises(ModelError, match="describes 'blocks.joblib'"):
        Sieve(folder, model="html").label(["A sentence of prose here."])


def test_a_model_retrained_in_place_is_loaded_anew(copy_model_dir, labelled_documents: list) -> None:
    from classifier import Sieve
    from classifier.model import ModelParams, fit_block_model, save_model

    folder = copy_model_dir()
    first = Sieve(folder).block_model
    retrained = fit_block_model(labelled_documents, params=ModelParams(n_char_features=2**11, n_word_features=2**9,
                                                                       trees=5, inner_folds=2, random_state=1))
    save_model(retrained, folder)
    again = Sieve(folder).block_model
    assert again is not first
    assert again.params.n_char_features == 2**11


class _Trap:
    """Unpickled, it creates the file ``marker`` names: a stand-in for a malicious pickle."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.marker, "w"))


def test_the_bytes_checked_are_the_bytes_unpickled(copy_model_dir, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A model file replaced between the sha256 check and the unpickling (another
    process renaming a pickle over it) is never what is loaded."""
    import joblib

    import classifier.model as model_module
    from classifier.model import BlockModel, load_model

    folder = copy_model_dir()
    marker = tmp_path / "trap-sprung"
    trap = tmp_path / "trap.joblib"
    joblib.dump(_Trap(str(marker)), trap)
    checks = model_module.check_block_model_card

    def swap_after_the_check(path: Path, card: dict) -> None:  # the race: right after the bytes were checked
        checks(path, card)
        trap.replace(path)

    monkeypatch.setattr(model_module, "check_block_model_card", swap_after_the_check)
    model_module._load_model_cached.cache_clear()
    loaded = load_model(folder)
    assert isinstance(loaded, BlockModel) and not marker.exists()
    model_module._load_model_cached.cache_clear()
    monkeypatch.undo()
    with pytest.raises(ModelError, match="does not match its card"):  # the swapped file itself is refused
        load_model(folder)
    assert not marker.exists()


def test_a_card_sha256_in_capitals_is_the_same_sha256(model_file: Path) -> None:
    card = write_card(model_file, {"kind": "test"})
    path = card_path(model_file)
    path.write_text(json.dumps({**card, "sha256": card["sha256"].upper()}))
    assert verify_file(model_file)["sha256"] == card["sha256"].upper()


def test_a_model_that_cannot_be_written_leaves_the_earlier_one_whole(copy_model_dir, tiny_model,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk while the card is written (after the model was dumped): the earlier
    model and card stay a matching pair, and no temporary file is left."""
    from classifier import cards
    from classifier.model import load_model, save_model

    folder = copy_model_dir()
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real_write_text = Path.write_text

    def full_disk(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name.endswith(".json.part"):
            raise OSError(28, "No space left on device", str(self))
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(ModelError, match="cannot write .*blocks.json.part: No space left on device"):
        save_model(tiny_model, folder, card={"note": "retrained"})
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    load_model(folder)  # still a model that matches its card
    assert cards.read_card(folder / "blocks.joblib") == json.loads(before["blocks.json"])


def test_train_into_a_folder_that_cannot_be_written_is_one_line(runner, tiny_model_dir: Path, tmp_path: Path,
                                                                data_dir: Path) -> None:
    from classifier.cli import cli

    (tmp_path / "afile").write_text("x")
    result = runner.invoke(cli, ["train", str(data_dir / "labelled.jsonl"), "-o", str(tmp_path / "afile" / "m"),
                                 "--folds", "0", "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 1 and "cannot write" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("**/*.part"))


def test_the_dispatching_check_reads_only_the_models_the_run_uses(copy_model_dir, tiny_model, runner,
                                                                  data_dir: Path, tmp_path: Path) -> None:
    """`sieve clean --workers 2` checks the models before dispatching: those of its
    --model choice only, and the card's scikit-learn version, as one line."""
    import subprocess
    import sys

    from classifier import Sieve
    from classifier.model import save_model

    folder = copy_model_dir()
    save_model(tiny_model, folder, file_name="html.joblib")
    (folder / "blocks.joblib").unlink()  # an HTML-only folder
    (folder / "blocks.json").unlink()
    Sieve(folder, model="html").verify_models()  # no text model needed
    with pytest.raises(ModelError, match="blocks.joblib not found"):
        Sieve(folder, model="auto").verify_models()
    card = json.loads((folder / "html.json").read_text())
    (folder / "html.json").write_text(json.dumps({**card, "sklearn_version": "0.1.0"}))
    with pytest.raises(ModelError, match="made with scikit-learn 0.1.0"):
        Sieve(folder, model="html").verify_models()
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        (src / f"{name}.txt").write_text((data_dir / "story.txt").read_text())
    result = subprocess.run([sys.executable, "-m", "classifier", "clean", str(src), "-o", str(tmp_path / "out"),
                             "--workers", "2", "--model", "html", "--model-dir", str(folder)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "made with scikit-learn 0.1.0" in result.stderr
    assert result.stderr.count("scikit-learn 0.1.0") == 1 and "shard" not in result.stderr  # one line, before any shard


def _forge(path: Path, payload: bytes) -> None:
    """``payload`` as the model file ``path``, with its card saying the matching sha256:
    what anyone who can write a model folder can do."""
    path.write_bytes(payload)
    card = json.loads(card_path(path).read_text(encoding="utf-8"))
    card["sha256"] = hashlib.sha256(payload).hexdigest()
    card_path(path).write_text(json.dumps(card), encoding="utf-8")


class _RunsCode:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # type: ignore[no-untyped-def]
        import os

        return (os.system, (f"touch {self.target}",))


def test_a_forged_model_whose_card_matches_runs_no_code(copy_model_dir, tmp_path: Path, runner) -> None:
    import pickle
    import zlib

    from classifier.cli import cli

    folder = copy_model_dir()
    ran = tmp_path / "ran"
    for payload in (pickle.dumps(_RunsCode(ran)), zlib.compress(pickle.dumps(_RunsCode(ran)))):
        _forge(folder / "blocks.joblib", payload)
        result = runner.invoke(cli, ["score", "-", "--model-dir", str(folder)], input="A line of text.\n")
        assert result.exit_code == 1
        assert "blocks.joblib is refused: its pickle names posix.system" in result.stderr
        assert not ran.exists()


def test_a_pickle_naming_another_module_does_not_get_it_imported(copy_model_dir, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import zlib

    from classifier import Sieve

    imported = tmp_path / "imported"
    (tmp_path / "sieve_test_side_effect.py").write_text(f"open({str(imported)!r}, 'w').close()\nX = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sieve_test_side_effect", raising=False)

    def global_ref(module: str, name: str) -> bytes:  # protocol 4: push both names, STACK_GLOBAL, STOP
        return (b"\x80\x04" + b"\x8c" + bytes([len(module)]) + module.encode() + b"\x8c" + bytes([len(name)])
                + name.encode() + b"\x93.")

    folder = copy_model_dir()
    for module, name, shown in (("sieve_test_side_effect", "X", "sieve_test_side_effect.X"),
                                ("classifier.model", "np.save", "classifier.model.np.save")):  # dotted: numpy.save
        _forge(folder / "blocks.joblib", zlib.compress(global_ref(module, name)))
        with pytest.raises(ModelError, match=f"its pickle names {shown},"):
            _ = Sieve(folder).block_model
    assert not imported.exists()


def test_objects_inside_a_models_arrays_are_held_to_the_same_list(copy_model_dir, tmp_path: Path) -> None:
    import joblib
    import numpy as np

    from classifier import Sieve

    folder = copy_model_dir()
    ran = tmp_path / "ran"
    holder = np.empty(1, dtype=object)
    holder[0] = _RunsCode(ran)
    part = tmp_path / "forged.joblib"
    joblib.dump({"arrays": holder}, part, compress=("zlib", 6))
    _forge(folder / "blocks.joblib", part.read_bytes())
    with pytest.raises(ModelError, match="its pickle holds an array of Python objects"):
        _ = Sieve(folder).block_model
    assert not ran.exists()


def test_arrays_are_read_as_joblib_reads_them_without_importing_it(tmp_path: Path) -> None:
    import io

    import joblib
    import numpy as np

    from classifier.cards import _unpickle_model

    grid = np.arange(12, dtype=np.float32).reshape(3, 4)
    arrays = {"c": grid, "fortran": np.asfortranarray(grid.astype(np.float64)), "big_endian": grid.astype(">i4"),
              "scalar": np.array(2.5), "empty": np.zeros((0, 3), dtype=np.uint8), "records": np.zeros(
                  2, dtype=[("value", "<f8"), ("left", "<u4")]), "bools": np.array([True, False, True])}
    for compress in (("zlib", 6), 0):
        buffer = io.BytesIO()
        joblib.dump(arrays, buffer, compress=compress)
        raw = buffer.getvalue()
        read = _unpickle_model(raw)
        expected = joblib.load(io.BytesIO(raw))
        assert read.keys() == arrays.keys()
        for name, array in read.items():
            assert array.dtype == expected[name].dtype.newbyteorder("=") and array.dtype.isnative, name
            assert array.shape == expected[name].shape and np.array_equal(array, expected[name]), name
            assert array.flags.writeable and array.flags.f_contiguous == expected[name].flags.f_contiguous, name
        assert read["fortran"].flags.f_contiguous and not read["c"].flags.f_contiguous
    cut = io.BytesIO()
    joblib.dump({"values": np.arange(1000.0)}, cut, compress=0)
    with pytest.raises(ValueError, match="cut short"):
        _unpickle_model(cut.getvalue()[:4000])  # the record whole, the values not


class _ArrayOfBytes:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        import numpy as np

        return (np.ndarray, ((1,), np.dtype("f8"), b"\x41" * 8))  # with an object dtype: a pointer from the bytes


def test_allowed_names_cannot_be_put_to_other_uses(copy_model_dir) -> None:
    # a review built a file-writing chain of scikit-learn classes (any class of
    # sklearn.* was allowed), called numpy.ndarray on raw bytes (an object array whose
    # pointers came from the file), and set state on a class
    import pickle
    import zlib

    from classifier import Sieve

    def global_ref(module: str, name: str) -> bytes:
        return b"\x8c" + bytes([len(module)]) + module.encode() + b"\x8c" + bytes([len(name)]) + name.encode() + b"\x93"

    folder = copy_model_dir()
    cases = [(pickle.dumps(_ArrayOfBytes(), protocol=4), "calls numpy.ndarray"),
             (b"\x80\x04" + global_ref("classifier.model", "ModelParams") + b"}b.", "changes the class "
              "classifier.model.ModelParams"),
             (b"\x80\x04" + global_ref("sklearn.utils.deprecation", "deprecated") + b".",
              "names sklearn.utils.deprecation.deprecated"),
             # protocol 0 / 1 opcodes that call as REDUCE does: numpy.ndarray on raw bytes again
             (b"\x80\x04(K\x03\x85X\x02\x00\x00\x00u1C\x03abcinumpy\nndarray\n.",
              "calls a class through the INST opcode"),
             (b"\x80\x04(cnumpy\nndarray\nK\x03\x85X\x02\x00\x00\x00u1C\x03xyzo.",
              "calls an object through the OBJ opcode")]
    for payload, says in cases:
        _forge(folder / "blocks.joblib", zlib.compress(payload))
        with pytest.raises(ModelError, match=f"its pickle {says}, as no Sieve model does"):
            _ = Sieve(folder).block_model


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="named pipes")
def test_cards_that_are_no_regular_files_too_large_or_too_deep_are_refused(model_file: Path) -> None:
    import os

    write_card(model_file, {})
    card = card_path(model_file)
    card.unlink()
    os.mkfifo(card)  # read, it would wait for ever for a writer
    with pytest.raises(ModelError, match="is not a regular file"):
        verify_file(model_file)
    card.unlink()
    card.write_text(" " * (2 << 20) + "{}", encoding="utf-8")
    with pytest.raises(ModelError, match="is over 1 MiB"):
        verify_file(model_file)
    card.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    with pytest.raises(ModelError, match="unreadable \\(nested too deeply\\)"):
        verify_file(model_file)


def test_a_card_must_name_the_file_it_describes(copy_model_dir) -> None:
    from classifier import Sieve

    folder = copy_model_dir()
    for name in ("blocks.joblib", "lid.ftz"):
        card = json.loads(card_path(folder / name).read_text(encoding="utf-8"))
        del card["file"]
        card_path(folder / name).write_text(json.dumps(card), encoding="utf-8")
        with pytest.raises(ModelError, match=f"{name}: its card names no file"):
            Sieve(folder).check_models()
        with pytest.raises(ModelError, match=f"{name}: its card names no file"):
            Sieve(folder).verify_models()
        card["file"] = name
        card_path(folder / name).write_text(json.dumps(card), encoding="utf-8")


def test_a_language_model_that_fails_to_load_in_any_way_is_a_model_error(copy_model_dir,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import fasttext

    from classifier import Sieve

    def fails(path: str) -> None:  # a damaged file: fastText asks for more memory than there is
        raise MemoryError

    monkeypatch.setattr(fasttext, "load_model", fails)
    with pytest.raises(ModelError, match="lid.ftz cannot be loaded \\(MemoryError"):
        Sieve(copy_model_dir()).label(["A sentence to label."])


def _dtype_state(dtype: object, **changes: object) -> tuple:
    """``dtype``'s pickled state (version, byte order, subarray, names, fields, size,
    alignment, flags), with ``changes`` by field name."""
    state = list(dtype.__reduce__()[2])  # type: ignore[attr-defined]
    for key, value in changes.items():
        state[("subarray", "names", "fields", "itemsize", "alignment", "flags").index(key) + 2] = value
    return tuple(state)


def _forged_pickle(obj: object) -> bytes:
    """``obj`` pickled as joblib writes a model (protocol 4, arrays as joblib's records
    followed by their bytes), where a ``_Forged`` is pickled as what it says."""
    import io
    import pickle

    from joblib.numpy_pickle import NumpyArrayWrapper

    class Pickler(pickle._Pickler):  # type: ignore[misc,name-defined]
        def reducer_override(self, obj: object) -> object:
            return obj.reduced if isinstance(obj, _Forged) and obj.reduced is not None else NotImplemented

        def save(self, obj: object, save_persistent_id: bool = True) -> None:
            if isinstance(obj, _Forged) and obj.record is not None:
                wrapper = NumpyArrayWrapper.__new__(NumpyArrayWrapper)
                wrapper.__dict__.update(obj.record)
                super().save(wrapper)
                self.framer.commit_frame(force=True)
                buffer.write(obj.values)
                return
            super().save(obj, save_persistent_id)

    buffer = io.BytesIO()
    Pickler(buffer, 4).dump(obj)
    return buffer.getvalue()


class _Forged:
    def __init__(self, reduced: tuple | None = None, record: dict | None = None, values: bytes = b"") -> None:
        self.reduced, self.record, self.values = reduced, record, values


def test_dtypes_whose_state_hides_objects_or_reaches_past_the_record_are_refused() -> None:
    # NumPy sets a record dtype's fields and flags as its pickled state says: a record
    # of one object field whose flags say it holds none had its values read as raw
    # bytes (pointers from the file) by joblib's record, by ndarray's own pickle and by
    # numpy's scalar(); a field past the record's end is read outside the array
    import numpy as np

    from classifier.cards import ForbiddenGlobal, _unpickle_model

    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray

    def void8(**changes: object) -> _Forged:  # numpy.dtype("V8"), its state then set
        return _Forged((np.dtype, ("V8", False, True), _dtype_state(np.dtype("V8"), **changes)))

    objects = dict(names=("a",), fields={"a": (np.dtype("O"), 0)}, flags=0)
    nulls = bytes(8)  # null pointers: without the check the forged array loads (pointers from a file could be anything)
    record = {"shape": (1,), "order": "C", "subclass": np.ndarray, "allow_mmap": True,
              "numpy_array_alignment_bytes": 16}
    cases = [
        (_Forged(record={**record, "dtype": void8(**objects)}, values=b"\x00" + nulls), "objects inside a record"),
        (_Forged((multiarray._reconstruct, (np.ndarray, (0,), b"b"), (1, (1,), void8(**objects), False, nulls))),
         "objects inside a record"),
        (_Forged((multiarray.scalar, (void8(**objects), nulls))), "objects inside a record"),
        (void8(names=("a",), fields={"a": (np.dtype("f8"), 1000)}, flags=16), "not make"),
    ]
    for forged, says in cases:
        with pytest.raises(ForbiddenGlobal, match=says):
            _unpickle_model(_forged_pickle({"part": forged}))
    # the records of Sieve's trees are NumPy's own
    nodes = np.dtype([("value", "<f8"), ("left", "<u4"), ("is_leaf", "u1")])
    pairs = np.dtype([("v", "<f4", (2,))])
    read = _unpickle_model(_forged_pickle({"nodes": np.zeros(2, dtype=nodes), "pairs": np.zeros(2, dtype=pairs)}))
    assert read["nodes"].dtype == nodes and read["pairs"].dtype == pairs

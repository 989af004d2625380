"""Model cards: the JSON manifest beside every model file, and its check at load time.

A model file ``NAME.EXT`` has its card in ``NAME.json``: format version, what the
file is, how it was made, its metrics, and the file's sha256. ``verify_file``
refuses a file whose card is missing or unreadable, or whose bytes do not hash to
the card's sha256 -- before anything unpickles it; ``read_verified`` returns the
bytes it checked, and only those are ever unpickled (``load_checked_pickle``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ModelError

__all__ = ["card_path", "card_text", "check_card_file", "check_sklearn_version", "load_checked_pickle",
           "missing_model_file", "open_verified", "read_card", "read_verified", "sha256_of", "verify_file",
           "write_card", "write_model"]

#: Cards this code can read; a newer card means a newer Sieve wrote the model.
CARD_FORMAT_VERSION = 1


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def card_path(model_file: Path) -> Path:
    return model_file.with_suffix(".json")


def missing_model_file(model_file: Path) -> str | None:
    """Why an optional model (the HTML model, a publisher adapter) that a folder's card
    says is there cannot be used: its card is there, its file is not (a copy of the
    folder that left the ``.joblib`` behind). None when the file is there, or when
    neither is (the folder has no such model). A run would otherwise go on without the
    model without a word: web pages labelled by the text model, no adapter applied."""
    card = card_path(model_file)
    if model_file.is_file() or not (card.exists() or card.is_symlink()):
        return None
    return (f"model card {card} is there but its model {model_file} is missing (a copy of the folder that left "
            f"it behind?): copy {model_file.name} from the folder the card came from, or remove {card.name} to "
            "go without it")


#: A card is a page of JSON (the shipped ones are under 2 kB): past this it is refused.
MAX_CARD_BYTES = 1 << 20


def read_card(model_file: Path) -> dict[str, Any]:
    """The card of ``model_file``. Raises ``ModelError`` when missing or unreadable
    (not a regular file -- a device, a pipe --, over ``MAX_CARD_BYTES``, not JSON)."""
    import os
    import stat

    path = card_path(model_file)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a named pipe: no wait for a writer
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ModelError(f"model card {path} is not a regular file; restore it or retrain")
            raw = f.read(MAX_CARD_BYTES + 1)
        if len(raw) > MAX_CARD_BYTES:
            raise ModelError(f"model card {path} is over {MAX_CARD_BYTES >> 20} MiB, no model card; restore it or "
                             "retrain")
        card = json.loads(raw.decode("utf-8"))
    except FileNotFoundError as err:
        raise ModelError(f"model card {path} is missing; the model {model_file} cannot be vouched for "
                         "(restore the card from the folder it came from, pass another --model-dir, or "
                         "for a block model retrain it with `sieve train`)") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        why = "nested too deeply" if isinstance(err, RecursionError) else err
        raise ModelError(f"model card {path} is unreadable ({why}); restore it or retrain") from err
    if not isinstance(card, dict):
        raise ModelError(f"model card {path} is not a JSON object; restore it or retrain")
    version = card.get("format_version")
    if version != CARD_FORMAT_VERSION:
        raise ModelError(f"model card {path} has format_version {version!r}; this Sieve reads "
                         f"{CARD_FORMAT_VERSION} (upgrade Sieve or retrain the model)")
    return card


def verify_file(model_file: Path) -> dict[str, Any]:
    """Check ``model_file`` against its card and return the card (for a check alone:
    to load a file, ``read_verified`` gives the very bytes that were checked).

    Raises:
        ModelError: the file or its card is missing, or the sha256 differs (the file
            was changed after the card was written: it is not loaded).
    """
    _must_exist(model_file)
    card = read_card(model_file)
    try:
        actual = sha256_of(model_file)
    except OSError as err:
        raise ModelError(f"model file {model_file} cannot be read ({err.strerror or err})") from err
    _compare_sha256(model_file, card, actual)
    return card


def read_verified(model_file: Path) -> tuple[dict[str, Any], bytes]:
    """The card of ``model_file`` and the file's bytes, read once and checked against
    the card's sha256: what is loaded is what was checked, even if the file is
    replaced meanwhile (checking the path, then opening it again to unpickle, would
    let a file swapped in between be unpickled unchecked).

    Raises:
        ModelError: as ``verify_file``.
    """
    _must_exist(model_file)
    card = read_card(model_file)
    try:
        data = model_file.read_bytes()
    except OSError as err:
        raise ModelError(f"model file {model_file} cannot be read ({err.strerror or err})") from err
    _compare_sha256(model_file, card, hashlib.sha256(data).hexdigest())
    return card, data


def open_verified(model_file: Path) -> tuple[dict[str, Any], int]:
    """The card of ``model_file`` and a descriptor open on the file whose bytes were
    read through it and checked against the card: a reader of
    ``/proc/self/fd/N`` reads the same file (the same inode), even if another is
    renamed over the name meanwhile. The caller closes the descriptor.

    Raises:
        ModelError: as ``verify_file``.
    """
    import os

    _must_exist(model_file)
    card = read_card(model_file)
    try:
        fd = os.open(model_file, os.O_RDONLY)
    except OSError as err:
        raise ModelError(f"model file {model_file} cannot be read ({err.strerror or err})") from err
    try:
        digest = hashlib.sha256()
        with os.fdopen(os.dup(fd), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        _compare_sha256(model_file, card, digest.hexdigest())
    except BaseException:
        os.close(fd)
        raise
    return card, fd


def check_card_file(path: Path, card: dict[str, Any]) -> None:
    """Refuse a card that describes another file than ``path`` (a model and its card
    copied under another model's name match each other, and would pass every check)."""
    if "file" not in card:
        raise ModelError(f"{path}: its card names no file (every card Sieve writes names the file it describes); "
                         "restore the card from the folder it came from, or retrain")
    if card.get("file") != path.name:
        raise ModelError(f"{path}: its card describes {card.get('file')!r}, not {path.name!r} (the text model "
                         "is blocks.joblib, the HTML model html.joblib); put each model under its own name with its "
                         "own card")


def _must_exist(model_file: Path) -> None:
    if not model_file.is_file():
        raise ModelError(f"model file {model_file} not found; pass --model-dir with a trained model "
                         "(see `sieve train`), or reinstall Sieve")


def _compare_sha256(model_file: Path, card: dict[str, Any], actual: str) -> None:
    expected = card.get("sha256")
    if not isinstance(expected, str) or expected.strip().lower() != actual:
        raise ModelError(f"model file {model_file} does not match its card {card_path(model_file)} "
                         f"(sha256 {actual[:12]}..., card says {str(expected)[:12]}...): it was changed "
                         "or damaged, so it is not loaded; restore it or retrain")


def write_card(model_file: Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write the card of ``model_file`` (adding format version, file name and sha256)."""
    full = _full_card(model_file.name, card, sha256_of(model_file))
    _card_part(model_file, full).replace(card_path(model_file))
    return full


def card_text(card: dict[str, Any]) -> str:
    """A card as its file holds it."""
    return json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _card_part(model_file: Path, full: dict[str, Any]) -> Path:
    """``full`` written as the card of ``model_file`` under its temporary name."""
    part = card_path(model_file).with_suffix(".json.part")
    part.write_text(card_text(full), encoding="utf-8")
    return part


def _full_card(name: str, card: dict[str, Any], sha256: str) -> dict[str, Any]:
    return {"format_version": CARD_FORMAT_VERSION, "file": name, **card, "sha256": sha256}


def write_model(path: Path, dump: Callable[[Path], None], card: dict[str, Any]) -> dict[str, Any]:
    """Write a model file with ``dump`` (called with a temporary path beside ``path``)
    and its card, each complete under a temporary name before either is renamed into
    place: a failure (a full disk, a folder that cannot be written) leaves the earlier
    model and card as they were and no temporary file. Returns the card.

    Raises:
        ModelError: naming the file and why it could not be written.
    """
    part = path.with_name(path.name + ".part")
    card_part = card_path(path).with_suffix(".json.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        dump(part)
        full = _full_card(path.name, card, sha256_of(part))
        _card_part(path, full)
        part.replace(path)
        card_part.replace(card_path(path))
    except OSError as err:
        for leftover in (part, card_part):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise ModelError(f"cannot write {err.filename or path}: {err.strerror or err}") from err
    except BaseException:
        for leftover in (part, card_part):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise
    return full


def check_sklearn_version(path: Path, card: dict[str, Any], remedy: str) -> None:
    """Refuse a pickle made with another scikit-learn minor version than the installed
    one (``ModelError`` naming the file, both versions and ``remedy``). Reads the
    installed version from the package's metadata: no scikit-learn import (1-2 s)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("scikit-learn")
    except PackageNotFoundError:  # pragma: no cover - a dependency
        import sklearn

        installed = sklearn.__version__
    made_with = card.get("sklearn_version")
    if not isinstance(made_with, str) or not made_with:
        raise ModelError(f"{path}: its card does not say which scikit-learn made it; {remedy}")
    if made_with.split(".")[:2] != installed.split(".")[:2]:
        raise ModelError(f"{path} was made with scikit-learn {made_with}, this is {installed}; "
                         f"install scikit-learn=={made_with} or {remedy}")


def load_checked_pickle(path: Path, card: dict[str, Any], data: bytes, expected: type, what: str,
                        remedy: str) -> Any:
    """Unpickle ``data``, the bytes of ``path`` that ``read_verified`` checked against
    ``card``: refuse another scikit-learn minor version than the card's, map any
    loading error to ``ModelError``, and check the object's type."""
    check_sklearn_version(path, card, remedy)
    try:
        obj = _unpickle_model(data)
    except ForbiddenGlobal as err:
        raise ModelError(f"{path} is refused: its pickle {err}, as no Sieve model does (a pickle can run any code "
                         f"when loaded: this one is not loaded); {remedy}") from err
    except Exception as err:  # a damaged pickle can raise nearly anything
        raise ModelError(f"{path} cannot be loaded ({type(err).__name__}: {err}); {remedy}") from err
    if not isinstance(obj, expected):
        raise ModelError(f"{path} holds an object of type {type(obj).__name__}, not {what}")
    return obj


class ForbiddenGlobal(Exception):
    """A model's pickle names a class or function no Sieve model holds."""


#: What a Sieve model's pickle may call to make an object (REDUCE): NumPy's dtypes,
#: scalars and array reconstruction (never ``numpy.ndarray`` itself, whose ``buffer``
#: argument would make objects of raw bytes), its random generators, scikit-learn's
#: compiled loss classes and Cython unpickling helpers, and builtins for containers.
_CALLABLE = frozenset({
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__bit_generator_ctor"), ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"), ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("sklearn._loss._loss", "CyHalfBinomialLoss"), ("sklearn._loss._loss", "CyHalfMultinomialLoss"),
    ("sklearn._loss._loss", "__pyx_unpickle_CyHalfBinomialLoss"),
    ("sklearn._loss._loss", "__pyx_unpickle_CyHalfMultinomialLoss"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"), ("builtins", "complex"),
    ("copyreg", "_reconstructor"), ("collections", "OrderedDict"), ("collections", "defaultdict"),
})

#: The classes a Sieve model's pickle may create without calling them (NEWOBJ: their
#: ``__new__``, then their state set): Sieve's model classes, joblib's array wrapper,
#: and the scikit-learn estimators and parts Sieve's models are made of.
_CLASSES = frozenset({
    ("classifier.model", "BlockModel"), ("classifier.model", "ModelParams"), ("classifier.model", "_Features"),
    ("classifier.adapt", "PublisherAdapter"), ("classifier.trees", "LinearPass"), ("classifier.trees", "TreePass"),
    ("classifier.trees", "_Bins"), ("classifier.trees", "_Tree"),
    ("classifier.features", "DenseFeatures"), ("classifier.features", "TextNgrams"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("sklearn.linear_model._stochastic_gradient", "SGDClassifier"),
    ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting", "HistGradientBoostingClassifier"),
    ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"),
    ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
    ("sklearn.preprocessing._label", "LabelEncoder"),
    ("sklearn._loss.loss", "HalfMultinomialLoss"), ("sklearn._loss.loss", "HalfBinomialLoss"),
    ("sklearn._loss.link", "MultinomialLogit"), ("sklearn._loss.link", "LogitLink"),
    ("sklearn._loss.link", "IdentityLink"), ("sklearn._loss.link", "Interval"),
    ("numpy.random.bit_generator", "SeedSequence"), ("numpy.random._pcg64", "PCG64"),
    ("numpy.random._mt19937", "MT19937"), ("numpy.random._generator", "Generator"),
    ("numpy.random.mtrand", "RandomState"), ("builtins", "object"),
})

#: joblib's record of an array, read into an ``_ArrayRecord``.
_ARRAY_RECORD = ("joblib.numpy_pickle", "NumpyArrayWrapper")

#: Everything a model's pickle may name: what it may call or create, and
#: ``numpy.ndarray`` as a value only (an array's class, in joblib's wrapper).
_ALLOWED_GLOBALS = _CALLABLE | _CLASSES | {("numpy", "ndarray")}

#: The modules of ``_ALLOWED_GLOBALS``, and NumPy's dtype classes: a pickle naming
#: another module does not get it imported.
_ALLOWED_MODULES = frozenset({module for module, _ in _ALLOWED_GLOBALS} | {"numpy.dtypes"})

#: A model pickle decompressed past this is refused (the shipped ones are 3-4 MB).
MAX_MODEL_BYTES = 1 << 30


def _dtype_class(module: str, obj: object) -> bool:
    """A NumPy dtype class (``numpy.dtypes.Float64DType``): pickles name them as values."""
    if module != "numpy.dtypes":
        return False
    import numpy as np

    return isinstance(obj, type) and issubclass(obj, np.dtype)


class _ArrayRecord:
    """joblib's record of an array in a model's pickle (its ``NumpyArrayWrapper``):
    the array's dtype, shape and order. The array's bytes follow in the file, after
    the frame that holds the record's state; ``_read_array`` reads them. Model files
    are read without importing joblib (6 MB of every process that labels)."""


def _read_array(state: object, stream: Any) -> Any:
    """The array an ``_ArrayRecord`` with ``state`` stands for, read from ``stream``
    as ``joblib.dump`` wrote it: a byte giving the length of the alignment padding
    (written since joblib 1.2), the padding, then the values in the record's order."""
    import numpy as np

    if not isinstance(state, dict):
        raise ValueError("an array's record is no mapping")
    dtype, shape, order = state.get("dtype"), state.get("shape"), state.get("order", "C")
    if isinstance(dtype, np.dtype) and (dtype.hasobject or _holds_objects(dtype)):
        raise ForbiddenGlobal("holds an array of Python objects")
    if not isinstance(dtype, np.dtype) or dtype.itemsize == 0:
        raise ValueError("an array's record has no plain dtype")
    if (not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape) or order not in ("C", "F")
            or state.get("subclass", np.ndarray) is not np.ndarray):
        raise ValueError("an array's record has no valid shape, order or class")
    if state.get("numpy_array_alignment_bytes") is not None:
        _skip_padding(stream)
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize > MAX_MODEL_BYTES:
        raise ValueError(f"an array is larger than {MAX_MODEL_BYTES >> 20} MiB")
    array: Any = np.empty(count, dtype=dtype)
    if stream.readinto(memoryview(array).cast("B")) != array.nbytes:
        raise ValueError("an array's values are cut short")
    array = array.reshape(shape[::-1]).T if order == "F" else array.reshape(shape)
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


def _holds_objects(dtype: Any) -> bool:
    """Whether values of ``dtype`` hold Python objects, by its fields and subarrays: a
    pickle sets a record's fields and its flags each as it says, so a record of objects
    can say it holds none (``hasobject``), and its values would be read as raw bytes."""
    if dtype.kind == "O":
        return True
    if dtype.subdtype is not None and _holds_objects(dtype.subdtype[0]):
        return True
    return dtype.names is not None and any(_holds_objects(dtype.fields[name][0]) for name in dtype.names)


def _odd_dtype(dtype: Any) -> str | None:
    """Why a dtype whose state a model's pickle set is refused, or None: Python objects
    inside a record or subarray (no Sieve model has them), or fields, size or flags
    NumPy's own constructor would not give it (a field past the record's end is read
    outside the array)."""
    import numpy as np

    if dtype.names is None and dtype.subdtype is None:  # NumPy keeps a plain dtype's own flags
        return None
    if _holds_objects(dtype):
        return "with Python objects inside a record"
    try:
        if dtype.subdtype is not None:
            rebuilt = np.dtype(dtype.subdtype)
        else:
            fields = [dtype.fields[name] for name in dtype.names]
            rebuilt = np.dtype({"names": list(dtype.names), "formats": [f[0] for f in fields],
                                "offsets": [f[1] for f in fields], "titles": [f[2] if len(f) > 2 else None
                                                                              for f in fields],
                                "itemsize": dtype.itemsize}, align=dtype.isalignedstruct)
    except (TypeError, ValueError):
        return "that NumPy would not make (its fields do not fit in its size)"
    if rebuilt != dtype or rebuilt.itemsize != dtype.itemsize or rebuilt.flags != dtype.flags:
        return "that NumPy would not make (its fields, size or flags)"
    return None


def _skip_padding(stream: Any) -> None:
    length = stream.read(1)
    if not length:
        raise ValueError("an array's values are cut short")
    stream.read(length[0])


def _unpickle_model(data: bytes) -> Any:
    """The object of a model file's bytes (``joblib.dump``, zlib-compressed as
    ``write_model``'s callers write it, or not compressed), unpickled naming nothing
    but ``_ALLOWED_GLOBALS`` (and NumPy's dtype classes), calling nothing but
    ``_CALLABLE``, creating no class but ``_CLASSES`` and setting no state on a class:
    a pickle runs what it names and calls, so a forged file and card that match
    each other run nothing else.

    Raises:
        ForbiddenGlobal: the pickle names or calls something else (before it runs).
        ValueError: the bytes are no such file, or decompress past ``MAX_MODEL_BYTES``.
    """
    import io
    import pickle
    import zlib

    import numpy as np

    from .trees import check_read, stand_in

    if data[:1] == b"\x78":  # zlib
        inflate = zlib.decompressobj()
        raw = inflate.decompress(data, MAX_MODEL_BYTES)
        if inflate.unconsumed_tail:
            raise ValueError(f"it decompresses to more than {MAX_MODEL_BYTES >> 20} MiB")
    elif data[:1] == b"\x80":  # a pickle's protocol opcode
        raw = data
    else:
        raise ValueError("not a model file (a joblib pickle, zlib-compressed)")

    base: Any = pickle._Unpickler  # type: ignore[attr-defined]  # Python's own: its dispatch table can be extended

    class Unpickler(base):  # type: ignore[misc,valid-type]
        dispatch = base.dispatch.copy()

        def __init__(self, stream: io.BytesIO) -> None:
            super().__init__(stream)
            self.stream = stream  # an array's values are read from it, past the pickle's frames
            self.named: dict[int, tuple[str, str]] = {}  # id of each global found -> its name
            self.built: list[Any] = []  # each object whose state was set

        def find_class(self, module: str, name: str) -> Any:
            # a dotted name reaches any attribute of what it starts from; importing a
            # module runs its code: neither before the name is known to be allowed
            if "." in name or module not in _ALLOWED_MODULES:
                raise ForbiddenGlobal(f"names {module}.{name}")
            # scikit-learn's estimators are read into Sieve's stand-ins: labelling
            # does not import scikit-learn (``trees``)
            obj = (_ArrayRecord if (module, name) == _ARRAY_RECORD
                   else stand_in(module, name) if (module, name) in _ALLOWED_GLOBALS else None)
            if obj is None:
                obj = super().find_class(module, name)
            if (module, name) not in _ALLOWED_GLOBALS and not _dtype_class(module, obj):
                raise ForbiddenGlobal(f"names {module}.{name}")
            self.named[id(obj)] = (module, name)
            return obj

        def _name(self, obj: Any) -> tuple[str, str]:
            return self.named.get(id(obj), (type(obj).__module__, getattr(obj, "__qualname__", type(obj).__name__)))

        def load_reduce(self) -> None:
            name = self._name(self.stack[-2])
            if name not in _CALLABLE:
                raise ForbiddenGlobal(f"calls {'.'.join(name)}")
            base.load_reduce(self)

        def _must_create(self, cls: Any) -> None:
            if self._name(cls) not in _CLASSES:
                raise ForbiddenGlobal(f"creates {'.'.join(self._name(cls))}")

        def load_newobj(self) -> None:  # stack: cls, args
            self._must_create(self.stack[-2])
            base.load_newobj(self)

        def load_newobj_ex(self) -> None:  # stack: cls, args, kwargs
            self._must_create(self.stack[-3])
            base.load_newobj_ex(self)

        def load_build(self) -> None:
            target, state = self.stack[-2], self.stack[-1]
            if isinstance(target, type):  # state set on a class changes how its objects behave
                raise ForbiddenGlobal(f"changes the class {'.'.join(self._name(target))}")
            if isinstance(target, _ArrayRecord):
                # an array of Python objects would be a pickle of its own; no Sieve
                # model holds one (``_read_array`` refuses it)
                self.stack.pop()
                self.stack[-1] = _read_array(state, self.stream)
                return
            base.load_build(self)
            if isinstance(target, np.dtype) and (why := _odd_dtype(target)) is not None:
                # NumPy sets a dtype's fields, size and flags as its pickled state says
                raise ForbiddenGlobal(f"sets a dtype {why}")
            self.built.append(target)

        def load_inst(self) -> None:
            # protocol 0 and 1's INST and OBJ call a class with arguments from the stack
            # (OBJ: any object there) as REDUCE does; joblib never writes them
            raise ForbiddenGlobal("calls a class through the INST opcode")

        def load_obj(self) -> None:
            raise ForbiddenGlobal("calls an object through the OBJ opcode")

        dispatch[pickle.INST[0]] = load_inst
        dispatch[pickle.OBJ[0]] = load_obj
        dispatch[pickle.REDUCE[0]] = load_reduce
        dispatch[pickle.NEWOBJ[0]] = load_newobj
        dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
        dispatch[pickle.BUILD[0]] = load_build

    unpickler = Unpickler(io.BytesIO(raw))
    obj = unpickler.load()
    check_read(unpickler.built)  # as they are now: the pickle may have changed them since
    return obj

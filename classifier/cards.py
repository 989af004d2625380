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

__all__ = ["card_path", "check_card_file", "check_sklearn_version", "load_checked_pickle", "open_verified",
           "read_card", "read_verified", "sha256_of", "verify_file", "write_card", "write_model"]

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


def read_card(model_file: Path) -> dict[str, Any]:
    """The card of ``model_file``. Raises ``ModelError`` when missing or unreadable."""
    path = card_path(model_file)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ModelError(f"model card {path} is missing; the model {model_file} cannot be vouched for "
                         "(restore the card from the folder it came from, pass another --model-dir, or "
                         "for a block model retrain it with `sieve train`)") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"model card {path} is unreadable ({err}); restore it or retrain") from err
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
    if card.get("file") not in (None, path.name):
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


def _card_part(model_file: Path, full: dict[str, Any]) -> Path:
    """``full`` written as the card of ``model_file`` under its temporary name."""
    part = card_path(model_file).with_suffix(".json.part")
    part.write_text(json.dumps(full, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
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
    import io

    import joblib

    check_sklearn_version(path, card, remedy)
    try:
        obj = joblib.load(io.BytesIO(data))
    except Exception as err:  # a damaged pickle can raise nearly anything
        raise ModelError(f"{path} cannot be loaded ({type(err).__name__}: {err}); {remedy}") from err
    if not isinstance(obj, expected):
        raise ModelError(f"{path} holds an object of type {type(obj).__name__}, not {what}")
    return obj

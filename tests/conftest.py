"""Shared fixtures: paths, a tiny block model trained in seconds, the shipped models.

Nothing here reads /work/shared or the network: the training documents are the
hand-written ``tests/data/labelled.jsonl`` and the language model is the shipped
``models/lid.ftz`` (committed with the code).
"""

from __future__ import annotations

import contextlib
import os

# HistGradientBoosting's OpenMP threads cost far more than they gain on a few hundred
# rows, and on a busy 2-core CI box they make a 1 s fit take 10 s. Must be set before
# the OpenMP runtime starts; results do not depend on the thread count.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil  # noqa: E402
import sys  # noqa: E402
import sysconfig  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from classifier.language import LanguageIdentifier  # noqa: E402
from classifier.model import BlockModel, ModelParams, fit_block_model, load_model, save_model  # noqa: E402
from classifier.readers import RejectSink, read_any  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHIPPED_MODELS = REPO / "models"

#: Small enough to train in about a second, big enough to learn menus vs prose.
TINY_PARAMS = ModelParams(n_char_features=2**12, n_word_features=2**10, trees=20, inner_folds=2, random_state=0)

# The machine running CI may be slow and busy: no per-example deadline. The examples are the
# same on every run (a property a random draw breaks once in many runs failed CI at random);
# `pytest --hypothesis-profile explore` draws many new ones, to look for such cases.
_QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
settings.register_profile("sieve", deadline=None, max_examples=60, derandomize=True, suppress_health_check=_QUIET)
settings.register_profile("explore", deadline=None, max_examples=2000, suppress_health_check=_QUIET)
settings.load_profile("sieve")


@pytest.fixture(scope="session", autouse=True)
def _one_openmp_thread() -> Iterator[None]:
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shipped_model_dir() -> Path:
    assert (SHIPPED_MODELS / "blocks.joblib").is_file(), "models/blocks.joblib is part of the repository"
    return SHIPPED_MODELS


@pytest.fixture(scope="session")
def lid() -> LanguageIdentifier:
    """The shipped fastText language model."""
    return LanguageIdentifier(SHIPPED_MODELS / "lid.ftz")


@pytest.fixture(scope="session")
def labelled_documents(lid: LanguageIdentifier) -> list:
    """The 30 hand-written labelled documents (6 publishers), with block languages
    annotated as ``sieve train`` and ``sieve score`` do before the block model."""
    sink = RejectSink()
    docs = list(read_any(DATA / "labelled.jsonl", sink))
    assert sink.total == 0 and len(docs) == 30
    return [lid.annotate_blocks(d) for d in docs]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, labelled_documents: list) -> Path:
    """A model folder usable as ``--model-dir``: a tiny block model and the shipped lid.ftz."""
    model_dir = tmp_path_factory.mktemp("tiny-model")
    model = fit_block_model(labelled_documents, params=TINY_PARAMS)
    save_model(model, model_dir, card={"training_files": [{"path": "tests/data/labelled.jsonl"}]})
    for name in ("lid.ftz", "lid.json"):
        shutil.copyfile(SHIPPED_MODELS / name, model_dir / name)
    return model_dir


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> BlockModel:
    return load_model(tiny_model_dir)


@pytest.fixture
def copy_model_dir(tiny_model_dir: Path, tmp_path: Path):
    """A private copy of the tiny model folder that a test may damage."""

    def make(name: str = "models") -> Path:
        dst = tmp_path / name
        shutil.copytree(tiny_model_dir, dst)
        return dst

    return make


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def sieve_executable() -> str:
    """The installed ``sieve`` console script (``pip install -e .``)."""
    name = "sieve.exe" if sys.platform == "win32" else "sieve"
    beside = Path(sysconfig.get_path("scripts")) / name
    found = str(beside) if beside.is_file() else shutil.which("sieve")
    assert found, "the `sieve` console script is not installed; run `pip install -e '.[test]'`"
    return found


@pytest.fixture
def break_document(monkeypatch: pytest.MonkeyPatch):
    """Make a ``Sieve`` fail on one document (its language step raises, as a bug
    would): ``break_document(sieve, doc_id)``."""

    def make(sieve, doc_id: str) -> None:  # type: ignore[no-untyped-def]
        real = sieve.language.finish

        def finish(doc, *args: object, **kw: object):  # type: ignore[no-untyped-def]
            if doc.id == doc_id:
                raise RuntimeError("broken")
            return real(doc, *args, **kw)

        monkeypatch.setattr(sieve.language, "finish", finish)

    return make


def workers_of(psutil: Any, pid: int) -> list[Any]:
    """The worker processes of the run ``pid`` (not multiprocessing's resource tracker)."""
    found = []
    for child in psutil.Process(pid).children():
        with contextlib.suppress(psutil.Error):  # gone, or a zombie not yet reaped
            if "resource_tracker" not in " ".join(child.cmdline()):
                found.append(child)
    return found


def started_workers(psutil: Any, proc: Any, count: int = 2, seconds: float = 120) -> list[Any]:
    """The ``count`` worker processes of the run ``proc`` (a ``subprocess.Popen``), once it has
    started them (the test fails if it has not within ``seconds``)."""
    import time

    deadline = time.monotonic() + seconds
    workers: list[Any] = []
    while time.monotonic() < deadline and len(workers) < count and proc.poll() is None:
        workers = workers_of(psutil, proc.pid)
        time.sleep(0.02)
    assert len(workers) == count, f"the run did not start its {count} workers"
    return workers

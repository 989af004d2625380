"""Label documents end to end: the block model, then the language layer.

``Sieve`` is the library's front door::

    from classifier import Sieve
    sieve = Sieve()                                    # the shipped models, loaded on first use
    doc = sieve.label(["A headline", "The first paragraph ...", "Home | News"])
    [(b.label, b.lang) for b in doc.blocks]
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import sysconfig
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .document import Block, Document, without_blank_blocks
from .errors import ClassifierError, ModelError
from .language import LanguageIdentifier

if TYPE_CHECKING:  # numpy and scikit-learn load with the first model: a light `sieve --help` and clean parent
    from .model import BlockModel
    from .templates import TemplateMemory

__all__ = ["LID_MODEL_FILE", "Sieve", "default_model_dir"]

logger = logging.getLogger(__name__)

LID_MODEL_FILE = "lid.ftz"
BLOCK_MODEL_FILE = "blocks.joblib"  # the same names as model.BLOCK_MODEL_FILE / HTML_MODEL_FILE
HTML_MODEL_FILE = "html.joblib"
#: Documents labelled per call of the block model: large enough to amortise the
#: vectorised steps, small enough to keep memory flat on any input size.
BATCH_SIZE = 64
#: ... and a batch closes early at this many blocks: a few pages of 3,000 blocks
#: each must not multiply the feature matrices (memory stays flat on any input).
BATCH_BLOCKS = 4000


#: Where ``pip install .`` puts the models (pyproject's ``[tool.setuptools.data-files]``),
#: relative to the install scheme's data folder (``sys.prefix``, or ``~/.local`` for --user).
INSTALLED_MODEL_DIR = Path("share") / "sieve" / "models"


def default_model_dir() -> Path:
    """Where the shipped models are: ``$SIEVE_MODEL_DIR`` if set, else the ``models/``
    folder of the source checkout (editable installs), else ``share/sieve/models`` in
    the data folder of the install scheme that holds them (``sys.prefix`` for a venv
    or system install, the user base for ``pip install --user``)."""
    env = os.environ.get("SIEVE_MODEL_DIR")
    if env:
        return Path(env)
    return shipped_model_dir()


def shipped_model_dir() -> Path:
    """The models that come with Sieve (``default_model_dir`` without the environment):
    the checkout's ``models/``, else the install's ``share/sieve/models``."""
    root = Path(__file__).resolve().parent.parent
    # a checkout has pyproject.toml beside models/; an installed package's parent is
    # site-packages, where a folder called models/ may belong to another package
    if (root / "pyproject.toml").is_file() and (root / "models").is_dir():
        return root / "models"
    installed = [Path(sysconfig.get_path("data")) / INSTALLED_MODEL_DIR]
    try:
        installed.append(Path(sysconfig.get_path("data", sysconfig.get_preferred_scheme("user"))) / INSTALLED_MODEL_DIR)
    except KeyError:  # pragma: no cover - a Python built without user schemes
        pass
    installed.append(Path(sys.prefix) / INSTALLED_MODEL_DIR)
    for folder in installed:
        if (folder / BLOCK_MODEL_FILE).is_file():
            return folder
    return installed[0]  # none there: errors name where a normal install puts them


#: Which block model labels a document: ``auto`` (the HTML model for blocks cut from
#: pages or given with their DOM facts, ``html_ctx``, when the folder has one; the text
#: model otherwise), ``text`` or ``html``.
MODEL_CHOICES = ("auto", "text", "html")


class Sieve:
    """Labels blocks and finds their languages with the models of one folder.

    Models load lazily, once per process (block models are cached by folder).
    Documents whose blocks were cut from HTML (they carry DOM facts) go to the HTML
    model (``html.joblib``) when the folder has one, the others to the text model
    (``blocks.joblib``); ``model`` forces one of them.
    """

    def __init__(self, model_dir: Path | str | None = None, *, model: str = "auto",
                 templates: TemplateMemory | None = None) -> None:
        if model not in MODEL_CHOICES:
            raise ValueError(f"model must be one of {', '.join(MODEL_CHOICES)}, not {model!r}")
        # absolute now: a relative folder means this process's working directory when it was given,
        # not a later one's (a chdir, a Dask worker started elsewhere on a shared file system)
        self.model_dir = (Path(model_dir) if model_dir is not None else default_model_dir()).absolute()
        self.language = LanguageIdentifier(self.model_dir / LID_MODEL_FILE)
        self.model = model
        self.templates = templates  # publishers' repeated blocks, applied after the block model
        self._adapter: Any = None  # a PublisherAdapter from the folder's adapter.joblib, loaded on first use
        self._adapter_loaded = False
        self.adapted = 0  # documents the publisher adapter adjusted so far
        self._block_model: BlockModel | None = None
        self._html_model: BlockModel | None = None
        self._model_infos: dict[str, dict[str, str]] = {}  # model_info's answers, per model kind

    def __getstate__(self) -> dict[str, Any]:
        # sent to a pool worker: the folder and options, not the loaded models (6.5 MB
        # a task); the worker loads them once (models are cached per process)
        state = {k: v for k, v in self.__dict__.items() if k not in ("_block_model", "_html_model", "_adapter")}
        state["_adapter_loaded"] = False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._block_model = self._html_model = self._adapter = None
        self._model_infos = {}

    def _check_folder(self) -> None:
        if not self.model_dir.is_dir():
            env = os.environ.get("SIEVE_MODEL_DIR")
            if env and Path(env).absolute() == self.model_dir:
                raise ModelError(f"model folder {self.model_dir} (from SIEVE_MODEL_DIR) not found; set "
                                 "SIEVE_MODEL_DIR to a folder of models, or pass --model-dir (Sieve(model_dir=...))")
            if self.model_dir == shipped_model_dir():
                raise ModelError(f"the shipped model folder {self.model_dir} is missing (an install without its "
                                 "models?); reinstall Sieve, or pass --model-dir (Sieve(model_dir=...)) a folder "
                                 "of models")
            raise ModelError(f"model folder {self.model_dir} not found: --model-dir (Sieve(model_dir=...)) names a "
                             "folder of models (blocks.joblib, lid.ftz and their cards)")

    @property
    def block_model(self) -> BlockModel:
        """The text model (``blocks.joblib``)."""
        if self._block_model is None:
            self._check_folder()
            from .model import load_model

            self._block_model = load_model(self.model_dir)
        return self._block_model

    def _has_optional_model(self, name: str) -> bool:
        """Whether the folder has the optional model file ``name`` (the HTML model, a
        publisher adapter). Raises ``ModelError`` when its card is there without it."""
        from .cards import missing_model_file

        path = self.model_dir / name
        if path.is_file():
            return True
        problem = missing_model_file(path)
        if problem is not None:
            raise ModelError(problem)
        return False

    @property
    def has_html_model(self) -> bool:
        return self._has_optional_model(HTML_MODEL_FILE)

    @property
    def html_model(self) -> BlockModel:
        """The HTML model (``html.joblib``)."""
        if self._html_model is None:
            self._check_folder()
            if not self.has_html_model:
                raise ModelError(f"{self.model_dir / HTML_MODEL_FILE} not found: this model folder has no HTML "
                                 "model; use --model text")
            from .model import load_model

            self._html_model = load_model(self.model_dir, HTML_MODEL_FILE)
        return self._html_model

    @property
    def adapter(self) -> Any:
        """The folder's publisher adapter (``sieve train --base``), or None."""
        if not self._adapter_loaded:
            from .adapt import ADAPTER_FILE, load_adapter

            path = self.model_dir / ADAPTER_FILE
            self._adapter = load_adapter(path, self.model_dir) if self._has_optional_model(ADAPTER_FILE) else None
            self._adapter_loaded = True
        return self._adapter

    def adapter_name(self) -> str | None:
        """The folder's publisher adapter in a few words ("html model; example.com"), or None."""
        adapter = self.adapter
        if adapter is None:
            return None
        return f"{adapter.base_model} model; {', '.join(sorted(adapter.publishers))}"

    def adapter_note(self, documents: int) -> str | None:
        """One line on the folder's publisher adapter for a run summary (None without one)."""
        name = self.adapter_name()
        return adapter_summary(name, self.adapted, documents) if name else None

    def model_kind(self, document: Document) -> str:
        """Which block model labels ``document``: "html" or "text" (see the class docstring)."""
        if self.model == "html":
            return "html"
        if self.model == "auto" and self.has_html_model and document.is_page:
            return "html"
        return "text"

    def model_for(self, document: Document) -> BlockModel:
        """The block model that labels ``document`` (see the class docstring)."""
        return self.html_model if self.model_kind(document) == "html" else self.block_model

    def model_info(self, kind: str = "text") -> dict[str, str]:
        """Name, version, the block model that labels documents of ``kind`` ("text" or
        "html": ``model_kind``) and the first 16 hex digits of its sha256 (from its
        card), for output metadata."""
        info = self._model_infos.get(kind)
        if info is None:
            import json

            from . import __version__
            from .cards import card_path

            name = HTML_MODEL_FILE if kind == "html" else BLOCK_MODEL_FILE
            try:
                card = json.loads(card_path(self.model_dir / name).read_text(encoding="utf-8"))
                sha = str(card.get("sha256", "")) if isinstance(card, dict) else ""
            except (OSError, ValueError):
                sha = ""
            info = self._model_infos[kind] = {"name": "sieve", "version": __version__, "block_model": name,
                                              "block_model_sha256": sha[:16]}
        return info

    def model_info_for(self, document: Document) -> dict[str, str]:
        """``model_info`` of the block model that labels ``document``, with the first
        16 hex digits of the publisher adapter's sha256 when it adjusts the document."""
        kind = self.model_kind(document)
        info = self.model_info(kind)
        adapter = self.adapter
        if adapter is None or not adapter.applies_to(document, kind):
            return info
        key = f"{kind}+adapter"
        if key not in self._model_infos:
            from .cards import read_card

            sha = str(read_card(self.model_dir / "adapter.joblib").get("sha256", ""))
            self._model_infos[key] = {**info, "adapter_sha256": sha[:16]}
        return self._model_infos[key]

    def model_identity(self) -> dict[str, str | None]:
        """Each model file of the folder that can label a document under this Sieve's
        ``model`` choice, with the sha256 its card gives (``None`` for an optional file
        the folder does not have): what a clean shard records as the models that made
        it. ``--model text`` never reads the HTML model, ``--model html`` never the
        text model, so a change to those does not count; a publisher adapter may adjust
        either model's output, so it counts for every choice.

        Raises:
            ModelError: a model file's card is missing or unreadable.
        """
        from .cards import read_card

        self._check_folder()
        identity: dict[str, str | None] = {}
        # "adapter.joblib": adapt.ADAPTER_FILE, named here so that this check loads no scikit-learn
        names = {"text": (BLOCK_MODEL_FILE, LID_MODEL_FILE, "adapter.joblib"),
                 "html": (HTML_MODEL_FILE, LID_MODEL_FILE, "adapter.joblib")}.get(
            self.model, (BLOCK_MODEL_FILE, HTML_MODEL_FILE, LID_MODEL_FILE, "adapter.joblib"))
        for name in names:
            path = self.model_dir / name
            present = self._has_optional_model(name) if name in (HTML_MODEL_FILE, "adapter.joblib") else path.is_file()
            identity[name] = str(read_card(path).get("sha256")) if present else None
        return identity

    def verify_models(self) -> None:
        """Check each model file this Sieve may use (as ``check_models`` chooses them)
        against its card -- sha256, the file it names, the model format, features version
        and scikit-learn it was made with -- without loading any, nor importing scikit-learn: a cheap early failure
        for a process that only dispatches work (the workers check the rest)."""
        from .cards import check_card_file, verify_file
        from .versions import check_adapter_card, check_block_model_card

        self._check_folder()
        if self.model == "html" and not self.has_html_model:
            _ = self.html_model  # raises: this folder has no HTML model
        for name in self._block_model_files():
            path = self.model_dir / name
            check_block_model_card(path, verify_file(path))
        check_card_file(self.model_dir / LID_MODEL_FILE, verify_file(self.model_dir / LID_MODEL_FILE))
        if self._has_optional_model("adapter.joblib"):
            check_adapter_card(self.model_dir / "adapter.joblib", verify_file(self.model_dir / "adapter.joblib"),
                               self.model_dir)

    def _block_model_files(self) -> list[str]:
        """The block model files this Sieve's ``model`` choice may use."""
        names = [BLOCK_MODEL_FILE] if self.model != "html" else []
        if self.model == "html" or (self.model == "auto" and self.has_html_model):
            names.append(HTML_MODEL_FILE)
        return names

    def check_models(self) -> None:
        """Check now, before any input is read, every model this Sieve may use against
        its card, this Sieve and this scikit-learn, so that a bad model fails at once.
        The block models themselves load when a document first needs them: a run on
        text never loads the HTML model, a run on pages never loads the text model."""
        from .model import check_model_card

        self._check_folder()
        if self.model == "html" and not self.has_html_model:
            _ = self.html_model  # raises: this folder has no HTML model
        for name in self._block_model_files():
            check_model_card(self.model_dir / name)
        _ = self.adapter
        _ = self.language.model

    def label(self, document: Document | Sequence[str]) -> Document:
        """One document (or a list of block texts) with labels, scores and languages.

        Raises:
            TypeError: ``document`` is neither a ``Document`` nor a list of strings.
            ModelError: a model is missing, damaged or does not match its card.
        """
        if isinstance(document, str):
            raise TypeError("pass a Document or a list of block texts, not str (one text? put it in a list: [text])")
        return next(self._label_documents(iter([_as_document(document)]), BATCH_SIZE, None))

    def label_many(self, documents: Iterable[Document | Sequence[str]], *, batch_size: int = BATCH_SIZE,
                   on_error: Callable[[Document, Exception], None] | None = None) -> Iterator[Document]:
        """Label documents (each a ``Document`` or a list of block texts) lazily, in
        input order, ``batch_size`` at a time.

        A list of block texts becomes a document whose id is its position,
        ``doc:1``, ``doc:2``, ... (``label`` names its one document ``doc``).
        When ``documents`` itself raises, the documents it gave before are
        labelled and yielded first, then its exception is raised.

        Args:
            on_error: called with a document that could not be labelled and the
                exception (a bug or a pathological input): that document is skipped
                and the run goes on. An item that is no document at all is passed as
                an empty document with its position as id (``doc:3``) and the
                ``TypeError`` (a ``Document`` whose blocks are not ``Block(text=str)``:
                itself). Without ``on_error`` the exception propagates.

        Raises:
            TypeError: a document is neither a ``Document`` nor a list of strings.
            ValueError: ``batch_size`` is below 1.
        """
        if isinstance(documents, (str, bytes, Document, Mapping)) or not isinstance(documents, Iterable):
            one = (" (one document: label)" if isinstance(documents, Document)
                   else " (a record? Document.from_dict(record), in a list)" if isinstance(documents, Mapping) else "")
            raise TypeError(f"label_many takes an iterable of documents, not {type(documents).__name__}{one}")
        if not isinstance(batch_size, Integral) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size is {batch_size!r}: documents labelled at a time, 1 or more")
        return self._label_documents(_documents(documents, on_error), batch_size, on_error)

    def _label_documents(self, it: Iterator[Document], batch_size: int,
                         on_error: Callable[[Document, Exception], None] | None) -> Iterator[Document]:
        self._check_folder()  # a missing folder said as such, not as its first missing file
        failed: list[Exception] = []  # what the input raised after the documents of a batch
        while batch := _next_batch(it, batch_size, failed):  # it resumes where the last batch ended
            try:
                yield from self._label_batch(batch)
            except ClassifierError:
                raise  # a model problem: no document can be labelled
            except Exception:
                if on_error is None:
                    raise
                # find the culprit: label one by one, skipping only what fails
                for doc in batch:
                    try:
                        yield from self._label_batch([doc])
                    except ClassifierError:
                        raise
                    except Exception as err:  # noqa: BLE001 - reported through on_error
                        logger.debug("cannot label document %s", doc.id, exc_info=True)
                        on_error(doc, err)
            if failed:  # the documents read before the input failed are labelled and given first
                raise failed[0]

    def _label_batch(self, batch: list[Document]) -> list[Document]:
        # block languages first: the block model uses them (a block in another
        # language than the rest of the page is rarely the article); then, with the
        # labels, the main language, and every block's final language, segments and
        # foreign flag. fastText runs once per distinct text of the batch.
        texts = [b.text for doc in batch for b in doc.blocks]
        found = self.language.analyze_many(texts)
        analyses, start = [], 0
        for doc in batch:
            analyses.append(found[start:start + len(doc.blocks)])
            start += len(doc.blocks)
        import numpy as np

        from .model import labels_and_scores

        with_langs = [self.language.annotate_blocks(doc, an) for doc, an in zip(batch, analyses)]
        # each document to its model (text or HTML), one call per model, order kept
        kinds = [self.model_kind(doc) for doc in with_langs]
        groups: dict[str, list[int]] = {}
        for i, kind in enumerate(kinds):
            groups.setdefault(kind, []).append(i)
        probs: list[np.ndarray] = [np.zeros((0, 3))] * len(with_langs)
        # blocks of no text (a record's "" or "  ") are no context: each takes the label of
        # the block before it (empty strings between two paragraphs made both navigation)
        seen = [without_blank_blocks(doc) for doc in with_langs]
        for kind, members in groups.items():
            model = self.html_model if kind == "html" else self.block_model
            for i, p in zip(members, model.predict_proba([seen[i][0] for i in members])):
                kept = seen[i][1]
                probs[i] = p if kept is None else p[_before_or_first(kept, len(with_langs[i].blocks))]
        out = []
        adapter = self.adapter
        adapted = 0
        templates = self.templates
        counted = (templates.documents, templates.applied) if templates is not None else (0, 0)
        try:
            for doc, an, p, kind in zip(with_langs, analyses, probs, kinds):
                if adapter is not None and adapter.applies_to(doc, kind):
                    p = adapter.adjust(doc, p, kind)
                    adapted += 1
                if templates is not None:
                    p = templates.adjust(doc, p)
                labels, scores = labels_and_scores(p)
                out.append(self.language.finish(doc, an, labels, scores))
        except BaseException:
            if templates is not None:  # the batch is labelled again one by one: count it then
                templates.documents, templates.applied = counted
            raise
        self.adapted += adapted  # only for a batch that is done: a failed one is labelled again one by one
        return out


def _before_or_first(kept: list[int], n: int) -> Any:
    """For each of ``n`` blocks, the row of the kept block at or before it (the first kept
    one for blocks before any)."""
    import numpy as np

    return np.maximum(np.searchsorted(np.asarray(kept), np.arange(n), side="right") - 1, 0)


def adapter_summary(name: str, adapted: int | None, documents: int | None = None) -> str:
    """How many documents a publisher adapter adjusted, and why when none."""
    if adapted is None:
        return f"the folder's adapter ({name}) adjusted an unknown number of documents (shards of an earlier Sieve)"
    of = f" of {documents:,}" if documents is not None else ""
    line = f"the folder's adapter ({name}) adjusted {adapted:,}{of} documents"
    if not adapted:
        line += (": it applies to documents that its model labels and whose publisher is one of those named: the "
                 "record's `publisher` field (or --publisher), else its url's host without www. (a bare HTML file "
                 "has a url only when its head names its canonical URL)")
        if name.startswith("html model"):  # "html model; wordpress.com": records of block text go to the text model
            line += ("; an adapter of the HTML model adjusts web pages (HTML files, JSONL with 'html', WARC, "
                     "blocks with their html_ctx), which the HTML model labels: records of block texts are the text "
                     "model's")
    return line


_NO_BAD = object()


def _as_document(document: Document | Sequence[str], id: str = "doc") -> Document:
    """A ``Document`` (its blocks checked), or a list of block texts made into one
    (``Document.from_texts``) named ``id``."""
    if isinstance(document, Document):
        if not isinstance(document.blocks, tuple | list) or not isinstance(document.extra, Mapping):
            field = "blocks" if not isinstance(document.blocks, tuple | list) else "extra"
            raise TypeError(f"document {document.id!r} has {field} of type {type(getattr(document, field)).__name__}; "
                            "blocks are a tuple of Block, extra a mapping")
        bad_block = next((b for b in document.blocks if not isinstance(b, Block) or not isinstance(b.text, str)),
                         _NO_BAD)
        if bad_block is not _NO_BAD:
            what = (f"a block whose text is {type(bad_block.text).__name__}" if isinstance(bad_block, Block)
                    else f"a {type(bad_block).__name__} among its blocks")
            raise TypeError(f"document {document.id!r} has {what}; blocks are Block(text=str)")
        if any(type(b.link_chars) is not int or b.link_chars < 0
               or (b.dom is not None and (type(b.dom) is not tuple or len(b.dom) != _dom_width()))
               for b in document.blocks):
            _check_page_facts(document)  # made by hand: say which block and why
        return document
    if isinstance(document, (str, bytes, Mapping, AbstractSet)) or not isinstance(document, Iterable):
        hint = (" (a record: Document.from_dict)" if isinstance(document, Mapping)
                else " (it has no order of its own: blocks are labelled in reading order)"
                if isinstance(document, AbstractSet)
                else " (one document's block texts? Sieve.label takes them)" if isinstance(document, str) else "")
        raise TypeError(f"pass a Document or a list of block texts, not {type(document).__name__}{hint}")
    texts = list(document)
    bad = next((t for t in texts if not isinstance(t, str)), _NO_BAD)
    if bad is not _NO_BAD:
        hint = (" (a list of documents? label_many takes them)" if isinstance(bad, (Document, list, tuple))
                else "")
        raise TypeError(f"a block text must be a string, not {type(bad).__name__} ({bad!r:.40}){hint}")
    return Document.from_texts(texts, id=id)


@functools.cache
def _dom_width() -> int:
    """How many DOM facts a page block carries (``html`` is imported for pages only)."""
    from .html import DOM_FACTS

    return len(DOM_FACTS)


def _check_page_facts(document: Document) -> None:
    """A page block's facts as the models read them: ``link_chars`` a count of its
    characters, ``dom`` as many numbers as ``html.DOM_FACTS`` (another length made the
    document a page whose facts were all read as zeros)."""
    from .html import DOM_FACTS

    for i, b in enumerate(document.blocks):
        if not isinstance(b.link_chars, Integral) or isinstance(b.link_chars, bool) or b.link_chars < 0:
            raise TypeError(f"document {document.id!r}, block {i}: link_chars is {b.link_chars!r}; "
                            "it counts the block's characters inside links (an int, 0 or more)")
        if b.dom is not None and (not hasattr(b.dom, "__len__") or len(b.dom) != len(DOM_FACTS)):
            raise TypeError(f"document {document.id!r}, block {i}: dom is not {len(DOM_FACTS)} numbers "
                            "(html.DOM_FACTS, as html_to_blocks gives them); leave it None for text")


def _documents(documents: Iterable[Document | Sequence[str]],
               on_error: Callable[[Document, Exception], None] | None) -> Iterator[Document]:
    """``label_many``'s inputs as documents, lists of texts named by their position;
    with ``on_error``, an item that is no document is reported and skipped."""
    for n, item in enumerate(documents, 1):
        try:
            yield _as_document(item, f"doc:{n}")
        except TypeError as err:
            if on_error is None:
                raise
            on_error(item if isinstance(item, Document) else Document(id=f"doc:{n}", blocks=()), err)


def _next_batch(it: Iterator[Document], size: int, failed: list[Exception]) -> list[Document]:
    """Up to ``size`` documents, fewer when they reach ``BATCH_BLOCKS`` blocks. When the
    input raises after some documents, they are the batch and the exception goes to
    ``failed`` (raised once they are labelled: a reader that fails on its 40th record
    does not take the 39 before it along)."""
    batch: list[Document] = []
    blocks = 0
    try:
        for doc in it:
            batch.append(doc)
            blocks += len(doc.blocks)
            if len(batch) >= size or blocks >= BATCH_BLOCKS:
                break
    except Exception as err:
        if not batch:
            raise
        failed.append(err)
    return batch

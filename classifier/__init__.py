"""Sieve: label the blocks of scraped documents (content, boilerplate, navigation)
and find their languages.

    >>> from classifier import Sieve                       # doctest: +SKIP
    >>> doc = Sieve().label(["Headline", "First paragraph ...", "Home | About"])
"""

import logging

__version__ = "0.1.0"

from typing import Any  # noqa: E402

from .clean import CleanPolicy, CleanResult, clean_document  # noqa: E402
from .document import LABELS, Block, Document, Label, Segment, normalize_lang  # noqa: E402
from .errors import ClassifierError, InputError, ModelError, SchemaError  # noqa: E402
from .language import BlockLanguage, LanguageGuess, LanguageIdentifier, TextAnalysis, main_language  # noqa: E402
from .pipeline import Sieve, default_model_dir  # noqa: E402
from .readers import Reject, RejectSink, read_any  # noqa: E402

#: Names whose modules import numpy and scikit-learn: loaded on first use (PEP 562),
#: so `sieve --help` and the process that only dispatches `sieve clean` stay light.
_LAZY = {name: "model" for name in ("BlockModel", "ModelParams", "evaluate", "fit_block_model", "load_model",
                                    "save_model")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "LABELS",
    "Block",
    "BlockLanguage",
    "BlockModel",
    "ClassifierError",
    "CleanPolicy",
    "CleanResult",
    "Document",
    "InputError",
    "Label",
    "LanguageGuess",
    "LanguageIdentifier",
    "ModelError",
    "ModelParams",
    "Reject",
    "RejectSink",
    "SchemaError",
    "Segment",
    "Sieve",
    "TextAnalysis",
    "__version__",
    "clean_document",
    "default_model_dir",
    "evaluate",
    "fit_block_model",
    "load_model",
    "main_language",
    "normalize_lang",
    "read_any",
    "save_model",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

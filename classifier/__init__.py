"""Sieve: label the blocks of scraped documents (content, boilerplate, navigation)
and find their languages.

    >>> from classifier import Sieve                       # doctest: +SKIP
    >>> doc = Sieve().label(["Headline", "First paragraph ...", "Home | About"])
"""

import logging

__version__ = "0.1.0"

from .document import LABELS, Block, Document, Label, Segment, normalize_lang  # noqa: E402
from .errors import ClassifierError, InputError, ModelError, SchemaError  # noqa: E402
from .language import BlockLanguage, LanguageGuess, LanguageIdentifier, TextAnalysis, main_language  # noqa: E402
from .model import BlockModel, ModelParams, evaluate, fit_block_model, load_model, save_model  # noqa: E402
from .pipeline import Sieve, default_model_dir  # noqa: E402
from .readers import Reject, RejectSink, read_any  # noqa: E402

__all__ = [
    "LABELS",
    "Block",
    "BlockLanguage",
    "BlockModel",
    "ClassifierError",
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

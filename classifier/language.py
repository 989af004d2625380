"""The language layer: fastText language ID of blocks and documents (annotation only).

``LanguageIdentifier`` wraps fastText's ``lid.176`` model, loaded on first use and
once per process. "Unsure" is ``None``, never a weak guess: text with too few
letters, numbers, URLs and e-mail addresses get ``None`` without a model call, and
a guess below ``min_confidence`` is dropped.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from .document import Block, Document, Label, normalize_lang
from .errors import ModelError

__all__ = [
    "LanguageGuess",
    "LanguageIdentifier",
    "MIN_CONFIDENCE",
    "MIN_LETTERS",
    "main_language",
    "with_main_language",
]

logger = logging.getLogger(__name__)

#: Fewer letters than this and a block gets no language: fastText answers anything on
#: "Home" or "12 May", but at chance. Chosen on the dev files' menus and short lines.
MIN_LETTERS = 12
#: Below this top-1 probability a guess is not given.
MIN_CONFIDENCE = 0.5
#: fastText looks at this many characters at most: a longer block's language is
#: settled by then, and the cost grows with length.
MAX_CHARS = 2000

_NOT_LANGUAGE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|\d+")


class LanguageGuess(NamedTuple):
    """A language code (ISO 639-1, else 639-3) and its probability (0..1)."""

    lang: str
    confidence: float


def _letters(text: str) -> int:
    return sum(map(str.isalpha, text))


class LanguageIdentifier:
    """Language of short texts; the fastText model loads on first use, once per process."""

    def __init__(self, model_path: Path | str, *, min_confidence: float = MIN_CONFIDENCE) -> None:
        self.model_path = Path(model_path)
        self.min_confidence = min_confidence
        self._model: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # fastText handles and locks do not pickle; a worker reloads the model
        return {"model_path": self.model_path, "min_confidence": self.min_confidence}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["model_path"], min_confidence=state["min_confidence"])  # type: ignore[misc]

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load_fasttext(self.model_path)
        return self._model

    def identify_language_of(self, text: str) -> LanguageGuess | None:
        """The language of one text, or ``None`` when unsure or not language."""
        return self.identify_language_of_many([text])[0]

    def identify_language_of_many(self, texts: Sequence[str]) -> list[LanguageGuess | None]:
        """The language of each text (``None`` when unsure), in order."""
        guesses: list[LanguageGuess | None] = [None] * len(texts)
        predict = None
        seen: dict[str, int] = {}
        for i, text in enumerate(texts):
            if text in seen:  # repeated menus and footers: one model call per distinct text
                guesses[i] = guesses[seen[text]]
                continue
            seen[text] = i
            line = _clean_line(text)
            if _letters(_NOT_LANGUAGE.sub(" ", line)) < MIN_LETTERS:
                continue
            if predict is None:
                predict = self.model.f.predict
            result = predict(line, 1, 0.0, "strict")
            if result:
                prob, label = result[0]
                lang = normalize_lang(label)
                if lang is not None and prob >= self.min_confidence:
                    guesses[i] = LanguageGuess(lang, min(float(prob), 1.0))
        return guesses

    def annotate_blocks(self, document: Document) -> Document:
        """Give each block its language (``None`` when unsure); the block model uses it."""
        guesses = self.identify_language_of_many([b.text for b in document.blocks])
        return replace(document, blocks=tuple(_with_lang(b, g) for b, g in zip(document.blocks, guesses)))

    def annotate(self, document: Document) -> Document:
        """Give each block its language (if not done yet) and the document its main
        language; blocks in another language than the document's are ``foreign``.

        Run it after the block model: the main language is counted over content blocks.
        """
        if all(b.lang is None for b in document.blocks):
            document = self.annotate_blocks(document)
        return with_main_language(document)


def with_main_language(document: Document) -> Document:
    """``document`` with its main language set and its blocks' ``foreign`` flags."""
    main = main_language(document.blocks)
    lang, score = (main.lang, main.confidence) if main else (None, None)
    blocks = tuple(
        replace(b, foreign=(b.lang is not None and lang is not None and b.lang != lang)) for b in document.blocks
    )
    return replace(document, blocks=blocks, lang=lang, lang_score=score)


def main_language(blocks: Sequence[Block]) -> LanguageGuess | None:
    """The length-weighted majority language of the content blocks (of all blocks
    when no content block has a language). The confidence is that language's share
    of the counted characters."""
    for pool in ([b for b in blocks if b.label is Label.CONTENT], list(blocks)):
        weight: dict[str, float] = defaultdict(float)
        for b in pool:
            if b.lang is not None:
                weight[b.lang] += len(b.text) * (b.lang_score or 1.0)
        if weight:
            total = sum(weight.values())
            lang = max(sorted(weight), key=weight.__getitem__)  # sorted: ties break the same way
            return LanguageGuess(lang, weight[lang] / total)
    return None


def _clean_line(text: str) -> str:
    """One line for fastText: no newlines, valid UTF-8, at most ``MAX_CHARS``."""
    line = " ".join(text[:MAX_CHARS].split())
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: fastText's strict decoding would raise
        line = line.encode("utf-8", "replace").decode("utf-8")
    return line


def _load_fasttext(path: Path) -> Any:
    from .cards import verify_file  # here, not at import: the CLI's --help stays fast

    verify_file(path)
    try:
        import fasttext

        fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence its load warning
        return fasttext.load_model(str(path))
    except (ValueError, OSError, RuntimeError) as err:
        raise ModelError(f"language model {path} cannot be loaded ({err}); "
                         "reinstall models/ or pass --model-dir") from err


def _with_lang(block: Block, guess: LanguageGuess | None) -> Block:
    if guess is None:
        return replace(block, lang=None, lang_score=None)
    return replace(block, lang=guess.lang, lang_score=guess.confidence)

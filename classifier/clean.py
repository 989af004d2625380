"""Cleaning: labelled documents -> clean records, one input shard at a time.

``clean_document`` applies a ``CleanPolicy`` to one labelled document: it keeps
the blocks whose label is kept (default: content), drops foreign blocks and cuts
foreign segments out (unless ``keep_foreign``), and gives the output records (one,
or one per language with ``split_by_language``) or the reason the document is
dropped. ``clean_shard`` runs a whole input file through ``Sieve`` and writes its
output shard, its rejects and its shard report, atomically; ``engine`` runs
shards in processes or on a Dask cluster.

Output records follow the datatrove / Dolma document layout: ``id``, ``text``
(kept blocks joined by blank lines), ``source`` and ``metadata`` (url,
publisher, lang, lang_score, what was removed, the model, and the input's own
fields unless ``drop_fields``). With ``annotate`` a record keeps every block with
its label, language and segments beside the joined text, each saying whether the
text keeps it (``kept``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from numbers import Integral
from pathlib import Path, PurePosixPath
from typing import Any

from . import __version__
from .document import (
    COUNTRY_CODES,
    HAN_KANA,
    LANGUAGE_ALIASES,
    Block,
    Document,
    Label,
    Segment,
    is_blank,
    normalize_lang,
    url_host,
)
from .errors import InputError
from .language import _text_weight, long_enough_for_a_language, text_script
from .options import option_differences, shard_options
from .readers import (
    DEFAULT_MAX_BYTES,
    Reject,
    RejectSink,
    _open_binary,
    _truncation_errors,
    file_format,
    json_text_as,
    read_any,
    with_publisher,
)
from .writers import JsonlWriter, _encodable, json_lossless, output_writer, write_text_atomic

__all__ = ["CleanPolicy", "ShardTask", "clean_document", "clean_shard", "current_options", "earlier_output_owners",
           "merge_reports", "shard_report_path"]

logger = logging.getLogger(__name__)

#: Documents with fewer kept characters than this are dropped (``too_short``).
DEFAULT_MIN_CHARS = 100
#: The language code of text in no language found (BCP 47's "undetermined"): the split
#: shard of such text is NAME.und.jsonl.gz, and ``--lang und`` keeps it.
UNDETERMINED = "und"


@dataclass(frozen=True)
class CleanPolicy:
    """What to keep. The defaults build a monolingual corpus of article text.

    Labels may be given by name (``{"content", "navigation"}``), languages as any
    code Sieve reads (``"EN"``, ``"pt-BR"``: ``en``, ``pt``; a string is a comma-separated
    list, as ``--lang`` takes them). Raises ``ValueError`` for a label or language code
    that is none, a negative ``min_chars``, or ``annotate`` with ``split_by_language``
    (as ``sieve clean`` refuses them), ``TypeError`` for a ``min_chars`` that is no int.
    """

    keep_labels: frozenset[Label] = frozenset({Label.CONTENT})
    keep_foreign: bool = False  # keep blocks and segments in other languages
    split_by_language: bool = False  # each language's text to its own shard
    min_chars: int = DEFAULT_MIN_CHARS
    annotate: bool = False  # every block with label, language, segments and whether kept; the text too
    drop_fields: bool = False  # do not keep the input's own fields under metadata
    captions: bool = True  # keep captions of pictures (html.is_caption) with the article's content
    #: the languages whose text is kept (``--lang``; ``UNDETERMINED`` for text without one);
    #: empty: every language. A document in another language is dropped (``other_language``);
    #: with ``split_by_language``, the other languages' parts are not written
    #: (``other_language_parts``), and a document with none of these is dropped
    languages: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # a policy made in Python gets the checks and forms `sieve clean`'s options give it:
        # labels as Label ({"content"} is kept; {"Content"} is no label any block has),
        # languages as Sieve writes them ({"EN"} and {"pt-BR"} are "en" and "pt", not
        # languages no document is ever in), and a count of characters: each of these
        # dropped every document without a word
        labels = (self.keep_labels,) if isinstance(self.keep_labels, str) else self.keep_labels
        try:
            keep = frozenset(Label(lab) for lab in labels)
        except (TypeError, ValueError):
            raise ValueError(f"keep_labels must be labels ({', '.join(lab.value for lab in Label)}), not "
                             f"{self.keep_labels!r}") from None
        codes = self.languages.split(",") if isinstance(self.languages, str) else self.languages
        languages = frozenset(normalize_lang(code) for code in codes)
        if None in languages:
            raise ValueError(f"languages must be language codes (en, de, zh...; 'und' for text in no language), "
                             f"not {self.languages!r}")
        # no model is at hand to check codes against (`sieve clean --lang` refuses them): the shipped
        # one writes ISO 639-1 codes, so "deu" keeps no document of it (a model writing "deu" would)
        said = [f"{code!r} is written {LANGUAGE_ALIASES[code]!r} by the shipped language model"
                if code in LANGUAGE_ALIASES else
                # a language's own code, which a user may take for a country's (Sweden's "se")
                f"{code!r} is {COUNTRY_CODES[code][0]}'s code, a language the shipped language model does not "
                f"give ({COUNTRY_CODES[code][2]} is {COUNTRY_CODES[code][1]!r})"
                for code in sorted(c for c in languages if c in LANGUAGE_ALIASES or c in COUNTRY_CODES)]
        if said:
            warnings.warn("languages: " + ", ".join(said)
                          + ": documents in it are dropped unless the model writes these codes", stacklevel=3)
        if not isinstance(self.min_chars, Integral) or isinstance(self.min_chars, bool):
            raise TypeError(f"min_chars is {self.min_chars!r}: a number of characters (an int), 0 or more")
        if self.min_chars < 0:
            raise ValueError(f"min_chars is {self.min_chars!r}: a number of characters, 0 or more")
        if self.annotate and self.split_by_language:
            raise ValueError("annotate keeps every block of a document in one record: not with split_by_language")
        object.__setattr__(self, "keep_labels", keep)
        object.__setattr__(self, "languages", languages)
        object.__setattr__(self, "min_chars", int(self.min_chars))

    def to_dict(self) -> dict[str, Any]:
        return {
            "keep_labels": sorted(lab.value for lab in self.keep_labels),
            "keep_foreign": self.keep_foreign,
            "split_by_language": self.split_by_language,
            "min_chars": self.min_chars,
            "annotate": self.annotate,
            "drop_fields": self.drop_fields,
            # only when given: shards of a Sieve without --no-captions resume as they were
            **({"no_captions": True} if not self.captions else {}),
            **({"languages": sorted(self.languages)} if self.languages else {}),
        }

    def wants(self, lang: str | None) -> bool:
        """Whether text in ``lang`` (``None``: no language found) is kept by ``languages``."""
        return not self.languages or (lang or UNDETERMINED) in self.languages


@dataclass
class CleanResult:
    """What became of one document: records per language (``None``: the only
    output shard), or the reason it was dropped; and what was removed."""

    records: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    dropped: str | None = None
    removed: Counter[str] = field(default_factory=Counter)
    #: characters of the kept text (blocks and parts of blocks; the blank lines that join them
    #: in a record's ``text`` not counted, so that it compares with the characters read)
    kept_chars: int = 0


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the character spans (sorted, not overlapping), the joints
    tidied: a line break or a space where the text had one at either edge of the cut (none in text
    written without spaces: ``记者：“…”今天`` is ``记者：今天``), none before the
    punctuation that follows a cut, a colon that introduced a cut quotation gives
    way to it ("He said: « Nous ne reculerons pas », and left." -> "He said, and
    left."), and a comma after a cut that began a sentence goes with it ("158. « ... »,
    said the mayor." -> "158. said the mayor."; at the start of the text too)."""
    kept, joints, pos = [], [], 0
    for a, b in _widened(text, spans):
        left = text[pos:a]
        kept.append(left)
        # the whitespace around the cut: a line break stays one (a <pre>'s or <br>'s lines)
        around = left[len(left.rstrip()):] + _SPACES.match(text, b).group()  # type: ignore[union-attr]
        joints.append("\n" if "\n" in around else " " if around else "")
        pos = b
    kept.append(text[pos:])
    out = kept[0].strip()
    for piece, joint in zip(kept[1:], joints):
        right = piece.strip()
        began = not out or out.endswith(_SENTENCE_ENDS)
        if right[:1] in _TRAILING_PUNCTUATION and began:
            # a cut that began a sentence takes the comma that ended its part of it along:
            # "158. « Nous ne reculerons pas », said the mayor." -> "158. said the mayor.";
            # so does one that began the text (a paragraph opening on a quotation)
            right = right[1:].lstrip()
        if right[:1] in _DASHES and began:
            # and the dash that led from it to its speaker (Russian, Ukrainian, Polish: «…», — сказав він)
            right = right[1:].lstrip()
        if right[:1] in _JOINING_PUNCTUATION:
            if right[:1] in ",;.!?)，。；！？）" and out.endswith((":", "：")):
                out = out[:-1]
            out = out.rstrip() + right
        elif right:
            if joint == " " and _NO_SPACE_CHAR.match(out[-1:]) and _NO_SPACE_CHAR.match(right):
                # the space was the cut quotation's (…表示："This is …" 主办方): none between Han or kana
                joint = ""
            out = out + joint + right if out else right
    return out


#: Han and kana letters and CJK punctuation: text written without spaces between words.
_NO_SPACE_CHAR = re.compile(f"[{HAN_KANA}\u3000-\u303f\uff00-\uffef]")


_SPACES = re.compile(r"\s*")
#: Bidirectional marks and isolates: invisible, they go with the text they wrap (an English
#: quotation inside Arabic, ``\u200e"…"\u200f``), and with it when it is cut.
_BIDI_MARKS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Brackets a cut may fill: "a déclaré (« … ») avant" left "a déclaré () avant".
_BRACKETS = ("()", "[]", "（）", "【】")


def _widened(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` each taking the bidirectional marks right beside it and the brackets
    (and the spaces inside them) that hold nothing else."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        floor = out[-1][1] if out else 0
        while a > floor and text[a - 1] in _BIDI_MARKS:
            a -= 1
        while b < len(text) and text[b] in _BIDI_MARKS:
            b += 1
        i, j = a, b
        while i > floor and text[i - 1] in " \u00a0":
            i -= 1
        while j < len(text) and text[j] in " \u00a0":
            j += 1
        if i > floor and j < len(text) and text[i - 1] + text[j] in _BRACKETS:
            a, b = i - 1, j + 1
        out.append((a, b))
    return out
#: Punctuation that ends the words before it: after a cut it joins them without a space.
_JOINING_PUNCTUATION = frozenset(",;.:!?)]…，。；：！？）」』")
#: Punctuation after a cut that goes with it when the text before the cut ends a sentence.
_TRAILING_PUNCTUATION = frozenset(",;.，；。、")
_SENTENCE_ENDS = (".", "!", "?", "…", "。", "！", "？")
_DASHES = frozenset("—–")


#: A block in another language than the document's is removed (or split out) as foreign
#: only when its language is this sure and it holds the letters and words a segment must
#: (``long_enough_for_a_language``): a short line of the article on a weak guess
#: (a subheading, a name, "1 tsp nutmeg", a shell command) stays part of it. On the dev
#: pages this kept 365 of 457 such content blocks that are not foreign by the gold, and
#: lost 3 of 148 that are (training/NOTES.md, session 8).
FOREIGN_BLOCK_MIN_CONFIDENCE = 0.5


def removable_foreign(block: Block) -> bool:
    """Whether ``block`` is foreign enough to be removed from (or split out of) its
    document's text (``FOREIGN_BLOCK_MIN_CONFIDENCE``)."""
    if not block.foreign or (block.lang_score or 0.0) < FOREIGN_BLOCK_MIN_CONFIDENCE:
        return False
    return long_enough_for_a_language(block.text)


def _language_of(block: Block, doc_lang: str | None) -> str | None:
    """The language a kept block's text counts in: its own, or the document's when it
    has none or is foreign on a weak guess (``removable_foreign``)."""
    return (block.lang if block.lang and (not block.foreign or removable_foreign(block)) else None) or doc_lang


def _foreign_segments(block: Block, own: str | None) -> list[Segment]:
    """The block's segments in another language than ``own`` (``_language_of``): the
    segments of a block foreign on a weak guess are found against the block's own
    language, and one in the document's language is the document's text."""
    return [s for s in block.segments if s.lang != own]


def _kept_text(block: Block, doc_lang: str | None, keep_foreign: bool) -> str:
    """The block's text in an unsplit record: its own text, foreign segments cut out
    unless kept; of a block removed as foreign (``removable_foreign``), only its segments
    in the document's language (a lead-in before a longer quotation in another language)."""
    parts = _language_parts(block, doc_lang, keep_foreign)
    if keep_foreign or not removable_foreign(block):
        return parts[0][1]
    return " ".join(text.strip() for lang, text, _ in parts[1:] if lang == doc_lang)


def _language_parts(block: Block, doc_lang: str | None, keep_foreign: bool
                    ) -> list[tuple[str | None, str, float | None]]:
    """The block's text by language, with the confidence of that language: its own text
    (segments cut out unless kept) and, for splitting, each segment's text in its
    language. A block foreign on a weak guess (``removable_foreign``) is in the
    document's language (no confidence: fastText gave it another)."""
    own = _language_of(block, doc_lang)
    score = block.lang_score if own is not None and own == block.lang else None
    segments = _foreign_segments(block, own)
    if not segments or keep_foreign:
        return [(own, block.text, score)]
    parts: list[tuple[str | None, str, float | None]] = [
        (own, _cut(block.text, [(s.start, s.end) for s in segments]), score)]
    parts += [(s.lang, block.text[s.start:s.end], s.score) for s in segments]
    return parts


#: The top-level fields of a Dolma document besides id and text: an input record's stay
#: at the top level of its output record (its ``source`` instead of the shard's name).
DOLMA_TOP_LEVEL = ("source", "added", "created")
#: Input fields that are not copied into ``metadata``: set apart, merged, or a page again.
#: The fields a page's reader adds to its document (``html.page_fields``, a WARC record's
#: ``date`` and ``truncated``): kept in metadata with ``drop_fields`` too, for a web page (a
#: text record's fields of these names are its own, and a JSONL page's ``date`` and ``truncated``:
#: no WARC record gave them).
PAGE_FIELDS = ("title", "published", "date", "truncated")
#: ``text`` beside ``blocks`` or ``html`` (a corpus's raw text, an --annotate output's kept
#: text, a page's extraction) is the document again, and the record's own ``text`` is
#: Sieve's: copied only from a record whose text Sieve read from another field (``--text-field``).
_NOT_METADATA = frozenset({"url", "publisher", "metadata", "html", *DOLMA_TOP_LEVEL})
_NOT_TEXT_FIELDS = (None, "blocks", "html")


def clean_document(doc: Document, policy: CleanPolicy = CleanPolicy(), *, source: str = "",
                   model: dict[str, Any] | None = None) -> CleanResult:
    """Apply ``policy`` to one labelled document (see the module docstring)."""
    result = CleanResult()
    main = doc.lang
    kept: list[Block] = []
    caption: Callable[[Block], bool] | None = None
    if not policy.captions:
        from .html import is_caption as caption  # lxml only for runs that ask
    for b in doc.blocks:
        if b.label not in policy.keep_labels:
            # a block labelled by hand may hold the label's name ("navigation"), as Block.to_dict reads it
            label = b.label if isinstance(b.label, Label) or b.label is None else Label(b.label)
            result.removed[label.value if label else "unlabelled"] += 1
        elif not policy.keep_foreign and not policy.split_by_language and removable_foreign(b):
            result.removed["foreign_blocks"] += 1
            if main and any(s.lang == main for s in b.segments) and not (caption is not None and caption(b)):
                kept.append(b)  # its sentences in the document's language stay: "Er sagte: \"<English>\""
        elif caption is not None and caption(b):
            result.removed["captions"] += 1
        else:
            kept.append(b)
            # split by language, the segments go to their languages' records: moved, not removed
            removes = b.segments and not policy.keep_foreign and not policy.split_by_language
            cut = _foreign_segments(b, _language_of(b, main)) if removes else []
            if cut:
                result.removed["foreign_segments"] += len(cut)
    # the record's own publisher, else its url's host without www. (as templates and adapters read it)
    metadata_base: dict[str, Any] = {"url": doc.url, "publisher": doc.publisher or url_host(doc.url)}
    if not policy.drop_fields:
        # the input's own fields; its 'metadata' (Dolma, datatrove, an earlier Sieve) merged, not nested
        inner = json_text_as(doc.extra.get("metadata"), dict)  # (Sieve's Parquet output: JSON text)
        # a page's 'html' beside its 'text', or a 'text' beside 'blocks', is the document again, not metadata
        fields = {k: v for k, v in doc.extra.items() if k not in _NOT_METADATA}
        if doc.read_from in _NOT_TEXT_FIELDS or fields.get("text") is None:  # (a null one: another field was read)
            fields.pop("text", None)
        if not isinstance(inner, dict):
            inner = {}
            if "metadata" in doc.extra:
                fields["metadata"] = doc.extra["metadata"]
        metadata_base = {**inner, **fields, **metadata_base}
    elif doc.is_page:  # what Sieve read from the page (its title; a WARC record's cut) is no input field to
        # drop; a text record's own 'title' or 'truncated' is one (it was kept under --drop-fields)
        read = PAGE_FIELDS if doc.read_from is None else PAGE_FIELDS[:2]  # a JSONL page's: its title, published
        metadata_base.update((k, doc.extra[k]) for k in read if doc.extra.get(k) is not None)
    model_info = model or {"name": "sieve", "version": __version__}

    def record(lang: str | None, text: str | None, blocks: list[Block] | None,
               score: float | None = None) -> dict[str, Any]:
        meta = dict(metadata_base)
        meta["lang"] = lang
        if lang == main:  # the document's language: the share of its text in it (``main_language``)
            score = doc.lang_score
        meta["lang_score"] = None if score is None else round(score, 4)
        meta["script"] = text_script(text) if text else None  # ISO 15924: Serbian in Cyrl or Latn
        meta["removed"] = dict(sorted(result.removed.items()))
        meta["model"] = model_info
        out: dict[str, Any] = {"id": doc.id}
        out["text"] = text
        if blocks is not None:  # --annotate: every block, and whether the text above keeps it
            kept_ids = {id(b) for b in kept}
            out["blocks"] = [{**b.to_dict(), "kept": id(b) in kept_ids} for b in blocks]
        # Dolma's own top-level fields stay there: its `source` (the dataset) over the shard's name
        top = {k: doc.extra[k] for k in DOLMA_TOP_LEVEL if k in doc.extra}
        if source and "source" not in top:
            out["source"] = source
        out.update(top)
        out["metadata"] = meta
        return out

    if not policy.split_by_language and not policy.wants(main):
        result.dropped = "other_language"
        return result
    if policy.annotate:  # the text and the drop as without --annotate; every block beside them
        # blank as the text without --annotate reads it (a zero-width space shows nothing, and .strip() keeps it)
        own = {id(b): t for b in kept if not is_blank(t := _kept_text(b, main, policy.keep_foreign))}
        text = "\n\n".join(own.values())
        if not text or _text_weight(text) < policy.min_chars:
            result.dropped = "no_content" if not text else "too_short"
            return result
        kept = [b for b in kept if id(b) in own]  # a block all foreign segments gives the text nothing
        result.records.append((None, record(main, text, list(doc.blocks))))
        result.kept_chars = sum(len(t) for t in own.values())
        return result
    if policy.split_by_language:
        by_lang: dict[str | None, list[str]] = {}
        # another language's record: the confidence of its parts, each weighing by its length
        confidence: dict[str | None, list[float]] = {}
        for b in kept:
            for lang, text, score in _language_parts(b, main, policy.keep_foreign):
                if not is_blank(text):
                    by_lang.setdefault(lang, []).append(text)
                    if score is not None:
                        sums = confidence.setdefault(lang, [0.0, 0.0])
                        sums[0] += score * len(text)
                        sums[1] += len(text)
        unwanted = [lang for lang in by_lang if not policy.wants(lang)]
        if unwanted:  # --lang: the other languages' text is not written
            result.removed["other_language_parts"] += len(unwanted)
            if len(unwanted) == len(by_lang):
                result.dropped = "other_language"
                return result
            by_lang = {lang: parts for lang, parts in by_lang.items() if policy.wants(lang)}
        texts_by_lang = {lang: "\n\n".join(parts) for lang, parts in by_lang.items()}
        # each language's text is a record of its own, and must reach min_chars on its own
        # (a quoted German sentence in an English story is not a German document)
        kept_langs = [lang for lang in sorted(by_lang, key=lambda x: (x is None, x or ""))
                      if _text_weight(texts_by_lang[lang]) >= policy.min_chars]
        if not kept_langs:
            total = sum(len(t) for t in texts_by_lang.values())
            result.dropped = "no_content" if not total else "too_short"
            return result
        if len(kept_langs) < len(by_lang):
            result.removed["short_language_parts"] += len(by_lang) - len(kept_langs)
        for lang in kept_langs:
            weighed = confidence.get(lang)
            result.records.append((lang or UNDETERMINED, record(lang, texts_by_lang[lang], None,
                                                                weighed[0] / weighed[1] if weighed else None)))
            result.kept_chars += sum(len(t) for t in by_lang[lang])
        return result
    texts = []
    for b in kept:
        own_text = _kept_text(b, main, policy.keep_foreign)
        if not is_blank(own_text):
            texts.append(own_text)
    text = "\n\n".join(texts)
    if not text or _text_weight(text) < policy.min_chars:
        result.dropped = "no_content" if not text else "too_short"
        return result
    result.records.append((None, record(main, text, None)))
    result.kept_chars = sum(len(t) for t in texts)
    return result


# -- one shard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardTask:
    """One input file and where its outputs go (``output`` without suffix)."""

    input: str
    output: str  # OUTPUT_DIR/REL/NAME (no suffix)
    name: str  # REL/NAME, for reports
    policy: CleanPolicy
    model_dir: str | None = None
    model_choice: str = "auto"  # pipeline.MODEL_CHOICES
    templates: str | None = None  # a template memory file
    publisher: str | None = None  # --publisher: of every document that names none
    input_format: str = "auto"
    text_field: str = "text"
    id_field: str = "id"  # --id-field: the field of a record's id
    max_bytes: int = DEFAULT_MAX_BYTES
    suffix: str = ".jsonl.gz"
    #: file names beside ``output`` that may be this shard's outputs from an earlier run
    #: (``earlier_output_owners`` of each names it); the engine fills this in
    earlier_outputs: tuple[str, ...] = ()
    #: the run's id and the file in the output folder that names the run writing there
    #: now (``RUN_FILE``): a shard of a stopped run still going on a Dask worker (a
    #: remote worker's task cannot be stopped) finds another run there and gives up
    #: before it puts a file in place; its unfinished files carry the run's id
    run: str = ""
    run_file: str = ""
    #: on a Dask cluster: the Sieve version and the options (``shard_options``, models
    #: included) the command would record, as JSON (``expected_on_worker``); a worker whose
    #: own differ (its SIEVE_MODEL_DIR, another install) cleans nothing
    expected: str = ""


#: A shard's list of the documents it dropped (``NAME.dropped.jsonl``: id and reason).
DROPPED_SUFFIX = ".dropped.jsonl"
#: The file of an output folder that names the run writing into it (``ShardTask.run``).
RUN_FILE = ".sieve-clean.run"


class Superseded(InputError):
    """Another run writes into the shard's output folder now: this run was stopped."""


class WorkerMismatch(InputError):
    """The process cleaning a shard does not see what the command sees (the output
    folder, the models) or would clean with other models or another Sieve: every
    shard it took would fail the same way, so the run stops."""


#: What a Dask worker needs, said when it lacks it.
SHARED_FILES = ("Dask workers must see the command's files at the same paths (a shared file system): "
                "the inputs, the output folder, --model-dir and --templates")


def _check_run(task: ShardTask) -> None:
    """Raise ``Superseded`` when the output folder's run file names another run than
    the task's (a task without a run id is not checked), ``WorkerMismatch`` when the
    output folder is not there at all."""
    if not task.run:
        return
    try:
        current = Path(task.run_file).read_text(encoding="utf-8").strip()
    except OSError:
        folder = Path(task.run_file).parent
        if not folder.is_dir():  # the command made it and holds it: this process does not see it
            raise WorkerMismatch(f"the output folder {folder} does not exist on {_this_host()} (deleted during "
                                 f"the run, or not shared with it); {SHARED_FILES}") from None
        raise Superseded(f"shard {task.name}: {RUN_FILE} is gone from {folder}: the run that started the shard "
                         "ended, or the folder was deleted during it; its work here is dropped") from None
    if current != task.run:
        raise Superseded(f"shard {task.name}: a later `sieve clean` run writes into its folder now (this run "
                         "was stopped); its work here is dropped")


def _this_host() -> str:
    import socket

    return f"this worker (host {socket.gethostname()}, process {os.getpid()})"


def expected_on_worker(options: dict[str, Any]) -> str:
    """``ShardTask.expected`` for the tasks of a run whose shards record ``options``
    here (``current_options``), for a Dask worker to compare with its own."""
    return json.dumps({"sieve": __version__, "options": options}, sort_keys=True)


def _check_worker_files(task: ShardTask) -> None:
    """Raise ``WorkerMismatch`` when a file the command named for ``task`` (on a Dask
    worker: ``task.expected`` is set) is not there."""
    if not task.expected:
        return
    for what, path in (("input", task.input), ("model folder (--model-dir)", task.model_dir),
                       ("template memory", task.templates)):
        if path and not os.path.exists(path):
            raise WorkerMismatch(f"the {what} {path} does not exist on {_this_host()} (deleted during the "
                                 f"run, or not shared with it); {SHARED_FILES}")


def _check_worker(task: ShardTask, options: dict[str, Any]) -> None:
    """Raise ``WorkerMismatch`` when this process would clean ``task`` with another
    Sieve or other options (models) than the command recorded in ``task.expected``."""
    if not task.expected:
        return
    want = json.loads(task.expected)
    differ = [] if want.get("sieve") == __version__ else [f"Sieve {__version__}, the command's {want.get('sieve')}"]
    differ += option_differences(json.loads(json.dumps(options)), want.get("options") or {})
    if differ:
        raise WorkerMismatch(f"{_this_host()} would clean with other models or another Sieve than the command "
                             f"({'; '.join(differ)}); a worker's own SIEVE_MODEL_DIR, or another install, "
                             "gives other outputs: give --model-dir, or run the workers with the command's Sieve")


def shard_report_path(output: str) -> Path:
    return Path(output + ".report.json")


#: The suffixes of output shards, by ``--compression`` (gz, zst, none), and of Parquet
#: shards (``--format parquet``).
COMPRESSION_SUFFIX = {"gz": ".jsonl.gz", "zst": ".jsonl.zst", "none": ".jsonl"}
PARQUET_SUFFIX = ".parquet"
OUTPUT_SUFFIXES = (*COMPRESSION_SUFFIX.values(), PARQUET_SUFFIX)
#: The language part of a split shard's name: ``NAME.LANG.jsonl.gz`` (``und`` when unknown).
_LANG_PART = re.compile(r"[a-z]{2,3}")


def _out_path(task: ShardTask, lang: str | None) -> Path:
    return Path(f"{task.output}.{lang}{task.suffix}" if lang else f"{task.output}{task.suffix}")


def earlier_output_owners(filename: str) -> list[str]:
    """The shard names whose output ``filename`` could be, by its name alone:
    ``a.de.jsonl.gz`` -> ``["a.de", "a"]`` (shard ``a.de``, or shard ``a`` split by
    language); ``a.report.json`` -> ``[]``. Which one it is, ``clean_shard`` reads
    from the file."""
    for suffix in OUTPUT_SUFFIXES:
        if filename.endswith(suffix):
            base = filename[: -len(suffix)]
            head, dot, lang = base.rpartition(".")
            return [base, head] if dot and head and _LANG_PART.fullmatch(lang) else [base]
    return []


def _is_output_of(path: Path, task: ShardTask, owned: frozenset[str] = frozenset()) -> bool:
    """Whether ``path`` was written by this shard: its first record's ``source`` is
    the shard's name (every record has one), or it has none and is named as the
    shard's unsplit output (only that output is ever written empty); or this shard's
    earlier report names it (``owned``: Dolma records keep their own ``source``) and its
    ``source`` is not the name of another shard that may write a file of that name
    (``a.de.jsonl.gz``, shard ``a.de``'s since)."""
    # ValueError: bad JSON or UTF-8; the others: a cut or damaged .gz or .zst
    # InputError: a Parquet output where pyarrow is not installed
    unreadable: tuple[type[BaseException], ...] = (OSError, ValueError, InputError, *_truncation_errors())
    try:
        if path.name.endswith(PARQUET_SUFFIX):
            first = _first_parquet_source(path)
        else:
            with _open_binary(path) as f:  # by its first bytes: .gz, .zst or plain
                first = f.readline()
        if not first.strip():
            return path.name in {Path(task.output).name + suffix for suffix in OUTPUT_SUFFIXES}
        record = json.loads(first)
    except unreadable as err:
        logger.warning("shard %s: left %s alone: cannot read whose output it is (%s)", task.name, path, err)
        return False
    # records hold the name as written out (a file name that is not UTF-8: U+FFFD for its bytes)
    source = record.get("source") if isinstance(record, dict) else None
    if source == _encodable(task.name):
        return True
    others = {_encodable(o) for o in earlier_output_owners(path.name) if o != task.name}
    return path.name in owned and source not in others


def _first_parquet_source(path: Path) -> bytes:
    """The first row of a Parquet output as a JSON line holding its ``source`` (``b""``
    when it has no rows), as ``_is_output_of`` reads a JSONL output's first line."""
    from .parquet import parquet_module

    pq = parquet_module()
    with open(path, "rb") as f:  # not the path: Arrow takes it as UTF-8 only
        for batch in pq.ParquetFile(f).iter_batches(batch_size=1, columns=["source"]):
            if batch.num_rows:
                return json.dumps({"source": batch.column(0)[0].as_py()}).encode("utf-8")
    return b""


#: A shard report that says its shard is being redone: it names the outputs of the
#: earlier run (``owned``), and the shard is not finished.
UNFINISHED = "unfinished"


def _take_earlier_report(task: ShardTask, tag: str | None) -> frozenset[str]:
    """The outputs this shard's earlier report (finished, or left unfinished by a redo
    that was stopped) names; the report is replaced by an unfinished one naming them
    (or removed when it names none). Records that carry their own ``source`` (Dolma)
    do not say which shard wrote them: the report does."""
    path = shard_report_path(task.output)
    owned: set[str] = set()
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if isinstance(old, dict) and old.get("name") == task.name:
        names = [*(old.get("outputs") or ()), *(old.get("owned") or ())]
        owned = {n for n in names if isinstance(n, str) and n in task.earlier_outputs}
    if owned:
        try:
            _write_json_atomic(path, {"name": task.name, UNFINISHED: True, "owned": sorted(owned)}, tag=tag)
            return frozenset(owned)
        except OSError:  # (a full disk) this run still knows them; a rerun, only by their records
            pass
    path.unlink(missing_ok=True)
    return frozenset(owned)


def _remove_earlier_outputs(task: ShardTask, written: set[str], owned: frozenset[str] = frozenset()) -> None:
    """Delete this shard's outputs from an earlier run that this run did not write
    again (a language no longer in its input, the other compression, split or not),
    so a redone shard leaves exactly this run's files; other shards' files stay. A
    file is this shard's when its earlier report names it (``owned``), or its first
    record's ``source`` is the shard's name."""
    folder = Path(task.output).parent
    for name in task.earlier_outputs:
        path = folder / name
        if name not in written and path.is_file() and _is_output_of(path, task, owned):
            path.unlink(missing_ok=True)
            logger.info("shard %s: removed %s, an output of an earlier run that this run does not write",
                        task.name, path)


_THREAD = threading.local()  # .sieves: this thread's Sieves (they go with the thread)


def _sieve_for(model_dir: str | None, model_choice: str = "auto", templates: str | None = None,
               stamp: tuple[Any, ...] | None = None) -> Any:
    """One ``Sieve`` per thread, model folder, model choice and template memory.

    Per thread: a Dask worker runs as many shards at once as it has threads, and a
    shard's report counts what the Sieve's adapter and template memory did while it
    ran (the counters' difference), so two shards must not share one. The block
    models themselves are loaded once per process (``model.load_model`` caches them)."""
    from .pipeline import Sieve
    from .templates import TemplateMemory

    sieves: dict[tuple[Any, ...], tuple[Any, Any]] = _THREAD.__dict__.setdefault("sieves", {})
    # with the files' sizes and times: a long-lived worker (a Dask cluster's, a library
    # caller's process) sees a memory or model replaced in place between two runs, and
    # keeps no Sieve (nor its models) of the files as they were
    key = (model_dir, model_choice, templates)
    stamp = stamp if stamp is not None else _files_stamp(templates, model_dir)
    if key not in sieves or sieves[key][0] != stamp:
        memory = TemplateMemory.load(Path(templates)) if templates else None
        # no check here: the command checked every card before dispatching, and each model
        # is checked against its card again when a document first needs it (a worker on
        # text never loads, nor hashes, the HTML model)
        sieves[key] = (stamp, Sieve(Path(model_dir) if model_dir else None, model=model_choice, templates=memory))
    return sieves[key][1]


def _files_stamp(templates: str | None, model_dir: str | None) -> tuple[Any, ...]:
    """Size and modification time of the template memory and of each file of the model
    folder (the shipped one when None): what tells a changed file from the one cached."""
    from .pipeline import default_model_dir

    stamps: list[Any] = []
    folder = Path(model_dir) if model_dir else default_model_dir()
    try:
        files = sorted(folder.iterdir())
    except OSError:
        files = []
    for path in ([Path(templates)] if templates else []) + files:
        try:
            st = path.stat()
            stamps.append((path.name, st.st_size, st.st_mtime_ns))
        except OSError:
            stamps.append((path.name, None))
    return tuple(stamps)


_OPTIONS: dict[tuple[ShardTask, tuple[Any, ...]], dict[str, Any]] = {}


def _options_for(task: ShardTask, sieve: Any, stamp: tuple[Any, ...]) -> dict[str, Any]:
    """``shard_options`` of the task, once per process, set of options and state of the
    files they name (the template memory is hashed once, not once per shard)."""
    key = (replace(task, input="", output="", name="", earlier_outputs=()), stamp)
    if key not in _OPTIONS:
        _OPTIONS[key] = shard_options(task, sieve.model_identity())
    return _OPTIONS[key]


def current_options(task: ShardTask) -> dict[str, Any]:
    """The options a shard of ``task``'s run would record now, read from the model
    cards without loading any model (``shard_options``).

    Raises:
        ModelError: the model folder or a model card is missing or unreadable.
    """
    from .pipeline import Sieve

    models = Sieve(Path(task.model_dir) if task.model_dir else None, model=task.model_choice).model_identity()
    return shard_options(task, models)


def input_stamp(path: str) -> dict[str, int] | None:
    """An input file's size and modification time, recorded in its shard report: a
    rerun redoes a finished shard whose input has changed since (a crawl still being
    appended to). None for standard input, or a file that cannot be stat-ed."""
    if path == "-":
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def clean_shard(task: ShardTask) -> dict[str, Any]:
    """Clean one input file into its output shard(s); returns the shard report.

    Everything is written under temporary names and renamed when complete; then
    the shard's outputs from an earlier run that this run did not write again are
    deleted (``task.earlier_outputs``); the shard report (``NAME.report.json``) is
    written last: a shard with a report is finished.
    """
    started = time.perf_counter()
    _check_run(task)  # a shard of a stopped run that starts late touches nothing
    input_stat = input_stamp(task.input)  # before reading: a file changed while it is read is redone next time
    _check_worker_files(task)  # before the Sieve: a missing model folder is said as such
    stamp = _files_stamp(task.templates, task.model_dir)  # once a shard: the Sieve and the options
    sieve = _sieve_for(task.model_dir, task.model_choice, task.templates, stamp)
    adapted_before = sieve.adapted  # the process's Sieve serves every shard it cleans
    memory = sieve.templates
    templates_before = (memory.documents, memory.applied, memory.turned or 0) if memory is not None else (0, 0, 0)
    options = _options_for(task, sieve, stamp)
    _check_worker(task, options)
    folder = Path(task.output).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the folder {folder} for its outputs ({err.strerror or err})") from err
    # a shard being redone is not finished until its new report is written: a redo that
    # fails or is killed after renaming some outputs must not leave the old report
    # saying the shard is done (a rerun would skip it with the outputs of neither run).
    # What the old report names as the shard's outputs stays known, in an unfinished
    # report, until the redo has removed those it does not write again
    tag = task.run or None  # the unfinished files: NAME.jsonl.gz.RUN.part
    owned = _take_earlier_report(task, tag)
    rejects_path = Path(task.output + ".rejects.jsonl")
    writers: dict[str | None, JsonlWriter] = {}
    rejected = JsonlWriter(rejects_path, lazy=True, tag=tag)
    dropped_path = Path(task.output + DROPPED_SUFFIX)
    dropped = JsonlWriter(dropped_path, lazy=True, tag=tag)  # each dropped document's id and why
    sink = RejectSink(on_reject=lambda r: rejected.write(r.to_dict()))
    stats: dict[str, Any] = {"read": 0, "written": 0, "dropped": Counter(), "blocks": Counter(),
                             "languages": Counter(), "removed": Counter(), "chars_in": 0, "chars_out": 0,
                             "records": Counter()}

    def internal_error(doc: Document, err: Exception) -> None:
        stats["read"] -= 1  # counted again as rejected
        # ASCII: a file name or text may hold lone surrogates (undecodable bytes, JSON escapes)
        raw = json.dumps(doc.to_dict(), ensure_ascii=True).encode("ascii")
        sink.add(Reject(f"{task.input} document {doc.id}", 0, f"internal_error:{type(err).__name__}", str(err), raw))

    try:
        with rejected, dropped:
            docs = named_in_folder(with_publisher(read_any(task.input, sink, input_format=task.input_format,
                                                           text_field=task.text_field, max_bytes=task.max_bytes,
                                                           id_field=task.id_field),
                                                  task.publisher), task.name, task.input, task.input_format)
            for doc in sieve.label_many(_counted(docs, stats), on_error=internal_error):
                res = clean_document(doc, task.policy, source=task.name, model=sieve.model_info_for(doc))
                stats["chars_in"] += sum(len(b.text) for b in doc.blocks)
                for b in doc.blocks:
                    stats["blocks"][b.label.value if b.label else "none"] += 1
                stats["removed"].update(res.removed)
                if res.dropped:
                    stats["dropped"][res.dropped] += 1
                    dropped.write({"id": doc.id, "reason": res.dropped})
                    continue
                stats["written"] += 1
                for lang, rec in res.records:
                    # a record's language: the document's, or split by language its part's
                    stats["languages"][rec["metadata"]["lang"] or UNDETERMINED] += 1
                    if lang not in writers:
                        writers[lang] = output_writer(_out_path(task, lang), tag=tag,
                                                      annotated=task.policy.annotate).__enter__()
                    writers[lang].write(rec)
                    stats["records"][lang] += 1
                stats["chars_out"] += res.kept_chars
            if not writers and not task.policy.split_by_language:  # an empty shard is still a shard
                writers[None] = output_writer(_out_path(task, None), tag=tag,
                                              annotated=task.policy.annotate).__enter__()
            _check_run(task)  # before any file of the shard is put in place
            # the outputs first, inside the lists' `with`: an output that cannot be completed
            # (a full disk at its last bytes) leaves no rejects or dropped list in place either
            closing, writers = writers, {}  # closed (or, failing, removed) by _close_writers alone
            _close_writers(closing, failed=False)
            writers = closing
    except BaseException:
        _close_writers(writers, failed=True)  # leaves no partial output
        raise
    # after the new outputs are complete (a failed redo leaves the earlier run's files) and
    # before the report (a shard with a report has exactly its outputs)
    _remove_earlier_outputs(task, {_out_path(task, lang).name for lang in writers}, owned)
    if rejected.count == 0:
        rejects_path.unlink(missing_ok=True)
    if dropped.count == 0:
        dropped_path.unlink(missing_ok=True)
    # skipped records (WARC requests, non-HTML responses) count as read and dropped
    for reason, n in sink.skipped.items():
        stats["dropped"][reason] += n
    stats["read"] += sink.total + sink.total_skipped
    outputs = sorted(_out_path(task, lang).name for lang in writers)
    report = {
        "input": task.input,
        "input_stat": input_stat,  # a rerun redoes the shard when its input has changed since
        "name": task.name,
        "outputs": outputs,
        # their sizes, and the rejects' and dropped lists': a rerun redoes a shard whose
        # files are gone or changed since (a report counting rejects no file holds)
        "output_bytes": {name: size for name in [*outputs, rejects_path.name, dropped_path.name]
                         if (size := _size(Path(task.output).parent / name)) is not None},
        "read": stats["read"],
        "written": stats["written"],
        # of the records read, those that are no documents (WARC requests, non-HTML
        # responses ...), counted in "dropped" by reason: not in --max-reject-share's share
        "skipped": sink.total_skipped,
        # records per output file: with --split-by-language a document gives a record in
        # each of its languages' shards (under its own id), so these may add up to more
        "records": dict(sorted((_out_path(task, lang).name, stats["records"][lang]) for lang in writers)),
        "dropped": dict(sorted(stats["dropped"].items())),
        "rejected": dict(sorted(sink.counts.items())),
        "blocks": dict(sorted(stats["blocks"].items())),
        "languages": dict(sorted(stats["languages"].items())),
        "removed": dict(sorted(stats["removed"].items())),
        "chars": {"in": stats["chars_in"], "out": stats["chars_out"]},
        "options": options,  # a rerun reuses this shard only with the same options
        "adapter": sieve.adapter_name(),  # the folder's publisher adapter, and the documents it adjusted
        "adapted": sieve.adapted - adapted_before,
        # --templates: the documents it saw and those of its publishers (it applied to)
        "templates": ({"documents": memory.documents - templates_before[0],
                       "applied": memory.applied - templates_before[1],
                       "turned": (memory.turned or 0) - templates_before[2]} if memory is not None else None),
    }
    _check_run(task)
    _write_json_atomic(shard_report_path(task.output), report, tag=tag)
    logger.info("shard %s: %d read, %d written in %.1f s", task.name, report["read"], report["written"],
                time.perf_counter() - started)
    return report


def _close_writers(writers: dict[str | None, JsonlWriter], *, failed: bool) -> None:
    """Close every writer: renamed into place, or with ``failed`` (or once one fails
    to close: a full disk) removed; each is closed whatever the others do. Raises
    the first error."""
    first: BaseException | None = None
    for w in writers.values():
        try:
            if failed or first is not None:
                w.__exit__(RuntimeError, RuntimeError("aborted"), None)
            else:
                w.__exit__(None, None, None)
        except BaseException as err:  # noqa: BLE001 - raised below, after the others are closed
            first = first or err
    if first is not None:
        raise first


def _counted(docs: Iterator[Document], stats: dict[str, Any]) -> Iterator[Document]:
    for doc in docs:
        stats["read"] += 1
        yield doc


def named_in_folder(docs: Iterable[Document], name: str, path: str, input_format: str) -> Iterator[Document]:
    """The documents of an input ``path`` whose name in its input folder is ``name``
    (``REL/NAME``: its sub-folder and its file name without extensions), with the ids
    made of its file's name (a page's or a text file's name, ``NAME.jsonl:LINE`` of a
    record without an id) made of that path (``en/part-0.jsonl:3``, ``news/a/index``):
    Spark's ``part-00000`` files and a site's ``index.html`` pages repeat one name in
    every folder."""
    folder = PurePosixPath(name).parent
    if str(folder) == ".":
        yield from docs
        return
    whole = file_format(path, input_format) in ("text", "html")  # one document named by its file
    for doc in docs:
        if whole:
            yield replace(doc, id=name)
        elif not doc.id_given:
            yield replace(doc, id=f"{folder}/{doc.id}")
        else:
            yield doc


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _write_json_atomic(path: Path, data: dict[str, Any], tag: str | None = None) -> None:
    write_text_atomic(path, json_lossless(data, indent=2) + "\n", tag=tag)


def merge_reports(reports: list[dict[str, Any]], policy: CleanPolicy) -> dict[str, Any]:
    """The run report: the shard reports summed (``read = written + dropped + rejected``)."""
    total: dict[str, Any] = {"read": 0, "written": 0, "records": 0, "skipped": 0}
    counters: dict[str, Counter[str]] = {k: Counter() for k in ("dropped", "rejected", "blocks", "languages",
                                                                "removed")}
    chars: Counter[str] = Counter()
    for r in reports:
        total["read"] += r["read"]
        total["written"] += r["written"]
        total["skipped"] += int(r.get("skipped", 0))  # 0 in a shard report of an earlier Sieve
        total["records"] += sum(r["records"].values()) if isinstance(r.get("records"), dict) else r["written"]
        for k, c in counters.items():
            c.update(r[k])
        chars.update(r["chars"])
    adapters = sorted({r["adapter"] for r in reports if r.get("adapter")})
    out = {
        "read": total["read"],
        "written": total["written"],
        "skipped": total["skipped"],
        "records": total["records"],  # the output records: more than written with --split-by-language
        "dropped": dict(sorted(counters["dropped"].items())),
        "rejected": dict(sorted(counters["rejected"].items())),
        "blocks": dict(sorted(counters["blocks"].items())),
        "languages": dict(sorted(counters["languages"].items())),
        "removed": dict(sorted(counters["removed"].items())),
        "chars": {"in": chars["in"], "out": chars["out"]},
        "adapter": "; ".join(adapters) or None,
        # None when a shard was made by a Sieve that did not count
        "adapted": sum(int(r["adapted"]) for r in reports) if all("adapted" in r for r in reports) else None,
        "templates": _summed_template_counts(reports),
        "shards": len(reports),
        "policy": policy.to_dict(),
        "sieve_version": __version__,
    }
    return out


def _summed_template_counts(reports: list[dict[str, Any]]) -> dict[str, int] | None:
    """The shards' template memory counts added up; None without --templates, or when
    a shard was made by a Sieve that did not count them."""
    counts = [r.get("templates") for r in reports]
    if not counts or any(not isinstance(c, dict) for c in counts):
        return None
    summed = {k: sum(int(c[k]) for c in counts if c is not None) for k in ("documents", "applied")}
    if all("turned" in c for c in counts if c is not None):  # shards of an earlier Sieve did not count it
        summed["turned"] = sum(int(c["turned"]) for c in counts if c is not None)
    return summed


def write_run_report(path: Path, report: dict[str, Any]) -> Path:
    _write_json_atomic(path, report)
    return path

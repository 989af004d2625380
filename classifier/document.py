"""The document model: ``Document`` of ``Block``s with optional ``Segment``s.

Records follow ``SCHEMA.md``. ``Document.from_dict`` reads an *input* record: gold
fields on blocks (``label``, ``lang``, ``segments``) are kept apart from the text so
that they are never echoed as predictions; ``to_dict`` writes a *prediction*.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from .errors import SchemaError, TooManyBlocks

__all__ = ["Block", "Document", "Label", "LABELS", "Segment", "labelled_block", "normalize_lang", "split_paragraphs"]


class Label(StrEnum):
    """What a block is; the values are the SCHEMA.md strings."""

    CONTENT = "content"
    BOILERPLATE = "boilerplate"
    NAVIGATION = "navigation"


#: The labels in the fixed order used for probability columns everywhere.
LABELS: tuple[Label, ...] = (Label.CONTENT, Label.BOILERPLATE, Label.NAVIGATION)

_LANG_RE = re.compile(r"^[a-z]{2,3}$")


def normalize_lang(code: object) -> str | None:
    """Return a language code as SCHEMA.md wants it (``"en"``, ``"yue"``), or ``None``.

    Strips fastText's ``__label__`` prefix, lower-cases, and keeps only the primary
    subtag (``"pt-BR"`` -> ``"pt"``). Anything that is not a 2-3 letter code is ``None``.
    """
    if not isinstance(code, str):
        return None
    text = code.strip().lower().removeprefix("__label__")
    text = re.split(r"[-_]", text, maxsplit=1)[0]
    return text if _LANG_RE.match(text) else None


#: Codes that are not the language model's but name one of its languages: ISO 639-2's
#: three-letter codes (bibliographic and terminologic), a few ISO 639-3 ones of a
#: macrolanguage's main member, withdrawn two-letter codes, and country codes taken for
#: language codes. ``sieve clean --lang`` and ``CleanPolicy`` name the code meant: spelling alone hinted "eu" for "deu",
#: "sa" (Sanskrit) for "spa", "pnb" for "jpn" and nothing for "ger".
LANGUAGE_ALIASES = dict(pair.split(":") for pair in (
    "afr:af alb:sq amh:am ara:ar arg:an arm:hy asm:as ava:av aze:az bak:ba baq:eu bel:be ben:bn bih:bh bod:bo "
    "bos:bs bre:br bul:bg bur:my cat:ca ces:cs che:ce chi:zh chv:cv cor:kw cos:co cym:cy cze:cs dan:da deu:de "
    "div:dv dut:nl ell:el eng:en epo:eo est:et eus:eu fas:fa fin:fi fra:fr fre:fr fry:fy geo:ka ger:de gla:gd "
    "gle:ga glg:gl glv:gv gre:el grn:gn guj:gu hat:ht heb:he hin:hi hrv:hr hun:hu hye:hy ice:is ido:io ile:ie "
    "ina:ia ind:id isl:is ita:it jav:jv jpn:ja kan:kn kat:ka kaz:kk khm:km kir:ky kom:kv kor:ko kur:ku lao:lo "
    "lat:la lav:lv lim:li lit:lt ltz:lb mac:mk mal:ml mar:mr may:ms mkd:mk mlg:mg mlt:mt mon:mn msa:ms mya:my "
    "nep:ne nld:nl nno:nn nor:no oci:oc ori:or oss:os pan:pa per:fa pol:pl por:pt pus:ps que:qu roh:rm ron:ro "
    "rum:ro rus:ru san:sa sin:si slk:sk slo:sk slv:sl snd:sd som:so spa:es sqi:sq srd:sc srp:sr sun:su swa:sw "
    "swe:sv tam:ta tat:tt tel:te tgk:tg tgl:tl tha:th tib:bo tuk:tk tur:tr uig:ug ukr:uk urd:ur uzb:uz vie:vi "
    "vol:vo wel:cy wln:wa yid:yi yor:yo zho:zh "
    "cmn:zh arb:ar pes:fa zsm:ms nob:no ekk:et lvs:lv swh:sw uzn:uz "
    "iw:he in:id ji:yi jw:jv mo:ro nb:no jp:ja cn:zh cz:cs dk:da gr:el ua:uk vn:vi "
    # Filipino (lid.176 knows Tagalog), Serbo-Croatian's withdrawn code, Tosk Albanian (ISO 639-3's als:
    # Sieve writes Swiss German, lid.176's als, gsw: language.MODEL_CODES)
    "fil:tl sh:hbs als:sq"
).split())
#: Two-letter codes of a language the shipped language model does not give that are also a
#: country's code, taken for its language's: not aliases (a Northern Sami text is no Swedish
#: one). Each with its language's name, and the code and name of the country's language.
COUNTRY_CODES = {"se": ("Northern Sami", "sv", "Swedish"), "kr": ("Kanuri", "ko", "Korean")}


#: Han and kana letters, as ranges of a regex character class: the languages written
#: without spaces between words (the language layer weighs them, the block shape
#: counts their words).
HAN_KANA = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

@dataclass(frozen=True, slots=True)
class Segment:
    """A span of a block's text in another language; ``end`` is exclusive."""

    start: int
    end: int
    lang: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "lang": self.lang}
        if self.score is not None:
            out["score"] = round(self.score, 4)
        return out


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph-like unit of a document, with what the models said about it.

    ``scores`` are the classifier's probabilities in ``LABELS`` order (each 0..1,
    summing to 1); ``lang_score`` is the confidence of ``lang`` (0..1).
    """

    text: str
    label: Label | None = None
    scores: tuple[float, float, float] | None = None
    lang: str | None = None
    lang_score: float | None = None
    foreign: bool | None = None
    segments: tuple[Segment, ...] = ()
    tag: str | None = None  # "p", "h2", "li" ... when the source had markup
    link_chars: int = 0  # characters of `text` inside <a>
    dom: tuple[float, ...] | None = None  # DOM facts of a block cut from HTML (html.DOM_FACTS order)
    path: str | None = None  # its ancestors in the page, "html body div.entry-content p" (html.html_to_blocks)
    # the input block's other fields (neither gold nor a prediction), written back as they were
    extra: dict[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def mostly_links(self) -> bool:
        """Half its characters or more (spaces aside) are link text: a menu item, a tag."""
        return 2 * self.link_chars >= _nonspace(self.text)

    def to_dict(self) -> dict[str, Any]:
        """The block as a prediction record (SCHEMA.md, "Prediction"): the input block's
        own fields that are neither gold nor predictions first (a block cut from a page:
        its ``tag``), then the predictions."""
        out: dict[str, Any] = dict(self.extra) if self.extra else {}
        if self.tag is not None and "tag" not in out and "html_ctx" not in out:  # a block cut from a page: h1, p ...
            out["tag"] = self.tag
        out["text"] = self.text
        label = self.label  # a Label, or its name as a str (converted only then: every block passes here)
        out["label"] = (label.value if isinstance(label, Label) else Label(label).value) if label else None
        if self.scores is not None:
            out["scores"] = _rounded_scores(self.scores)
        out["lang"] = self.lang
        out["lang_score"] = None if self.lang_score is None else round(self.lang_score, 4)
        if self.foreign is not None:
            out["foreign"] = self.foreign
        out["segments"] = [s.to_dict() for s in self.segments]
        return out


def _rounded_scores(scores: tuple[float, float, float]) -> dict[str, float]:
    """The scores to 4 decimals, still summing to 1 and in the same order (largest
    remainders: each is cut to 4 decimals, and the ten-thousandths left go to those
    with the largest parts cut off)."""
    units = [int(p * 10_000) for p in scores]
    order = sorted(range(len(scores)), key=lambda i: (scores[i] * 10_000 - units[i], scores[i]), reverse=True)
    for i in order[: max(0, 10_000 - sum(units))]:
        units[i] += 1
    return {lab.value: u / 10_000 for lab, u in zip(LABELS, units)}


def labelled_block(block: Block, label: str | None) -> dict[str, Any]:
    """A block as labelled data (SCHEMA.md), with what the page told of it when it was
    cut from HTML (``tag``, ``path``, ``dom``), so that training on it sees the page."""
    out: dict[str, Any] = {"text": block.text, "label": label}
    if block.tag:
        out["tag"] = block.tag
    if block.link_chars:  # a model input: the block read back must be the block the page gives
        out["link_chars"] = block.link_chars
    if block.path:
        out["path"] = block.path
    if block.dom is not None:
        out["dom"] = list(block.dom)
    return out


def _dom_of(raw: Any) -> tuple[float, ...] | None:
    """DOM facts read back from labelled data; None unless they are this Sieve's
    (as many numbers as ``html.DOM_FACTS``): facts of another version are dropped,
    and the block is then labelled as text."""
    if not isinstance(raw, list):
        return None
    from .html import DOM_FACTS  # only when a record carries DOM facts

    if len(raw) != len(DOM_FACTS) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                             and -DOM_FACT_LIMIT <= v <= DOM_FACT_LIMIT for v in raw):
        return None
    return tuple(float(v) for v in raw)


#: DOM facts are flags, shares and logarithms: anything beyond this is not one of them.
DOM_FACT_LIMIT = 1e3


def _link_chars_of(raw: Any, text: str) -> int:
    """A block's characters inside links, read back from labelled data (``labelled_block``):
    at most its non-space characters, as ``html_to_blocks`` counts them; 0 when absent
    or not a count."""
    if not isinstance(raw, int) or isinstance(raw, bool) or raw <= 0:
        return 0
    return min(raw, _nonspace(text))


#: White space, control and format characters (a zero-width space, a soft hyphen, a
#: byte-order mark, direction marks): text that shows nothing.
_INVISIBLE = re.compile("[\\s\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u206f\ufeff\ufff9-\ufffb]*")


def is_blank(text: str) -> bool:
    """Whether a block's text shows nothing (white space, control and format characters
    only): such a block is no context for the models."""
    if text[:1].isalnum():  # most blocks: a letter or digit first is shown (no regex per block)
        return False
    return _INVISIBLE.fullmatch(text) is not None


def without_blank_blocks(doc: Document) -> tuple[Document, list[int] | None]:
    """``doc`` without its blank blocks (``is_blank``), and the places of the others (None
    when it has none, or nothing else: it is taken as it is). Labelling gives each blank
    block the label of the block before it; training leaves them out, so that the models
    learn from the context they see when labelling."""
    kept = [i for i, b in enumerate(doc.blocks) if not is_blank(b.text)]
    if len(kept) == len(doc.blocks) or not kept:
        return doc, None
    gold = tuple(doc.gold[i] for i in kept if i < len(doc.gold)) if doc.gold else ()
    return replace(doc, blocks=tuple(doc.blocks[i] for i in kept), gold=gold), kept


def model_text(text: str) -> str:
    """A block's text as the models read it: without white space at its ends, and each
    run of white space one space when it has line breaks, tabs or two spaces in a row.
    A page's ``<br>`` lines and a ``<pre>``'s indentation (``html_to_blocks``), or a
    paragraph wrapped over lines, are layout: the blocks the models learned from hold
    none. A single no-break space inside the text is kept (French puts one before
    ``:`` and in ``« »``, and the models learned it so)."""
    if "\n" in text or "  " in text or "\t" in text or "\r" in text:
        return " ".join(text.split())
    if text[:1].isspace() or text[-1:].isspace():
        return text.strip()
    return text


def _nonspace(text: str) -> int:
    """A text's characters but spaces (at least 1), as ``html_to_blocks`` counts a
    block's link text against them."""
    if "\n" in text or "\t" in text:  # a page's <br> lines, a <pre>'s indentation
        return max(len("".join(text.split())), 1)
    return max(len(text) - text.count(" "), 1)


@dataclass(frozen=True, slots=True)
class Document:
    """A document: an id, its blocks in reading order, and what passes through.

    ``extra`` holds every input key Sieve does not interpret; it is written back
    unchanged. ``gold`` holds gold annotations found in the input (one dict per
    block, possibly empty) so evaluation can use them; they are never written as
    predictions.
    """

    id: str | int  # the record's own id, as given
    blocks: tuple[Block, ...]
    url: str | None = None
    publisher: str | None = None
    lang: str | None = None
    lang_score: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    gold: tuple[Mapping[str, Any], ...] = ()
    gold_lang: str | None = None
    #: whether ``id`` is the record's own (False: the reader named it by file and line)
    id_given: bool = field(default=True, compare=False)
    #: the input field the blocks were read from (``blocks``, the text field's name or the
    #: html field's); None for a document not read from a record
    read_from: str | None = field(default=None, compare=False)

    @property
    def is_page(self) -> bool:
        """Whether the blocks were cut from a web page (they carry DOM facts; the
        first 64 blocks tell)."""
        return any(b.dom is not None for b in self.blocks[:64])

    @property
    def texts(self) -> list[str]:
        return [b.text for b in self.blocks]

    @property
    def gold_labels(self) -> list[Label | None]:
        """Gold labels of the blocks (``None`` where the gold says nothing)."""
        out: list[Label | None] = []
        for i in range(len(self.blocks)):
            raw = self.gold[i].get("label") if i < len(self.gold) else None
            out.append(Label(raw) if isinstance(raw, str) and raw in Label._value2member_map_ else None)
        return out

    @classmethod
    def from_texts(cls, texts: Sequence[str], *, id: str = "doc", **fields: Any) -> Document:
        """Build a document from block texts (one block per string, in order)."""
        if isinstance(texts, (str, bytes)):  # a str is a sequence of strings too: a block per character
            raise TypeError(f"from_texts takes a list of block texts, not {type(texts).__name__} "
                            "(one text? put it in a list: [text])")
        if isinstance(texts, (AbstractSet, Mapping)):  # no order of their own: labels would change from run to run
            raise TypeError(f"from_texts takes a list of block texts in reading order, not a {type(texts).__name__} "
                            "(it has no order of its own)")
        return cls(id=id, blocks=tuple(Block(text=t) for t in texts), **fields)

    @classmethod
    def from_dict(cls, record: object, *, default_id: str = "doc", text_field: str = "text",
                  html_field: str = "html", max_blocks: int | None = None, id_field: str = "id") -> Document:
        """Read an input record (SCHEMA.md). Raises ``SchemaError`` naming the field,
        and ``TooManyBlocks`` for more than ``max_blocks`` blocks (before building them).

        Blocks come from ``blocks`` (strings or objects with ``text``) exactly as
        given; without ``blocks``, ``text_field`` is split into paragraphs; without
        either, ``html_field`` (a page's HTML as a string) is segmented into blocks
        (and not passed through: pages are large).

        The document's id is ``id_field`` (``doc_id``: RedPajama's), a string or an
        integer (an integer-valued float is taken as an integer), not passed through;
        without it (or null), ``default_id``. A record's own ``id`` beside another
        ``id_field`` is passed through as any other field.
        """
        if not isinstance(record, dict):
            raise SchemaError(f"a record must be a JSON object, not {type(record).__name__}")
        # a null 'blocks', text or page counts as missing (a table's row has every column)
        nulls = [key for key in (text_field, "blocks", html_field) if key in record and record[key] is None]
        rec = {key: value for key, value in record.items() if value is not None or key not in nulls}
        raw_id = rec.pop(id_field, None)
        doc_id: str | int
        if raw_id is None:
            doc_id = default_id
        elif isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool):
            doc_id = raw_id  # kept as given: an integer id is written back as an integer
        elif isinstance(raw_id, float) and raw_id.is_integer():  # 3.0: pandas writes integer ids so beside NaN
            doc_id = int(raw_id)
        else:
            raise SchemaError(f"field '{id_field}' must be a string or integer, not {type(raw_id).__name__}")
        gold: list[dict[str, Any]] = []
        canonical: str | None = None  # a page's canonical URL, taken when its record's url is no string
        read_from: str
        if "blocks" in rec:
            read_from = "blocks"
            raw_blocks = rec.pop("blocks")
            if not isinstance(raw_blocks, list):
                raise SchemaError(f"field 'blocks' must be a list, not {type(raw_blocks).__name__}")
            if max_blocks is not None and len(raw_blocks) > max_blocks:
                raise TooManyBlocks(max_blocks)
            blocks = []
            for i, raw in enumerate(raw_blocks):
                if isinstance(raw, str):
                    blocks.append(Block(text=raw))
                    gold.append({})
                elif isinstance(raw, dict) and isinstance(raw.get("text"), str):
                    tag, path = raw.get("tag"), raw.get("path")
                    extra = {k: v for k, v in raw.items() if k not in _BLOCK_FIELDS}
                    blocks.append(Block(text=raw["text"], tag=tag if isinstance(tag, str) else None,
                                        link_chars=_link_chars_of(raw.get("link_chars"), raw["text"]),
                                        path=path if isinstance(path, str) else None, dom=_dom_of(raw.get("dom")),
                                        extra=extra or None))
                    # "scores": the block is a model's prediction (``sieve score``), not gold
                    gold.append({k: raw[k] for k in ("label", "lang", "segments", "scores") if k in raw})
                else:
                    raise SchemaError(f"blocks[{i}] must be a string or an object with a string 'text'")
            contexts = [raw.get("html_ctx") if isinstance(raw, dict) else None for raw in raw_blocks]
            if blocks and all(isinstance(c, dict) for c in contexts) and not any(b.dom for b in blocks):
                # blocks cut from a page by the segmenter of the project's labelled data, with
                # what it saw of the page: they are read as a page's blocks (the HTML model)
                from .html import blocks_in_context

                blocks = blocks_in_context(blocks, contexts)  # type: ignore[arg-type]
        elif text_field in rec:
            read_from = text_field
            text = rec.pop(text_field)
            if not isinstance(text, str):
                raise SchemaError(f"field '{text_field}' must be a string, not {type(text).__name__}")
            paragraphs = split_paragraphs(text)
            if max_blocks is not None and len(paragraphs) > max_blocks:
                raise TooManyBlocks(max_blocks)
            blocks = [Block(text=t) for t in paragraphs]
        elif isinstance(rec.get(html_field), str):
            read_from = html_field
            from .html import html_to_blocks, page_fields  # lxml only when pages come in

            if _LOOKS_LIKE_PATH.fullmatch(rec[html_field]):
                raise SchemaError(f"field '{html_field}' holds a file path ({rec[html_field][:200]!r}), not a page's "
                                  "HTML; give the page files themselves as inputs")

            found: dict[str, str] = {}
            blocks = html_to_blocks(rec.pop(html_field), found=found, max_blocks=max_blocks)
            if not rec.get("url"):  # a page without its url: the canonical URL it names
                rec["url"] = found.get("url")
            elif not isinstance(rec["url"], str):  # one that is no string (123, a list) is written back as it
                canonical = found.get("url")  # was; the document's url is then its metadata's, else the canonical
            for key, value in page_fields(found).items():  # the page's title, unless the record gives its own
                rec.setdefault(key, value)
        else:
            present = next((f for f in (text_field, html_field) if rec.get(f) is not None), None)
            if present is not None:
                raise SchemaError(f"field '{present}' is {type(rec[present]).__name__}, not a string")
            if nulls:
                raise SchemaError(f"no text: {', '.join(nulls)} null in this record")
            raise SchemaError(f"record has none of 'blocks', '{text_field}' or '{html_field}' (HTML as a string); "
                              "--text-field names the field that holds the text")
        url = rec.pop("url", None)
        publisher = rec.pop("publisher", None)
        gold_lang = rec.pop("lang", None)
        rec.pop("lang_score", None)  # a previous run's prediction, never input
        passthrough = _passthrough(url, publisher)
        # Dolma and datatrove keep the url in 'metadata', RedPajama in 'meta'
        url = url if isinstance(url, str) else _nested(rec, "url") or canonical
        publisher = publisher if isinstance(publisher, str) else _nested(rec, "publisher")
        return cls(
            id=doc_id,
            blocks=tuple(blocks),
            url=url if isinstance(url, str) else None,
            publisher=publisher if isinstance(publisher, str) else None,
            extra=rec | passthrough,
            gold=tuple(gold) if any(gold) else (),
            gold_lang=gold_lang if isinstance(gold_lang, str) else None,
            id_given=raw_id is not None,
            read_from=read_from,
        )

    def to_dict(self) -> dict[str, Any]:
        """The document as a prediction record (SCHEMA.md, "Prediction").

        ``id`` comes first (as in SCHEMA.md: what `head` shows), then the pass-through
        fields, then ``lang``, ``lang_score`` and ``blocks`` (which win over a
        pass-through field of the same name).
        """
        out: dict[str, Any] = {"id": self.id, **self.extra}
        if self.url is not None and "url" not in out:  # pages and WARC records: not from an input field
            out["url"] = self.url
        if self.publisher is not None and "publisher" not in out:
            out["publisher"] = self.publisher
        out["id"] = self.id  # a pass-through "id" (a record's own beside another --id-field) never wins
        out["lang"] = self.lang
        out["lang_score"] = None if self.lang_score is None else round(self.lang_score, 4)
        out["blocks"] = [b.to_dict() for b in self.blocks]
        return out


def url_host(url: str | None) -> str | None:
    """A URL's host as ``host_name`` writes it: the publisher of a record that names
    none (None without a URL, or for one no host can be read from)."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # "http://[x/a": not a URL a host can be read from
        return None
    return host_name(host)


def host_name(host: str) -> str | None:
    """A host or a publisher's name as Sieve compares them: lower case, without
    ``www.`` or a trailing dot, a punycode (``xn--``) label as the characters it
    stands for (``www.Example.com.`` and ``example.com`` are one publisher)."""
    host = host.strip().lower().rstrip(".")
    if "xn--" in host:
        labels = []
        for label in host.split("."):
            if label.startswith("xn--"):
                try:
                    label = label.encode("ascii").decode("idna")
                except UnicodeError:  # not valid punycode: as written
                    pass
            labels.append(label)
        host = ".".join(labels)
    return host.removeprefix("www.") or None


#: An ``html`` field that is a file's path (SCHEMA.md's labelled data), not a page.
_LOOKS_LIKE_PATH = re.compile(r"[^<>\s]+\.(html?|xhtml)(\.(gz|zst|bz2|xz))?", re.IGNORECASE)

#: Block fields that are gold or predictions (never passed through), and the text.
_BLOCK_FIELDS = frozenset({"text", "label", "lang", "segments", "scores", "lang_score", "foreign"})


def _nested(record: dict[str, Any], key: str) -> str | None:
    """``record["metadata"][key]`` (Dolma, datatrove), else ``record["meta"][key]``
    (RedPajama), when it is a non-empty string."""
    for holder in ("metadata", "meta"):
        inner = record.get(holder)
        if isinstance(inner, dict) and isinstance(inner.get(key), str) and inner[key]:
            return str(inner[key])
    return None


def _passthrough(url: object, publisher: object) -> dict[str, Any]:
    """Input fields that the document keeps as attributes but writes back as they were."""
    out: dict[str, Any] = {}
    if url is not None:
        out["url"] = url
    if publisher is not None:
        out["publisher"] = publisher
    return out


#: A line of nothing but white space, Unicode's included (a non-breaking space, U+3000).
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
#: Unicode's line and paragraph separators and NEL, as the line breaks they are.
_BREAKS = str.maketrans({"\u2028": "\n", "\u2029": "\n\n", "\x85": "\n"})


#: A line longer than this is no hard-wrapped text (wrapping tools break at 72-100).
WRAP_WIDTH = 120


def split_paragraphs(text: str) -> list[str]:
    """Split plain text into paragraphs.

    On blank lines when the text has any, else one paragraph per non-empty line.
    A blank-line paragraph keeps its inner line breaks when its lines look like
    wrapped text; when they do not (a line longer than ``WRAP_WIDTH``, or three lines
    or more of which one, not the first (a heading) nor the last, is under half the
    longest), each line is a paragraph: text scraped one block per line with the odd blank line in it (a
    page's title, a blank line, then the page) is not one block of menus and article.
    Paragraphs are stripped; empty ones are dropped.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\u2028" in text or "\u2029" in text or "\x85" in text:
        text = text.translate(_BREAKS)
    if not _BLANK_LINE.search(text):
        return [line.strip() for line in text.split("\n") if line.strip()]
    out: list[str] = []
    for part in _BLANK_LINE.split(text):
        part = part.strip()
        if not part:
            continue
        lines = [line.strip() for line in part.split("\n") if line.strip()]
        out.extend(lines if len(lines) > 1 and not _wrapped(lines) else [part])
    return out


def _wrapped(lines: list[str]) -> bool:
    """Whether a paragraph's lines look like wrapped text (see ``split_paragraphs``)."""
    widths = [len(line) for line in lines]
    widest = max(widths)
    if widest > WRAP_WIDTH:
        return False
    return len(lines) < 3 or all(w >= widest / 2 for w in widths[1:-1])

"""Block features as scikit-learn transformers over ``BlockRow``s.

A sample is a ``BlockRow``: a block seen inside its document (the document's
blocks and the block's index), so context features need no row order: any split
or shuffle of rows gives the same features. Transformers are stateless maps from
rows to a matrix; documents are featurised once per ``transform`` call and cached
by identity inside that call only.

Families:
- ``TextNgrams``: hashed character n-grams inside words and word uni/bigrams of
  the block (lower-cased, first ``MAX_TEXT_CHARS`` characters; see ``ngrams``);
  they carry boilerplate phrases across languages.
- ``dense``: the block's shape (length, punctuation, capitals, digits,
  sentence-likeness, menu- and link-like tokens), its position, repetition inside
  the document, and the same shape statistics for its neighbours and windows
  around it (context), plus where it stands relative to the document's main run
  of prose.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .document import HAN_KANA, Block, Document, model_text
from .ngrams import hash_ngrams
from .sparse import SparseRows
from .versions import FEATURES_VERSION

__all__ = [
    "BlockRow",
    "DenseFeatures",
    "FEATURES_VERSION",
    "MAX_TEXT_CHARS",
    "SHAPE_NAMES",
    "TextNgrams",
    "build_text_features",
    "document_feature_columns",
    "document_features",
    "article_context",
    "probability_context",
    "iter_block_rows",
]

# FEATURES_VERSION (what each version changed): versions.py

#: Characters of a block the n-gram families look at: the start of a block says what
#: it is, and hashing whole 2 kB paragraphs would cost time for no signal.
MAX_TEXT_CHARS = 600


@dataclass(frozen=True, slots=True)
class BlockRow:
    """A block inside its document: ``blocks[index]`` with its neighbours reachable."""

    blocks: tuple[Block, ...]
    index: int

    @property
    def block(self) -> Block:
        return self.blocks[self.index]

    @property
    def previous(self) -> Block | None:
        return self.blocks[self.index - 1] if self.index > 0 else None

    @property
    def next(self) -> Block | None:
        return self.blocks[self.index + 1] if self.index + 1 < len(self.blocks) else None

    @property
    def position(self) -> float:
        """Relative position: 0.0 for the first block, 1.0 for the last."""
        n = len(self.blocks)
        return self.index / (n - 1) if n > 1 else 0.0


def iter_block_rows(document: Document) -> Iterator[BlockRow]:
    """Every block of ``document`` as a ``BlockRow``, in reading order."""
    for i in range(len(document.blocks)):
        yield BlockRow(document.blocks, i)


# --- shape of one block -------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)
_SENT_END = re.compile(r"[.!?。！？…][\"'”’»)\]]*(\s|$)")
_END_PUNCT = re.compile(r"[.!?。！？…:;][\"'”’»)\]]*\s*$")
_SEPARATORS = re.compile(r"[|•·»›«‹/\\>→←↑↓▶►◄▸◂★☆✓✔✕✖×]")
_URLISH = re.compile(r"https?://|www\.|\.(com|org|net|de|fr|html?)\b|@\w", re.IGNORECASE)
_DATEISH = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b|\b\d{1,2}:\d{2}\b")
_DIGIT = re.compile(r"\d")
_UPPER = re.compile(r"[^\W\d_]")  # letters; upper-case counted separately
_PUNCT = re.compile(r"[^\w\s]")

SHAPE_NAMES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "mean_word_len",
    "letter_share",
    "digit_share",
    "upper_share",
    "title_word_share",
    "punct_share",
    "ends_with_punct",
    "log_sentences",
    "commas_per_word",
    "separator_share",
    "starts_with_symbol",
    "urlish",
    "dateish",
    "all_caps",
    "short_word_share",
    "is_sentence_like",
    "is_menu_like",
    "link_share",
    "boiler_lexicon",
    "nav_lexicon",
)
_N_SHAPE = len(SHAPE_NAMES)
_IDX_LOG_CHARS = SHAPE_NAMES.index("log_chars")
_IDX_SENTENCE = SHAPE_NAMES.index("is_sentence_like")
_IDX_MENU = SHAPE_NAMES.index("is_menu_like")
_IDX_ENDS = SHAPE_NAMES.index("ends_with_punct")
_IDX_WORDS = SHAPE_NAMES.index("log_words")
#: Shape columns repeated for neighbours and windows (the others add little there).
_CONTEXT_COLS = (_IDX_LOG_CHARS, _IDX_WORDS, _IDX_ENDS, _IDX_SENTENCE, _IDX_MENU,
                 SHAPE_NAMES.index("title_word_share"), SHAPE_NAMES.index("separator_share"))


def _ascii_keeping(pattern: re.Pattern[str]) -> bytes:
    """The ASCII bytes ``pattern`` does not match: deleting them with ``bytes.translate``
    leaves one byte per match (the classes above match one character each)."""
    return bytes(c for c in range(128) if not pattern.fullmatch(chr(c)))


_ASCII_NOT_LETTER = _ascii_keeping(_UPPER)
_ASCII_NOT_DIGIT = _ascii_keeping(_DIGIT)
_ASCII_NOT_PUNCT = _ascii_keeping(_PUNCT)
_ASCII_NOT_UPPER = bytes(c for c in range(128) if not chr(c).isupper())
#: An ASCII word (``_WORD``) that starts with a capital.
_ASCII_TITLE_WORD = re.compile(r"(?<!\w)[A-Z]")

#: Phrases of boilerplate in the languages of the dev data and their neighbours:
#: copyright, subscription and newsletter pitches, "follow us", donations, cookie
#: and privacy notices, syndication and affiliate notes, advertising marks, author
#: bios, credit lines ("Foto: ..."). A block's n-grams are learned from the few
#: hundred boilerplate blocks of the dev data; a lexicon carries to the phrasings of
#: publishers never seen (publisher-grouped CV: traf content-vs-rest +0.011 and
#: macro-F1 +0.026 with two seeds; training/NOTES.md, session 9).
_BOILER_LEX = re.compile(r"""(?ix)
 ©|\(c\)\s*\d{4}|\bcopyright\b|all\ rights\ reserved|alle\ rechte\ vorbehalten|tous\ droits\ r[ée]serv|
 todos\ los\ derechos|tutti\ i\ diritti|wszelkie\ prawa|todos\ os\ direitos|все\ права|prawem\ autorskim|
 \bsubscri(?:be|ption|ber)|\bnewsletter|\bsign\ up\b|\babonn|\bsuscr[ií]b|\biscriviti|\bassine\b|\bzapisz\ si[eę]|
 \bfollow\ (?:us|the|@)|folgen\ sie|folge\ uns|suivez|s[ií]guenos|seguici|\bsiga-nos|obserwuj|
 \bdonat|\bspende|unterst[üu]tze|support\ (?:our|us|independent)|\bpaywall|bezahlschranke|
 \bcookies?\b|privacy\ policy|datenschutz|confidentialit|
 originally\ (?:published|appeared)|first\ (?:published|appeared)|republished|reprinted|
 this\ (?:article|story)\ (?:was|is|first)|
 publi[ée]e?\ (?:à\ l'origine|initialement|d'abord)|initialement\ publi|cet\ article\ a\ (?:été|d'abord)|
 reproduction\ (?:interdite|autorisée|réservée|partielle|totale)|
 erschien\ (?:zuerst|ursprünglich|erstmals)|(?:ursprünglich|zuerst|erstmals)\ (?:veröffentlicht|erschienen)|
 nachdruck|dieser\ (?:artikel|beitrag)\ (?:erschien|wurde|ist)|
 publicad[oa]\ (?:originalmente|inicialmente|por\ primera\ vez)|prohibida\ (?:su|la)\ reproducci|
 este\ art[íi]culo\ (?:fue|se\ public)|
 (?:pubblicato\ originariamente|originariamente\ pubblicato)|riproduzione\ riservata|questo\ articolo\ è|
 reprodução\ proibida|este\ artigo\ foi|oorspronkelijk\ gepubliceerd|dit\ artikel\ (?:verscheen|is)|
 pierwotnie\ opublikowan|
 \baffiliate|provision\ vom|partnerlinks?|werbelinks?|\bsponsored\b|\banzeige\b|\badvertisement\b|
 publicidad|publicit[ée]|reklama|
 contributed\ to\ this\ report|
 getty\ images|shutterstock|picture[-\ ]alliance|\bimago\b|\bistock
""")
#: Literals at least one of which every ``_BOILER_LEX`` alternative holds (lower-cased):
#: the regex, about 60 alternatives tried at every position, runs only on a block
#: that has one (it cost 300 µs a block, twice the rest of its shape).
_BOILER_ANCHORS = (
    "©", "(c)", "copyright", "rights reserved", "rechte vorbehalten", "droits r", "todos los derechos",
    "tutti i diritti", "wszelkie prawa", "todos os direitos", "все права", "autorskim", "subscri", "newsletter",
    "sign up", "abonn", "suscr", "iscriviti", "assine", "zapisz", "follow us", "follow the", "follow @",
    "folgen sie", "folge uns", "suivez", "guenos", "seguici", "siga-nos", "obserwuj", "donat", "spende",
    "unterstütze", "unterstutze", "support our", "support us", "support independent", "paywall",
    "bezahlschranke", "cookie", "privacy policy", "datenschutz", "confidentialit", "originally published",
    "originally appeared", "first published", "first appeared", "republished", "reprinted", "this article",
    "this story", "l'origine", "initialement", "d'abord", "cet article", "reproduction", "erschien zuerst",
    "erschien ursprünglich", "erschien erstmals", "ursprünglich veröffentlicht", "ursprünglich erschienen",
    "zuerst veröffentlicht", "zuerst erschienen", "erstmals veröffentlicht", "erstmals erschienen", "nachdruck",
    "dieser artikel", "dieser beitrag", "originalmente", "inicialmente", "por primera vez", "prohibida",
    "este art", "originariamente", "riproduzione", "questo articolo", "reprodução", "este artigo",
    "oorspronkelijk", "dit artikel", "pierwotnie", "affiliate", "provision vom", "partnerlink", "werbelink",
    "sponsored", "anzeige", "advertisement", "publicidad", "publicit", "reklama", "contributed to this report",
    "getty images", "shutterstock", "picture-alliance", "picture alliance", "imago", "istock",
)


def _any_of(literals: Sequence[str]) -> re.Pattern[str]:
    """A regex that finds any of ``literals`` (a substring test for each at once): the
    literals as a trie of alternatives, so that a position is given up after one
    character for most of them (a plain alternation tries each literal at each
    position; ``any(a in s for a in literals)`` is one Python call per literal)."""
    trie: dict[str, dict] = {}
    for literal in literals:
        node = trie
        for ch in literal:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict[str, dict]) -> str:
        if "" in node:  # a literal ends here: what could follow it does not matter to a search
            return ""
        alternatives = [re.escape(ch) + pattern(node[ch]) for ch in sorted(node)]
        return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"

    return re.compile(pattern(trie) if trie else "(?!)")


_BOILER_ANCHOR = _any_of(_BOILER_ANCHORS)

#: An author bio ("X is a reporter for ...") and a credit line ("Foto: ...").
_BIO_LEX = re.compile(r"""(?ix)
 \bis\ an?\ (?:\w+\ ){0,3}(?:writer|reporter|journalist|editor|correspondent|author|columnist|contributor)
""")
_CREDIT_LEX = re.compile(r"""(?ix)
 ^\W*(?:foto|photo|bild|fotos|photos|quelle|source|fuente|fonte|[źz]r[óo]d[łl]o|cr[ée]dits?|credit|titelbild|
 image|imagen|abbildung|grafik|illustration)s?\s*(?:\(s\))?\s*:
""")


def _boiler_lexicon(text: str) -> bool:
    """Whether the start of ``text`` holds a boilerplate phrase (``_BOILER_LEX``, a bio
    or a credit line)."""
    head = text[:400]
    if _CREDIT_LEX.match(head):
        return True
    low = head.lower()
    if ("is a " in low or "is an " in low) and _BIO_LEX.search(head):
        return True
    return _BOILER_ANCHOR.search(low) is not None and _BOILER_LEX.search(head) is not None


#: Lead-ins of links to other articles ("Read also:", "Lesen Sie auch", "Czytaj też").
_NAV_LEX = re.compile(r"""(?ix)
 ^\W*(?:read\ (?:also|more|next)|see\ also|related|more\ (?:from|on|about|news|stories)|
 lesen\ sie\ (?:auch|mehr)|lies\ auch|mehr\ (?:zum\ thema|themen|dazu|lesen)|weiterlesen|zum\ weiterlesen|
 weitere\ (?:artikel|themen|informationen)|siehe\ auch|auch\ interessant|das\ k[öo]nnte|
 lire\ aussi|[àa]\ lire|voir\ aussi|lea\ tambi[ée]n|leer\ m[áa]s|ver\ m[áa]s|mira:|te\ puede\ interesar|
 leia\ tamb[ée]m|veja\ tamb[ée]m|leggi\ anche|czytaj\ (?:te[żz]|wi[ęe]cej)|zobacz\ (?:te[żz]|wi[ęe]cej)|
 dowiedz\ si[ęe]|читайте\ также|смотрите\ также)
""")


#: Two Han or kana characters (or one, at the end of a run), or a run of other word
#: characters: the words of ``block_shape`` from features version 9. Chinese and Japanese
#: write no spaces, so ``\w+`` took a whole sentence for one word, and a one-sentence
#: paragraph looked like a short menu line (single Chinese news paragraphs were
#: labelled navigation); a Chinese word is one to two characters long, most often two.
_CJK_WORD = re.compile(f"[{HAN_KANA}]{{1,2}}|(?:(?![{HAN_KANA}])\\w)+")
_HAS_CJK = re.compile(f"[{HAN_KANA}]")


def _combining_marks() -> str:
    """The combining marks of the Basic Multilingual Plane (categories Mn, Mc, Me) as the
    ranges of a regex character class."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)


#: Scripts that write no space between words (Thai, Lao, Myanmar, Khmer): a run of
#: them is a phrase or a sentence, not a word.
_UNSPACED = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_MARKS = _combining_marks()
_MARK = re.compile(f"[{_MARKS}]")
#: The words of ``block_shape`` from features version 10: a word goes on through the
#: combining marks inside it (``\w`` stops at a Devanagari, Bengali or Tamil vowel sign
#: or virama, and at Arabic and Hebrew vowel points: "दिल्ली" was three words of one
#: letter, and a Hindi paragraph had the shape of a list of initials); Han and kana are
#: words of two characters as in version 9; Thai, Lao, Myanmar and Khmer of four.
_WORD_V10 = re.compile(f"[{HAN_KANA}]{{1,2}}|[{_UNSPACED}][{_UNSPACED}{_MARKS}]{{0,3}}"
                       f"|(?:(?![{HAN_KANA}{_UNSPACED}])\\w)(?:(?![{HAN_KANA}{_UNSPACED}])[\\w{_MARKS}])*")
#: Sentence ends from features version 10: the full stops and question marks of other
#: scripts (Devanagari and Bengali danda, Urdu's full stop, the Arabic question mark,
#: Armenian, Ethiopic, Myanmar, Khmer and Tibetan full stops, full-width and half-width
#: stops), and the end of a Thai or Lao run of 12 characters or more (they mark a
#: sentence's end with a space; the run's last 12 only are matched: a greedy run took
#: quadratic time on a long run that ends in another character): a Hindi story had no
#: sentence, and read as a menu.
_STOPS_V10 = ".!?。！？…।॥۔؟։።፧။។៕།．｡"
_CLOSERS = "\"'”’»)\\]"
_SENT_END_V10 = re.compile(f"(?:[{_STOPS_V10}][{_CLOSERS}]*|[\u0e00-\u0eff]{{12}})(?:\\s|$)")
_END_PUNCT_V10 = re.compile(f"(?:[{_STOPS_V10}:;][{_CLOSERS}]*|[\u0e00-\u0eff]{{12}})\\s*$")


def block_shape(block: Block, version: int = FEATURES_VERSION) -> list[float]:
    """Surface statistics of one block (``model_text``), in ``SHAPE_NAMES`` order (all
    finite), as features ``version`` computes them: from version 9, two Han or kana
    characters are a word; from version 10, combining marks are part of a word and
    count as letters (not punctuation), Thai, Lao, Myanmar and Khmer are words of four
    characters, and other scripts' full stops end sentences and their commas are
    commas (ASCII text has the same shape in each)."""
    text = model_text(block.text)
    n = len(text)
    if n == 0:
        return [0.0] * _N_SHAPE
    ascii_text = text.isascii()
    if ascii_text or version < 9:
        words = _WORD.findall(text)
    elif version < 10:
        words = _CJK_WORD.findall(text) if _HAS_CJK.search(text) else _WORD.findall(text)
    else:
        words = _WORD_V10.findall(text)
    nw = len(words)
    if ascii_text:  # most text: count classes of bytes in C, the same counts as below
        raw = text.encode("ascii")
        letters = len(raw.translate(None, _ASCII_NOT_LETTER))
        upper = len(raw.translate(None, _ASCII_NOT_UPPER))
        digits = len(raw.translate(None, _ASCII_NOT_DIGIT))
        punct = len(raw.translate(None, _ASCII_NOT_PUNCT))
    else:
        found = _UPPER.findall(text)
        letters = len(found)
        # upper-case letters: circled letters (Ⓐ) are upper-case but no letters, and counted
        # among all characters they made "ⒽⓄⓂⒺ news" all capitals
        upper = sum(map(str.isupper, found))
        digits = len(_DIGIT.findall(text))
        punct = len(_PUNCT.findall(text))
        if version >= 10:  # a vowel sign is part of a letter, not punctuation (a third of Hindi text)
            marks = len(_MARK.findall(text))
            letters, punct = letters + marks, punct - marks
    commas = text.count(",")
    if not ascii_text and version >= 10:  # the commas of Chinese, Japanese and Arabic script
        commas += text.count("，") + text.count("、") + text.count("،")
    if ascii_text or version < 10:
        sentences = len(_SENT_END.findall(text))
        ends = 1.0 if _END_PUNCT.search(text) else 0.0
    else:
        sentences = len(_SENT_END_V10.findall(text))
        ends = 1.0 if _END_PUNCT_V10.search(text) else 0.0
    if not nw:
        title = short = 0.0
    else:
        capitals = (len(_ASCII_TITLE_WORD.findall(text)) if ascii_text
                    else sum(map(str.isupper, (w[0] for w in words))))
        title = capitals / nw
        short = len([w for w in words if len(w) <= 3]) / nw
    sentence_like = 1.0 if nw >= 8 and ends and title < 0.6 else 0.0
    menu_like = 1.0 if nw <= 5 and not ends else 0.0
    stripped = text.lstrip()
    return [
        math.log1p(n),
        math.log1p(nw),
        min(len("".join(words)) / nw, 20.0) / 20.0 if nw else 0.0,
        letters / n,
        digits / n,
        min(upper / letters, 1.0) if letters else 0.0,  # circled letters (Ⓐ) are upper-case, not letters
        title,
        punct / n,
        ends,
        math.log1p(sentences),
        min(commas / nw, 1.0) if nw else 0.0,
        min(len(_SEPARATORS.findall(text)) / max(nw, 1), 1.0),
        1.0 if stripped[:1] and not stripped[:1].isalnum() and stripped[:1] not in "\"'“‘«(" else 0.0,
        1.0 if _URLISH.search(text) else 0.0,
        1.0 if digits and _DATEISH.search(text) else 0.0,
        1.0 if letters >= 4 and upper >= letters else 0.0,
        short,
        sentence_like,
        menu_like,
        min(block.link_chars / n, 1.0),
        1.0 if _boiler_lexicon(text) else 0.0,
        1.0 if _NAV_LEX.search(text[:200]) else 0.0,
    ]


# --- the document context -----------------------------------------------------------

#: Offsets of the neighbours whose shape is repeated as features of a block.
NEIGHBOUR_OFFSETS = (-3, -2, -1, 1, 2, 3)
#: Half-widths of the windows whose mean shape describes a block's surroundings.
WINDOWS = (2, 5, 12)


def _window_bounds(n: int, half: int) -> tuple[np.ndarray, np.ndarray]:
    """``lo, hi`` of the window ``[i - half, i + half]`` of each of ``n`` positions,
    clipped to ``[0, n]`` (read-only). ``lo`` of ``n`` positions is the first ``n`` of
    any longer document's, so one array per half serves every document of up to
    ``_BOUNDS_KEPT`` blocks (a cache per length held up to 12 MB)."""
    if n > _BOUNDS_KEPT:
        starts, ends = _unclipped_ends(n, half)
    else:
        if half not in _KEPT_BOUNDS:
            _KEPT_BOUNDS[half] = _unclipped_ends(_BOUNDS_KEPT, half)
        starts, ends = _KEPT_BOUNDS[half]
    lo, hi = starts[:n], np.minimum(ends[:n], n)
    hi.flags.writeable = False
    return lo, hi


def _unclipped_ends(n: int, half: int) -> tuple[np.ndarray, np.ndarray]:
    """The windows' starts clipped at 0 (read-only) and their ends not yet clipped at ``n``."""
    idx = np.arange(n)
    starts = np.maximum(idx - half, 0)
    starts.flags.writeable = False
    return starts, idx + half + 1


_BOUNDS_KEPT = 4096
#: Columns of ``document_features`` on a block's place in the document (after its language's).
_N_PLACE = 14
_KEPT_BOUNDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _main_run(shape: np.ndarray) -> tuple[int, int]:
    """The contiguous run of blocks with the most prose: a maximum-sum subarray where
    sentence-like blocks add their length and other blocks cost a little."""
    chars = np.expm1(shape[:, _IDX_LOG_CHARS])
    return _max_subarray(np.where(shape[:, _IDX_SENTENCE] > 0, np.minimum(chars, 1500.0) / 100.0, -1.0))


def _shape_matrix(blocks: Sequence[Block], shapes: dict[tuple[str, int], list[float]] | None,
                  version: int = FEATURES_VERSION) -> np.ndarray:
    """``block_shape`` of each block as rows, remembered in ``shapes`` when given (one
    ``shapes`` serves one features version)."""
    if shapes is None:
        rows = [block_shape(b, version) for b in blocks]
    else:
        rows = []
        for b in blocks:
            key = (b.text, b.link_chars)
            row = shapes.get(key)
            if row is None:
                row = shapes[key] = block_shape(b, version)
            rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(len(blocks), _N_SHAPE)


def document_features(blocks: tuple[Block, ...],
                      shapes: dict[tuple[str, int], list[float]] | None = None, *, dom: bool = False,
                      version: int = FEATURES_VERSION, out: np.ndarray | None = None) -> np.ndarray:
    """The dense feature matrix of a document's blocks (one row a block).

    ``shapes`` remembers ``block_shape`` by (text, link characters) across the
    documents of a batch: a site's menus and footers repeat on every page. With
    ``dom``, the blocks' DOM facts and their surroundings' are appended
    (``_dom_columns``; zeros for blocks that carry none). ``version``: the features
    version of the model that reads them (``block_shape``). ``out``: the rows to
    write them into (a batch's matrix: no second copy of a long page's features).
    """
    n = len(blocks)
    out = _rows_out(out, n, _document_width(dom))
    if n:
        _document_columns(blocks, shapes, dom, version, _ColumnBlocks(n, out))
    return out


def document_feature_columns(blocks: tuple[Block, ...], sink: Callable[[int, np.ndarray], None],
                             shapes: dict[tuple[str, int], list[float]] | None = None, *, dom: bool = False,
                             version: int = FEATURES_VERSION) -> None:
    """``document_features``, given to ``sink(first column, values)`` a block of
    columns at a time (each the same values as those columns of the matrix), so that
    the whole matrix of a long page (10 MB for 6,000 blocks) never exists at once."""
    if blocks:
        _document_columns(blocks, shapes, dom, version, _ColumnBlocks(len(blocks), sink=sink))


def _document_width(dom: bool) -> int:
    k = len(_CONTEXT_COLS)
    return (_N_SHAPE + (len(NEIGHBOUR_OFFSETS) + len(WINDOWS)) * (k + 1) + 4 + _N_PLACE
            + (_dom_width() if dom else 0))


class _ColumnBlocks:
    """The blocks of columns of ``n`` rows, one after another: views of ``out``, or
    fresh rows given to ``sink(first column, values)`` once they are filled (when the
    next block is taken, or at ``close``)."""

    def __init__(self, n: int, out: np.ndarray | None = None,
                 sink: Callable[[int, np.ndarray], None] | None = None) -> None:
        self.n, self.out, self.sink = n, out, sink
        self.col = 0
        self._filled: tuple[int, np.ndarray] | None = None

    def take(self, width: int) -> np.ndarray:
        """The rows of the next ``width`` columns, to be filled."""
        self._give()
        if self.out is not None:
            block = self.out[:, self.col:self.col + width]
        else:
            block = np.empty((self.n, width))
            self._filled = (self.col, block)
        self.col += width
        return block

    def close(self) -> None:
        self._give()

    def _give(self) -> None:
        if self._filled is not None and self.sink is not None:
            start, values = self._filled
            self._filled = None
            self.sink(start, values)


def _document_columns(blocks: tuple[Block, ...], shapes: dict[tuple[str, int], list[float]] | None, dom: bool,
                      version: int, cols: _ColumnBlocks) -> None:
    """``document_features``' values, each column block written into ``cols`` as it is
    computed (no copy of the whole matrix in parts: a 6,000-block page's took 10 MB)."""
    n = len(blocks)
    shape = _shape_matrix(blocks, shapes, version)
    ctx = shape[:, _CONTEXT_COLS]
    k = ctx.shape[1]
    cols.take(_N_SHAPE)[...] = shape
    # neighbours: their shape, zero-padded, plus a flag for "no neighbour here"
    for off in NEIGHBOUR_OFFSETS:
        nb = cols.take(k + 1)
        nb[...] = 0.0
        if off < 0:
            nb[-off:, :k] = ctx[: n + off] if n + off > 0 else 0
            nb[: min(-off, n), k] = 1.0
        else:
            nb[: max(n - off, 0), :k] = ctx[off:]
            nb[max(n - off, 0):, k] = 1.0
    del nb  # with a sink, a block given is let go
    # windows: mean and max of the surroundings (block itself excluded from the mean)
    csum = np.vstack([np.zeros((1, k)), np.cumsum(ctx, axis=0)])
    sentence = _CONTEXT_COLS.index(_IDX_SENTENCE)
    for w in WINDOWS:
        lo, hi = _window_bounds(n, w)
        count = (hi - lo - 1).clip(min=1)[:, None]
        block = cols.take(k + 1)
        block[:, :k] = (csum[hi] - csum[lo] - ctx) / count
        block[:, k] = (csum[hi, sentence] - csum[lo, sentence]) / (2 * w + 1)
    del csum, block
    cols.take(4)[...] = language_features(blocks)
    # position and the document as a whole
    idx = np.arange(n, dtype=np.float64)
    chars = np.expm1(shape[:, _IDX_LOG_CHARS])
    total = chars.sum() or 1.0
    before = (np.cumsum(chars) - chars) / total
    prose = chars * shape[:, _IDX_SENTENCE]
    prose_total = prose.sum()
    prose_before = (np.cumsum(prose) - prose) / prose_total if prose_total else np.zeros(n)
    start, end = _main_run(shape)
    in_run = ((idx >= start) & (idx <= end)).astype(np.float64)
    dist = np.where(idx < start, start - idx, np.where(idx > end, idx - end, 0.0))
    keys = [model_text(b.text).strip().lower() for b in blocks]
    counts = Counter(keys)
    repeats = np.array([math.log(counts[k]) for k in keys])
    max_chars = chars.max() if n else 1.0
    place = (
        idx / (n - 1) if n > 1 else np.zeros(n),
        np.log1p(idx),
        np.log1p(n - 1 - idx),
        np.full(n, math.log1p(n)),
        before,
        prose_before,
        in_run,
        np.log1p(dist),
        (idx < start).astype(np.float64),
        (idx > end).astype(np.float64),
        np.full(n, 1.0 if end >= start else 0.0),
        repeats,
        chars / max(max_chars, 1.0),
        np.full(n, math.log1p(prose_total)),
    )
    block = cols.take(len(place))
    for j, values in enumerate(place):
        block[:, j] = values
    del place, block
    if dom:
        _dom_columns(blocks, cols)
    cols.close()
    assert cols.col == _document_width(dom), (cols.col, dom)


def one_block_features(blocks: Sequence[Block], shapes: dict[tuple[str, int], list[float]] | None = None, *,
                       dom: bool = False, version: int = FEATURES_VERSION) -> np.ndarray:
    """``document_features`` of ``m`` documents of one block each (``blocks``: their
    blocks), as one matrix: the same values, bit for bit, as one call per document
    (``tests/test_features.py``), without its dozens of small-array calls per
    document. Each value below is what ``document_features`` computes for one block."""
    m = len(blocks)
    shape = _shape_matrix(blocks, shapes, version)
    ctx = shape[:, _CONTEXT_COLS]
    k = ctx.shape[1]
    zeros_k, flag = np.zeros((m, k)), np.ones((m, 1))
    parts = [shape] + [zeros_k, flag] * len(NEIGHBOUR_OFFSETS)  # no neighbours
    sentence = ctx[:, _CONTEXT_COLS.index(_IDX_SENTENCE)]
    for w in WINDOWS:  # nothing around it; the window's share of sentences is its own
        parts += [zeros_k, (sentence / (2 * w + 1))[:, None]]
    lang = np.zeros((m, 4))
    for i, b in enumerate(blocks):
        if b.lang is not None and b.text:  # the document's one language, all of its text
            lang[i] = (1.0, b.lang_score or 0.0, 0.0, 1.0)
    parts.append(lang)
    chars = np.expm1(shape[:, _IDX_LOG_CHARS])
    prose = chars * shape[:, _IDX_SENTENCE]
    in_run = ((shape[:, _IDX_SENTENCE] > 0) & (np.minimum(chars, 1500.0) / 100.0 > 0)).astype(np.float64)
    zero = np.zeros(m)
    parts.append(np.column_stack([
        zero, zero, zero, np.full(m, math.log1p(1)), zero, zero, in_run,
        (1.0 - in_run) * np.log1p(np.array([1.0]))[0], zero, 1.0 - in_run, in_run, zero,
        chars / np.maximum(chars, 1.0), np.array([math.log1p(x) for x in prose]),
    ]) if m else np.zeros((0, 14)))
    if dom:
        from .html import DOM_FACTS

        width = len(DOM_FACTS)
        own = np.array([b.dom if b.dom is not None and len(b.dom) == width else (0.0,) * width for b in blocks],
                       dtype=np.float64).reshape(m, width)
        around = own[:, [DOM_FACTS.index(name) for name in _DOM_CONTEXT]]
        parts += [own] + [around] * len(DOM_WINDOWS) + [around]  # windows and page: the block alone
    return np.hstack(parts)


#: DOM facts whose mean over the surroundings (windows of DOM_WINDOWS) is a feature too.
_DOM_CONTEXT = ("heading_level", "tag_p", "tag_li", "log_links", "in_nav", "in_header", "in_footer", "in_aside",
                "in_main", "in_list", "cls_nav", "cls_boiler", "cls_content", "cls_comment", "hidden",
                "in_best_container")
DOM_WINDOWS = (2, 6)


def _dom_width() -> int:
    """Columns of ``_dom_columns``: the facts, then each window's means and the page's."""
    from .html import DOM_FACTS

    return len(DOM_FACTS) + (len(DOM_WINDOWS) + 1) * len(_DOM_CONTEXT)


def _dom_columns(blocks: tuple[Block, ...], cols: _ColumnBlocks) -> None:
    """Each block's DOM facts (``html.DOM_FACTS``), the mean of some of them over
    windows around it, and how the block's facts differ from the page's article
    run (``in_main`` share around), given to ``cols`` (``_dom_width()`` columns)."""
    from .html import DOM_FACTS

    n = len(blocks)
    width = len(DOM_FACTS)
    own = cols.take(width)
    own[...] = np.array([b.dom if b.dom is not None and len(b.dom) == width else (0.0,) * width for b in blocks],
                        dtype=np.float64).reshape(n, width)
    ctx = own[:, [DOM_FACTS.index(name) for name in _DOM_CONTEXT]]
    del own
    k = ctx.shape[1]
    csum = np.vstack([np.zeros((1, k)), np.cumsum(ctx, axis=0)])
    for w in DOM_WINDOWS:
        lo, hi = _window_bounds(n, w)
        count = (hi - lo).clip(min=1)[:, None]
        cols.take(k)[...] = (csum[hi] - csum[lo]) / count
    del csum
    page = cols.take(k)
    if n:
        page[...] = ctx.mean(axis=0, keepdims=True)


def language_features(blocks: tuple[Block, ...]) -> np.ndarray:
    """Per block: has a language, its confidence, whether it differs from the
    document's majority language (by characters, over all blocks), and the share of
    the document's text in the block's language. Zero where blocks carry no
    language (the language layer annotates blocks before the block model runs)."""
    n = len(blocks)
    weight: Counter[str] = Counter()
    for b in blocks:
        if b.lang is not None:
            weight[b.lang] += len(b.text)
    total = sum(weight.values())
    out = np.zeros((n, 4))
    if not total:
        return out
    major = max(sorted(weight), key=weight.__getitem__)
    for i, b in enumerate(blocks):
        if b.lang is not None:
            out[i] = (1.0, b.lang_score or 0.0, 1.0 if b.lang != major else 0.0, weight[b.lang] / total)
    return out


class _Transformer:
    """scikit-learn's transformer protocol (``fit``, ``transform``, ``fit_transform``,
    ``get_params`` for ``clone``) without importing scikit-learn: labelling does not
    (``trees``). The constructor's arguments are the parameters."""

    _PARAMS: tuple[str, ...] = ()

    def fit(self, rows: Sequence[BlockRow], y: object = None) -> Any:
        return self

    def transform(self, rows: Sequence[BlockRow]) -> Any:
        raise NotImplementedError

    def fit_transform(self, rows: Sequence[BlockRow], y: object = None) -> Any:
        return self.fit(rows, y).transform(rows)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params: Any) -> Any:
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"{type(self).__name__} has no parameter {k!r}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self._PARAMS)})"


class DenseFeatures(_Transformer):
    """Shape, position, repetition and context features of each row's block (dense)."""

    def fit(self, rows: Sequence[BlockRow], y: object = None) -> DenseFeatures:
        self.n_features_out_ = document_features((Block("x"),)).shape[1]
        return self

    def transform(self, rows: Sequence[BlockRow]) -> np.ndarray:
        cache: dict[int, np.ndarray] = {}
        out = np.empty((len(rows), self.n_features_out_))
        for r, row in enumerate(rows):
            key = id(row.blocks)
            if key not in cache:
                cache[key] = document_features(row.blocks)
            out[r] = cache[key][row.index]
        return out


class TextNgrams(_Transformer):
    """Hashed character n-grams (2-4, inside words) and word uni/bigrams of each
    row's block, side by side, each family l2-normalised (see ``ngrams``)."""

    _PARAMS = ("n_char_features", "n_word_features", "max_chars")

    def __init__(self, n_char_features: int = 2**17, n_word_features: int = 2**15,
                 max_chars: int = MAX_TEXT_CHARS) -> None:
        self.n_char_features = n_char_features
        self.n_word_features = n_word_features
        self.max_chars = max_chars

    def fit(self, rows: Sequence[BlockRow], y: object = None) -> TextNgrams:
        return self

    def transform(self, rows: Sequence[BlockRow]) -> SparseRows:
        return self.transform_texts([row.block.text for row in rows])

    def transform_texts(self, texts: Sequence[str]) -> SparseRows:
        return hash_ngrams(texts, n_char_features=self.n_char_features,
                           n_word_features=self.n_word_features, max_chars=self.max_chars)


def build_text_features(*, n_char_features: int = 2**17, n_word_features: int = 2**15,
                        max_chars: int = MAX_TEXT_CHARS) -> TextNgrams:
    """The sparse n-gram families: character n-grams and word uni/bigrams, hashed."""
    return TextNgrams(n_char_features, n_word_features, max_chars)


# --- context of probabilities (pass 2) ----------------------------------------------

#: Windows (half-widths) over which pass 2 sees the mean of pass-1 probabilities.
PROBA_WINDOWS = (2, 5, 12)


def _window_extreme(values: np.ndarray, half: int, reduce: Any, pad: float) -> np.ndarray:
    """``reduce`` (max or min) over the window ``[i - half, i + half]`` of each position."""
    if half >= len(values) - 1:  # every window holds the whole document (max and min are exact)
        return np.full(len(values), reduce(values) if len(values) else pad)
    padded = np.concatenate([np.full(half, pad), values, np.full(half, pad)])
    return reduce(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)


def probability_context(probs: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Context features of one document from its per-block probabilities (n, 3):
    the neighbours' probabilities, window means, and the window's strongest and
    weakest content probability. ``out``: the float64 rows to write them into
    (returned)."""
    n, k = probs.shape
    width = len(NEIGHBOUR_OFFSETS) * k + len(PROBA_WINDOWS) * (k + 2)
    out = _rows_out(out, n, width)
    if n == 0:
        return out
    col = 0
    for off in NEIGHBOUR_OFFSETS:
        nb = out[:, col:col + k]
        nb[...] = 0.0
        if off < 0 and n + off > 0:
            nb[-off:] = probs[: n + off]
        elif off > 0 and n - off > 0:
            nb[: n - off] = probs[off:]
        col += k
    csum = np.vstack([np.zeros((1, k)), np.cumsum(probs, axis=0)])
    content = probs[:, 0]
    for w in PROBA_WINDOWS:
        lo, hi = _window_bounds(n, w)
        out[:, col:col + k] = (csum[hi] - csum[lo] - probs) / np.maximum(hi - lo - 1, 1)[:, None]
        out[:, col + k] = _window_extreme(content, w, np.max, -np.inf)
        out[:, col + k + 1] = _window_extreme(content, w, np.min, np.inf)
        col += k + 2
    return out


def _rows_out(out: np.ndarray | None, n: int, width: int) -> np.ndarray:
    """``out`` checked to be (n, width) float64 rows, or new ones."""
    if out is None:
        return np.empty((n, width)) if n else np.zeros((0, width))
    if out.shape != (n, width) or out.dtype != np.float64:
        raise ValueError(f"out is {out.dtype} {out.shape}, not float64 {(n, width)}")
    return out


def _decayed_mean(values: np.ndarray, decay: float) -> np.ndarray:
    """Exponentially decayed mean of the rows *before* each row (0 for the first)."""
    if len(values) <= 1:
        return np.zeros_like(values)
    acc = _decayed_sums(values, decay)
    weight = _decay_weights(decay, len(values))
    out = np.zeros_like(values)
    out[1:] = acc[:-1] / weight[:-1, None]
    return out


_WEIGHTS: dict[float, np.ndarray] = {}


def _decay_weights(decay: float, n: int) -> np.ndarray:
    """``_decayed_sums`` of ``n`` ones: the same for every document, so kept (the
    first ``n`` of a longer series are those of ``n``), and made again twice as long
    when a longer document comes."""
    known = _WEIGHTS.get(decay)
    if known is None or len(known) < n:
        longer = max(n, 64, 2 * len(known) if known is not None else 0)
        known = _WEIGHTS[decay] = _decayed_sums(np.ones((longer, 1)), decay)[:, 0]
    return known[:n]


def _decayed_sums(values: np.ndarray, decay: float) -> np.ndarray:
    """``y[i] = decay * y[i - 1] + values[i]`` down each column (``y[-1] = 0``): the
    same rounding, step by step, as SciPy's ``lfilter([1], [1, -decay], values,
    axis=0)``, without importing ``scipy.signal`` (half a second and most of SciPy)."""
    columns = []
    for column in values.T.tolist():
        y = 0.0
        sums = []
        for x in column:
            y = decay * y + x
            sums.append(y)
        columns.append(sums)
    return np.array(columns, dtype=np.float64).T.reshape(values.shape)


def _max_subarray(gain: np.ndarray) -> tuple[int, int]:
    """(start, end) inclusive of the maximum-sum run of ``gain``; (0, -1) when none is positive."""
    best, span, cur, start = 0.0, (0, -1), 0.0, 0
    for i, g in enumerate(gain):
        cur, start = (g, i) if cur <= 0 else (cur + g, start)
        if cur > best:
            best, span = cur, (start, i)
    return span


#: Columns of ``article_context``.
ARTICLE_CONTEXT_WIDTH = 6 + 2 * 8 + 2 * 4 + 2 + 2 * 4 + 2 + 4


def one_block_contexts(probs: np.ndarray, chars: np.ndarray) -> np.ndarray:
    """``probability_context`` and ``article_context`` side by side for ``m``
    documents of one block each at once (``probs`` (m, 3), ``chars`` (m,)): the
    same values, bit for bit, as one call per document (``tests/test_features.py``)
    without a dozen small-array calls per document, the cost of a corpus of short
    records. Each value below is what those functions compute for one block."""
    m, k = probs.shape
    zero, one = np.zeros(m), np.ones(m)
    p0, p2 = probs[:, 0], probs[:, 2]
    far = np.full(m, np.log1p(np.array([999.0]))[0])  # no neighbour: a distance of 999
    log1p_1 = np.log1p(np.array([1.0]))[0]
    f: list[np.ndarray] = [zero] * (len(NEIGHBOUR_OFFSETS) * k)  # no neighbours
    for _ in PROBA_WINDOWS:  # the window holds the block alone: no other block, its own extremes
        f += [zero] * k + [p0, p0]
    # article_context
    f += [p0, p0, p0 / np.maximum(p0, 1e-6), zero, (p0 * chars) / np.maximum(chars, 1.0), p2]
    for threshold in (0.5, 0.8):
        confident = (p0 > threshold).astype(np.float64)
        c_after = np.where(confident > 0, 1 - 0.0 - chars / np.maximum(chars, 1.0), 0.0)
        f += [far, far, confident, zero, c_after, zero, zero, confident * log1p_1]
    for gain in ((p0 - 0.5) * np.minimum(chars, 1500.0) / 100.0, p0 - 0.4):
        in_run = (gain > 0).astype(np.float64)
        f += [in_run, (1.0 - in_run) * log1p_1, zero, 1.0 - in_run]
    f += [np.full(m, log1p_1), zero]  # a run of one label, of one block
    f += [zero] * 8  # decayed means of the rows before and after: none
    f += [zero, zero]  # length-weighted content around it: no other block
    f += [-one, -one, far, far]  # no substantial block either side
    return np.stack(f, axis=1) if m else np.zeros((0, len(f)))


#: Width of ``container_context``: per grouping, the other members' mean probabilities and their count.
CONTAINER_GROUPINGS = 2
CONTAINER_WIDTH = CONTAINER_GROUPINGS * (3 + 1)


def container_context(probs: np.ndarray, paths: Sequence[str | None], *, out: np.ndarray | None = None
                      ) -> np.ndarray:
    """What the other blocks of the same container say, from pass-1 probabilities
    ``probs`` (n, 3) and the blocks' DOM paths (``Block.path``).

    Two groupings: blocks with the same path (the same kind of element in the same
    kind of container: a list's items, an article's paragraphs) and blocks with the
    same parent path (everything in that container). Per grouping, the mean
    probabilities of the group's other members (NaN when it has none: the trees
    treat it as missing) and log(1 + their number). Blocks without a path get NaN
    in every column. ``out``: the float64 rows to write them into (returned).
    """
    n, k = probs.shape
    out = _rows_out(out, n, CONTAINER_GROUPINGS * (k + 1))
    out[...] = np.nan
    if n == 0:
        return out
    for g in range(CONTAINER_GROUPINGS):
        ids: dict[str, int] = {}
        group = np.full(n, -1, dtype=np.int64)
        for i, path in enumerate(paths):
            if path is None:
                continue
            key = path if g == 0 else path.rpartition(" ")[0]
            group[i] = ids.setdefault(key, len(ids))
        has = group >= 0
        if not has.any():
            continue
        sums = np.zeros((len(ids), k))
        np.add.at(sums, group[has], probs[has])
        counts = np.bincount(group[has], minlength=len(ids)).astype(np.float64)
        others = counts[group[has]] - 1
        col = g * (k + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (sums[group[has]] - probs[has]) / others[:, None]
        mean[others == 0] = np.nan
        out[has, col:col + k] = mean
        out[has, col + k] = np.log1p(others)
    return out


def article_context(probs: np.ndarray, chars: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Where a block stands relative to the document's likely article, from pass-1
    probabilities ``probs`` (n, 3) and block lengths ``chars`` (n,).

    Per block: document-level content statistics; for two confident-content
    thresholds, the distance to the nearest confident content block before and
    after, whether the block lies between the first and last of them, and the
    share of their text and count before and after it; membership of the best run
    of content (by characters and by blocks); the length of its run of equal
    predicted labels; decayed means of the probabilities before and after; the
    length-weighted content probability around it; the content probability of the
    nearest substantial (100+ characters) block each side. ``out``: the float64
    rows to write them into (returned), each column as it is computed.
    """
    n = len(probs)
    out = _rows_out(out, n, ARTICLE_CONTEXT_WIDTH)
    if n == 0:
        return out
    columns = iter(out.T)

    def put(*values: Any) -> None:
        for v in values:
            next(columns)[...] = v

    idx = np.arange(n)
    p0 = probs[:, 0]
    put(np.full(n, p0.mean()), np.full(n, p0.max()), p0 / max(p0.max(), 1e-6),
        np.argsort(np.argsort(p0, kind="stable"), kind="stable") / max(n - 1, 1),
        np.full(n, (p0 * chars).sum() / max(chars.sum(), 1.0)), np.full(n, probs[:, 2].mean()))
    for threshold in (0.5, 0.8):
        confident = p0 > threshold
        where = np.flatnonzero(confident)
        if len(where):
            prev = np.maximum.accumulate(np.where(confident, idx, -1))
            nxt = np.minimum.accumulate(np.where(confident, idx, n)[::-1])[::-1]
            prev_x, next_x = np.concatenate(([-1], prev[:-1])), np.concatenate((nxt[1:], [n]))
            d_prev = np.where(prev_x >= 0, idx - prev_x, 999)
            d_next = np.where(next_x < n, next_x - idx, 999)
            between = ((idx >= where[0]) & (idx <= where[-1])).astype(float)
            cc = chars * confident
            total = max(cc.sum(), 1.0)
            c_before = (np.cumsum(cc) - cc) / total
            c_after = 1 - c_before - cc / total
            count = confident.sum()
            n_before = (np.cumsum(confident) - confident) / count
            n_after = 1 - n_before - confident / count
        else:
            d_prev = d_next = np.full(n, 999)
            between = c_before = c_after = n_before = n_after = np.zeros(n)
        put(np.log1p(d_prev), np.log1p(d_next), between, c_before, c_after, n_before, n_after,
            np.full(n, np.log1p(len(where))))
    for gain in ((p0 - 0.5) * np.minimum(chars, 1500.0) / 100.0, p0 - 0.4):
        start, end = _max_subarray(gain)
        dist = np.where(idx < start, start - idx, np.where(idx > end, idx - end, 0))
        put(((idx >= start) & (idx <= end)).astype(float), np.log1p(dist),
            (idx < start).astype(float), (idx > end).astype(float))
    arg = probs.argmax(axis=1)
    breaks = np.concatenate(([True], arg[1:] != arg[:-1]))
    run_id = np.cumsum(breaks) - 1
    run_len = np.bincount(run_id)[run_id]
    run_start = np.flatnonzero(breaks)[run_id]
    put(np.log1p(run_len), (idx - run_start) / run_len)
    ends = probs[:, (0, 2)]  # content and navigation: the columns read
    for decay in (0.6, 0.85):
        fwd = _decayed_mean(ends, decay)
        bwd = _decayed_mean(ends[::-1], decay)[::-1]
        put(fwd[:, 0], fwd[:, 1], bwd[:, 0], bwd[:, 1])
    cs, cw = np.concatenate(([0.0], np.cumsum(chars * p0))), np.concatenate(([0.0], np.cumsum(chars)))
    for w in (3, 10):
        lo, hi = _window_bounds(n, w)
        put((cs[hi] - cs[lo] - chars * p0) / np.maximum(cw[hi] - cw[lo] - chars, 1.0))
    big = chars >= 100
    prev = np.concatenate(([-1], np.maximum.accumulate(np.where(big, idx, -1))[:-1]))
    nxt = np.concatenate((np.minimum.accumulate(np.where(big, idx, n)[::-1])[::-1][1:], [n]))
    put(np.where(prev >= 0, p0[np.maximum(prev, 0)], -1.0), np.where(nxt < n, p0[np.minimum(nxt, n - 1)], -1.0),
        np.log1p(np.where(prev >= 0, idx - prev, 999)), np.log1p(np.where(nxt < n, nxt - idx, 999)))
    if next(columns, None) is not None:
        raise AssertionError("article_context wrote fewer columns than ARTICLE_CONTEXT_WIDTH")
    return out

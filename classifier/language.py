"""The language layer: the language of every block, of the document, and of the
sentences inside a block that are in another language (segments).

``LanguageIdentifier`` wraps fastText's ``lid.176`` model (loaded on first use,
once per process) and works in two steps, so that fastText runs once per distinct
text however the answers are used:

1. ``analyze``: a block's text is cut into pieces (sentences, and inside a
   sentence at a change of script, so "tips: В моей семье" is two pieces), and
   each piece with enough letters gets fastText's top language. A piece whose
   script settles its language (Greek, Hangul, Thai ...) gets it without a model
   call; a guess in a script the piece is not written in (a Cyrillic-only language
   for Latin text) is dropped. Text that is no language (numbers, URLs, e-mail
   addresses, code, emoji, separators) has no letters left and gets nothing.
2. ``decide``: from the pieces, the block's own language (their letter-weighted
   vote), its confidence, and the pieces in another language, merged into
   sentence-level ``Segment``s. With a ``prior`` (the document's main language), a
   short block whose evidence is weak leans to the prior (the shorter, the more),
   and a mixed block where the prior holds a fair share is in the prior's language
   with the rest as segments. Below ``min_confidence`` the answer is ``None``:
   unsure is ``None``, never a weak guess.

The constants were chosen on the dev files (``training/NOTES.md``, "Language layer").
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import gc
import logging
import numbers
import re
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from .document import HAN_KANA, Block, Document, Label, Segment, normalize_lang
from .errors import ModelError

__all__ = [
    "BlockLanguage",
    "LanguageGuess",
    "LanguageIdentifier",
    "MIN_CONFIDENCE",
    "MIN_LETTERS",
    "TextAnalysis",
    "main_language",
]

logger = logging.getLogger(__name__)

#: With no prior, fewer letters than this and a block gets no language: fastText
#: answers anything on "Home" or "12 May", but at chance.
MIN_LETTERS = 12
#: With the document's language as prior, a block needs this many letters.
MIN_LETTERS_WITH_PRIOR = 4
#: Below this confidence a block gets no language.
MIN_CONFIDENCE = 0.3
#: The prior's weight for a block of n letters is 1 + PRIOR_STRENGTH / n: decisive on
#: a two-word menu line, negligible on a paragraph.
PRIOR_STRENGTH = 90.0
#: Blocks with fewer letters than this whose top language has a confidence below
#: PRIOR_UNSURE get a second look with the prior's weight: a short block fastText is
#: sure of keeps its language ("Home Energy Management System" on a German page).
PRIOR_LOOK_LETTERS = 80
PRIOR_UNSURE = 0.6
#: How many of fastText's top languages the prior can choose from (3 did as well as
#: 10 on the dev files, at less cost), taken with the first look at texts of up to
#: SHORT_TEXT_CHARS characters.
PRIOR_CANDIDATES = 3
SHORT_TEXT_CHARS = 120
#: A mixed block stays in the document's language when that holds this share of it.
DOC_SHARE = 0.25
#: Languages lid.176 tells apart poorly on web text, written nearly alike: Indonesian and
#: Malay; Croatian, Serbian, Bosnian and Serbo-Croatian; Norwegian (Bokmål), Nynorsk and
#: Danish; German and Swiss German; Arabic and Egyptian Arabic. With the document's language
#: as prior, a block or a sentence read as another language of its group is the document's
#: language, never foreign: every such block of the dev files was the document's language
#: misread (Indonesian headlines as Malay, "Vermischtes" and "Jugend forscht Akademie" as
#: Swiss German, Norwegian "Følg Oss" as Danish), and `sieve clean` removed them.
NEAR_LANGUAGES = (frozenset({"id", "ms"}), frozenset({"hr", "sr", "bs", "hbs"}), frozenset({"no", "nn", "da"}),
                  frozenset({"de", "gsw"}), frozenset({"ar", "arz"}))
_NEAR = {lang: group for group in NEAR_LANGUAGES for lang in group}
#: A piece is a foreign segment when fastText gives its language at least this ...
SEGMENT_MIN_CONFIDENCE = 0.8
#: ... and it has at least this many letters and SEGMENT_MIN_WORDS words (or is in a
#: script written without spaces): never a few words inside ordinary text.
SEGMENT_MIN_LETTERS = 15
SEGMENT_MIN_WORDS = 3
#: fastText reads at most this many characters of one piece.
MAX_CHARS = 2000
#: Only this many characters of a block are cut into pieces (a 1 MB block is
#: judged on its first 100 kB; segments are looked for there).
MAX_ANALYZED_CHARS = 100_000
#: A sentence whose language fastText gives below this is looked at again around a
#: long quotation in it (clause granularity); a confident one is not.
CLAUSE_RECHECK = 0.9
_QUOTE_MARK = re.compile(r'["“„«»(]')
#: A quotation: "…", “…”, „…“ (German), and «…» (French) or »…« (German, Danish):
#: which way guillemets point is the block's own style (``_quoted_in``), or the text
#: between two quotations would be taken for one; and an aside in brackets, which sways
#: a sentence to its language as a quotation does.
_QUOTED = re.compile(r'"([^"]+)"|“([^”“]+)[”“]|„([^“”„]+)[“”]|«([^»«]+)»|\(([^()]+)\)')
_QUOTED_REVERSED = re.compile(r'"([^"]+)"|“([^”“]+)[”“]|„([^“”„]+)[“”]|»([^«»]+)«|\(([^()]+)\)')
#: Analyses of texts up to CACHE_MAX_CHARS long are cached, CACHE_SIZE at most. An
#: entry is about 700 bytes: 20,000 held 12-15 MB of every process once full (590
#: dev pages). Session 29, alternating runs: 10,000 keep `bench_lang`'s layer at the
#: same speed (0.62x raw fastText against 0.62-0.65x with 20,000; 5,000: 0.59-0.61x),
#: and 200 dev pages one per call peak at 86 MB instead of 92 (5,000: 83).
CACHE_SIZE = 10_000
CACHE_MAX_CHARS = 200
#: Confidence given to a piece whose script belongs to one language only.
SCRIPT_CONFIDENCE = 0.99

#: Characters without which no ``_NOT_LANGUAGE_PARTS`` alternative can match (a cheap first look).
_MAYBE_NOT_LANGUAGE = re.compile(r"[\d_@#{}<>\[\]=;$\\|]|www\.|\.\w|://")
#: Pieces at least this long are weighed by characters, not counted letter by letter.
LONG_PIECE = 200
_TLD = r"\.(?:com|org|net|de|fr|uk|ru|pl|it|es|nl|io)\b"
_HAS_TLD = re.compile(_TLD)
#: What is no language, one alternative each: URLs, www. addresses, e-mail
#: addresses, @handles and #tags, bare domains, digits, code-like runs.
#: The e-mail and domain alternatives start only where their run of name characters
#: starts and never backtrack into it: in linear time on a long run of such
#: characters (``"a-" * 50_000``), which the plain forms took quadratic time over.
_NOT_LANGUAGE_PARTS = (r"https?://\S+", r"www\.\S+", r"(?<![\w.+-])[\w.+-]++@[\w-]+(?:\.[\w-]+)+",
                       r"[@#]\w+", r"(?<![\w-])[\w-]++" + _TLD + r"/?\S*", r"[\d_]+", r"[{}<>\[\]=;$\\|]+\S*")


@functools.cache
def _not_language_without(url: bool, www: bool, at: bool, tag: bool, domain: bool) -> re.Pattern[str]:
    """The ``_NOT_LANGUAGE_PARTS`` alternatives that can match a text with these
    features: an alternative that cannot match anywhere changes no match, and the
    e-mail and domain ones are slow to fail (they try a word at every position)."""
    keep = (url, www, at, at or tag, domain, True, True)
    return re.compile("|".join(part for part, k in zip(_NOT_LANGUAGE_PARTS, keep, strict=True) if k))


def _blank_not_language(text: str) -> str:
    """``text`` with whatever is no language (``_NOT_LANGUAGE_PARTS``) replaced by a space."""
    if not _MAYBE_NOT_LANGUAGE.search(text):
        return text
    pattern = _not_language_without("://" in text, "www." in text, "@" in text, "#" in text,
                                    _HAS_TLD.search(text) is not None)
    return pattern.sub(" ", text)


#: A sentence ends after . ! ? … (and closing quotes), before a space and something
#: that is not a digit or a lower-case letter; or after CJK full stops; and a lead-in
#: ends at the colon before a quotation (``sagte: „This is…``: a quotation of two
#: sentences, or one whose closing mark follows a space, « … clima. », had its first
#: sentence judged with the lead-in, half of each language). A match
#: starts with that one punctuation character, which stays with its sentence (a
#: look-behind instead would be tried at every position: twice as slow).
_SENTENCE_END = re.compile(r"[.!?…।॥؟۔][\"'»«”“’‘)\]]*\s+(?=[^\s\da-z])|[。！？][」』”’）)]*\s*|:\s+(?=[«»„“\"])")
_NON_LATIN = re.compile(r"[^\x00-\u024f\u1e00-\u1eff\u2000-\u2bff\W\d_]")
_WORD = re.compile(r"\S+")
#: Han and kana letters, with the CJK punctuation and full-width forms written among them.
_CJK_CHARS = "\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
#: Where a word (no space) is cut for its scripts: at a quotation mark or bracket
#: between CJK text and other text (``记者："This is`` is ``记者：`` and ``"This``; a
#: name inside Japanese, ``ところがKindle``, stays in its word).
_SCRIPT_CUT = re.compile(f"(?<=[{_CJK_CHARS}])(?=[\"'“‘«(\\[])|(?<=[\"'”’»)\\]])(?=[{_CJK_CHARS}])"
                         # corner brackets around text of another script: 観光客は「This is great」と語った
                         f"|(?<=[{_CJK_CHARS}])(?=[「『][^{_CJK_CHARS}\\s])|(?<=[^{_CJK_CHARS}\\s][」』])(?=[{_CJK_CHARS}])")
_HAN_KANA = re.compile(f"[{HAN_KANA}]")
#: What a Han or kana character weighs against a letter of an alphabet when the
#: languages of a block's pieces, or of a page's blocks, are weighed: a Chinese word
#: is one or two characters, an English one five letters or so (a Chinese story with
#: an English quotation of as many words is Chinese, not English).
CJK_LETTER_WEIGHT = 3
_NO_SPACE_SCRIPTS = frozenset({"Han", "Kana", "Thai", "Khmer", "Lao", "Myanmar", "Tibetan"})

#: Script ranges (letters outside all of them count as Latin or other).
_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("Cyrillic", "\u0400-\u052f"), ("Greek", "\u0370-\u03ff\u1f00-\u1fff"), ("Armenian", "\u0530-\u058f"),
    ("Hebrew", "\u0590-\u05ff"), ("Arabic", "\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff"),
    ("Devanagari", "\u0900-\u097f"), ("Bengali", "\u0980-\u09ff"), ("Gurmukhi", "\u0a00-\u0a7f"),
    ("Gujarati", "\u0a80-\u0aff"), ("Oriya", "\u0b00-\u0b7f"), ("Tamil", "\u0b80-\u0bff"),
    ("Telugu", "\u0c00-\u0c7f"), ("Kannada", "\u0c80-\u0cff"), ("Malayalam", "\u0d00-\u0d7f"),
    ("Sinhala", "\u0d80-\u0dff"), ("Thai", "\u0e00-\u0e7f"), ("Lao", "\u0e80-\u0eff"),
    ("Tibetan", "\u0f00-\u0fff"), ("Myanmar", "\u1000-\u109f"), ("Georgian", "\u10a0-\u10ff"),
    ("Hangul", "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"), ("Ethiopic", "\u1200-\u139f"),
    ("Khmer", "\u1780-\u17ff"), ("Kana", "\u3040-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f"),
    ("Han", "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"),
)
_SCRIPT_RES = tuple((name, re.compile(f"[{ranges}]")) for name, ranges in _SCRIPTS)
_SCRIPT_RE = dict(_SCRIPT_RES)
#: Kana (``_SCRIPTS``' ranges: not the katakana middle dot, which Chinese writes in foreign names).
_KANA = _SCRIPT_RE["Kana"]
#: Per script, a letter (or other word character that is no digit) outside its ranges:
#: none in a text means every letter of it is of that script (the common case outside
#: Latin: a Russian or Chinese sentence), told in one scan instead of one per script.
_OUTSIDE_SCRIPT = {name: re.compile(f"[^{ranges}\\W\\d_]") for name, ranges in _SCRIPTS}
_RANGES = sorted(
    (int(a, 16), int(b, 16), name)
    for name, ranges in _SCRIPTS
    for a, b in re.findall(r"\\u(\w{4})-\\u(\w{4})", ranges.encode("unicode_escape").decode())
)
_RANGE_STARTS = [r[0] for r in _RANGES]
#: Characters of a piece read to tell its script.
SCRIPT_SAMPLE = 300
#: Scripts that write vowels as signs on their consonants (Indic, Thai, Khmer ...): a
#: sign is no letter to ``str.isalpha``, so "मैं आज बाजार जाऊँगा" counted half its letters,
#: and a Hindi sentence weighed half an English one in its block's vote.
_VOWEL_SIGN_SCRIPTS = frozenset({"Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu",
                                 "Kannada", "Malayalam", "Sinhala", "Thai", "Lao", "Tibetan", "Myanmar", "Khmer"})
_VOWEL_SIGNS = re.compile("[" + "".join(
    chr(c) for lo, hi in ((0x0900, 0x0FFF), (0x1000, 0x109F), (0x1780, 0x17FF)) for c in range(lo, hi + 1)
    if unicodedata.category(chr(c)) in ("Mn", "Mc")) + "]")
#: Japanese writes its particles and endings in kana: a fifth or more of the Han and
#: kana letters of a Japanese sentence are kana (0.30 at the least in the dev data's
#: Japanese blocks). A Chinese sentence with a stylish の or a brand name's few
#: katakana is left to fastText, which tells it from Japanese.
KANA_MIN_SHARE = 0.2
#: Scripts that settle the language without a model call.
_SCRIPT_LANGUAGE = {
    "Greek": "el", "Armenian": "hy", "Gurmukhi": "pa", "Gujarati": "gu",
    "Oriya": "or", "Tamil": "ta", "Telugu": "te", "Kannada": "kn", "Malayalam": "ml", "Sinhala": "si",
    "Thai": "th", "Lao": "lo", "Tibetan": "bo", "Myanmar": "my", "Georgian": "ka", "Hangul": "ko",
    "Ethiopic": "am", "Khmer": "km", "Kana": "ja",
}
#: Languages of lid.176 written in a script shared by several languages.
_SCRIPT_LANGUAGES = {
    "Cyrillic": frozenset("ru uk bg be mk sr kk ky tg mn tt ba cv ce os sah mhr mrj kv xal myv krc av lez bxr"
                          " tyv udm koi".split()),
    "Arabic": frozenset("ar fa ur ps ug ckb sd arz azb mzn pnb glk ku".split()),
    "Devanagari": frozenset("hi mr ne sa new bh mai gom dty".split()),
    "Hebrew": frozenset("he yi".split()),
    "Bengali": frozenset("bn as bpy".split()),
    "Han": frozenset("zh ja wuu yue lzh gan".split()),
}
_NON_LATIN_LANGUAGES = frozenset(_SCRIPT_LANGUAGE.values()).union(*_SCRIPT_LANGUAGES.values()) - {"sr", "ku"}


class LanguageGuess(NamedTuple):
    """A language code (ISO 639-1, else 639-3) and its probability (0..1)."""

    lang: str
    confidence: float


class Piece(NamedTuple):
    """A sentence (or a one-script part of one) of a block: its span, its letters,
    and fastText's top language with its probability (``None`` when not judged)."""

    start: int
    end: int
    letters: int
    words: int
    lang: str | None
    prob: float
    no_spaces: bool  # written in a script without spaces between words


class BlockLanguage(NamedTuple):
    """A block's language (``None`` when unsure), its confidence and its segments."""

    lang: str | None
    confidence: float | None
    segments: tuple[Segment, ...]


class TextAnalysis:
    """What the model said about one text, piece by piece (see ``analyze``)."""

    __slots__ = ("candidates", "letters", "pieces", "plain", "text", "with_prior")

    def __init__(self, text: str, pieces: tuple[Piece, ...], letters: int,
                 candidates: tuple[tuple[str, float], ...] = ()) -> None:
        self.text = text
        self.pieces = pieces
        self.letters = letters  # letters of language in the whole (analysed) text
        #: fastText's top PRIOR_CANDIDATES for the whole text, in its scripts (short texts)
        self.candidates = candidates
        #: the decision without a prior (``decide(analysis)``), made once with the analysis
        self.plain: BlockLanguage | None = None
        #: the last prior and the decision with it (a page's menus repeat); one
        #: attribute, so that threads sharing the analysis never pair one prior with
        #: another's decision
        self.with_prior: tuple[str, BlockLanguage] | None = None

    def __repr__(self) -> str:
        return f"TextAnalysis(pieces={self.pieces!r}, letters={self.letters}, plain={self.plain!r})"


_UNSURE = BlockLanguage(None, None, ())
_ALL_TEXT = object()  # analyze_many's "no text that is not a string" marker
#: ``Piece(...)`` (and the other NamedTuples here) without NamedTuple's Python-level __new__ (hot path)
_new_piece = tuple.__new__


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch of texts is analysed.

    The analysis makes tens of thousands of small tuples that form no reference
    cycles (reference counting frees them); left on, the collector would walk every
    live object of the process again and again while they are made (a third of the
    layer's time in ``benchmarks/bench_lang.py``). A collector the caller had
    disabled stays disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_UNICODE_SPACE = re.compile("[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\x85]")


#: Guillemets, blanked for fastText: lid.176 takes them for French ("Home » News »
#: Cycling lanes" was French at 0.72), while the words say the language.
_GUILLEMETS = str.maketrans({"»": " ", "«": " "})
_CORNER_BRACKETS = str.maketrans({"「": " ", "」": " ", "『": " ", "』": " "})
#: Quotation marks (and spaces) a line fastText reads does not begin or end with.
_EDGE_QUOTES = "„“”‚‘’‹› \"'"


#: A URL (group 1: its host) or an e-mail address (group 2: its domain).
#: ASCII only, any case: a Chinese sentence written against a link or an address is no
#: part of it (请联系客服邮箱service@example.com获取更多信息).
_ADDRESS = re.compile(r"(?i:https?://|(?=www\.))([\w.:\[\]-]+)[!-~]*|(?<![\w.+-])[A-Za-z0-9._+-]++@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
                      re.ASCII)


def _host(match: re.Match[str]) -> str:
    return match.group(1) or match.group(2)


def _fasttext_line(text: str) -> str:
    """What fastText reads for ``text``: URLs and e-mail addresses as their hosts (the
    words of a link's path are its page's language, not the text's: "Read the full
    story here: https://www.lemonde.fr/politique/le-gouvernement-annonce-..." was
    French; an address's name likewise; the host is kept, a hint where little else
    is: "Kundeservice: 51 37 15 13 / tine.no"), at most
    ``MAX_CHARS`` characters on one line, all-capital text lowered (lid.176.ftz knows
    few all-capital words: "SUBSCRIBER ONLY"), and the trailing newline: the
    end-of-line token fastText was trained with (without it the low-level predict
    gives other, worse, probabilities)."""
    if "://" in text or "www." in text or "WWW." in text or "@" in text:
        text = _ADDRESS.sub(_host, text[:MAX_CHARS * 4] if len(text) > MAX_CHARS * 4 else text)
    line = text[:MAX_CHARS] if len(text) > MAX_CHARS else text
    if "\n" in line:  # a newline ends fastText's input; other whitespace only separates
        line = line.replace("\n", " ")
    if not line.isascii():
        # fastText splits words at ASCII whitespace only: a no-break space (French
        # "mot\u00a0:", thousands "10\u202f000") glued words into unknown ones; and it
        # read composed text (decomposed accents lowered French from 0.97 to 0.73)
        if _UNICODE_SPACE.search(line):
            line = _UNICODE_SPACE.sub(" ", line)
        if not unicodedata.is_normalized("NFC", line):
            line = unicodedata.normalize("NFC", line)
        if "»" in line or "«" in line:  # read as French whatever the words: "Read more »" was fr 0.68
            line = line.translate(_GUILLEMETS)
        if line[:1] in "「『":  # a quotation cut out of Chinese or Japanese: its words, not its brackets
            line = line.translate(_CORNER_BRACKETS)
        if line[:1] in _EDGE_QUOTES or line[-1:] in _EDGE_QUOTES:
            # a quoted sentence cut out of its paragraph: "„This is a good day for European
            # railways." was English at 0.71, 0.98 without its opening mark
            line = line.strip(_EDGE_QUOTES) or line
    if line.isupper():
        line = line.lower()
    return line + "\n"


def _candidates(result: list[tuple[float, str]], scripts: frozenset[str]) -> list[tuple[str, float]]:
    """fastText's (probability, label) answers as (language, probability), keeping
    the languages written in one of ``scripts`` (all of them when it is empty)."""
    labels = _LABEL_LANG
    out = []
    if scripts is _LATIN_ONLY[1]:  # most pieces: a set lookup instead of _fits_script
        for prob, label in result:
            lang = labels.get(label) or _label_lang(label)
            if lang and lang not in _NON_LATIN_LANGUAGES:
                out.append((lang, prob if prob < 1.0 else 1.0))
        return out
    for prob, label in result:
        lang = labels.get(label) or _label_lang(label)
        if lang and _fits_script(lang, scripts):
            out.append((lang, prob if prob < 1.0 else 1.0))
    return out


class _Pending(NamedTuple):
    """A piece waiting for fastText: what it reads (``line``, top ``k``) and what is
    known of the piece already."""

    start: int
    end: int
    letters: int
    words: int
    no_spaces: bool
    scripts: frozenset[str]  # the scripts its language must be written in
    line: str
    k: int
    #: ask again for this many languages when none of the first ``k`` fits the
    #: script (0: never); see ``_prepare_piece``
    wider: int

    def judged(self, result: list[tuple[float, str]]) -> tuple[Piece, list[tuple[str, float]]]:
        """The piece with fastText's answer ``result``, and its candidates that fit."""
        cands = _candidates(result, self.scripts)
        lang, prob = cands[0] if cands else (None, 0.0)
        return _new_piece(Piece, (self.start, self.end, self.letters, self.words, lang, prob, self.no_spaces)), cands


_ASCII_NON_LETTERS = bytes(c for c in range(128) if not chr(c).isalpha())


def _quoted_text(m: re.Match[str]) -> str:
    """What a ``_QUOTED`` match quotes, without its quotation marks."""
    return m.group(1) or m.group(2) or m.group(3) or m.group(4) or m.group(5) or ""


def _quoted_in(text: str) -> re.Pattern[str]:
    """The quotation pattern of a block: guillemets pointing in (»…«) when its first
    guillemet is », else out («…»)."""
    first_in, first_out = text.find("»"), text.find("«")
    return _QUOTED_REVERSED if first_in >= 0 and (first_out < 0 or first_in < first_out) else _QUOTED


def _letters(text: str) -> int:
    """How many letters ``text`` has (ASCII text through bytes.translate: 5x faster; in
    Latin text with a few accented letters, only the other characters one by one)."""
    if text.isascii():
        return len(text.encode("ascii").translate(None, _ASCII_NON_LETTERS))
    ascii_part = text.encode("ascii", "ignore")
    if len(ascii_part) * 2 < len(text):  # mostly another script: every character
        return sum(map(str.isalpha, text))
    return len(ascii_part.translate(None, _ASCII_NON_LETTERS)) + sum(map(str.isalpha, _NON_ASCII.findall(text)))


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _vowel_signs(text: str) -> int:
    """The vowel signs of ``text`` (``_VOWEL_SIGN_SCRIPTS``): letters ``_letters`` leaves out."""
    return len(_VOWEL_SIGNS.findall(text))


def long_enough_for_a_language(text: str) -> bool:
    """Whether ``text`` holds ``SEGMENT_MIN_LETTERS`` letters and ``SEGMENT_MIN_WORDS``
    words, as a foreign segment must; text in a script written without spaces
    (Chinese, Japanese, Thai) needs the letters only."""
    letters = _letters(text)
    if letters < SEGMENT_MIN_LETTERS and not text.isascii():
        letters += _vowel_signs(text)
    if letters < SEGMENT_MIN_LETTERS:
        return False
    return len(text.split()) >= SEGMENT_MIN_WORDS or _scripts(text, letters)[0] in _NO_SPACE_SCRIPTS


_LATIN_ONLY = ("Latin", frozenset({"Latin"}))
_NO_SCRIPT: tuple[None, frozenset[str]] = (None, frozenset())


def _scripts(text: str, letters: int | None = None, sample: int = SCRIPT_SAMPLE) -> tuple[str | None, frozenset[str]]:
    """The script most of ``text``'s letters are in (``None`` without letters), and
    every script that holds a fair part of them (a fifth, or 5 letters). Reads the
    first ``sample`` characters: a piece's script shows early."""
    found = _NON_LATIN.search(text)
    if not found:
        return _LATIN_ONLY if (letters if letters is not None else _letters(text)) else _NO_SCRIPT
    text = text[:sample]
    letters = _letters(text)
    only = _only_script(text, found) if found.start() < sample else None
    # letters only: the ranges hold vowel signs and viramas too, which are no letters
    if only is not None:  # every letter in one script's ranges: the others count none
        counts = {only: n} if (n := sum(map(str.isalpha, _SCRIPT_RE[only].findall(text)))) else {}
    else:
        counts = {name: n for name, rx in _SCRIPT_RES if (n := sum(map(str.isalpha, rx.findall(text))))}
    counts["Latin"] = max(letters - sum(counts.values()), 0)
    present = frozenset(name for name, n in counts.items() if n >= 5 or n >= letters / 5)
    kana, han = counts.get("Kana", 0), counts.get("Han", 0)
    if kana >= 2 and kana >= KANA_MIN_SHARE * (kana + han) and kana + han >= letters / 2:
        return "Kana", present | {"Kana"}  # Japanese mixes kana, kanji and Latin words
    return max(sorted(counts), key=counts.__getitem__), present


#: ISO 15924 codes of the scripts ``_scripts`` names (Japanese, kana with kanji: ``Jpan``).
SCRIPT_CODES = {
    "Latin": "Latn", "Cyrillic": "Cyrl", "Greek": "Grek", "Armenian": "Armn", "Hebrew": "Hebr", "Arabic": "Arab",
    "Devanagari": "Deva", "Bengali": "Beng", "Gurmukhi": "Guru", "Gujarati": "Gujr", "Oriya": "Orya",
    "Tamil": "Taml", "Telugu": "Telu", "Kannada": "Knda", "Malayalam": "Mlym", "Sinhala": "Sinh", "Thai": "Thai",
    "Lao": "Laoo", "Tibetan": "Tibt", "Myanmar": "Mymr", "Georgian": "Geor", "Hangul": "Hang", "Ethiopic": "Ethi",
    "Khmer": "Khmr", "Kana": "Jpan", "Han": "Hani",
}
#: Characters of a document's text read for its script.
TEXT_SCRIPT_SAMPLE = 5000


def text_script(text: str) -> str | None:
    """The ISO 15924 code of the script most of ``text``'s letters are in (of its first
    ``TEXT_SCRIPT_SAMPLE`` characters; ``None`` without letters): Serbian in ``Cyrl`` or
    ``Latn``, Chinese ``Hani``, Japanese ``Jpan``. A corpus split by language and script
    (``srp_Cyrl``) reads it beside the language code."""
    # cut first: the Latin-only check and the letter count read the whole text otherwise (every record)
    name = _scripts(text[:TEXT_SCRIPT_SAMPLE], None, TEXT_SCRIPT_SAMPLE)[0]
    return SCRIPT_CODES.get(name) if name else None


def _only_script(text: str, found: re.Match[str]) -> str | None:
    """The one script (of ``_SCRIPTS``) all of ``text``'s letters are in, when there is
    one and it is not Latin; else None. ``found``: ``text``'s first letter outside the
    Latin script (``_NON_LATIN``)."""
    name = _char_script(found.group())
    return name if name != "Latin" and not _OUTSIDE_SCRIPT[name].search(text) else None


def _char_script(ch: str) -> str:
    """The script of one letter (``Latin`` for anything outside the table)."""
    i = bisect.bisect_right(_RANGE_STARTS, ord(ch)) - 1
    if i >= 0 and ord(ch) <= _RANGES[i][1]:
        return _RANGES[i][2]
    return "Latin"


def _word_script(word: str) -> str | None:
    for ch in word:
        if ch.isalpha():
            return _char_script(ch)
    return None


def _fits_script(lang: str, scripts: frozenset[str]) -> bool:
    """Whether ``lang`` is written in one of ``scripts`` (drops a Cyrillic-only
    language for Latin text, and Japanese for Chinese without kana)."""
    if not scripts:
        return True
    for script in scripts:
        if script == "Latin":
            if lang not in _NON_LATIN_LANGUAGES:
                return True
        elif script in _SCRIPT_LANGUAGES:
            if lang in _SCRIPT_LANGUAGES[script]:
                return True
        elif _SCRIPT_LANGUAGE.get(script) == lang or (script == "Kana" and lang == "ja"):
            return True
    return False


_OPENING_MARKS = frozenset("\"'“‘«「『")
_CLOSING_MARKS = frozenset("\"'”’»」』")


def _split_scripts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` where the script of its words changes, keeping runs of
    fewer than ``SEGMENT_MIN_LETTERS`` letters with their neighbour ("Kindle for PC"
    inside Japanese stays one piece)."""
    part = text[start:end]
    found = _NON_LATIN.search(part)
    if not found:
        return [(start, end)]
    if _only_script(part, found) is not None:
        # every letter of one script: one run, unless the first piece has no letter (a
        # quotation mark, a number), which may stand apart before a quotation (below)
        first = _WORD.search(part)
        if first is not None:
            word = first.group()
            cut = _SCRIPT_CUT.search(word)
            if _word_script(word[:cut.start()] if cut is not None and cut.start() > 0 else word) is not None:
                return [(start + first.start(), start + len(part.rstrip()))]
    runs: list[list[Any]] = []  # [start, end, script, letters]
    for w in _WORD.finditer(part):
        cuts = [w.start()] + [w.start() + m.start() for m in _SCRIPT_CUT.finditer(w.group())] + [w.end()]
        for a, b in zip(cuts, cuts[1:]):
            word = part[a:b]
            sc = _word_script(word)
            n = _letters(word)
            if runs and (sc is None or sc == runs[-1][2]):
                runs[-1][1] = start + b
                runs[-1][3] += n
            else:
                runs.append([start + a, start + b, sc, n])
    merged: list[list[Any]] = []
    for run in runs:
        # a quotation in another script is a run of its own, however short what leads
        # into it or follows it (记者：|"This is…": the segment begins on the mark)
        at_quote = text[run[0]] in _OPENING_MARKS or (run[0] > 0 and text[run[0] - 1] in _CLOSING_MARKS)
        if merged and not at_quote and (run[3] < SEGMENT_MIN_LETTERS or merged[-1][3] < SEGMENT_MIN_LETTERS):
            if merged[-1][3] < run[3]:
                merged[-1][2] = run[2]
            merged[-1][1] = run[1]
            merged[-1][3] += run[3]
        else:
            merged.append(run)
    return [(r[0], r[1]) for r in merged] or [(start, end)]


def sentence_spans(text: str, latin: bool = False) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` (and of one-script parts of a sentence that
    mixes scripts), without surrounding whitespace, in order. ``latin`` says that
    ``text`` holds no letter outside the Latin script (no script cuts to look for)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.start() + len(m.group(0).rstrip())  # after the punctuation and the quotes it closes
        if end > pos:
            spans.append((pos, end))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    if ":" in text and len(spans) > 1:
        spans = _short_lead_ins_joined(text, spans)
    # a sentence end takes the whitespace after it and is followed by no whitespace,
    # so only the first span can start, and the last end, with whitespace
    if spans:
        a, b = spans[0]
        spans[0] = (a + len(text[a:b]) - len(text[a:b].lstrip()), b)
        a, b = spans[-1]
        spans[-1] = (a, a + len(text[a:b].rstrip()))
        spans = [(a, b) for a, b in spans if b > a]
    if latin:
        return spans
    return [part for a, b in spans for part in _split_scripts(text, a, b)]


def _short_lead_ins_joined(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` with a lead-in cut at its colon (``_SENTENCE_END``) joined again to the
    quotation after it when it is too short to be judged on its own: "He said: « Nous ne
    reculerons pas », and left." is one English sentence with a French quotation (its
    parts are looked at around the quotation, ``_clauses``), not "He said:" and a French
    sentence."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and text[out[-1][1] - 1] == ":" and _letters(text[out[-1][0]:out[-1][1]]) < SEGMENT_MIN_LETTERS:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _not_a_text(bad: object) -> TypeError:
    return TypeError(f"a text must be a string, not {type(bad).__name__} ({bad!r:.40})")


class LanguageIdentifier:
    """Languages of blocks and of the sentences inside them (see the module docstring);
    the fastText model loads on first use, once per process."""

    def __init__(self, model_path: Path | str, *, min_confidence: float = MIN_CONFIDENCE) -> None:
        """``min_confidence``: fastText's probability (0 to 1) below which a text has no
        language (``None``). Raises ``ValueError`` for one outside [0, 1] (2 made every
        answer ``None`` without a word)."""
        # any real number (numpy's float32 from a config array too), held as a float
        if isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float, numbers.Real)) \
                or not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence is {min_confidence!r}: a probability from 0 to 1 "
                             f"(default {MIN_CONFIDENCE})")
        self.model_path = Path(model_path)
        self.min_confidence = float(min_confidence)
        self._model: Any = None
        self._ft_predict: Any = None  # the model's bound predict, once loaded
        self._lock = threading.Lock()
        # oldest first: a dict evicting its first key again and again walks the holes the
        # earlier evictions left (0.4 s per 40,000 evictions); an OrderedDict pops it at once
        self._cache: OrderedDict[str, TextAnalysis] = OrderedDict()
        self._cache_lock = threading.Lock()

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

    def languages(self) -> frozenset[str]:
        """The language codes the fastText model can give (its labels as Sieve writes them)."""
        return frozenset(lang for label in self.model.get_labels() if (lang := _model_lang(label)))

    def _bind_predict(self) -> Any:
        """fastText's low-level predict method (loading the model on first use)."""
        self._ft_predict = self.model.f.predict
        return self._ft_predict

    def _predict(self, text: str, k: int = 1) -> list[tuple[str, float]]:
        """fastText's top ``k`` (language, probability) for one text, in any script."""
        return _candidates(self._predict_lines([_fasttext_line(text)], k)[0], _NO_SCRIPT[1])

    def _predict_lines(self, lines: list[str], k: int | list[int]) -> list[list[tuple[float, str]]]:
        """fastText's raw top ``k`` (probability, label) for each prepared line, in one
        tight loop (calls interleaved with Python work run measurably slower)."""
        predict = self._ft_predict or self._bind_predict()
        ks = [k] * len(lines) if isinstance(k, int) else k
        try:
            return [predict(line, n, 0.0, "strict") for line, n in zip(lines, ks, strict=True)]
        except (UnicodeError, TypeError):  # lone surrogates (possible from JSON): pybind cannot convert them
            return [predict(_valid_utf8(line), n, 0.0, "strict") for line, n in zip(lines, ks, strict=True)]

    def _prepare_piece(self, text: str, start: int, end: int, k: int, latin: bool,
                       ) -> tuple[Piece, list[tuple[str, float]]] | _Pending:
        """The piece ``text[start:end]``: judged at once (with its candidates) when no
        model call is needed, else what fastText must read for it (``_Pending``).
        ``latin`` says that ``text`` holds no letter outside the Latin script."""
        part = text[start:end]
        clean = _blank_not_language(part)
        # letters are counted exactly where a threshold can depend on them; a long
        # piece is weighed by its characters that are not spaces
        if len(clean) < LONG_PIECE:
            letters, words = _letters(clean), len(clean.split())
        else:
            words = clean.count(" ") + 1
            letters = len(clean) - words + 1
            sample = clean[:LONG_PIECE]
            if _letters(sample) * 2 < len(sample):  # symbols, digits: count exactly ("¡" * 250 is no language)
                letters = _letters(clean)
        if letters < MIN_LETTERS_WITH_PRIOR:
            no_spaces = letters > 0 and _scripts(clean, letters)[0] in _NO_SPACE_SCRIPTS
            return _new_piece(Piece, (start, end, letters, words, None, 0.0, no_spaces)), []
        # the prior reads the candidates of short texts only below PRIOR_LOOK_LETTERS letters;
        # above, one language will do, unless it does not fit the script (then the next)
        wider = 0
        if k > 1 and letters >= PRIOR_LOOK_LETTERS:
            k, wider = 1, k
        if latin or not _NON_LATIN.search(clean):  # most pieces: Latin script, no script work needed
            return _new_piece(_Pending, (start, end, letters, words, False, _LATIN_ONLY[1], _fasttext_line(part), k,
                                         wider))
        script, scripts = _scripts(clean, letters)
        no_spaces = script in _NO_SPACE_SCRIPTS
        if script in _VOWEL_SIGN_SCRIPTS and len(clean) < LONG_PIECE:
            letters += _vowel_signs(clean)
        if script in _SCRIPT_LANGUAGE:
            lang = _SCRIPT_LANGUAGE[script]
            return (_new_piece(Piece, (start, end, letters, words, lang, SCRIPT_CONFIDENCE, no_spaces)),
                    [(lang, SCRIPT_CONFIDENCE)])
        return _new_piece(_Pending, (start, end, letters, words, no_spaces, scripts, _fasttext_line(part), k, wider))

    def _piece(self, text: str, start: int, end: int, k: int = 1,
               latin: bool = False) -> tuple[Piece, list[tuple[str, float]]]:
        """The piece ``text[start:end]`` judged, and fastText's top ``k`` languages for
        it that fit its script (empty when no model call was needed)."""
        prepared = self._prepare_piece(text, start, end, k, latin)
        if isinstance(prepared, _Pending):
            return self._judged(prepared, self._predict_lines([prepared.line], prepared.k)[0])
        return prepared

    def _judged(self, pending: _Pending, result: list[tuple[float, str]]) -> tuple[Piece, list[tuple[str, float]]]:
        """``pending.judged(result)``, asking fastText again for ``pending.wider``
        languages when none of those in ``result`` fits the piece's script."""
        judged = pending.judged(result)
        if not judged[1] and pending.wider:
            judged = pending.judged(self._predict_lines([pending.line], pending.wider)[0])
        return judged

    def analyze(self, text: str) -> TextAnalysis:
        """Cut ``text`` into sentence pieces and give each its top language."""
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[TextAnalysis]:
        """``analyze`` each text, once per distinct text: menus, footers and notices
        repeat within a page and across a site's pages, so short texts are also kept
        in a bounded cache (``CACHE_SIZE`` entries, oldest out first). Answers do
        not depend on the cache."""
        if isinstance(texts, (str, bytes)):
            raise TypeError(f"pass a list of texts, not one {type(texts).__name__}")
        texts = texts if isinstance(texts, (list, tuple)) else list(texts)  # read once (a generator)
        cache = self._cache
        try:
            out = [cache.get(text) for text in texts]
        except TypeError:  # an unhashable one (a list): no text
            raise _not_a_text(next(t for t in texts if not isinstance(t, str))) from None
        todo = dict.fromkeys(text for text, found in zip(texts, out, strict=True) if found is None)
        if not todo:
            return out  # type: ignore[return-value]  # every text was in the cache
        bad = next((t for t in todo if not isinstance(t, str)), _ALL_TEXT)
        if bad is not _ALL_TEXT:
            raise _not_a_text(bad)
        with _gc_paused():
            analyses = self._analyze_all(list(todo))
        with self._cache_lock:  # threads sharing this identifier evict one oldest entry each
            for text, analysis in zip(todo, analyses, strict=True):
                todo[text] = analysis
                if len(text) <= CACHE_MAX_CHARS:
                    if len(cache) >= CACHE_SIZE:
                        cache.popitem(last=False)
                    cache[text] = analysis
        return [found if found is not None else todo[text]  # type: ignore[misc]
                for text, found in zip(texts, out, strict=True)]

    def _analyze_all(self, texts: list[str]) -> list[TextAnalysis]:
        """Analyse distinct texts in three steps: cut every text into pieces, run
        fastText on all the pieces that need it, then judge each text."""
        plans: list[tuple[str, bool, bool, list[Any]]] = []  # (head, latin, one piece, prepared pieces)
        pending: list[_Pending] = []
        for text in texts:
            head = text[:MAX_ANALYZED_CHARS] if len(text) > MAX_ANALYZED_CHARS else text
            latin = not _NON_LATIN.search(head)  # no letter of another script: no script work below
            if len(head) < 40 or (latin and not _SENTENCE_END.search(head)):
                # one piece (most blocks: menu lines, headings, one-sentence paragraphs); a
                # short one is asked for its top candidates at once, for the prior later
                stripped = head.strip()
                if not stripped:
                    plans.append((head, latin, True, []))
                    continue
                lead = len(head) - len(head.lstrip())
                k = PRIOR_CANDIDATES if len(head) <= SHORT_TEXT_CHARS else 1
                prepared = [self._prepare_piece(head, lead, lead + len(stripped), k, latin)]
                plans.append((head, latin, True, prepared))
            else:
                prepared = [self._prepare_piece(head, a, b, 1, latin) for a, b in sentence_spans(head, latin)]
                plans.append((head, latin, False, prepared))
            pending.extend(p for p in prepared if isinstance(p, _Pending))
        results = iter(self._predict_lines([p.line for p in pending], [p.k for p in pending]))
        out = []
        for text, (head, latin, one, prepared) in zip(texts, plans, strict=True):
            judged = [self._judged(p, next(results)) if isinstance(p, _Pending) else p for p in prepared]
            if not judged:
                analysis = TextAnalysis(text, (), 0)
                analysis.plain = _UNSURE
            elif one:
                piece, cands = judged[0]
                if not self._recheck(head, piece) or (parts := self._requote(head, piece, latin)) == [piece]:
                    short = len(head) <= SHORT_TEXT_CHARS
                    analysis = TextAnalysis(text, (piece,), piece.letters, tuple(cands) if short else ())
                    analysis.plain = self._decide_one(piece)
                else:
                    analysis = self._analysis_of(text, parts)
            else:
                pieces: list[Piece] = []
                for piece, _ in judged:
                    if self._recheck(head, piece):
                        pieces.extend(self._requote(head, piece, latin))
                    else:
                        pieces.append(piece)
                analysis = self._analysis_of(text, pieces)
            out.append(analysis)
        return out

    def _analysis_of(self, text: str, pieces: list[Piece]) -> TextAnalysis:
        """A text of several pieces (or one cut around a quotation), decided without prior."""
        analysis = TextAnalysis(text, tuple(pieces), sum(p.letters for p in pieces))
        analysis.plain = self._decide(analysis, None)  # candidates: when the prior needs them
        return analysis

    def _decide_one(self, piece: Piece) -> BlockLanguage:
        """``decide`` without a prior for a text of one piece (the common case, inline)."""
        if piece.letters < MIN_LETTERS or piece.lang is None or piece.prob < self.min_confidence:
            return _UNSURE
        return _new_piece(BlockLanguage, (piece.lang, piece.prob, ()))

    @staticmethod
    def _recheck(text: str, piece: Piece) -> bool:
        """Whether a sentence is looked at again around a quotation in it (``_clauses``):
        when fastText is unsure of it, or when a quotation holds half its letters or
        more: such a quotation sways fastText to its own language, with confidence
        (``He said: « Nous ne reculerons pas », and left.`` is French at 0.98). A
        shorter one in a sentence fastText is sure of is mostly a name (an English
        institute's name in German) and stays part of the sentence."""
        if piece.letters < 2 * SEGMENT_MIN_LETTERS:
            return False
        if piece.prob < CLAUSE_RECHECK:
            return True
        if _QUOTE_MARK.search(text, piece.start, piece.end) is None:
            return False
        return any(_letters(_quoted_text(m)) * 2 >= piece.letters
                   for m in _quoted_in(text).finditer(text, piece.start, piece.end))

    def _requote(self, text: str, piece: Piece, latin: bool) -> list[Piece]:
        """``_clauses`` of a sentence ``_recheck`` picked. Of one fastText was sure of,
        the parts count only when they are not all in its language (a foreign
        quotation, or a sentence swayed to its quotation's language): an English
        quotation in an English sentence leaves the sentence one piece, as it was (its
        parts' weaker votes would lower the block's confidence, which the block model
        reads: retrained so, the HTML model lost 0.007 AEB token F1; training/NOTES.md,
        session 8)."""
        parts = self._clauses(text, piece, latin)
        if piece.prob < CLAUSE_RECHECK or any(p.lang not in (None, piece.lang) for p in parts):
            return parts
        return [piece]

    def _clauses(self, text: str, piece: Piece, latin: bool = False) -> list[Piece]:
        """A sentence cut around its longest quotation (``He said: « Nous ne reculerons
        pas », and left.``; ``_recheck`` says when) and around its longest aside in
        brackets (each its own: a longer aside in the sentence's language left a French
        quotation in the clause after it, "that « nous ne … » and left.", unsure): each
        part judged on its own, a quotation with its quotation marks."""
        part = text[piece.start:piece.end]
        best: dict[bool, tuple[re.Match[str], str]] = {}  # the longest quotation, the longest aside
        for m in _quoted_in(text).finditer(part):
            inner = _quoted_text(m)
            kind = m.group(5) is not None
            if _letters(inner) >= SEGMENT_MIN_LETTERS and (kind not in best or len(inner) > len(best[kind][1])):
                best[kind] = (m, inner)
        if not best:
            return [piece]
        quoted = sorted((piece.start + m.start(), piece.start + m.end()) for m, _ in best.values())  # with marks
        bounds = [piece.start, *(i for span in quoted for i in span), piece.end]
        out = []
        for a, b in zip(bounds, bounds[1:]):
            chunk = text[a:b]
            a2, b2 = a + len(chunk) - len(chunk.lstrip()), a + len(chunk.rstrip())
            if b2 <= a2:
                continue
            if (a, b) in quoted:  # the quotation's words are judged without its marks (guillemets
                # with spaces inside read as French: "» Updates ausblenden «" in German);
                # its span keeps them, as a segment begins on the opening mark
                inner = text[a + 1:b - 1]
                i2 = a + 1 + len(inner) - len(inner.lstrip())
                judged = self._piece(text, i2, a + 1 + len(inner.rstrip()), 1, latin)[0]
                out.append(judged._replace(start=a2, end=b2))
            else:
                out.append(self._piece(text, a2, b2, 1, latin)[0])
        return out

    # -- step 2: decisions ---------------------------------------------------------------
    def decide(self, analysis: TextAnalysis, prior: str | None = None) -> BlockLanguage:
        """The block's language, confidence and foreign segments from its pieces;
        ``prior`` is the document's main language (when known)."""
        plain = analysis.plain
        if plain is not None:
            if prior is None:
                return plain
            # the prior agrees and there is nothing for it to settle: same answer
            if plain.lang == prior and (plain.confidence or 0.0) >= PRIOR_UNSURE:
                return plain
        memo = analysis.with_prior
        if prior is not None and memo is not None and memo[0] == prior:
            return memo[1]
        decided = self._decide(analysis, prior)
        if prior is not None:
            analysis.with_prior = (prior, decided)
        return decided

    def _decide(self, analysis: TextAnalysis, prior: str | None) -> BlockLanguage:
        letters = analysis.letters
        if letters < (MIN_LETTERS_WITH_PRIOR if prior else MIN_LETTERS):
            return _UNSURE
        pieces = analysis.pieces
        weights: list[int] = []  # of several pieces: each one's weight in the vote
        if len(pieces) == 1:  # most blocks: one sentence, one vote
            if pieces[0].lang is None:
                return _UNSURE
            own, confidence = pieces[0].lang, pieces[0].prob
            share = {own: confidence}
        else:
            votes: dict[str, float] = defaultdict(float)
            judged = 0
            weights += [_vote_weight(analysis.text, p) for p in pieces]
            for p, weight in zip(pieces, weights):
                if p.lang is not None:
                    votes[p.lang] += weight * p.prob
                    judged += weight
            if not judged:
                return _UNSURE
            share = {lang: v / judged for lang, v in votes.items()}
            own = max(sorted(share), key=share.__getitem__)
            confidence = share[own]
        near = _misreadings(prior, analysis.text)
        if prior is not None and any(lang in near and lang != prior for lang in share):
            # the pieces read as the document's near languages (NEAR_LANGUAGES) are all its
            # language: their shares together (a Malay-read block with a short Indonesian
            # sentence had that sentence's share, carved below, and came out unsure)
            merged: dict[str, float] = defaultdict(float)
            for lang, v in share.items():
                merged[prior if lang in near else lang] += v
            share = dict(merged)
            if own in near:
                own, confidence = prior, share[prior]
        if prior is not None:
            if own != prior and share.get(prior, 0.0) >= DOC_SHARE:
                own, confidence = prior, share[prior]  # a mixed block: the rest are segments
            elif letters < PRIOR_LOOK_LETTERS and confidence < PRIOR_UNSURE:
                own, confidence = self._with_prior(analysis, prior)
            if own != prior and own in near:  # the document's language, misread (NEAR_LANGUAGES)
                own = prior
        segments = _segments(analysis, own) if len(pieces) > 1 else ()
        if segments and own in share:  # the confidence is about the rest of the block, the segments
            # carved out (segments come of several pieces only: their weights are known); a
            # language the prior chose (``_with_prior``) keeps its confidence: no piece may
            # have voted for it
            carved = sum(w for p, w in zip(pieces, weights) if p.lang is not None and _inside(p, segments))
            rest = sum(w for p, w in zip(pieces, weights) if p.lang is not None) - carved
            if rest > 0:
                confidence = share[own] * (rest + carved) / rest
        if confidence < self.min_confidence:
            return _UNSURE
        if prior is not None and any(s.lang in near and s.lang != prior for s in segments):
            # a sentence of a block in another language read as one of the document's near
            # languages is in the document's language too (a Croatian quotation read as hbs in
            # an English block of a Croatian page: clean kept none, and split it out as hbs)
            segments = tuple(replace(s, lang=prior) if s.lang in near else s for s in segments)
        return _new_piece(BlockLanguage, (own, min(confidence, 1.0), segments))

    def _with_prior(self, analysis: TextAnalysis, prior: str) -> tuple[str, float]:
        """A short block's language with the prior's weight (fastText's top candidates)."""
        weight = 1.0 + PRIOR_STRENGTH / max(analysis.letters, 1)
        cands = analysis.candidates
        if not cands:  # a text of several pieces: looked at as a whole once, when needed
            text = analysis.text[:MAX_CHARS]
            scripts = _scripts(text)[1]
            cands = analysis.candidates = tuple((lang, p) for lang, p in self._predict(text, k=PRIOR_CANDIDATES)
                                                if _fits_script(lang, scripts))
        if not cands:
            return prior, 0.0
        residual = max(0.0, 1.0 - sum(p for _, p in cands))
        scores = {lang: p * (weight if lang == prior else 1.0) for lang, p in cands}
        best = max(sorted(scores), key=scores.__getitem__)
        return best, scores[best] / (sum(scores.values()) + residual)

    # -- convenience -----------------------------------------------------------------------
    def identify_language_of(self, text: str, prior: str | None = None) -> LanguageGuess | None:
        """The language of one text, or ``None`` when unsure or not language."""
        return self.identify_language_of_many([text], prior=prior)[0]

    def identify_language_of_many(self, texts: Sequence[str], prior: str | None = None
                                  ) -> list[LanguageGuess | None]:
        """The language of each text (``None`` when unsure), in order. ``prior`` is
        the document's language as a code (``"pt-BR"`` reads as ``"pt"``)."""
        prior = _code(prior, "prior")
        out: list[LanguageGuess | None] = []
        for an in self.analyze_many(texts):
            bl = self.decide(an, prior)
            out.append(LanguageGuess(bl.lang, bl.confidence or 0.0) if bl.lang else None)
        return out

    def foreign_segments(self, text: str, lang: str | None = None) -> list[Segment]:
        """The spans of ``text`` in another language than ``lang`` (default: the
        text's own language; ``"en-GB"`` reads as ``"en"``)."""
        lang = _code(lang, "lang")
        bl = self.decide(self.analyze(text), prior=lang)
        if lang is None or bl.lang == lang:
            return list(bl.segments)
        return list(_segments(self.analyze(text), lang))

    def annotate_blocks(self, document: Document, analyses: Sequence[TextAnalysis] | None = None) -> Document:
        """Each block's language without a prior (what the block model reads)."""
        analyses = analyses or self.analyze_many([b.text for b in document.blocks])
        blocks = []
        for b, an in zip(document.blocks, analyses, strict=True):
            bl = self.decide(an)
            blocks.append(Block(b.text, b.label, b.scores, bl.lang, bl.confidence, b.foreign, b.segments,
                                b.tag, b.link_chars, b.dom, b.path, b.extra))
        return replace(document, blocks=tuple(blocks))

    def finish(self, document: Document, analyses: Sequence[TextAnalysis] | None = None,
               labels: Sequence[Label | None] | None = None,
               scores: Sequence[tuple[float, float, float] | None] | None = None) -> Document:
        """After the block model: the main language of the document (its content
        blocks), then every block's language with it as prior, its segments and
        whether it is foreign. ``labels`` and ``scores`` (from the block model), when
        given, are set on the blocks at the same time."""
        blocks_in = document.blocks
        analyses = analyses or self.analyze_many([b.text for b in blocks_in])
        labels = labels if labels is not None else [b.label for b in blocks_in]
        scores = scores if scores is not None else [b.scores for b in blocks_in]
        main = _main_language([(lab, _block_votes(b, an), _text_weight(b.text))
                               for b, an, lab in zip(blocks_in, analyses, labels, strict=True)])
        prior = main.lang if main else None
        blocks = []
        for b, an, lab, sc in zip(blocks_in, analyses, labels, scores, strict=True):
            bl = self.decide(an, prior)
            foreign = bl.lang is not None and prior is not None and bl.lang != prior
            blocks.append(Block(b.text, lab, sc, bl.lang, bl.confidence, foreign, bl.segments, b.tag, b.link_chars,
                                b.dom, b.path, b.extra))
        return replace(document, blocks=tuple(blocks), lang=prior, lang_score=main.confidence if main else None)

    def annotate(self, document: Document) -> Document:
        """Languages, main language, segments and foreign flags of a document (its
        block labels, when present, decide which blocks count for the main language)."""
        analyses = self.analyze_many([b.text for b in document.blocks])
        return self.finish(self.annotate_blocks(document, analyses), analyses)


def _inside(piece: Piece, segments: tuple[Segment, ...]) -> bool:
    """Whether ``piece`` is one of the pieces a segment was made of (a segment is a
    run of whole pieces, its end moved by ``_closed`` over or before closing marks)."""
    return any(seg.start <= piece.start < seg.end and piece.lang == seg.lang for seg in segments)


def _is_foreign(p: Piece, own: str) -> bool:
    return (p.lang is not None and p.lang != own and p.prob >= SEGMENT_MIN_CONFIDENCE
            and p.letters >= SEGMENT_MIN_LETTERS and (p.no_spaces or p.words >= SEGMENT_MIN_WORDS))


def _misreadings(own: str | None, text: str, start: int = 0, end: int | None = None) -> frozenset[str]:
    """The languages that, read in ``text[start:end]`` of a document in ``own``, are ``own``
    misread: its near languages (``NEAR_LANGUAGES``), and Japanese in a Chinese text
    without kana (fastText reads some Simplified Chinese sentences, an address, as
    Japanese: a Chinese story's paragraph was a foreign block, a sentence a segment)."""
    if own is None:
        return frozenset()
    near = _NEAR.get(own, frozenset())
    if own != "ja" and own in _SCRIPT_LANGUAGES["Han"] and not _KANA.search(text, start,
                                                                             len(text) if end is None else end):
        near = near | {own, "ja"}
    return near


def _segments(analysis: TextAnalysis, own: str) -> tuple[Segment, ...]:
    """Runs of consecutive pieces confidently in one other language than ``own``; a
    tiny unjudged piece ("Ja.") between two of the same language joins them."""
    runs: list[list[Any]] = []  # [start, end, lang, probability x letters, letters]
    open_run = tiny_gap = False
    before: Piece | None = None
    for p in analysis.pieces:
        if _is_foreign(p, own) and p.lang not in _misreadings(own, analysis.text, p.start, p.end):
            if open_run and runs[-1][2] == p.lang:
                runs[-1][1] = p.end
                runs[-1][3] += p.prob * p.letters
                runs[-1][4] += p.letters
            else:
                start = p.start
                if (before is not None and before.lang == p.lang and before.letters < SEGMENT_MIN_LETTERS
                        and _INITIALISM_END.search(analysis.text, before.start, before.end)
                        and (not runs or runs[-1][1] <= before.start)):
                    # "The U.S. Department of Energy said …": the sentence was cut after its initialism,
                    # whose few letters, left alone, stayed in the document's text ("… Erfolg. The U.S. Die …")
                    start = before.start
                runs.append([start, p.end, p.lang, p.prob * p.letters, p.letters])
            open_run, tiny_gap = True, False
        elif open_run and not tiny_gap and p.lang is None and p.letters < SEGMENT_MIN_LETTERS:
            tiny_gap = True
        else:
            open_run = tiny_gap = False
        before = p
    text = analysis.text
    out: list[Segment] = []
    for a, b, lang, w, n in runs:
        if out and a < out[-1].end:  # the closing mark the segment before took (« … » Wir …): not this one's too
            a = out[-1].end + len(text[out[-1].end:b]) - len(text[out[-1].end:b].lstrip())
            if a >= b:
                continue
        out.append(Segment(a, _before_outer_stop(text, a, _closed(text, a, b)), lang, w / n))
    return tuple(out)


#: The closing marks of a quotation that opens with each mark.
_CLOSERS = {"«": "»", "»": "«", "„": "“”", "“": "”", "‘": "’", '"': '"', "「": "」", "『": "』"}
_STOPS = frozenset(".!?…。！？")


def _before_outer_stop(text: str, start: int, end: int) -> int:
    """``end``, moved before the full stop after a quotation that the segment is:
    in «Ich komme heute».  (Russian, French, Spanish, German typography) the stop
    after the closing mark ends the sentence that quotes, not the quotation, and
    cleaned text would lose it ("сказал журналистам: Новая…")."""
    closers = _CLOSERS.get(text[start]) if end > start else None
    if not closers or text[end - 1] not in _STOPS:
        return end
    depth = 1
    for i in range(start + 1, end):
        ch = text[i]
        if ch in closers:
            depth -= 1
            if not depth:
                rest = text[i + 1:end]
                return i + 1 if rest.strip() and all(c in _STOPS or c.isspace() for c in rest) else end
        elif ch == text[start]:
            depth += 1
    return end


#: A piece ending in an initialism (U.S., U.K., e.g.): where a sentence was cut though it goes on.
_INITIALISM_END = re.compile(r"(?<![^\W\d_])(?:[^\W\d_]\.){2,}$")


#: Closing marks a foreign quotation ends with, and the opening marks they close.
_OPENERS = {"»": "«", "”": "“„", "’": "‘", "“": "„", ")": "(", "]": "[", "«": "»", '"': '"', "」": "「", "』": "『"}
_TRAILING_CLOSER = re.compile(r"\s*([»”’“)\]«\"」』])")


def _closed(text: str, start: int, end: int) -> int:
    """``end``, moved past the closing mark (and the spaces before it) of a quotation
    or bracket that the segment opens: « C'est la fin. » is one segment, while the
    sentence pieces may end at "fin." and would leave a stray » in the cleaned text;
    and moved before a closing mark the segment ends with but did not open (the
    sentence "…darauf.)" of a paragraph in brackets: the ")" closes the paragraph's
    bracket, not the German sentence's)."""
    trimmed = False
    while (end > start + 1 and text[end - 1] in _OPENERS and not _opens(text[start:end - 1], text[end - 1])
           and not (text[end - 1] == "’" and text[end - 2].isalpha())):  # "un po’", "dogs’": an apostrophe
        end, trimmed = end - 1, True
    if trimmed:
        while end > start + 1 and text[end - 1].isspace():  # "débat ”": the space before the mark too
            end -= 1
        return end
    m = _TRAILING_CLOSER.match(text, end)
    if m is None:
        return end
    return m.end() if _opens(text[start:end], m.group(1)) else end


def _opens(inside: str, closer: str) -> bool:
    """Whether ``inside`` opens a quotation or bracket that ``closer`` closes."""
    if closer == '"':
        return inside.count('"') % 2 == 1
    return sum(inside.count(o) for o in _OPENERS[closer]) > inside.count(closer)


#: The main language must hold this share of a pool of blocks (and the pool this
#: many characters with a language) to be taken from it; else the next, wider pool.
MAIN_SHARE = 0.7
MAIN_MIN_CHARS = 100


def main_language(blocks: Sequence[Block]) -> LanguageGuess | None:
    """The length-weighted majority language of the content blocks; when no language
    holds ``MAIN_SHARE`` of them (or they hold too little text with a language), of
    the blocks not labelled boilerplate or navigation, then of all blocks. The
    confidence is that language's share of the counted characters."""
    return _main_language([(b.label, {b.lang: b.lang_score or 1.0} if b.lang else {}, _text_weight(b.text))
                           for b in blocks])


def _block_votes(block: Block, analysis: TextAnalysis) -> dict[str, float]:
    """What a block gives each language in the page's: its language's confidence, or
    for a block whose sentences are in several languages, each one's share of its
    sentences (as ``decide`` weighs them). A Spanish paragraph holding a German
    quotation a little longer than its own words counted as German whole, and with
    it a three-paragraph Spanish story was German."""
    if block.lang is None:
        return {}
    pieces = analysis.pieces
    if len(pieces) < 2 or len({p.lang for p in pieces if p.lang}) < 2:
        return {block.lang: block.lang_score or 1.0}
    votes: dict[str, float] = defaultdict(float)
    judged = 0
    for p in pieces:
        weight = _vote_weight(analysis.text, p)
        if p.lang is not None:
            votes[p.lang] += weight * p.prob
            judged += weight
    return {lang: v / judged for lang, v in votes.items()}


def _vote_weight(text: str, piece: Piece) -> int:
    """What a piece of ``text`` weighs in its block's language: its letters, a Han or
    kana character as ``CJK_LETTER_WEIGHT`` letters (they weigh as much as the words
    they write)."""
    return piece.letters + (_cjk_extra(text, piece.start, piece.end) if piece.no_spaces else 0)


def _text_weight(text: str) -> int:
    """What a block's text weighs in the page's language: its characters, a Han or kana
    character as ``CJK_LETTER_WEIGHT`` (a Chinese page with English menu lines and
    quotations is Chinese)."""
    return len(text) + (0 if text.isascii() else _cjk_extra(text, 0, len(text)))


def _cjk_extra(text: str, start: int, end: int) -> int:
    """What the Han and kana characters of ``text[start:end]`` weigh beyond one each."""
    return (CJK_LETTER_WEIGHT - 1) * len(_HAN_KANA.findall(text, start, end))


def _main_language(items: Sequence[tuple[Label | None, dict[str, float], int]]) -> LanguageGuess | None:
    """``main_language`` over (label, confidence per language, characters) per block."""
    pools = (
        [it for it in items if it[0] is Label.CONTENT],
        [it for it in items if it[0] not in (Label.BOILERPLATE, Label.NAVIGATION)],
        items,
    )
    fallback: LanguageGuess | None = None
    for pool in pools:
        weight: dict[str, float] = defaultdict(float)
        with_language = 0  # characters (as _text_weight counts them) of the blocks with a language
        for _, votes, chars in pool:
            for lang, score in votes.items():
                weight[lang] += chars * score
            if votes:
                with_language += chars
        if not weight:
            continue
        total = sum(weight.values())
        # near languages (NEAR_LANGUAGES) weigh together: an Indonesian page whose longest
        # block reads as Malay is one language's page, of the group's most weighed member
        together = {lang: sum(weight.get(x, 0.0) for x in _NEAR.get(lang, (lang,))) for lang in weight}
        best = max(sorted(weight), key=lambda lang: (together[lang], weight[lang]))  # sorted: ties break the same way
        guess = LanguageGuess(best, together[best] / total)
        if guess.confidence >= MAIN_SHARE and with_language >= MAIN_MIN_CHARS:
            return guess
        fallback = fallback or guess
    return fallback


_LABEL_LANG: dict[str, str | None] = {}


#: lid.176's labels that are no ISO code of their language (SCHEMA.md: ISO 639-1 where one
#: exists, else ISO 639-3), and the code Sieve writes: Alemannic (Swiss German) is ``als``
#: there, Tosk Albanian's code in ISO 639-3 (``--lang als`` gave Swiss German to a builder of an
#: Albanian corpus, and ``--split-by-language`` wrote NAME.als shards of it); Serbo-Croatian
#: ``sh``, a code ISO 639-1 withdrew.
MODEL_CODES = {"als": "gsw", "sh": "hbs"}


def _model_lang(label: str) -> str | None:
    """A fastText label's language as Sieve writes it (``normalize_lang``, ``MODEL_CODES``)."""
    lang = normalize_lang(label)
    return MODEL_CODES.get(lang, lang) if lang else None


def _label_lang(label: str) -> str | None:
    """``__label__en`` -> ``en`` (fastText has 176 labels: remembered in ``_LABEL_LANG``)."""
    lang = _LABEL_LANG[label] = _model_lang(label)
    return lang


def _valid_utf8(line: str) -> str:
    """fastText's strict decoding raises on lone surrogates (possible from JSON)."""
    try:
        line.encode("utf-8")
        return line
    except UnicodeEncodeError:
        return line.encode("utf-8", "replace").decode("utf-8")


def _code(code: str | None, name: str) -> str | None:
    """A language code given to the public methods, as Sieve writes codes; a value
    that is no language code at all (``"english"``) is refused."""
    if code is None:
        return None
    norm = normalize_lang(code)
    if norm is None:
        raise ValueError(f"{name} must be a language code such as 'en' or 'pt-BR', not {code!r}")
    return norm


#: fastText models loaded in this process, by file (path, size, modification time):
#: every LanguageIdentifier (every Sieve) of one file shares one model (a 1 MB model
#: is about 3.5 MB in memory); a file replaced in place loads anew.
_FASTTEXT_MODELS: dict[tuple[str, int, int], Any] = {}
_FASTTEXT_LOCK = threading.Lock()


def _load_fasttext(path: Path) -> Any:
    try:
        st = path.stat()
    except OSError:
        st = None
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns) if st is not None else None
    with _FASTTEXT_LOCK:
        if key is not None and key in _FASTTEXT_MODELS:
            return _FASTTEXT_MODELS[key]
        model = _read_fasttext(path)
        if key is not None:
            _FASTTEXT_MODELS[key] = model
        return model


def _read_fasttext(path: Path) -> Any:
    import os

    from .cards import check_card_file, open_verified  # here, not at import: the CLI's --help stays fast

    # fastText reads a path: it reads the very file checked against the card, through
    # the descriptor the check read it by (a file renamed over the name meanwhile is
    # not what is loaded)
    card, fd = open_verified(path)
    try:
        check_card_file(path, card)
        import fasttext

        fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence its load warning
        through = f"/proc/self/fd/{fd}"
        return fasttext.load_model(through if os.path.exists(through) else str(path))
    except ModelError:
        raise
    except Exception as err:  # noqa: BLE001 - a damaged file can raise nearly anything (MemoryError too)
        raise ModelError(f"language model {path} cannot be loaded ({type(err).__name__}: {err}); "
                         "reinstall models/ or pass --model-dir") from err
    finally:
        os.close(fd)

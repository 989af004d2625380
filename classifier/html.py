"""HTML pages -> blocks: a fast, forgiving segmenter on lxml (libxml2, C).

A page becomes reading-order, paragraph-like blocks:

* the subtrees of ``DROP_TAGS`` (scripts, styles, templates, forms' option lists,
  media ...) are dropped, their tail text kept (a declarative shadow root's template is
  read as its host's content); comments are ignored;
* paragraphs, list items and table rows left open are closed where HTML closes them,
  also around an inline element left open (``_close_implied``), and what libxml2 put
  inside a void element (``<embed>`` left unclosed, as HTML writes it) follows it (``_empty_void``);
* every element of ``BLOCK_TAGS`` starts and ends a block: the text directly in it
  or in its inline descendants, between two child blocks, is one block (but a
  ``<button>`` in running text, which browsers show inline, is part of it);
* two or more consecutive ``<br>`` end a block, a single one is a line break in it
  (a poem's lines, an address; a ``</br>`` is a ``<br>``, as in browsers); in a
  ``<pre>`` each is a newline of its text; an inline element whose ``style`` shows it
  as a box (``display: block``) is a line;
* the text of an inline element shown to no reader (``display:none``,
  ``visibility:hidden``, ``hidden``; a style's last declaration of each, as in CSS)
  is left out of its block (a hidden block is kept, with the fact ``hidden``);
* a page's own controls that its markup names are left out with their content, as a
  dropped element is: a wiki's section-edit links ("[edit]"), tooltips (``role="tooltip"``)
  and permalinks (a documentation page's "¶" after each heading; ``_Open.control``,
  ``_is_permalink``), and so are a code listing's line numbers (``_LINE_NUMBERS``);
* text is whitespace-normalised (NFC, zero-width characters and soft hyphens
  removed; runs of whitespace as one space, none for a source line break between two
  Chinese or Japanese characters, but for those line breaks and the text of
  a ``<pre>``, which keeps its lines and indentation: code, a directory tree) and
  blocks with no letter or digit are dropped.

Each block keeps its owner element's tag and how many of its characters sit
inside links (``Block.tag``, ``Block.link_chars``): facts a model can use.

Bytes are decoded by BOM, then as UTF-8 when they are valid UTF-8, then by the
charset a ``<meta>`` declares, then as mostly-UTF-8, then by charset-normalizer's
guess, then as windows-1252 (which decodes any byte), so a page in an undeclared
legacy encoding still gives text (``decode_html``). Markup nested deeper than
libxml2 reads raises ``PageError``; text after ``</html>`` is kept. The readers
bound the size of
a page (``--max-bytes``) and the time spent cutting it (``PAGE_SECONDS``).
"""

from __future__ import annotations

import codecs
import datetime
import functools
import itertools
import math
import re
import unicodedata
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

import numpy as np
from lxml import etree

from .document import Block, _nonspace, model_text
from .errors import PageError, TooManyBlocks

__all__ = ["BLOCK_TAGS", "DOM_FACTS", "DROP_TAGS", "PageError", "decode_html", "html_to_blocks", "is_caption"]

DROP_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "video",
    "audio", "canvas", "select", "textarea", "datalist", "title", "meta", "link", "base", "rt", "rp",
    # shown only by browsers without frames or plug-ins; libxml2 keeps their markup as raw text
    "noframes", "noembed",
    # a Java plug-in: its text is what a browser without Java shows ("Your browser does not
    # support Java"), as an <object>'s is
    "applet",
})
BLOCK_TAGS = frozenset({
    "html", "body", "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "dir",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "frameset", "frame", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "legend", "li", "main", "menu", "nav", "ol", "p", "pre",
    "section", "summary", "table", "caption", "tbody", "thead", "tfoot", "tr", "td", "th", "ul", "button",
    "listing", "plaintext", "xmp", "search",
    # a box of its own as wide as its container, on its own line ("Before<marquee>News</marquee>After":
    # three lines in browsers, "BeforeNewsAfter" in one block)
    "marquee",
})

#: (``[^<>]``: a search from every "<meta" of a head of 64 KB without a ">" ran to its end, 2 s)
_META_CHARSET = re.compile(rb"""<meta[^<>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.IGNORECASE)
#: A page's ``<meta>`` charset is looked for in its head (before ``<body``), in its first
#: 4,096 bytes at least and this many at most: an old page's head holds a long comment or
#: script before it (a site's copyright banner, Dreamweaver's rollover functions), and
#: browsers read it there.
HEAD_BYTES = 65_536
_BODY_START = re.compile(rb"<body[\s>]", re.IGNORECASE)
_WS = re.compile(r"\s+")
#: ISO-2022-JP's escapes to JIS X 0208 (a 7-bit Japanese page's kanji and kana).
_JIS_ESCAPE = re.compile(rb"\x1b\$[@B]")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\ufeff\u00ad\u2060"), None)
_HAS_WORD = re.compile(r"[^\W_]")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


#: Charset labels browsers read as windows-1252 (WHATWG Encoding): "latin-1" pages
#: use its curly quotes and dashes in the 0x80-0x9F range.
_AS_CP1252 = frozenset({"latin_1", "iso8859-1", "ascii", "iso-8859-1", "us-ascii", "cp1252"})


#: Labels browsers read as a wider encoding than Python's codec of the same name
#: (WHATWG Encoding): pages labelled GB2312 use GBK's characters (朱镕基), Shift_JIS
#: pages use cp932's (①, ㈱), and so on.
_AS_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932", "big5": "big5hkscs", "euc_kr": "cp949",
             "iso8859-9": "cp1254", "tis-620": "cp874", "iso8859-11": "cp874"}
#: The codecs a web page can really be in (after the mappings above): a label naming
#: another of Python's codecs (idna, utf-32, utf-7, cp037, unicode_escape ...) is
#: ignored, as browsers ignore it.
_WEB_CODECS = frozenset(
    "utf-8 utf-16-le utf-16-be utf-16 cp1250 cp1251 cp1252 cp1253 cp1254 cp1255 cp1256 cp1257 cp1258 cp874 cp866 "
    "iso8859-2 iso8859-3 iso8859-4 iso8859-5 iso8859-6 iso8859-7 iso8859-8 iso8859-10 iso8859-13 iso8859-14 "
    "iso8859-15 iso8859-16 koi8-r koi8-u mac-roman mac-cyrillic gb18030 big5hkscs cp932 euc_jp iso2022_jp cp949 "
    "euc_jis_2004 euc_jisx0213 shift_jis_2004 shift_jisx0213 cp950 hz".split())


#: Labels of the WHATWG Encoding Standard that Python's codecs do not know (or know as another
#: encoding), as the codec browsers read them with: old pages name them ("x-sjis", "x-cp1251",
#: "iso-8859-8-i"), and were guessed as if they named none.
_WHATWG_LABELS = {
    **dict.fromkeys(("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8"), "utf-8"),
    **dict.fromkeys(("866", "csibm866"), "cp866"),
    **dict.fromkeys(("csiso88598i", "iso-8859-8-i", "logical", "csiso88598e", "visual"), "iso8859-8"),
    **dict.fromkeys(("dos-874", "windows-874", "iso885911"), "cp874"),
    **{f"x-cp125{i}": f"cp125{i}" for i in range(9)},
    **dict.fromkeys(("x-mac-cyrillic", "x-mac-ukrainian"), "mac-cyrillic"),
    **dict.fromkeys(("csmacintosh", "mac", "x-mac-roman"), "mac-roman"),
    **dict.fromkeys(("koi", "koi8", "cskoi8r"), "koi8-r"),
    "koi8-ru": "koi8-u",
    **dict.fromkeys(("chinese", "csgb2312", "csiso58gb231280", "gb_2312", "gb_2312-80", "iso-ir-58", "x-gbk"), "gbk"),
    **dict.fromkeys(("cn-big5", "csbig5", "x-x-big5"), "big5"),
    **dict.fromkeys(("cseucpkdfmtjapanese", "x-euc-jp"), "euc_jp"),
    **dict.fromkeys(("ms932", "windows-31j", "x-sjis"), "shift_jis"),
    **dict.fromkeys(("cseuckr", "csksc56011987", "iso-ir-149", "ks_c_5601-1989", "ksc5601", "ksc_5601",
                     "windows-949"), "euc_kr"),
}


def _text_codec(label: str | bytes | None) -> str | None:
    """The codec to read a page whose charset label is ``label``, as browsers read it;
    None for a label that names no web encoding."""
    if not label:
        return None
    name = (label.decode("ascii", "replace") if isinstance(label, bytes) else label).strip().strip("'\"")
    name = _WHATWG_LABELS.get(name.lower(), name)
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if info.name in _AS_CP1252:
        return "cp1252"
    codec = _AS_WIDER.get(info.name, info.name)
    return codec if codec in _WEB_CODECS else None


#: A page that is not valid UTF-8 is still read as UTF-8 when at most this share of
#: its non-ASCII characters are broken sequences: a UTF-8 page with a few bytes of
#: another encoding pasted in (a template's cp1251 footer) would otherwise be decoded
#: whole as the other encoding, every one of its own non-ASCII letters mojibake.
MOSTLY_UTF8 = 0.1


def decode_html(data: bytes, http_charset: str | None = None) -> str:
    """The text of an HTML page's bytes: BOM; then UTF-8 when the bytes are valid
    UTF-8 with non-ASCII characters (whatever charset is declared: a page that says
    ISO-8859-1 and is UTF-8 is common, while legacy-encoded text is practically never
    valid UTF-8); then the HTTP header's charset (from WARC), then the charset a
    ``<meta>`` declares (first when the header says ISO-8859-1 or windows-1252, a
    server default, and the page names another), then UTF-8 (also when only a few sequences are broken,
    ``MOSTLY_UTF8``), then charset-normalizer's guess, then windows-1252."""
    for bom, bom_codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(bom_codec, errors="replace")
    try:
        utf8: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    if utf8 is not None and not data.isascii():
        return utf8
    if utf8 is not None and _JIS_ESCAPE.search(data):
        try:  # 7-bit Japanese: its escapes say ISO-2022-JP whatever the page's label (Shift_JIS, or none)
            return data.decode("iso2022_jp")
        except UnicodeDecodeError:
            pass
    body = _BODY_START.search(data, 0, HEAD_BYTES)
    declared = _META_CHARSET.search(data, 0, max(4096, body.start() if body else HEAD_BYTES))
    meta = declared.group(1) if declared else None
    labels = [http_charset, meta]
    if utf8 is None and not data.isascii():
        tolerant = data.decode("utf-8", errors="replace")
        non_ascii = len(tolerant) - len(tolerant.encode("ascii", "ignore"))  # broken sequences included
        broken = tolerant.count("\ufffd") - data.count("\ufffd".encode())
        if non_ascii >= 8 and broken <= MOSTLY_UTF8 * non_ascii:
            return tolerant  # a UTF-8 page with a stray byte, whatever it declares
        if broken < non_ascii - broken and "utf-8" in (_text_codec(label) for label in labels):
            # it says UTF-8 and more of its non-ASCII characters are whole UTF-8 than not
            # (legacy text is next to never valid UTF-8): an article in UTF-8 under a
            # footer pasted in windows-1252 stays readable, its footer's letters lost
            return tolerant
    if _text_codec(http_charset) == "cp1252" and _text_codec(meta) not in (None, "cp1252"):
        # "ISO-8859-1" is many servers' default whatever the page: a page that names
        # another charset itself (EUC-JP, windows-1251) is read as it says, or its
        # text becomes mojibake that cp1252 accepts without an error
        labels.reverse()
    elif _reads_worse(data, _text_codec(http_charset), _text_codec(meta)):
        # the header and the page name two single-byte charsets, and the page reads as
        # mojibake in the header's and clean in its own (KOI8-R served as windows-1251):
        # a short page, which no guess reads, is read as it says
        labels.reverse()
    for label in labels:
        codec = _text_codec(label)
        if codec and codec not in ("utf-8", "utf-16-le", "utf-16-be", "utf-16"):  # a wrong UTF-16 claim is common
            if codec == "cp1252" and _mostly_accented(data):
                continue  # "ISO-8859-1" on a page in another charset (windows-1251): guessed below
            decoded = data.decode(codec, errors="replace")
            if _mostly_undecodable(decoded, data):
                continue  # bytes that are no text in the charset named (windows-1251 labelled Shift_JIS)
            if codec not in _CJK and (other := _better_reading(data, codec)) is not None:
                return data.decode(other, errors="replace")  # KOI8-R labelled windows-1251, Polish labelled Latin-1
            if codec in _CJK and (other := _better_cjk_reading(data, codec)) is not None:
                return data.decode(other, errors="replace")  # EUC-JP labelled Shift_JIS, Big5 labelled GB2312
            return decoded
    if utf8 is not None:
        return utf8
    tolerant = data.decode("utf-8", errors="replace")
    non_ascii = len(tolerant) - len(tolerant.encode("ascii", "ignore"))  # broken sequences included
    if tolerant.count("\ufffd") - data.count("\ufffd".encode()) <= MOSTLY_UTF8 * non_ascii:
        return tolerant
    guess = _guess_codec(data)
    return data.decode(guess or "cp1252", errors="replace")


def _mostly_undecodable(decoded: str, data: bytes) -> bool:
    """Whether more than ``MOSTLY_UTF8`` of the non-ASCII characters of ``data`` read in a
    declared charset (``decoded``, errors replaced) are bytes that charset cannot read: the
    label is wrong (a windows-1251 page labelled Shift_JIS or EUC-KR read as CJK mojibake
    and U+FFFD), and the page is read as if it named none. A page in its charset with a few
    broken bytes (cut in a character) keeps it: one broken character (a cut, a stray byte)
    is no sign of a wrong label, also on a page of a few non-ASCII letters (a Japanese
    title over English text), which the guess would read as another script's mojibake."""
    broken = decoded.count("\ufffd") - data.count("\ufffd".encode())
    if broken < 2:
        return False
    non_ascii = len(decoded) - len(decoded.encode("ascii", "ignore"))
    return broken > MOSTLY_UTF8 * non_ascii


#: A reading of a page whose letters are more than this share misread (``_misread_share``)
#: is mojibake of a wrong charset label ...
MISREAD_SHARE = 0.2
#: ... when it has at least this many characters the measure reads (letters beyond ASCII, symbols
#: between letters, C1 controls: a name or two decide nothing).
MISREAD_MIN_LETTERS = 10
#: Prose writes few capitals after a word's first letter; KOI8-R read as windows-1251 (and the
#: reverse) swaps the case of every Cyrillic letter: a capitalised word turns from lower to upper
#: case ("зПТПДУЛПК"), and no word is capitalised. A page in capitals has neither: a camel-case
#: name in it ("МегаФон") turns too, but from a capital (a capitalised word read so begins in
#: lower case), and counts for no turned word here.
UPPER_INSIDE_WORDS = 0.5
#: Scripts a wrong single-byte label mixes inside one word ("zagіosowaіa": windows-1250 read
#: as windows-1251; "votי": windows-1252 read as windows-1255), and the characters such a
#: reading puts between two letters ("zag³osowa³a": windows-1250 read as ISO-8859-1; C1
#: controls; cp866's box drawing). A no-break space and a soft hyphen are no sign.
_MIXABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "HEBREW", "ARABIC")
_IN_WORD_SYMBOLS = "\x80-\x9f\xa1-\xac\xae-\xbf\u2500-\u257f"
_MOJIBAKE_WORD = re.compile(f"[^\\W\\d_]+(?:[{_IN_WORD_SYMBOLS}]+[^\\W\\d_]+)+|\\w+")
_IN_WORD_SYMBOL = re.compile(f"[{_IN_WORD_SYMBOLS}]")
_C1 = re.compile("[\x80-\x9f]")
#: Letter forms written only at a word's end (Hebrew's final letters, Greek's final sigma): one
#: before another letter is a misreading ("םוחבזןמ": KOI8-R read as windows-1255).
_FINAL_FORMS = frozenset("ךםןףץς")


@functools.lru_cache(maxsize=4096)
def _letter_script(ch: str) -> str | None:
    """The script of a letter among ``_MIXABLE_SCRIPTS`` (None for another or no letter)."""
    if not ch.isalpha():
        return None
    if ch.isascii():
        return "LATIN"
    script = unicodedata.name(ch, "").split(" ", 1)[0]
    return script if script in _MIXABLE_SCRIPTS else None


def _misread_share(text: str, judge: Any) -> tuple[float, int]:
    """How much of a page's text (its first 50,000 characters, markup aside) reads as the
    mojibake of a wrong single-byte label, and over how many characters beyond ASCII: of
    the letters beyond ASCII of ``_MIXABLE_SCRIPTS`` (not Thai's: nothing here can fault
    them) and the symbols inside words, those in a word that mixes scripts ("Mмstskб"),
    turns from lower to upper case ("зПТПДУЛПК": KOI8-R read as windows-1251) or has a final
    letter inside (``_FINAL_FORMS``), the symbols between letters ("zag³osowa³a") and C1
    controls, the capitals inside words when they are most letters there and more words
    turn than are capitalised (``UPPER_INSIDE_WORDS``), the accented Latin letters when they
    are most Latin letters (``ACCENTED_SHARE``), and the Latin letters beyond ASCII that the
    language fastText reads (not English: its accents are names') does not write
    ("Mìstská")."""
    text = text[:50_000]
    units = bad = inner = inner_upper = latin = accented = turned_words = capitalised = 0
    for m in _MOJIBAKE_WORD.finditer(text):
        word = m.group()
        if word.isascii():
            continue
        scripts: set[str] = set()
        lower_before = turned = final_before = final_inside = False
        letters = symbols = 0
        for i, ch in enumerate(word):
            if ch.isalpha():
                script = _letter_script(ch)
                if not ch.isascii() and script:
                    letters += 1
                    if i:
                        inner += 1
                        inner_upper += ch.isupper()
                if script:
                    scripts.add(script)
                    if script == "LATIN":
                        latin += 1
                        accented += not ch.isascii()
                turned = turned or (lower_before and ch.isupper())
                final_inside = final_inside or final_before
                lower_before, final_before = ch.islower(), ch in _FINAL_FORMS
            elif _IN_WORD_SYMBOL.match(ch):
                symbols += 1
        units += letters + symbols
        bad += letters + symbols if len(scripts) > 1 or turned or final_inside else symbols
        # a word turned from its first letter on ("зПТПДУЛПК"), not a camel-case name ("МегаФон": a page in
        # capitals naming one was read as KOI8-R's lower case, every letter wrong)
        turned_words += turned and word[0].islower()
        capitalised += len(word) > 1 and word[0].isupper() and word[1:].islower()
    controls = len(_C1.findall(text))
    units, bad = units + controls, bad + controls
    if inner and inner_upper > UPPER_INSIDE_WORDS * inner and turned_words > capitalised:
        bad = max(bad, inner_upper)  # mostly capitals inside words: a case-swapping misreading (KOI8-R, cp1251)
    if accented > ACCENTED_SHARE * latin:
        bad = max(bad, accented)  # Latin letters mostly accented: another script's bytes ("Ăîđîäńęîé")
    if units and judge is not None:
        lang, _ = judge(text)
        alphabet = _ALPHABETS.get(lang) if lang != "en" else None
        if alphabet:
            bad += sum(not ch.isascii() and ch.isalpha() and ch not in alphabet and _letter_script(ch) == "LATIN"
                       for ch in text.lower())
    return (min(1.0, bad / units) if units else 0.0), units


def _misread_in(data: bytes, codec: str) -> tuple[bytes, Any, float, int]:
    """The text of a page's first 400,000 bytes without markup, the language judge, and
    how misread that text is in ``codec`` (``_misread_share``: the share, the characters it read)."""
    plain = _without_markup(data[:400_000])
    judge = _language_judge()
    share, units = _misread_share(plain.decode(codec, errors="replace"), judge)
    return plain, judge, share, units


def _better_reading(data: bytes, codec: str) -> str | None:
    """Another single-byte charset for a page that names ``codec`` but reads in it as
    mojibake (``_misread_share``): charset-normalizer's guess, judged (``_guess_codec``),
    when its reading is at most a third as misread over at least half as many characters
    (Thai letters read from Cyrillic bytes, or UTF-16's, are none the measure counts). None
    when the label reads well (most pages: the guess is made only for a misread one)."""
    if data.isascii():
        return None
    plain, judge, share, units = _misread_in(data, codec)
    if units < MISREAD_MIN_LETTERS or share <= MISREAD_SHARE:
        return None
    guess = _guess_codec(data)
    if guess is None or guess == codec or guess in _CJK:
        return None
    other, other_units = _misread_share(plain.decode(guess, errors="replace"), judge)
    return guess if other < share / 3 and other_units >= units / 2 else None


#: The CJK encodings a page labelled with another is read in, judged (``_better_cjk_reading``).
_CJK_READINGS = ("cp932", "euc_jp", "gb18030", "big5hkscs", "cp949")
#: How surely fastText must read that other reading as a language its encoding writes ...
CJK_SURE = 0.5
#: ... on a page of at least this many characters beyond ASCII (a few words decide nothing:
#: "똠방각하 샾 쀍" read as cp932 is Japanese to fastText).
CJK_MIN_CHARS = 20
_HALF_WIDTH_KANA = re.compile("[\uff61-\uff9f]")


def _better_cjk_reading(data: bytes, codec: str) -> str | None:
    """Another CJK encoding for a page that names the CJK ``codec`` but is in another
    (EUC-JP labelled Shift_JIS reads as half-width katakana, "､ｳ､ﾎ･ﾚ"; Big5 labelled
    GB2312 as other Han characters, "秅ソи產锭洁"): of the others that read the page's
    bytes without an error (and not mostly as half-width katakana), the one fastText is
    surest is a language its encoding writes (``_WRITES``: EUC-JP bytes read as GBK are
    Japanese too, but no GBK page's), when it is at least ``CJK_SURE`` sure and
    ``CJK_MARGIN`` surer than of the label's reading (0 when that is not a language its
    label writes). None when the label reads well, or the page has fewer than
    ``CJK_MIN_CHARS`` characters beyond ASCII."""
    judge = _language_judge()
    if judge is None or data.isascii():
        return None
    text = _without_markup(data[:400_000])[:200_000]
    own = text.decode(codec, errors="replace")
    if len(own) - len(own.encode("ascii", "ignore")) < CJK_MIN_CHARS:
        return None
    lang, prob = judge(own)
    best, best_sure = None, max(prob if lang in _WRITES[codec] else 0.0, CJK_SURE - CJK_MARGIN) + CJK_MARGIN
    for other in _CJK_READINGS:
        if other == codec:
            continue
        try:  # the cut at 200,000 bytes may split the last character: not an error
            reading = codecs.getincrementaldecoder(other)().decode(text, final=False)
        except UnicodeDecodeError:
            continue
        if len(_HALF_WIDTH_KANA.findall(reading)) * 2 > len(reading) - len(reading.encode("ascii", "ignore")):
            continue  # mostly half-width katakana: how other CJK bytes read as Shift_JIS, no Japanese text
        lang, prob = judge(reading)
        if lang in _WRITES[other] and prob > best_sure:
            best, best_sure = other, prob
    return best


#: ... and over at least this many characters when the page's header and its ``<meta>`` name two
#: charsets (``_reads_worse``): one or two read nothing ("Le 22/01/2020 à 12:01": a French
#: page served as ISO-8859-15 with a template's windows-1251 was read as "а", Cyrillic).
MISREAD_MIN_CONFLICT = 3


def _reads_worse(data: bytes, codec: str | None, other: str | None) -> bool:
    """Whether ``data`` reads as mojibake in the single-byte ``codec`` (``_misread_share``
    above ``MISREAD_SHARE``) and at most a third as misread, over at least half as many
    characters, in the single-byte ``other``: of two charsets the page is said to be in,
    ``other`` is the one it is in. A few characters the measure reads decide here
    (``MISREAD_MIN_CONFLICT``; a short page is read as neither label says when it is guessed)."""
    if not codec or not other or codec == other or data.isascii():
        return False
    if {codec, other} & (_CJK | {"utf-8", "utf-16-le", "utf-16-be", "utf-16"}):
        return False
    plain, judge, share, units = _misread_in(data, codec)
    if units < MISREAD_MIN_CONFLICT or share <= MISREAD_SHARE:
        return False
    other_share, other_units = _misread_share(plain.decode(other, errors="replace"), judge)
    return other_share < share / 3 and other_units >= units / 2


#: A page read as windows-1252 whose letters are mostly not ASCII is in another charset:
#: no Latin-script language writes more than about a third of its letters accented,
#: while Cyrillic or Greek bytes read as windows-1252 are accented Latin letters all
#: ("Âî âòîðíèê").
ACCENTED_SHARE = 0.5


def _mostly_accented(data: bytes) -> bool:
    """Whether more than ``ACCENTED_SHARE`` of the letters of the page's text (its
    markup aside), read as windows-1252, are not ASCII."""
    if data.isascii():
        return False
    text = _without_markup(data[:400_000]).decode("cp1252", errors="replace")
    letters = sum(map(str.isalpha, text))
    accented = letters - len(text.encode("ascii", "ignore").translate(None, _NOT_ASCII_LETTERS))
    return letters > 0 and accented > ACCENTED_SHARE * letters


_NOT_ASCII_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())


#: Single-byte encodings of Latin-script languages: the guesser cannot tell them apart
#: on short pages (they differ in a few letters), so its guesses among them are judged.
_LATIN_SINGLE_BYTE = frozenset("cp1250 cp1252 cp1254 cp1257 cp1258 iso8859-2 iso8859-3 iso8859-4 iso8859-10 "
                               "iso8859-13 iso8859-14 iso8859-15 iso8859-16 mac-roman".split())
#: How many of charset-normalizer's guesses are read back and judged.
GUESSES_JUDGED = 5
#: windows-1252 is kept when it reads within this much of the best guess (the
#: encoding of most undeclared legacy pages).
CP1252_TIE = 0.01


def _guess_codec(data: bytes) -> str | None:
    """The encoding of a page that declares nothing usable and is not UTF-8.

    charset-normalizer ranks encodings by how messy the decoded bytes look, which
    does not separate single-byte encodings on short pages (a French page came out
    cp1257, "garēon"; a Czech one cp1258). Its first guesses and windows-1252 are
    each read back, and fastText's language model judges them: the decoding it is
    surest is a language wins (windows-1252 on a near tie). Without the language
    model, charset-normalizer's first guess."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a dependency
        return None
    text = _without_markup(data[:400_000])[:200_000] or data[:200_000]
    try:
        results = list(from_bytes(text))
    except (LookupError, ValueError):
        return None
    guesses = list(dict.fromkeys(c for r in results[:GUESSES_JUDGED] if (c := _text_codec(r.encoding))))
    judge = _language_judge()
    if not guesses or judge is None:
        return guesses[0] if guesses else None
    if guesses[0] in _CJK:
        # a short page in one CJK encoding reads as another's characters (EUC-JP as cp949's
        # Hangul): another reading wins when fastText is clearly surer it is a language
        # (short KOI8-R text pairs up as Shift_JIS: the Cyrillic readings are judged too)
        readings = {c: text.decode(c, errors="replace") for c in guesses if c in _CJK}
        readings.update({c: r for c in ("koi8-r", "cp1251") if c not in guesses
                         and _mostly_cyrillic(r := text.decode(c, errors="replace"))})
        choices = list(readings)
        # how surely each other reading is a language its encoding writes (half-width katakana
        # read from Big5 bytes came out German at 0.81; a few symbols in English text read
        # as KOI8-R are Cyrillic letters in English); the guesser's first as fastText finds it
        judged = {c: judge(reading) for c, reading in readings.items()}
        sure = {c: prob if c == choices[0] or lang in _WRITES[c] else 0.0 for c, (lang, prob) in judged.items()}
        best = max(choices, key=sure.__getitem__)
        return best if sure[best] > sure[choices[0]] + CJK_MARGIN else choices[0]
    if guesses[0] not in _LATIN_SINGLE_BYTE:
        return guesses[0]  # Cyrillic, Greek ...: the guesser tells them well
    # windows-1252, and the Central European pair (ISO-8859-2 is rarely among the
    # guesses: a Slovak page came out windows-1258)
    candidates = [c for c in guesses if c in _LATIN_SINGLE_BYTE]
    candidates += [c for c in ("cp1252", "cp1250", "iso8859-2") if c not in candidates]
    others = [c for c in guesses if c not in _LATIN_SINGLE_BYTE and c not in _CJK]
    best, reading = _judged_latin(text, candidates, judge)
    if others and _accented_share(reading) > ACCENTED_SHARE:
        return others[0]  # every Latin reading is mojibake ("Ďđčâĺň"): windows-1251 ranked second
    return best


#: How much surer fastText must be of another CJK reading than of the guesser's first.
CJK_MARGIN = 0.1
#: CJK multi-byte encodings (as ``codecs.lookup`` names them), and the languages each writes.
_CJK_LANGUAGES = {
    **dict.fromkeys("cp932 shift_jis shift_jis_2004 shift_jisx0213 euc_jp euc_jis_2004 euc_jisx0213 iso2022_jp"
                    .split(), frozenset({"ja"})),
    **dict.fromkeys("cp949 euc_kr johab".split(), frozenset({"ko"})),
    **dict.fromkeys("gb2312 gbk gb18030 hz big5 big5hkscs cp950".split(), frozenset({"zh", "yue", "wuu"})),
}
_CJK = frozenset(_CJK_LANGUAGES)
#: ... and the languages of the Cyrillic readings judged beside them.
_WRITES = {**_CJK_LANGUAGES, **dict.fromkeys(("koi8-r", "cp1251"), frozenset(
    "ru uk bg be sr mk kk ky tg mn ba tt cv ce os sah mhr myv udm kv xal bxr mrj krc av lez tyv".split()))}


def _mostly_cyrillic(text: str) -> bool:
    """Whether nearly all of ``text``'s characters beyond ASCII are Cyrillic letters (a
    Cyrillic reading of Big5 bytes is box-drawing characters)."""
    beyond = [ch for ch in text[:50_000] if not ch.isascii() and not ch.isspace()]
    return bool(beyond) and sum("\u0400" <= ch <= "\u04ff" for ch in beyond) >= 0.9 * len(beyond)


def _accented_share(text: str) -> float:
    """The share of ``text``'s letters (its first 50,000 characters) that are not ASCII."""
    letters = [ch for ch in text[:50_000] if ch.isalpha()]
    return sum(not ch.isascii() for ch in letters) / len(letters) if letters else 0.0


def _judged_latin(text: bytes, candidates: list[str], judge: Any) -> tuple[str, str]:
    """Of Latin single-byte ``candidates``, the reading of ``text`` whose accented letters
    are those of the language fastText reads it as, then the one it is surest of: its
    encoding, and the reading."""
    readings = {c: text.decode(c, errors="replace") for c in candidates}
    # a reading with C1 control characters took a letter's byte for one (windows-1250's
    # "š" read as ISO-8859-2): no page writes them
    clean = [c for c in candidates if not _C1.search(readings[c])]
    if clean and len(clean) < len(candidates):
        candidates, readings = clean, {c: readings[c] for c in clean}
    judged = {c: judge(reading) for c, reading in readings.items()}
    scores = {c: prob for c, (_, prob) in judged.items()}
    # first the readings whose letters are those of the language they read as (a few
    # accented words in English text hardly move fastText: "naïve crème" read as
    # windows-1250, "naďve crčme", scored higher), then how surely they are a language
    known = {c: bad for c, (lang, _) in judged.items() if (bad := _foreign_letters(readings[c], lang)) is not None}
    if known:
        least = min(known.values())
        candidates = [c for c in candidates if c in known and known[c] <= least + 1e-9]
    best = max(candidates, key=scores.__getitem__)  # the first of equals: the guesser's order
    if "cp1252" in candidates and scores["cp1252"] >= scores[best] - CP1252_TIE:
        best = "cp1252"
    return best, readings[best]


#: The letters beyond a-z of Latin-script languages (lower case; English and German
#: with their common loanwords' accents): a reading of a page's bytes whose language
#: does not write the non-ASCII letters it holds is mojibake ("jövõjét" for Hungarian
#: "jövőjét": ISO-8859-2 read as windows-1252).
_ALPHABETS = {lang: frozenset(letters) for lang, letters in {
    "en": "àáâäçèéêëíîïñóôöúûü", "de": "äöüßàáçéèêëñ", "fr": "àâæçéèêëîïôœùûüÿ", "es": "áéíñóúü",
    "it": "àèéìíîòóùú", "pt": "ãáâàçéêíõóôú", "ca": "àçéèíïóòúü·", "gl": "áéíñóúü", "nl": "áàéèëïóöüú",
    "sv": "åäöéü", "da": "æøåéü", "no": "æøåéèóô", "nn": "æøåéèóô", "fi": "äöåšž", "is": "áðéíóúýþæö",
    "et": "äöõüšž", "pl": "ąćęłńóśźż", "cs": "áčďéěíňóřšťúůýž", "sk": "áäčďéíĺľňóôŕšťúýž",
    "hu": "áéíóöőúüű", "ro": "ăâîșțşţ", "hr": "čćđšž", "hbs": "čćđšž", "bs": "čćđšž", "sr": "čćđšž",
    "sl": "čćšž", "tr": "çğıöşüâîû", "lv": "āčēģīķļņšūž", "lt": "ąčęėįšųūž", "ga": "áéíóú",
    "cy": "âêîôûŵŷàáèéìíòóùúäëïöü", "eu": "ñç", "mt": "ċġħżàèìòù", "sq": "çë", "eo": "ĉĝĥĵŝŭ",
    "af": "áéèêëíîïóôöúûü", "lb": "äéëè", "fo": "áðíóúýæø", "br": "âêîôûùñ", "oc": "àáèéíòóúçï",
}.items()}


def _foreign_letters(text: str, lang: str | None) -> float | None:
    """The share of ``text``'s non-ASCII letters (in its first 50,000 characters) that
    ``lang``, the language fastText reads it as, does not write (``_ALPHABETS``); None
    for a language not in the table."""
    alphabet = _ALPHABETS.get(lang) if lang else None
    if alphabet is None:
        return None
    letters = [ch for ch in text[:50_000].lower() if not ch.isascii() and ch.isalpha()]
    return sum(ch not in alphabet for ch in letters) / len(letters) if letters else 0.0


@functools.cache
def _language_judge() -> Any:
    """fastText's top-1 language and its probability for a text (how surely it is a language), with the
    language model of the default model folder (``default_model_dir``; a page's
    decoding does not depend on the models that label it); None when it cannot be
    loaded (tried once per process)."""
    try:
        from .language import _load_fasttext, _model_lang
        from .pipeline import LID_MODEL_FILE, default_model_dir

        predict = _load_fasttext(default_model_dir() / LID_MODEL_FILE).f.predict
    except Exception:  # noqa: BLE001 - no judge: the guesser's own first choice
        return None

    def judge(text: str) -> tuple[str | None, float]:
        line = " ".join(text.split())[:2000].lower()
        found = predict(line + "\n", 1, 0.0, "strict")
        # the language as Sieve writes it: _ALPHABETS has Serbo-Croatian as hbs, not lid.176's sh
        return (_model_lang(found[0][1]), float(found[0][0])) if found else (None, 0.0)

    return judge


_TAG = re.compile(rb"<[^<>]*>")  # stops at the next "<": linear on "<a<a<a..." too


def _without_markup(data: bytes) -> bytes:
    """The page's bytes without scripts, styles and tags (what charset guessing reads),
    in one pass: a regex spanning "<script ... </script>" rescanned the rest of the
    page from every unclosed "<script" (15 s for 20,000 of them)."""
    low = data.lower()
    out: list[bytes] = []
    pos = 0
    nxt = {b"<script": low.find(b"<script"), b"<style": low.find(b"<style")}  # each searched again once passed
    while True:
        for opening, at in nxt.items():
            if 0 <= at < pos:
                nxt[opening] = low.find(opening, pos)
        starts = [(at, opening) for opening, at in nxt.items() if at >= 0]
        if not starts:
            break
        i, opening = min(starts)
        closing = b"</" + opening[1:]
        out.append(data[pos:i])
        j = low.find(closing, i)
        k = low.find(b">", j) if j >= 0 else -1
        pos = len(data) if k < 0 else k + 1
    out.append(data[pos:])
    return _TAG.sub(b" ", b" ".join(out))


#: Characters of East Asian width wide, fullwidth or halfwidth that are not Hangul: Han,
#: kana, bopomofo, CJK punctuation and symbols, fullwidth forms (CSS Text 3's list).
_WIDE = ("\u2e80-\u2fdf\u3001-\u303f\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff\u3200-\u4dbf\u4e00-\u9fff"
         "\uf900-\ufaff\ufe30-\ufe4f\uff01-\uff9f\uffe0-\uffe6\U00020000-\U0003fffd")
#: A line break of the page's source (with the blanks around it) between two such
#: characters: browsers show none (CSS Text 3, segment break transformation), as
#: Chinese and Japanese are written without spaces; a Chinese page whose source is
#: wrapped at 80 columns would otherwise have a space inside a word at each wrap.
_WIDE_LINE_BREAK = re.compile(f"(?<=[{_WIDE}])[ \t]*[\r\n][ \t\r\n]*(?=[{_WIDE}])")


def _normalise(text: str) -> str:
    text = text.translate(_INVISIBLE)
    if "\n" in text or "\r" in text:
        text = _WIDE_LINE_BREAK.sub("", text)
    return unicodedata.normalize("NFC", _WS.sub(" ", text)).strip()


#: What a single ``<br>`` adds to a block's text while it is collected: a line break
#: that the whitespace normalising keeps (the line separator is one character the
#: page's own text hardly ever holds, and means the same).
_BR = "\u2028"
_LINE_ENDS = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")


def _normalise_lines(text: str) -> str:
    """A block's text with its ``<br>`` line breaks: each line normalised, empty ones dropped."""
    return "\n".join(line for line in map(_normalise, text.split(_BR)) if line)


def _normalise_pre(text: str) -> str:
    """The text of a ``<pre>``: its lines and their indentation kept, trailing blanks
    and the blank lines before and after it dropped."""
    text = unicodedata.normalize("NFC", _LINE_ENDS.sub("\n", text.translate(_INVISIBLE)))
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    start = next((i for i, line in enumerate(lines) if line), len(lines))
    return "\n".join(lines[start:])


#: The DOM facts of a block, in ``Block.dom`` order (all numbers, for the HTML model).
DOM_FACTS = (
    "heading_level",  # 1-6 for h1-h6, else 0 (as level / 6)
    "tag_p", "tag_li", "tag_cell", "tag_caption", "tag_quote", "tag_pre", "tag_control", "tag_title_like",
    "log_links",  # links starting inside the block
    "in_nav", "in_header", "in_footer", "in_aside", "in_main", "in_form", "in_list", "in_table", "in_figure",
    "cls_nav", "cls_boiler", "cls_content", "cls_comment",  # class/id words of the block and its ancestors
    "own_cls_nav", "own_cls_boiler", "own_cls_content",  # ... of the block's own element
    "log_depth", "hidden",
    "in_best_container",  # inside the element that holds the page's prose (a readability-style article root)
    "best_container_share",  # that element's share of the page's prose characters
    # the smallest element holding the block and another one, when it holds at most
    # LOCAL_BLOCKS blocks (a teaser, a card, a figure; else both 0): the share of its
    # text in links and log(1 + its blocks). A teaser's excerpt sits beside its
    # linked headline; an article's paragraphs do not
    "local_link_share", "local_log_blocks",
)
_LANDMARKS = {
    "nav": "in_nav", "header": "in_header", "footer": "in_footer", "aside": "in_aside", "main": "in_main",
    "article": "in_main", "form": "in_form", "ul": "in_list", "ol": "in_list", "menu": "in_list", "dl": "in_list",
    "table": "in_table", "figure": "in_figure",
}
_ROLES = {"navigation": "in_nav", "banner": "in_header", "contentinfo": "in_footer", "complementary": "in_aside",
          "main": "in_main", "article": "in_main", "search": "in_form", "menu": "in_list", "menubar": "in_nav"}
_CLASS_WORDS = {
    "cls_nav": re.compile(r"nav|menu|breadcrumb|pagination|pager|tags?\b|categor|sidebar|widget|related|share|"
                          r"social|follow|toolbar|dropdown|masthead|trending|popular|most-read|more-from"),
    "cls_boiler": re.compile(r"footer|copyright|legal|cookie|consent|newsletter|subscri|signup|promo|advert|"
                             r"\bads?\b|sponsor|author|byline|\bbio\b|credit|disclaimer|paywall|donat"),
    "cls_content": re.compile(r"article|content|story|post|entry|body|text|main|headline|title|lead|intro|"
                              r"summary|caption|standfirst|dek\b"),
    # "commentary" is a genre (an opinion piece), not readers' comments
    "cls_comment": re.compile(r"comment(?!ary)|respond|reply|discussion|disqus"),
}
#: Class words that ``<html>`` and ``<body>`` do not give: their classes describe the
#: whole page ("showing-comments", "j-m-comment-styles-disabled"), so a page that merely
#: has comments would put every block, the article too, under a comment container.
_PAGE_WIDE_IGNORED = frozenset({"cls_comment"})


_DIGITS = re.compile(r"[0-9]+")
_NAME_SEP = re.compile(r"[^\w-]+")
#: At most this many class names of an element go into its path step, each cut to
#: PATH_NAME_CHARS; a path keeps the innermost PATH_STEPS steps (deeply nested
#: markup would otherwise give every block a path as long as the nesting).
PATH_CLASSES = 4
PATH_NAME_CHARS = 64
PATH_STEPS = 32
#: Characters of an element's class and id attributes that are read.
ATTR_CHARS = 1024
#: Entries each of ``_path_step`` and ``_class_words`` keep: twice the distinct names
#: of the most varied page of aeb-dev (465). At 8192 entries the two memos held 4.8 MB
#: after aeb-dev's 91 pages (4 MB of the peak RSS); the hits across pages lost at 1024
#: cost about 2% of the time of labelling those pages one per call.
NAME_MEMO = 1024


@functools.lru_cache(maxsize=NAME_MEMO)
def _path_step(tag: str, cls: str | None, ident: str | None) -> str:
    """An element as a step of ``Block.path``: ``tag.class1.class2#id``, lower-cased,
    digit runs as ``0`` (``post-1234`` and ``post-99`` are one name across pages)."""
    step = tag
    if cls:
        names = [n[:PATH_NAME_CHARS] for n in _NAME_SEP.split(_DIGITS.sub("0", cls.lower())) if n][:PATH_CLASSES]
        if names:
            step += "." + ".".join(names)
    if ident:
        name = _NAME_SEP.sub("", _DIGITS.sub("0", ident.lower()))[:PATH_NAME_CHARS]
        if name:
            step += "#" + name
    return step


@functools.lru_cache(maxsize=NAME_MEMO)
def _class_words(names: str) -> tuple[str, ...]:
    """The ``_CLASS_WORDS`` families that an element's class and id (lower-cased)
    mention; remembered, since a page repeats the same class names on many elements."""
    return tuple(name for name, rx in _CLASS_WORDS.items() if rx.search(names))


_TAG_FACT = {"p": "tag_p", "li": "tag_li", "dd": "tag_li", "dt": "tag_li", "td": "tag_cell", "th": "tag_cell",
             "figcaption": "tag_caption", "caption": "tag_caption", "blockquote": "tag_quote", "pre": "tag_pre",
             "button": "tag_control", "legend": "tag_control", "summary": "tag_control", "hgroup": "tag_title_like"}
_FACT_INDEX = {name: i for i, name in enumerate(DOM_FACTS)}
#: ``display`` values (their first word) that show an inline element as a box of its own.
_BOX_DISPLAY = frozenset({"block", "flex", "grid", "list-item", "table", "flow-root"})
_IMPORTANT = re.compile(r"!\s*important\s*$")
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)


def _style_facts(style: str) -> tuple[bool, bool]:
    """Whether an inline ``style`` hides its element (``display: none``, ``visibility:
    hidden``) and whether it shows it as a box (``display: block`` ...). As in CSS the
    last declaration of a property wins, an ``!important`` one over any that is not."""
    style = style.lower()
    if "display" not in style and "visibility" not in style:
        return False, False
    if "/*" in style:  # a comment is no part of a declaration ("/* hide */ display: none")
        style = _CSS_COMMENT.sub(" ", style)
    values: dict[str, tuple[bool, str]] = {}
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        name = name.strip()
        if not colon or name not in ("display", "visibility"):
            continue
        important = bool(_IMPORTANT.search(value))
        value = _IMPORTANT.sub("", value).strip()
        if value and (important or not values.get(name, (False, ""))[0]):
            values[name] = (important, value)
    display = values.get("display", (False, ""))[1].split()
    hidden = display[:1] == ["none"] or values.get("visibility", (False, ""))[1] == "hidden"
    return hidden, bool(display) and display[0] in _BOX_DISPLAY


#: ``_style_facts`` remembered for styles of at most ``ATTR_CHARS`` (a page repeats them;
#: one page's megabyte style would stay in memory for the whole run)
_short_style_facts = functools.lru_cache(maxsize=4096)(_style_facts)

#: Form controls: browsers show each as a box between the words around it (a form's
#: ``<label>Email</label><input><label>Password</label>`` reads "Email [____] Password"),
#: so it is a space in its block's text, never "EmailPassword"; a hidden input is not shown.
_FORM_CONTROLS = frozenset({"input", "select", "textarea"})

#: Elements whose text keeps its line breaks and indentation.
_PREFORMATTED = frozenset({"pre", "listing", "plaintext", "xmp", "textarea"})


#: Class or id names of a caption or a photo credit: a name that is, or ends with,
#: one of these words, or holds one between dashes or underscores ("caption-text",
#: "wp-caption-text", "imageembedcaption", "photo_credit"; not "accreditation").
_CAPTION_NAME = re.compile(r"(?:^|[-_])(?:caption|credit)s?(?:$|[-_])|(?:caption|credit)s?$")
#: Steps of a path inside which text in a ``<figure>`` is no caption: WordPress puts
#: tables and pull quotes in figures.
_NOT_CAPTION_STEP = re.compile(r"(?:blockquote|table|tr|td|th|thead|tbody)(?:$|[.#])")


def is_caption(block: Block) -> bool:
    """Whether a block is a picture's caption or credit: a ``<figcaption>``, text inside
    a ``<figure>`` (not a table or a quotation there), or an element (or its parent)
    whose class or id names a caption or a credit. Captions are content (SCHEMA.md:
    "captions that belong to the story"); this lets ``sieve clean --no-captions`` leave
    them out of the article text. A block without markup (plain text) is never one."""
    if block.tag == "figcaption":
        return True
    steps = block.path.split(" ") if block.path else []
    if block.dom is not None and block.dom[_FACT_INDEX["in_figure"]]:
        inside = steps[next((i for i in range(len(steps) - 1, -1, -1) if steps[i].startswith("figure")), 0):]
        if not any(_NOT_CAPTION_STEP.match(step) for step in inside):
            return True
    for step in steps[-2:]:
        names = re.split(r"[.#]", step)[1:]  # the tag first
        if any(_CAPTION_NAME.search(name) for name in names):
            return True
    return False


#: Class names of MediaWiki's section-edit link ("[edit]" in or beside each heading of a wiki;
#: ``editsection`` before MediaWiki 1.20).
_EDIT_SECTION = frozenset({"mw-editsection", "editsection"})
#: The text of a permalink: the link to itself that documentation generators write after a
#: heading, an API entry's signature or a caption (Sphinx's and MkDocs' "¶"; "#", "§", "🔗").
_PERMALINK_CHARS = frozenset("¶§#🔗⚓\ufe0e\ufe0f")
#: Class names of a code listing's line numbers, as syntax highlighters write them: in a ``<pre>``
#: before each line (Pygments' ``linenos``, Sphinx's since 4.0: "1import kestrel"; Hugo's Chroma
#: ``ln``/``lnt``; ``lineno``), or a table cell beside the code (Pygments' and Rouge's gutter).
_LINE_NUMBERS = frozenset({"linenos", "lineno", "ln", "lnt", "rouge-gutter"})


#: How a link to a fragment of its page begins (blanks before its "#" are no part of a URL).
_FRAGMENT_START = "#\t\n\f\r "


def _is_permalink(el: etree._Element, href: str) -> bool:
    """Whether a link (``href``, its target) is a permalink: a link to a fragment of its page
    whose text, whitespace and zero-width characters aside, is only ``_PERMALINK_CHARS`` (a
    footnote's "1" or "^" is none)."""
    if not (href.startswith("#") or (href[:1].isspace() and href.lstrip().startswith("#"))):
        return False
    text = "".join("".join(el.itertext()).translate(_INVISIBLE).split())
    return bool(text) and _PERMALINK_CHARS.issuperset(text)


def _has_line_numbers(el: etree._Element) -> bool:
    """Whether an element (a ``<span>`` in a ``<pre>``) holds a code listing's line numbers
    (``_LINE_NUMBERS``; a class "ln" elsewhere is no line number)."""
    cls = el.get("class")
    return cls is not None and not _LINE_NUMBERS.isdisjoint(cls.split())


def _element_names(tag: str, cls: str | None, ident: str | None) -> tuple[str, tuple[str, ...]]:
    """An element's path step (``_path_step``) and the ``_CLASS_WORDS`` families its class
    and id attributes (``cls``, ``ident``: cut to ``ATTR_CHARS``) mention; ``<html>`` and
    ``<body>`` give none of the page-wide ones."""
    words = _class_words(f"{cls or ''} {ident or ''}".lower()) if cls or ident else ()
    if tag in ("html", "body") and words:
        words = tuple(name for name in words if name not in _PAGE_WIDE_IGNORED)
    return _path_step(tag, cls, ident), words


class _Open:
    """What an open element adds to the context of the blocks inside it."""

    __slots__ = ("control", "facts", "hidden", "lines", "pre", "serial", "shown", "step", "words")

    def __init__(self, el: etree._Element, tag: str) -> None:
        facts = []
        landmark = _LANDMARKS.get(tag)
        if landmark:
            facts.append(landmark)
        role = el.get("role")
        if role and role.lower() in _ROLES:
            facts.append(_ROLES[role.lower()])
        self.facts = facts
        cls, ident = el.get("class"), el.get("id")
        # cut before the memos: they keep their keys, and one page's megabyte class
        # attribute would stay in memory for the whole run
        cls, ident = (cls[:ATTR_CHARS] if cls else cls), (ident[:ATTR_CHARS] if ident else ident)
        self.step, self.words = _element_names(tag, cls, ident)
        self.serial = 0
        style = el.get("style")
        hidden_attr = el.get("hidden")
        styled_hidden, styled_box = ((False, False) if not style else _short_style_facts(style)
                                     if len(style) <= ATTR_CHARS else _style_facts(style))
        self.hidden = (hidden_attr is not None or (el.get("aria-hidden") or "").lower() == "true" or styled_hidden)
        # shown to no reader (aria-hidden text is on screen; "until-found" text opens on a search)
        self.shown = not (styled_hidden or (hidden_attr is not None and hidden_attr.lower() != "until-found"))
        self.pre = tag in _PREFORMATTED
        # one of the page's own controls, whose text is no part of the block it sits in (it
        # is left out with its content, as a dropped element is): a section-edit link, a
        # tooltip (shown on hovering over a control: a Q&A page's "This answer is useful"
        # beside each vote button), a table cell of a code listing's line numbers (a gutter);
        # a permalink and a line number in a <pre> are told in the walk (``_is_permalink``,
        # ``_has_line_numbers``)
        control = role is not None and role.strip().lower() == "tooltip"
        if cls is not None and not control:
            if tag == "span":
                control = "editsection" in cls and not _EDIT_SECTION.isdisjoint(cls.split())
            elif tag == "td":
                control = ("linenos" in cls or "gutter" in cls) and not _LINE_NUMBERS.isdisjoint(cls.split())
        self.control = control
        # an inline element its style shows as a box of its own (a recipe card's
        # <span style="display: block"> notes): its own lines of its block
        self.lines = styled_box and tag not in BLOCK_TAGS


class _Collector:
    """Accumulates the text of the current block and emits finished blocks."""

    def __init__(self, max_blocks: int | None = None) -> None:
        self.max_blocks = max_blocks
        self.parts: list[str] = []
        self.link_chars = 0
        self.links = 0
        # per block: text, tag, link characters, DOM facts (the page-wide ones set by
        # ``_with_container``, which makes the blocks) and path
        self.blocks: list[tuple[str, str | None, int, list[float], str]] = []
        self.context: dict[str, int] = {}  # landmark and class-word counts of the open elements
        self.hidden = 0
        self.pre = 0  # open <pre> elements: their text keeps its whitespace
        self.depth = 0
        self.path: list[int] = []  # serials of the open elements
        self.serials = 0
        self.paths: list[tuple[int, ...]] = []  # per block
        self.steps: dict[int, str] = {}  # serial -> path step of the open elements

    def add(self, text: str, in_link: bool) -> None:
        self.parts.append(text)
        if in_link:  # characters that are not whitespace (indented <a> markup holds tabs and newlines)
            self.link_chars += len("".join(text.split()))

    def push(self, info: _Open) -> None:
        self.serials += 1
        info.serial = self.serials
        self.path.append(info.serial)
        self.steps[info.serial] = info.step
        self.depth += 1
        for f in info.facts:
            self.context[f] = self.context.get(f, 0) + 1
        for w in info.words:
            self.context[w] = self.context.get(w, 0) + 1
        self.hidden += info.hidden
        self.pre += info.pre

    def pop(self, info: _Open) -> None:
        self.steps.pop(info.serial, None)
        if self.path and self.path[-1] == info.serial:
            self.path.pop()
        elif info.serial in self.path:
            self.path.remove(info.serial)
        self.depth -= 1
        for f in info.facts:
            self.context[f] -= 1
        for w in info.words:
            self.context[w] -= 1
        self.hidden -= info.hidden
        self.pre -= info.pre

    def flush(self, tag: str | None, owner: _Open | None) -> None:
        if self.parts:
            raw = "".join(self.parts)
            if raw.isspace():  # the whitespace between elements (most flushes): no block
                text = ""
            else:
                text = (_normalise_pre(raw) if self.pre else _normalise_lines(raw) if _BR in raw
                        else _normalise(raw))
            if text and _HAS_WORD.search(text):
                nonspace = _nonspace(text)
                steps = self.steps
                self.blocks.append((text, tag, min(self.link_chars, nonspace), self._facts(tag, owner),
                                    " ".join([steps[s] for s in self.path[-PATH_STEPS:]])))
                self.paths.append(tuple(self.path[-ANCESTORS_KEPT:]))
                if self.max_blocks is not None and len(self.blocks) > self.max_blocks:
                    # 10 MB of <p>x</p> is 1.25 M blocks: 1.6 GB cut whole before the limit was checked
                    raise TooManyBlocks(self.max_blocks)
        self.parts.clear()
        self.link_chars = 0
        self.links = 0

    def _facts(self, tag: str | None, owner: _Open | None) -> list[float]:
        return _block_facts(tag, self.links, [name for name, n in self.context.items() if n > 0],
                            owner.words if owner is not None else (), self.depth, self.hidden > 0)


def _block_facts(tag: str | None, links: int, context: list[str], own_words: tuple[str, ...], depth: int,
                 hidden: bool) -> list[float]:
    """A block's ``DOM_FACTS`` but the page-wide ones (``_with_container`` sets them):
    its owner's ``tag``, the ``links`` starting in it, the landmark and class-word facts
    of its open elements (``context``, the owner's own among them), the owner's own class
    words, its ``depth`` (the open elements, the owner's included) and whether it is hidden."""
    v = [0.0] * len(DOM_FACTS)
    if tag and len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
        v[0] = int(tag[1]) / 6.0
    if tag in _TAG_FACT:
        v[_FACT_INDEX[_TAG_FACT[tag]]] = 1.0
    v[_FACT_INDEX["log_links"]] = math.log1p(links)
    for name in context:
        v[_FACT_INDEX[name]] = 1.0
    for w in own_words:
        key = "own_" + w
        if key in _FACT_INDEX:
            v[_FACT_INDEX[key]] = 1.0
    v[_FACT_INDEX["log_depth"]] = math.log1p(depth)
    v[_FACT_INDEX["hidden"]] = 1.0 if hidden else 0.0
    return v


def _open_shadow_roots(root: etree._Element) -> None:
    """Unwrap each declarative shadow root (``<template shadowrootmode="open">``, and the
    older ``shadowroot``): browsers show its content as its host element's (a web
    component's server-rendered headline and text), while other templates stay unshown."""
    found = False
    for el in root.iter("template"):
        if el.get("shadowrootmode") is not None or el.get("shadowroot") is not None:
            el.tag, found = "sieve-shadow-root", True
    if found:
        etree.strip_tags(root, "sieve-shadow-root")


#: Void elements of HTML (they have no content and no end tag) that libxml2 (2.14) reads as
#: containers: what follows ``<embed src=tune.mid>``, left unclosed as HTML writes it, went
#: inside it up to its parent's end, and as ``<embed>`` is dropped, so was the rest of the page.
_VOID_NESTED = ("bgsound", "embed", "image", "keygen", "source", "track", "wbr")


def _empty_void(root: etree._Element) -> None:
    """Move what libxml2 put inside a void element (``_VOID_NESTED``) to right after it,
    in its order, as browsers read it: the element is left empty."""
    for el in [el for el in root.iter(*_VOID_NESTED) if el.text or len(el)]:
        if el.getparent() is None:
            continue
        children, tail = list(el), el.tail
        el.tail, el.text = el.text, None
        last = el
        for child in children:  # addnext, not insert at parent.index(): 100,000 <embed>s in a row took minutes
            last.addnext(child)  # (with its tail)
            last = child
        last.tail = ((last.tail or "") + tail) if tail else last.tail


#: How many ancestors of a paragraph, list item or row are searched for the one HTML
#: closes at its start (a page nested thousands deep: each would be searched to the top).
IMPLIED_SEARCH = 64
#: Elements that stop the search for an open ``<p>`` a new one closes (HTML's "button scope").
_P_SCOPE = frozenset({"applet", "caption", "html", "body", "table", "td", "th", "marquee", "object", "template",
                      "button", "svg", "math"})
#: HTML's "special" elements: a new ``<li>`` (``<dt>``, ``<dd>``) closes an open one only
#: through elements that are not (but for address, div and p).
_SPECIAL = frozenset(
    "address applet area article aside base basefont bgsound blockquote body br button caption center col colgroup "
    "dd details dialog dir div dl dt embed fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 "
    "head header hgroup hr html iframe img input keygen li link listing main marquee menu meta nav noembed noframes "
    "noscript object ol p param plaintext pre script search section select source style summary table tbody td "
    "template textarea tfoot th thead title tr track ul wbr xmp".split())
_THROUGH = frozenset({"address", "div", "p"})
_ROW_GROUP = frozenset({"table", "tbody", "thead", "tfoot"})


def _implied_outer(el: etree._Element, tag: str) -> etree._Element | None:
    """The open element that HTML closes at ``el``'s start tag and libxml2 left open,
    when an inline element between them kept libxml2 from closing it (``<p><font>a<p>b``:
    libxml2 puts the second paragraph inside the first's ``<font>``); None when there is none."""
    node = el.getparent()
    for _ in range(IMPLIED_SEARCH):
        if node is None or not isinstance(node.tag, str):
            break
        name = node.tag.lower()
        if tag == "p":
            if name == "p":
                return node
            if name in _P_SCOPE or name in _SPECIAL:
                # (HTML closes an open <p> across other elements too, but libxml2 closes it
                # itself unless an inline element is open: the search stays short)
                return None
        elif tag == "tr":
            if name in _ROW_GROUP:
                return None
            if name in ("td", "th"):  # a row started in a cell: the cell's row ends
                row = node.getparent()
                return row if row is not None and isinstance(row.tag, str) and row.tag.lower() == "tr" else None
        else:  # li, dt, dd
            if name == tag or (tag != "li" and name in ("dt", "dd")):
                return node
            if name in _SPECIAL and name not in _THROUGH:
                return None
        node = node.getparent()
    return None


_IMPLIED_TAGS = frozenset({"p", "li", "dt", "dd", "tr"})
#: Elements whose start closes an open ``<p>`` (as a new paragraph does), which libxml2 nests
#: in it when an inline element is open (``<p><font>text<ul>``). Not ``<table>``: HTML
#: closes the paragraph at it only in pages of no-quirks mode, and most such old pages are not.
_CLOSES_P = frozenset(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption figure footer header "
    "hgroup main menu nav ol search section summary ul h1 h2 h3 h4 h5 h6 pre listing form hr xmp li dd dt".split())


def _close_implied(root: etree._Element) -> None:
    """Close the paragraphs, list items, definition terms and table rows that HTML closes at
    the next one's start and libxml2 does not when an inline element is open inside them
    (``<p><font>``, ``<li><span>``, ``<td><font>`` ... never closed, as old hand-written pages
    leave them): each next one, and all that follows it inside the open one, is moved to
    follow it, as browsers read it. Libxml2 nested every paragraph of such a page inside the
    one before (the page's tenth paragraph 20 elements deep, a long page past its nesting
    limit), which misled the DOM facts: most paragraphs were called boilerplate. The text
    and its order are unchanged; a link (or another formatting element) left open goes on
    around the moved text, as browsers open it again there."""
    found = [el for el in root.iter("p", "tr", *_CLOSES_P)]
    for el in found:  # in document order: each is checked where the moves before it left it
        tag = el.tag.lower()
        outer = _implied_outer(el, tag) if tag in _IMPLIED_TAGS else None
        if outer is None and tag in _CLOSES_P:  # a list, a quotation, a heading ... closes an open paragraph
            outer = _implied_outer(el, "p")
        if outer is not None:
            _move_after(el, outer)


#: HTML's formatting elements: one left open where a paragraph or list item closes is opened
#: again in the next one, around its text (``<p><a href=...>x<p>y``: y is a link too).
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
#: Elements whose content is not put inside the formatting elements carried: lists and tables
#: (HTML opens them again in an item or a cell, where text is), and what is dropped.
_NOT_CARRIED = DROP_TAGS | {"ul", "ol", "dl", "menu", "dir", "table", "caption", "thead", "tbody", "tfoot", "tr",
                            "td", "th", "br", "hr", "img", "input", "wbr"}
#: Formatting elements alike (tag and attributes) that HTML opens again at most.
_SAME_FORMATTING = 3


def _carried(between: list[etree._Element]) -> tuple[etree._Element, ...]:
    """The formatting elements of ``between`` (open elements, innermost first) that HTML
    opens again in what follows them, outermost first: of alike ones the innermost three."""
    out: list[etree._Element] = []
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    for el in between:
        if isinstance(el.tag, str) and el.tag.lower() in _FORMATTING:
            key = (el.tag.lower(), tuple(sorted(el.attrib.items())))
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= _SAME_FORMATTING:
                out.append(el)
    return tuple(reversed(out))


def _wrapped(chain: tuple[etree._Element, ...]) -> tuple[etree._Element, etree._Element]:
    """Copies of the elements of ``chain`` (no content), each inside the one before: the outermost and the innermost."""
    top = inner = etree.Element(chain[0].tag, dict(chain[0].attrib))
    for el in chain[1:]:
        inner = etree.SubElement(inner, el.tag, dict(el.attrib))
    return top, inner


_LISTS = frozenset({"ul", "ol", "dl", "menu", "dir"})


def _wrap_content(el: etree._Element, chain: tuple[etree._Element, ...]) -> None:
    """Put the content of ``el`` inside copies of ``chain`` (``_wrapped``)."""
    if el.text or len(el):
        top, holder = _wrapped(chain)
        holder.text, el.text = el.text, None
        holder.extend(list(el))
        el.append(top)


def _move_after(inner: etree._Element, outer: etree._Element) -> None:
    """Move ``inner`` and everything after it inside ``outer`` (elements and text, in
    their order) to right after ``outer``. The formatting elements left open between them
    (a link, ``<font>``) go on around the moved text, as in browsers; not around a row (a cell
    closes its formatting)."""
    between: list[etree._Element] = []  # the elements that stay, innermost first
    node = inner.getparent()
    while node is not outer:
        between.append(node)
        node = node.getparent()
    levels = [*between, outer]
    row = inner.tag.lower() == "tr"
    # what moves, with the formatting elements open around it: a node, or the text after an element that stays
    moved: list[tuple[etree._Element | str, tuple[etree._Element, ...], int]] = []
    el = inner
    for j, parent in enumerate(levels):
        chain = () if row else _carried(between[j:])
        at = parent.index(el)
        if el is not inner:  # an element that stays: the text after it follows what moved
            if el.tail:
                moved.append((el.tail, chain, j))
                el.tail = None
            at += 1
        moved.extend((n, chain, j) for n in parent[at:])
        el = parent
    tail, outer.tail = outer.tail, None
    place = outer
    # what followed the end tags of the elements that stay (``<p><font>a<p>b</font> c``): in
    # browsers, inside the paragraph (list item, term) moved last, still open there; not when text
    # follows it where it was (``<p><font>a<p>b</p>c</font> d``: its end tag closed it, and "d" would go before "c")
    last = [item for item, _, j in moved if j == 0][-1:]
    open_block = (last[0] if not row and last and not isinstance(last[0], str) and not last[0].tail
                  and isinstance(last[0].tag, str) and last[0].tag.lower() in ("p", "li", "dt", "dd") else None)
    # the copies of the formatting elements placed last (what follows in them joins them)
    wrap_chain: tuple[etree._Element, ...] = ()
    wrap_top = wrap_holder = outer
    for item, chain, level in moved:
        if open_block is not None and level > 0:
            if _append_inline(open_block, item, chain):
                continue
            open_block = None  # a block ends the paragraph
        joins = bool(chain) and wrap_chain == chain and wrap_top is place
        if isinstance(item, str):
            text = item
        else:
            text, item.tail = item.tail, None
            tag = item.tag.lower() if isinstance(item.tag, str) else ""
            if chain and tag not in BLOCK_TAGS and tag not in DROP_TAGS:  # an inline element: inside them
                if not joins:
                    wrap_top, wrap_holder = _wrapped(chain)
                    wrap_chain = chain
                    place.addnext(wrap_top)
                wrap_holder.append(item)
                place = wrap_top
            else:
                place.addnext(item)
                if chain and tag in _LISTS:  # a list: each item's content inside them
                    for child in item:
                        if isinstance(child.tag, str) and child.tag.lower() in ("li", "dt", "dd"):
                            _wrap_content(child, chain)
                elif chain and tag not in _NOT_CARRIED:  # its content inside them
                    _wrap_content(item, chain)
                place = item
            joins = bool(chain) and wrap_chain == chain and wrap_top is place
        if not text:
            continue
        if joins:
            if len(wrap_holder):
                wrap_holder[-1].tail = (wrap_holder[-1].tail or "") + text
            else:
                wrap_holder.text = (wrap_holder.text or "") + text
        elif chain and text.strip():
            wrap_top, wrap_holder = _wrapped(chain)
            wrap_chain = chain
            wrap_holder.text = text
            place.addnext(wrap_top)
            place = wrap_top
        else:
            place.tail = (place.tail or "") + text
    if tail and tail.strip():
        # the text after the open element's end tag came after a block's end (in browsers,
        # the one that end tag closed): an empty element of its kind keeps that end
        stop = etree.Element(outer.tag)
        place.addnext(stop)
        stop.tail = tail
    elif tail:
        place.tail = (place.tail or "") + tail


def _append_inline(block: etree._Element, item: etree._Element | str, chain: tuple[etree._Element, ...]) -> bool:
    """Put ``item`` (text, or an element with the text after it) at the end of ``block``, inside copies of
    the formatting elements of ``chain``; False (and nothing done) when ``item`` is a block."""
    if not isinstance(item, str) and isinstance(item.tag, str) and item.tag.lower() in BLOCK_TAGS:  # not a comment
        return False
    into = block
    if chain:
        top, into = _wrapped(chain)
        block.append(top)
    if not isinstance(item, str):
        into.append(item)
    elif len(into):
        into[-1].tail = (into[-1].tail or "") + item
    else:
        into.text = (into.text or "") + item
    return True


#: The quotation marks browsers put around a ``<q>`` (CSS ``quotes: auto``, from CLDR), by the
#: language its ``lang`` (or an ancestor's) names: the outer pair, then the pair inside it.
_QUOTES = {
    **dict.fromkeys("de cs sk sl lt is bg et ka".split(), ("„“", "‚‘")),
    **dict.fromkeys("pl ro hu".split(), ("„”", "«»")),
    **dict.fromkeys("fr".split(), ("«»", "«»")),
    **dict.fromkeys("es it ca el pt-pt".split(), ("«»", "“”")),
    **dict.fromkeys("ru uk be".split(), ("«»", "„“")),
    **dict.fromkeys("fa no nb nn".split(), ("«»", "‹›")),
    **dict.fromkeys("sv fi".split(), ("””", "’’")),
    **dict.fromkeys("ja zh-hant zh-tw zh-hk zh-mo".split(), ("「」", "『』")),
}
_ENGLISH_QUOTES = ("“”", "‘’")
_LANG_ATTRIBUTES = ("lang", "xml:lang", "{http://www.w3.org/XML/1998/namespace}lang")


def _quote_marks(el: etree._Element, depth: int) -> str:
    """The quotation marks of a ``<q>`` inside ``depth`` others: opening and closing, a string of two."""
    lang = ""
    for node in (el, *el.iterancestors()):
        lang = next((v for a in _LANG_ATTRIBUTES if (v := node.get(a)) is not None), "")
        if lang:
            break
    parts = lang.strip().lower().replace("_", "-").split("-")
    pairs = (_QUOTES.get("-".join(parts[:2])) or _QUOTES.get(parts[0] + ("-hant" if "hant" in parts else ""))
             or _QUOTES.get(parts[0]) or _ENGLISH_QUOTES)
    return pairs[min(depth, 1)]


def _in_running_text(el: etree._Element) -> bool:
    """Whether an element (a ``<button>``, which browsers show inline) stands in running text:
    text that is not blank right before it (its previous sibling's tail, or its parent's
    text when it comes first) or right after it (its own tail). A glossary term or a
    footnote marker written as a button in a paragraph is part of the sentence; a button
    of its own ("Subscribe", "Menu") is a block."""
    if el.tail and el.tail.strip():
        return True
    prev = el.getprevious()
    before = prev.tail if prev is not None else (el.getparent().text if el.getparent() is not None else None)
    return bool(before and before.strip())


_END_OF_DOCUMENT = re.compile(r"</\s*(?:html|body)\s*>", re.IGNORECASE)


#: A ``</br>`` end tag (attributes and all, as HTML ignores them), and what must stay as it
#: is: comments and the text of raw-text elements (an ``<xmp>`` shows "</br>" as it is written).
#: What a search for tags in a page's source passes over: comments, and the text of raw-text
#: elements (group 1 names the element; ``<title-bar>``, a custom element, is none of them).
_NOT_TAGS = (r"<!--.*?(?:-->|\Z)|<(script|style|xmp|textarea|title|noscript|noframes|noembed|iframe)(?![\w-])"
             r".*?(?:</\1\s*>|\Z)|<plaintext(?![\w-]).*")
_BR_END_TAG = re.compile(_NOT_TAGS + r"|(</br(?:[\s/][^<>]*)?>)", re.IGNORECASE | re.DOTALL)
_HAS_BR_END_TAG = re.compile(r"</br(?:[\s/][^<>]*)?>", re.IGNORECASE)


#: The end tags of the plug-in elements whose content is their fallback (dropped), counted
#: against their start tags: one left open holds the rest of its container.
_PLUGIN_END = {tag: re.compile(rf"</{tag}\s*>", re.IGNORECASE) for tag in ("applet", "object")}


def _parse(text: str) -> tuple[Any, etree.HTMLParser]:
    """The root of the page ``text`` as libxml2 reads it (None: nothing, or refused), and
    the parser (its error log)."""
    parser = etree.HTMLParser(huge_tree=True)
    try:
        root = etree.fromstring(text, parser=parser)
    except (etree.ParserError, ValueError):  # encoding declarations in str
        root = None
    if root is None:  # an empty document, or one lxml refused as str
        parser = etree.HTMLParser(encoding="utf-8", huge_tree=True)
        try:
            root = etree.fromstring(text.encode("utf-8"), parser=parser)
        except (etree.ParserError, ValueError):
            return None, parser
    return root, parser


#: Start tags whose element HTML closes at the next one of its kind, and libxml2 does not
#: (a <p> only when an inline element is open in it: ``_close_implied`` then mends the tree,
#: unless the page nests past libxml2's limit first);
#: and what must stay as it is: comments and the text of raw-text elements.
_IMPLIED_END = re.compile(_NOT_TAGS + r"|<(/?)(dd|dt|h[1-6]|rt|rp|p|"
                          r"address|article|aside|blockquote|center|details|dialog|dir|div|dl|fieldset|figcaption|"
                          r"figure|footer|form|header|hgroup|main|menu|nav|ol|search|section|summary|ul|li|pre|"
                          r"listing|table|caption|td|th|button|object|applet|marquee|template|"
                          r"bgsound|embed|image|keygen|source|track|wbr)(?![\w-])",
                          re.IGNORECASE | re.DOTALL)
_END_TAGS = {"rt": "</rt></rp>", "rp": "</rt></rp>", "p": "</p>",
             **{f"h{i}": "".join(f"</h{k}>" for k in range(1, 7)) for i in range(1, 7)}}


#: Inline formatting tags (not ``<a>``: a link's extent is a fact of its text), and what must
#: stay as it is: comments and the text of raw-text elements.
_FORMATTING_TAG = re.compile(_NOT_TAGS + r"|(</?(b|big|code|em|font|i|nobr|s|small|span|strike|strong|tt|u)"
                             r"(?![\w-])[^<>]*>)", re.IGNORECASE | re.DOTALL)
_STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_HIDDEN_ATTRIBUTE = re.compile(r"""\s(?:hidden(?=[\s/>=])|aria-hidden\s*=\s*["']?true)""", re.IGNORECASE)


def _without_formatting(text: str) -> str:
    """``text`` without its inline formatting tags (``_FORMATTING_TAG``): the text of a page
    nested past libxml2's limit by formatting elements left open, flat. Not those that hide
    their text or show it as a box (``hidden``, ``style="display:none"``, ``display:block``)
    and their end tags (by name): a hidden <span>'s text would be read."""
    kept: dict[str, list[bool]] = {}  # per tag name, its start tags open: kept or not

    def sub(m: re.Match[str]) -> str:
        tag = m.group(2)
        if not tag:
            return m.group(0)
        name = m.group(3).lower()
        if tag[1] == "/":
            open_ = kept.get(name)
            return tag if open_ and open_.pop() else ""
        style = _STYLE_ATTRIBUTE.search(tag)
        keep = bool(_HIDDEN_ATTRIBUTE.search(tag)) or (
            style is not None and any(_style_facts(next(v for v in style.groups() if v is not None))))
        kept.setdefault(name, []).append(keep)
        return tag if keep else ""

    return _FORMATTING_TAG.sub(sub, text)


def _depth_error(parser: etree.HTMLParser) -> Any:
    """libxml2's error for stopping at its nesting limit (None when it did not)."""
    return next((e for e in parser.error_log if e.type_name == "ERR_RESOURCE_LIMIT" and "depth" in e.message.lower()),
                None)


def _with_end_tags(text: str) -> str:
    """``text`` with the end tags HTML implies written before each start tag of ``_END_TAGS``
    and of ``<dd>`` and ``<dt>``. A ``</dd>`` or ``</dt>`` only for the one open innermost,
    with no element the regex sees between them but a ``<div>``, ``<p>`` or ``<address>``
    (as HTML closes it: a nested list, an item or a quotation keeps its own terms). A
    ``</p>`` only where the paragraph open last is still the innermost open element of
    those the regex sees (a list, a quotation, a cell ... opened since is not closed):
    libxml2 closes a ``</p>`` through a ``<ul>``, ``<li>`` or ``<blockquote>`` up to a
    paragraph outside it, which the list's or quotation's start had closed in HTML (its
    paragraphs and the text after it were glued into one block)."""
    stack: list[str] = []  # the paragraphs and other elements seen open, innermost last
    # per element of stack: how many of _THROUGH end the stack there (a <dd> looks past them
    # in one step: 30,000 <div>s left open before 30,000 <dd>s took a minute)
    through: list[int] = []
    counts: dict[str, int] = {}

    def close(name: str) -> None:
        if counts.get(name):
            while True:
                top = stack.pop()
                through.pop()
                counts[top] -= 1
                if top == name:
                    return

    def sub(m: re.Match[str]) -> str:
        name = m.group(3)
        if not name:
            return m.group(0)
        name, end = name.lower(), bool(m.group(2))
        if end:
            close(name)
            return m.group(0)
        before = ""
        if name == "p":
            if not stack or stack[-1] == "p":
                before = "</p>"
                close("p")
        elif name in ("dd", "dt"):
            # as HTML closes them: the definition or term open innermost, through a <div>,
            # <p> or <address> only (not through a nested list, a quotation, an item ...)
            at = len(stack) - 1 - (through[-1] if through else 0)
            if at >= 0 and stack[at] in ("dd", "dt"):
                before = f"</{stack[at]}>"
                close(stack[at])
        elif name in _VOID_NESTED:
            # libxml2 nests each in the one before (2,100 <wbr> in a long line): its end tag,
            # ignored when it is not open, closes it (what libxml2 put in it follows it, _empty_void)
            return f"</{name}>" + m.group(0)
        elif name[:2] in _END_TAGS:
            before = _END_TAGS[name[:2]]
        if not (len(name) == 2 and name[0] == "h") and name not in ("rt", "rp"):  # what holds paragraphs
            stack.append(name)
            through.append((through[-1] if through else 0) + 1 if name in _THROUGH else 0)
            counts[name] = counts.get(name, 0) + 1
        return before + m.group(0)

    return _IMPLIED_END.sub(sub, text)


def _check_depth(parser: etree.HTMLParser) -> None:
    """Raise ``PageError`` when libxml2 stopped reading at its nesting limit: what
    followed the too-deep element is gone from the tree, with no other sign of it."""
    entry = _depth_error(parser)
    if entry is not None:
        raise PageError(f"markup nested deeper than the HTML parser reads (libxml2 stops at 2,048 "
                        f"elements): the rest of the page after line {entry.line} cannot be read")


def _canonical_url(root: etree._Element) -> str | None:
    """The page's own absolute http(s) URL from its head: ``<link rel="canonical">``,
    else ``<meta property="og:url">``; None when it names none. A relative one is read
    against the head's ``<base href>`` when that is absolute; a scheme-relative one
    (``//host/path``) as https."""
    head = root.find("head")
    if head is None:
        return None
    base_el = head.find("base")
    base = _URL_BLANKS.sub("", (base_el.get("href") or "").strip()) if base_el is not None else ""
    found: dict[str, str] = {}
    for el in head.iter("link", "meta"):
        if el.tag == "link" and "canonical" in (el.get("rel") or "").lower().split():
            key, url = "canonical", el.get("href") or ""
        elif el.tag == "meta" and (el.get("property") or el.get("name") or "").lower() == "og:url":
            key, url = "og", el.get("content") or ""
        else:
            continue
        url = _URL_BLANKS.sub("", url.strip())  # browsers drop tabs and newlines inside a URL
        if url.startswith("//"):
            url = "https:" + url
        elif url and not _ABSOLUTE_URL.match(url) and _ABSOLUTE_URL.match(base):
            try:
                url = urljoin(base, url)
            except ValueError:  # a <base> that is no URL ("http://[zz")
                continue
        if key not in found and _ABSOLUTE_URL.match(url) and " " not in url:  # the first usable one
            found[key] = url
    return found.get("canonical") or found.get("og")


def page_fields(found: dict[str, str]) -> dict[str, str]:
    """What a page's document keeps of what ``html_to_blocks`` found in its head
    besides its url: its ``title`` (the block model finds the headline by it) and the
    date it says it was ``published`` on."""
    return {key: found[key] for key in ("title", "published") if found.get(key)}


#: Meta names (``name``, ``property`` or ``itemprop``) that give a page's date of
#: publication, as news and blog platforms write them (Open Graph, Dublin Core,
#: schema.org, Sailthru, Parse.ly, cXense), most trusted first; a page's modification date is not one.
_PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "article:published", "datepublished", "dc.date.issued",
    "dcterms.issued", "dc.date.created", "dcterms.created", "parsely-pub-date", "pubdate", "pub_date", "publishdate",
    "publish-date", "publish_date", "cxenseparse:publishtime",
)
#: Meta names of a date that may be the page's last change (a news site's "date" and "sailthru.date"
#: are its modification time beside its article:published_time): the date only when nothing else gives one.
_DATE_META = ("date", "dc.date", "dcterms.date", "sailthru.date")
#: (not a comment's, in the item it belongs to: a blog's comments before or without its post's date)
_ITEMPROP_PUBLISHED = etree.XPath("//*[@itemprop='datePublished']"
                                  "[not(ancestor::*[@itemscope][1][contains(@itemtype, 'omment')])]")
_JSON_LD = etree.XPath("//script[@type='application/ld+json']")
_JSON_LD_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
#: A date as pages write it in these places: ISO 8601 (a time may follow), or with slashes.
_ISO_DATE = re.compile(r"\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?![\d])")


def page_published(root: etree._Element) -> str | None:
    """The date a page says it was published on, as ``YYYY-MM-DD``: from its head's
    ``<meta>`` (``_PUBLISHED_META``), else an element with ``itemprop="datePublished"``
    (its ``content`` or ``datetime``), else its JSON-LD's ``datePublished``, else a generic
    date ``<meta>`` (``_DATE_META``); None when none of them holds a date (a modification
    date, a time of a comment, a date in the text are no publication date)."""
    head = root.find("head")
    dates: dict[str, str] = {}  # the first date of each name
    for el in head.iter("meta") if head is not None else ():
        name = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if (name in _PUBLISHED_META or name in _DATE_META) and name not in dates:
            date = _iso_date(el.get("content"))
            if date:
                dates[name] = date
    date = next((dates[name] for name in _PUBLISHED_META if name in dates), None)
    if date:
        return date
    for el in _ITEMPROP_PUBLISHED(root):
        date = _iso_date(el.get("content") or el.get("datetime"))
        if date:
            return date
    later = None  # a date of another item than an article: when no article has one
    for el in _JSON_LD(root):
        article, other = _json_ld_published(el.text or "")
        if article:
            return article
        later = later or other
    if later:
        return later
    return next((dates[name] for name in _DATE_META if name in dates), None)


#: JSON-LD item types whose ``datePublished`` is the page's: schema.org's Article and
#: its kinds (NewsArticle, BlogPosting, ReportageNewsArticle, SocialMediaPosting...) and
#: reviews (a fact-check page is a ClaimReview).
_ARTICLE_TYPE = re.compile(r"article|posting|report|review", re.I)
#: ... and types whose date is never the page's (a reader's comment or answer).
_NOT_THE_PAGE_TYPE = re.compile(r"comment|answer", re.I)
#: Items of one JSON-LD script read at most (a page's catalogue of products stays cheap).
JSON_LD_ITEMS = 1000


def _json_ld_published(text: str) -> tuple[str | None, str | None]:
    """The publication date of a JSON-LD script's article item (``Article`` and its
    kinds, reviews), and of its first other item with one (a ``WebPage``, a
    ``Recipe``), as ``YYYY-MM-DD``. Only the script's own items count: the top one (or
    each of a list), each of an ``@graph`` and their ``mainEntity``; an ``@graph``'s
    first ``datePublished`` may be a comment's or another page's, and items inside
    items are readers' reviews, comments, the site. A script that is no JSON (a
    trailing comma, a template's comment) gives its first ``datePublished`` as the
    other date."""
    import json

    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        m = _JSON_LD_PUBLISHED.search(text)
        return None, _iso_date(m.group(1)) if m else None
    items = [x for x in (data if isinstance(data, list) else [data])[:JSON_LD_ITEMS] if isinstance(x, dict)]
    items += [x for item in items if isinstance(item.get("@graph"), list)
              for x in item["@graph"][:JSON_LD_ITEMS] if isinstance(x, dict)]
    items += [x for item in items for x in _as_list(item.get("mainEntity")) if isinstance(x, dict)]
    other = None
    for item in items[:3 * JSON_LD_ITEMS]:
        kinds = " ".join(k for k in _as_list(item.get("@type")) if isinstance(k, str))
        value = item.get("datePublished")
        date = _iso_date(value) if isinstance(value, str) else None
        if date and not _NOT_THE_PAGE_TYPE.search(kinds):
            if _ARTICLE_TYPE.search(kinds):
                return date, other
            other = other or date
    return None, other


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _iso_date(value: str | None) -> str | None:
    """``value``'s date as ``YYYY-MM-DD`` when it starts with one (between 1900 and 2100;
    not 1970-01-01, a time of 0 that a template wrote for a date it did not have)."""
    m = _ISO_DATE.match(value or "")
    if not m:
        return None
    year, month, day = (int(g) for g in m.groups())
    try:
        date = datetime.date(year, month, day)
    except ValueError:  # "2021-13-45"
        return None
    return date.isoformat() if 1900 <= year <= 2100 and date != _EPOCH else None


_EPOCH = datetime.date(1970, 1, 1)


def page_title(root: etree._Element) -> str | None:
    """The page's title from its head: ``<meta property="og:title">``, else ``<title>``
    (whitespace collapsed; None when it has none)."""
    head = root.find("head")
    if head is None:
        return None
    for el in head.iter("meta"):
        if (el.get("property") or el.get("name") or "").lower() == "og:title":
            title = " ".join((el.get("content") or "").split())
            if title:
                return title[:1000]
    el = head.find("title")
    title = " ".join((el.text or "").split()) if el is not None else ""
    return title[:1000] or None


_ABSOLUTE_URL = re.compile(r"https?://[^/\s]+", re.IGNORECASE)
_URL_BLANKS = re.compile(r"[\t\n\r]")


#: Attributes an element keeps at most. libxml2 checks each attribute against those before
#: it: 40,000 on one element took 1.6 s, 200,000 two minutes, and the page time limit
#: cannot stop C code (nor can SIGTERM's handler run meanwhile). No page needs more.
MAX_ATTRIBUTES = 1000
#: A start tag of 4,000+ characters (only such a tag can hold MAX_ATTRIBUTES attributes).
#: Possessive: a page's thousands of ordinary tags cost 0.5 ms (a backtracking name, 4 ms).
_LONG_TAG = re.compile(r"<([A-Za-z][^\s<>/]*+)([^<>]{4000,}+)>")
_ATTRIBUTE = re.compile(r"""[\s/]*[^\s"'=<>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]*))?""")


def _limit_attributes(text: str) -> str:
    """``text`` with every element's attributes after its first ``MAX_ATTRIBUTES`` left
    out, but the last one and what follows it (a "/" or, in a comment that looks like a
    tag, its closing "--")."""

    def cut(m: re.Match[str]) -> str:
        attributes = m.group(2)
        starts = [a.start() for a in _ATTRIBUTE.finditer(attributes)]
        if len(starts) <= MAX_ATTRIBUTES + 1:
            return m.group(0)
        return f"<{m.group(1)}{attributes[:starts[MAX_ATTRIBUTES]]}{attributes[starts[-1]:]}>"

    return _LONG_TAG.sub(cut, text) if len(text) > 4000 else text


#: The characters no XML text may hold but NUL (removed before): C0 controls but tab, line
#: feed and carriage return, U+FFFE and U+FFFF, and lone surrogates (a Python string a
#: caller made from broken JSON; libxml2 stopped the page at one). A vertical tab or form
#: feed is a line end (as a <pre> reads it), a separator a space (both whitespace, as the
#: text reads them), a surrogate U+FFFD (as a decoder replaces what it cannot read); the
#: others, no letter of any language, go.
_NOT_XML = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_AS_XML = {**dict.fromkeys([*range(0x01, 0x09), *range(0x0e, 0x1c), 0xfffe, 0xffff]), 0x0b: "\n", 0x0c: "\n",
           **dict.fromkeys(range(0x1c, 0x20), " "), **dict.fromkeys(range(0xd800, 0xe000), "\ufffd")}


def html_to_blocks(page: str | bytes, http_charset: str | None = None, *,
                   found: dict[str, str] | None = None, max_blocks: int | None = None) -> list[Block]:
    """The blocks of an HTML page (bytes are decoded with ``decode_html``), each with
    its DOM facts (``Block.dom``, ``DOM_FACTS`` order). With ``found``, the page's
    canonical URL goes into ``found["url"]`` when its head names one (``_canonical_url``),
    and its title into ``found["title"]`` (``page_title``). With ``max_blocks``, a page
    of more blocks raises ``TooManyBlocks`` as soon as it has one too many."""
    text = decode_html(page, http_charset) if isinstance(page, bytes) else page
    if not text.strip():
        return []
    # libxml2 (2.14) ends the document at </html> and drops whatever follows it, as
    # browsers do not: without the end tags, trailing markup joins the body
    text = _END_OF_DOCUMENT.sub("", text)
    if "\x00" in text:
        # a stray NUL (a broken CMS, a cut download) is no character of the text: browsers
        # ignore it, libxml2 made it a U+FFFD inside the word ("Prei\ufffds")
        text = text.replace("\x00", "")
    if _NOT_XML.search(text):
        # libxml2 keeps them in the tree, but lxml refuses a text with one, and the tree's repairs
        # set texts: a form feed after a <wbr> had the page rejected as malformed
        text = text.translate(_AS_XML)
    text = _limit_attributes(text)
    # HTML reads a </br> as a <br> (``<br></br>`` is two line breaks); libxml2 ignores it
    if _HAS_BR_END_TAG.search(text):
        text = _BR_END_TAG.sub(lambda m: "<br>" if m.group(2) else m.group(0), text)
    # libxml2's HTML parser through lxml.etree: lxml.html's parser builds the same tree
    # but looks up a Python element class for every element the walk touches (slower).
    # huge_tree: a page of one 10 MB text node keeps its text (input size is bounded
    # by the readers' --max-bytes); libxml2 still stops nesting at depth 2048, and
    # _check_depth refuses such a page rather than return its first part silently
    root, parser = _parse(text)
    if root is None:
        return []
    if _depth_error(parser) is not None:
        # libxml2 nests what HTML closes: 2,048 <dd> (or <dt>, <h2>, <rt>) in a row, each
        # left open as HTML allows, are as deep; with their end tags written, the page is flat
        text = _with_end_tags(text)
        root, parser = _parse(text)
        if root is None:
            return []
        if _depth_error(parser) is not None:
            # thousands of <font> (<b>, <span> ...) left open, as an old page opens one in each
            # paragraph or list item and closes none: browsers show all their text (Chromium puts
            # what is nested past 512 beside it); without these tags the page is flat
            root, parser = _parse(_without_formatting(text))
            if root is None:
                return []
    _check_depth(parser)
    if found is not None:
        url = _canonical_url(root)
        if url:
            found["url"] = url
        title = page_title(root)
        if title:
            found["title"] = title
        published = page_published(root)
        if published:
            found["published"] = published
    # comments and processing instructions go, their tail text stays with the parent
    etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
    _open_shadow_roots(root)
    _empty_void(root)
    for plugin, end in _PLUGIN_END.items():
        started = sum(1 for _ in root.iter(plugin))
        if started and len(end.findall(text)) < started:
            # an <applet> (<object>) left open holds the rest of its container, which
            # browsers show (they run no applet, and show a Flash object's fallback): read
            # as text, the fallback sentences too
            etree.strip_tags(root, plugin)
    _close_implied(root)
    out = _Collector(max_blocks)
    owners: list[tuple[str, _Open]] = []
    # per open block (the page first): its inline elements open that no reader is shown
    # (display:none, hidden): their text is no part of the block's text. A hidden block
    # is a block of its own, a fact the model weighs; a hidden <span> in a paragraph
    # would add its text to the paragraph's, glued to the words around it
    unseen = [0]
    opened: dict[int, _Open | None] = {}  # id(element) -> its context, for the "end" event
    links = 0
    brs = 0
    quoting = 0  # open <q> elements
    control = None  # the page's control whose subtree is passed over (``_Open.control``): its end comes next
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        tag = tag.lower() if isinstance(tag, str) else None
        dropped = tag is None or tag in DROP_TAGS
        if event == "start":
            if (tag in _FORM_CONTROLS and not out.pre and not unseen[-1]
                    and not (tag == "input" and (el.get("type") or "").strip().lower() == "hidden")):
                out.add(" ", False)
            if dropped or tag is None:
                walker.skip_subtree()  # comments and dropped elements: only their tail counts
                continue
            if tag == "br" and unseen[-1]:
                continue
            if tag == "br":
                brs += 1
                if out.pre:  # code written with <br> for its newlines (Blogger's): a blank line is no block's end
                    out.add("\n", False)
                elif brs >= 2:
                    out.flush(*owners[-1]) if owners else out.flush(None, None)
                else:
                    out.add(_BR, False)
                continue
            info = _Open(el, tag)
            href = el.get("href") if tag == "a" else None
            if (info.control or (href is not None and href[:1] in _FRAGMENT_START and _is_permalink(el, href))
                    or (out.pre and tag == "span" and _has_line_numbers(el))):
                # left out as a dropped element is, its tail kept
                walker.skip_subtree()
                control = el
                continue
            if tag in BLOCK_TAGS and not (tag == "button" and _in_running_text(el)):
                out.flush(*owners[-1]) if owners else out.flush(None, None)
                owners.append((tag, info))
                unseen.append(0)
            else:
                if not info.shown:
                    unseen[-1] += 1
                if href is not None:  # <a name=...> is an anchor, no link
                    links += 1
                    out.links += 1
            out.push(info)
            opened[id(el)] = info
            if info.lines and not out.pre and not unseen[-1]:
                out.add(_BR, False)
            if tag == "q" and not unseen[-1]:  # browsers show an inline quotation in quotation marks
                out.add(_quote_marks(el, quoting)[0], links > 0)
                quoting += 1
            if el.text and not unseen[-1]:
                if el.text.strip():
                    brs = 0
                out.add(el.text, links > 0)
        else:
            if el is control:
                control = None
            elif not dropped and tag != "br":
                closing = opened.pop(id(el), None)
                if tag in BLOCK_TAGS and not (tag == "button" and _in_running_text(el)):
                    if owners:
                        out.flush(*owners[-1])
                        owners.pop()
                        unseen.pop()
                    else:
                        out.flush(None, None)
                else:
                    if closing is not None and not closing.shown:
                        unseen[-1] -= 1
                    if tag == "a" and el.get("href") is not None:
                        links = max(links - 1, 0)
                if closing is not None:
                    if closing.shown and not unseen[-1]:
                        if closing.lines and not out.pre:
                            out.add(_BR, False)
                        if tag == "q":
                            quoting -= 1
                            out.add(_quote_marks(el, quoting)[1], links > 0)
                    out.pop(closing)
            if el.tail and not unseen[-1]:
                if el.tail.strip():
                    brs = 0
                out.add(el.tail, links > 0)
    out.flush(*owners[-1]) if owners else out.flush(None, None)
    return _with_container(out.blocks, out.paths)


_SENTENCE = re.compile(r"[.!?…。！？][\"'»”’)]*$")


#: The innermost ancestors of a block that the page-wide facts (the main and the local
#: container) look at: a template that never closes its <div>s nests blocks thousands
#: deep, and every block's whole ancestry took time and memory by depth x blocks (17 s
#: and 540 MB for 30,000 blocks 2,000 deep). The dev pages nest at most 50 deep.
ANCESTORS_KEPT = 128
#: The local container of a block (``local_link_share``) holds at most this many blocks.
LOCAL_BLOCKS = 8


def _with_container(cut: list[tuple[str, str | None, int, list[float], str]],
                    paths: list[tuple[int, ...]]) -> list[Block]:
    """The blocks of the cut (``_Collector.blocks``), with the facts that need the whole
    page: the main container (the element whose blocks hold the most prose,
    sentence-like blocks' characters, less half the other text counts as the article's
    root; each block is inside it or not) and the local container (the smallest element
    holding the block and another one, if it holds at most ``LOCAL_BLOCKS``: its link
    share and number of blocks)."""
    if not cut:
        return []
    weights, link_chars, nonspace, prose_flags = [], [], [], []
    for text, _, links_in, _, _ in cut:
        text = model_text(text)  # a <pre>'s indentation and <br> lines as the model reads them
        words = text.count(" ") + 1
        weights.append(float(len(text)))
        prose_flags.append(words >= 8 and bool(_SENTENCE.search(text)) and links_in < len(text) / 2)
        nonspace.append(_nonspace(text))
        link_chars.append(links_in)
    # each block's values against each of its ancestors (serials), summed per ancestor by
    # bincount: in block order, the same sums as adding block by block
    lengths = [len(path) for path in paths]
    flat = np.fromiter(itertools.chain.from_iterable(paths), dtype=np.intp, count=sum(lengths))
    # ancestors numbered densely in the order they were opened (a page's serials run to
    # its number of elements: arrays that long for a few blocks of a huge page)
    serials, ancestor = np.unique(flat, return_inverse=True)
    size = len(serials)
    is_prose = np.repeat(np.array(prose_flags, dtype=bool), lengths)
    weight = np.repeat(np.array(weights), lengths)
    prose = np.bincount(ancestor, weights=np.where(is_prose, weight, 0.0), minlength=size)
    other = np.bincount(ancestor, weights=np.where(is_prose, 0.0, weight), minlength=size)
    keys = serials.tolist()
    chars = dict(zip(keys, np.bincount(ancestor, weights=np.repeat(np.array(nonspace, dtype=np.float64), lengths),
                                       minlength=size).tolist()))
    links = dict(zip(keys, np.bincount(ancestor, weights=np.repeat(np.array(link_chars, dtype=np.float64), lengths),
                                       minlength=size).tolist()))
    count = dict(zip(keys, np.bincount(ancestor, minlength=size).tolist()))
    total_prose = sum(w for w, p in zip(weights, prose_flags) if p)
    # the main container: of the elements holding prose, the first opened of the best score above 0
    score = np.where(np.bincount(ancestor[is_prose], minlength=size) > 0, prose - 0.5 * other, 0.0)
    top = int(np.argmax(score)) if size and score.max() > 0.0 else None
    best = keys[top] if top is not None else None
    share = float(prose[top]) / total_prose if top is not None else 0.0
    i_in, i_share = _FACT_INDEX["in_best_container"], _FACT_INDEX["best_container_share"]
    i_links, i_blocks = _FACT_INDEX["local_link_share"], _FACT_INDEX["local_log_blocks"]
    out = []
    for (text, tag, links_in, dom, step_path), path in zip(cut, paths):
        dom[i_in] = 1.0 if best is not None and best in path else 0.0
        dom[i_share] = share
        for e in reversed(path):  # the smallest ancestor that holds another block too
            if count[e] > 1:
                if count[e] <= LOCAL_BLOCKS:
                    dom[i_links], dom[i_blocks] = links[e] / chars[e], math.log1p(count[e])
                break
        out.append(Block(text, tag=tag, link_chars=links_in, dom=tuple(dom), path=step_path))
    return out


# -- DOM facts that come with the blocks ---------------------------------------------

#: How many of a block's ``html_ctx`` ancestors are read (blockseg gives five).
CONTEXT_ANCESTORS = 16
#: Characters of a tag name in an ``html_ctx`` that are read: libxml2 cuts a page's tag
#: names there (a longer one would stay in ``_path_step``'s memo and in every path).
CONTEXT_TAG_CHARS = 100
#: A step of ``html_ctx["anc"]``: ``tag#id.class1.class2`` (the id and classes optional).
_CONTEXT_STEP = re.compile(r"([^#.]*)(?:#([^.]*))?(.*)", re.DOTALL)


def _context_element(tag: str, ident: str | None, classes: list[str]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """An element named in an ``html_ctx``: its path step, its class words and its
    landmark facts, as ``_Open`` makes them of an element of a page."""
    step, words = _element_names(tag, " ".join(classes)[:ATTR_CHARS] or None, ident[:ATTR_CHARS] if ident else None)
    landmark = _LANDMARKS.get(tag)
    return step, words, (landmark,) if landmark else ()


def _named_ancestor(name: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """``_context_element`` of an ancestor as ``html_ctx["anc"]`` names it."""
    tag, ident, classes = _CONTEXT_STEP.fullmatch(name).groups()  # type: ignore[union-attr]
    return _context_element(tag[:CONTEXT_TAG_CHARS].lower() or "div", ident, [c for c in classes.split(".") if c])


#: ``_named_ancestor`` remembered: a page names the same few ancestors for most of its
#: blocks (a name longer than ``MEMO_NAME_CHARS`` is read each time, not kept).
_remembered_ancestor = functools.lru_cache(maxsize=NAME_MEMO)(_named_ancestor)
MEMO_NAME_CHARS = 4096


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1_000_000 else None


def _share(value: Any) -> float:
    """A share (``link_ratio``) between 0 and 1: a number beyond them is cut to them (an
    integer too large for a float, or a float whose product with a length overflows, is
    no error); not a finite number, 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    if isinstance(value, float) and not math.isfinite(value):
        return 0.0
    return 0.0 if value <= 0 else 1.0 if value >= 1 else float(value)


def blocks_in_context(blocks: list[Block], contexts: list[dict[str, Any]]) -> list[Block]:
    """``blocks`` with the DOM facts of ``contexts``, each block's ``html_ctx``: what
    the segmenter of the project's labelled data (``blockseg.py``) tells of the element
    that holds the block (``tag``, ``id``, ``cls``), its nearest ancestors (``anc``,
    nearest first, ``tag#id.class``), the landmarks above it (``lm``: ``nav``, ``footer``,
    ``role=navigation`` ...), its link share and links (``link_ratio``, ``n_links``),
    ``hidden`` and ``depth`` (its ancestors). Each becomes the fact Sieve's own segmenter
    gives a block of a page (``DOM_FACTS``, ``Block.tag``, ``link_chars``, ``path``), so
    the HTML model labels such records. Ancestors beyond those named are unknown: their
    class words are missing, and the page-wide facts (``_with_container``) take the
    elements named as the page's, an ancestor shared by consecutive blocks as one
    element. A field of the wrong type counts as absent."""
    cut: list[tuple[str, str | None, int, list[float], str]] = []
    paths: list[tuple[int, ...]] = []
    last: dict[tuple[int, tuple[str, ...]], int] = {}  # the previous block's ancestors -> their serials
    serials = 0
    for block, ctx in zip(blocks, contexts, strict=True):
        tag = ctx.get("tag")
        tag = tag[:CONTEXT_TAG_CHARS].lower() if isinstance(tag, str) and tag else None
        ident = ctx.get("id") if isinstance(ctx.get("id"), str) else None
        own_step, own_words, own_facts = _context_element(tag or "div", ident, _strings(ctx.get("cls"))[:PATH_CLASSES])
        names = set(own_words) | set(own_facts)
        ancestors = _strings(ctx.get("anc"))[:CONTEXT_ANCESTORS]
        steps = []
        for name in ancestors:
            step, words, facts = (_remembered_ancestor if len(name) <= MEMO_NAME_CHARS else _named_ancestor)(name)
            steps.append(step)
            names.update(words)
            names.update(facts)
        for mark in _strings(ctx.get("lm")):
            mark = mark.lower()
            fact = _ROLES.get(mark[5:]) if mark.startswith("role=") else _LANDMARKS.get(mark)
            if fact:
                names.add(fact)
        depth = _count(ctx.get("depth"))
        depth = (len(ancestors) if depth is None else depth) + 1  # Sieve counts the owner too
        dom = _block_facts(tag, _count(ctx.get("n_links")) or 0, sorted(names), own_words, depth,
                           ctx.get("hidden") is True)
        nonspace = _nonspace(block.text)
        link_chars = round(_share(ctx.get("link_ratio")) * nonspace)
        # ancestors as serials, outermost first: one shared with the block before is that block's
        keys = [(depth - 2 - i, tuple(ancestors[i:])) for i in range(len(ancestors))][::-1]
        path = []
        for key in keys:
            if key not in last:
                serials += 1
                last[key] = serials
            path.append(last[key])
        last = {key: last[key] for key in keys}
        serials += 1
        path.append(serials)  # the owner: an element of its own
        cut.append((block.text, tag, link_chars, dom, " ".join([*steps[::-1], own_step][-PATH_STEPS:])))
        paths.append(tuple(path))
    return [replace(block, tag=made.tag, link_chars=made.link_chars, dom=made.dom, path=made.path)
            for block, made in zip(blocks, _with_container(cut, paths), strict=True)]

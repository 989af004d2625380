"""Weak labels from clean text: align a page's blocks to its article text.

Publishers often have the clean text of their articles (a CMS export, a full-text
feed) but no block labels. ``align_document`` marks each block of a page
``content`` when most of its word 3-grams occur in the clean text (a block of
two words: both, in order; a block of one word never matches), and otherwise
``boilerplate`` or ``navigation``, whichever the base model finds more likely. It reports the
page's **coverage** (the share of the clean text's words that the content
blocks cover) and flags the alignment as doubtful when coverage is low, when
many content blocks only partly match, or when nothing matched. In scripts
written without spaces (Chinese, Japanese, Thai ...) each character counts as a
word.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import unquote, urlsplit

from .document import Document, Label, host_name, labelled_block
from .templates import publisher_of

__all__ = ["Alignment", "CleanText", "align_document", "find_clean", "index_clean_texts", "unmatched_reason",
           "url_key", "with_clean_source"]

#: Letters of scripts written without spaces between words (Thai, Lao, Tibetan, Myanmar,
#: Khmer, kana, Han): each is a token of its own, as a word is elsewhere. Else a
#: paragraph of Chinese or Japanese is one token, which matches only a clean text
#: paragraph cut exactly alike.
_NO_SPACE = ("\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff"
             "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003ffff")
_TOKEN = re.compile(rf"[{_NO_SPACE}]|(?:(?![{_NO_SPACE}])\w)+")
_NO_SPACE_CHAR = re.compile(rf"[{_NO_SPACE}]")
#: A block is content when at least this share of its 3-grams is in the clean text.
MATCH = 0.7
#: Below this coverage of the clean text, the alignment is doubtful.
MIN_COVERAGE = 0.8
#: A block matching between these shares is "partial"; many such blocks are doubtful.
PARTIAL = (0.3, MATCH)
#: A trail of two or more separators ("Home » News » <headline>") is a breadcrumb: its
#: headline alone would pass MATCH, so it needs BREADCRUMB_MATCH.
_TRAIL = re.compile(r"\s[»›>|/]\s.*\s[»›>|/]\s")
BREADCRUMB_MATCH = 0.95


#: A tag of the markup a CMS keeps in an article's body (a WordPress "content" field).
_MARKUP = re.compile(r"</?(?:p|br|div|span|a|em|strong|b|i|u|h[1-6]|li|ul|ol|blockquote|figure|figcaption|img|"
                     r"table|tr|td|th|section|article|sup|sub|small|mark|cite|q|code|pre|hr)\b[^<>]*>", re.IGNORECASE)


def _tokens(text: str) -> list[str]:
    """The words of a block or of a clean text, read alike whatever the source wrote:
    compatibility-normalised (NFKC: decomposed accents, ligatures, full-width forms),
    without soft hyphens and zero-width characters (as the page segmenter drops
    them), with HTML markup and character references read as text (a CMS body)."""
    if "<" in text and _MARKUP.search(text):
        text = _MARKUP.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        from .html import _INVISIBLE  # the characters the segmenter drops

        text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return [t.lower() for t in _TOKEN.findall(text)]


def _grams(tokens: Sequence[str], n: int = 3) -> list[tuple[str, ...]]:
    if len(tokens) < n:
        return [tuple(tokens)] if tokens else []
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


@dataclass(frozen=True)
class CleanText:
    """A page's clean article text, and where it comes from (``url``, ``publisher``)."""

    text: str
    url: str | None = None
    publisher: str | None = None
    title: str | None = None  # the record's own title (a CMS export keeps it apart from the body)


def url_key(url: str) -> str:
    """A url as pages and feeds may both write it: the scheme, ``www.``, the default
    port, a trailing ``/`` and the ``#fragment`` do not count, nor the host's case;
    a host in punycode (``xn--``) and a percent-encoded path or query are read as
    the characters they stand for (``/caf%C3%A9`` is ``/café``)."""
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:  # a port that is no number, a broken [IPv6] host: the url as written
        return raw
    host = host_name(parts.hostname or "")
    if not host:  # no host to match by: the url as written
        return raw
    if port and port not in (80, 443):
        host += f":{port}"
    path = unquote(parts.path).rstrip("/")
    query = unquote(parts.query)
    return f"{host}{path}{'?' + query if query else ''}"


def index_clean_texts(records: Iterable[Document], repeated: list[str] | None = None) -> dict[str, CleanText]:
    """The clean texts (a CMS export, a full-text feed) by their own ``id`` (not one
    the reader made up from the file name and line) and by ``url_key(url)``: the keys
    a page is matched by (``find_clean``). A record's blocks are joined by blank
    lines. Of two records with the same key, the later one is kept, and the later
    one's first key (``id:...``, ``url:...``) goes to ``repeated``."""
    index: dict[str, CleanText] = {}
    for rec in records:
        title = rec.extra.get("title")
        clean = CleanText("\n\n".join(b.text for b in rec.blocks), rec.url, rec.publisher,
                          title if isinstance(title, str) and title.strip() else None)
        key = url_key(rec.url) if rec.url else ""
        keys = ([f"id:{rec.id}"] if rec.id_given else []) + ([f"url:{key}"] if key else [])
        if repeated is not None and any(k in index and index[k] != clean for k in keys):
            repeated.append(keys[0])  # one per record, however many of its keys repeat
        for k in keys:
            index[k] = clean
    return index


def find_clean(index: dict[str, CleanText], page: Document) -> CleanText | None:
    """The clean text of ``page``: the record with its url (as ``url_key``), else the
    one with its id, unless that record names another url (a crawler's page numbers
    and a CMS's article numbers are not the same ids). ``unmatched_reason`` says why
    a page has none."""
    key = url_key(page.url) if page.url else ""
    found = index.get(f"url:{key}") if key else None
    if found is None and page.id_given:
        found = index.get(f"id:{page.id}")
        if found is not None and key and found.url and url_key(found.url) != key:
            return None
    return found


def unmatched_reason(index: dict[str, CleanText], page: Document) -> str:
    """Why ``find_clean`` finds no clean text for ``page``, in a few words."""
    by_id = index.get(f"id:{page.id}") if page.id_given else None
    if by_id is not None and by_id.url and page.url:
        return f"the clean record with its id is of another url ({by_id.url}, the page's {page.url})"
    if not page.url:
        return ("no clean record with its id (the page names no url)" if page.id_given
                else "the page has neither an id nor a url (--id-field names the field of a record's id)")
    return f"no clean record with its url ({page.url})" + (" or id" if page.id_given else "")


def with_clean_source(page: Document, clean: CleanText) -> Document:
    """``page`` with the ``url`` and ``publisher`` of its clean record where it has
    none (an HTML file names neither); the publisher comes from the url, as
    ``templates.publisher_of`` finds it, when neither record gives one. `sieve train
    --base` needs it: an adapter is for a publisher's documents."""
    url = page.url or clean.url
    publisher = page.publisher or clean.publisher or publisher_of(replace(page, url=url))
    return replace(page, url=url, publisher=publisher)


@dataclass
class Alignment:
    """A page's blocks with weak labels, and how sure the alignment is."""

    document: Document  # gold labels set (``gold``), as `sieve train` reads them
    coverage: float
    content_blocks: int
    partial_blocks: int
    doubtful: bool
    reason: str

    @property
    def mismatched(self) -> bool:
        """Whether the page does not hold its clean text: none of it, or under
        ``MIN_COVERAGE`` (another page's export, an excerpt's page); the other doubts
        (partly matching blocks, prose the clean text lacks) are softer."""
        return self.content_blocks == 0 or self.coverage < MIN_COVERAGE

    def to_dict(self) -> dict[str, object]:
        rec = self.document.to_dict()
        rec.pop("lang", None)
        rec.pop("lang_score", None)
        # a page's blocks keep what the page told of them: `sieve train --base` then
        # adapts the HTML model on them, with a path model
        rec["blocks"] = [labelled_block(b, g.get("label")) for b, g in zip(self.document.blocks, self.document.gold)]
        rec["align"] = {"coverage": round(self.coverage, 4), "content_blocks": self.content_blocks,
                        "partial_blocks": self.partial_blocks, "doubtful": self.doubtful, "reason": self.reason}
        return rec


#: A page is doubtful when blocks the base model is this sure are content, of 8+ words,
#: hold more unmatched characters than half the matched content (and EXCERPT_MIN_CHARS):
#: the clean text is then likely an excerpt (a feed's summary), and coverage cannot tell.
EXCERPT_CONFIDENCE = 0.8
EXCERPT_MIN_CHARS = 200


def align_document(page: Document, clean_text: str, predicted: Document | None = None,
                   title: str | None = None) -> Alignment:
    """Label ``page``'s blocks from its ``clean_text``; ``predicted`` (the base model's
    labelling of the page) decides boilerplate vs navigation for the other blocks.
    The page's headline is content as Sieve labels it (``model.headline_index``, by the
    page's title or the clean record's ``title``): a CMS export keeps the title apart
    from the body, and an adapter trained on headlines labelled navigation dropped
    every headline of the publisher's pages."""
    clean_grams = _grams(_tokens(clean_text))
    clean_set = set(clean_grams)
    clean_words = _tokens(clean_text)
    clean_tokens = " " + " ".join(clean_words) + " "
    covered: set[tuple[str, ...]] = set()
    short_runs: set[tuple[str, ...]] = set()  # the words of matched blocks of fewer than 3
    gold: list[dict[str, str]] = []
    content = partial = 0
    matched_chars = unmatched_prose = 0  # characters: content by alignment; prose the model calls content
    for i, b in enumerate(page.blocks):
        toks = _tokens(b.text)
        grams = _grams(toks)
        if not grams:
            share = 0.0
        elif len(toks) < 3:  # a short block: its words, in order, somewhere in the clean text
            # (one word, or two characters of Chinese or Japanese, says too little: a menu item;
            # nor does a short link: a tag or menu item named like something the article names)
            long_enough = len(toks) >= 2 and not all(_NO_SPACE_CHAR.fullmatch(t) for t in toks)
            share = 1.0 if long_enough and not b.mostly_links and f" {' '.join(toks)} " in clean_tokens else 0.0
        else:
            share = sum(g in clean_set for g in grams) / len(grams)
            if b.mostly_links and share >= MATCH and f" {' '.join(toks)} " not in clean_tokens:
                # a link is the article's only word for word: a related story's headline shares
                # most of its wording with the article ("... approved a plan to reopen the baths")
                share = 0.0
        scores = predicted.blocks[i].scores if predicted is not None and i < len(predicted.blocks) else None
        if share >= (BREADCRUMB_MATCH if _TRAIL.search(b.text) else MATCH):
            label = Label.CONTENT
            content += 1
            matched_chars += len(b.text)
            covered.update(g for g in grams if g in clean_set)
            if len(toks) < 3:
                short_runs.add(tuple(toks))
        else:
            if PARTIAL[0] <= share < PARTIAL[1]:
                partial += 1
            if scores is not None and scores[0] >= EXCERPT_CONFIDENCE and len(toks) >= 8:
                unmatched_prose += len(b.text)
            label = Label.BOILERPLATE if scores is not None and scores[1] > scores[2] else Label.NAVIGATION
            if scores is None:
                label = Label.BOILERPLATE if len(toks) >= 8 and b.text.rstrip().endswith((".", "!", "?")) \
                    else Label.NAVIGATION
        gold.append({"label": label.value})
    from .model import headline_index, long_enough_for_a_headline  # the scoring rule (the model is loaded by now)

    headlines = {h for t in (page.extra.get("title"), title) if (h := headline_index(page.blocks, t)) is not None}
    wanted = " ".join(_tokens(title)) if title else ""
    if not headlines and long_enough_for_a_headline(wanted):
        # else the first block that is the record's title, whatever its tag, and no link
        # (a "Most read" link to the story is another role; "Impressum" is a menu item)
        first = next((i for i, b in enumerate(page.blocks)
                      if " ".join(_tokens(b.text)) == wanted and 2 * b.link_chars < len(b.text)), None)
        if first is not None:
            headlines.add(first)
    for i in sorted(headlines):
        if gold[i]["label"] != Label.CONTENT.value:
            gold[i] = {"label": Label.CONTENT.value}
            content += 1
    # coverage: the share of the clean text's words inside a 3-gram some content block has
    # (3-grams across the clean text's paragraph breaks need not be in any block), or in
    # the words of a matched short block (an ingredient, a list item: its 1-2 words are
    # no 3-gram, and a page of them was doubtful at full coverage)
    n_tok = len(clean_words)
    hit = [False] * n_tok
    for k, g in enumerate(clean_grams):
        if g in covered:
            for j in range(k, min(k + len(g), n_tok)):
                hit[j] = True
    for run in short_runs:
        for k in range(n_tok - len(run) + 1):
            if tuple(clean_words[k:k + len(run)]) == run:
                hit[k:k + len(run)] = [True] * len(run)
    coverage = sum(hit) / n_tok if n_tok else 0.0
    reasons = []
    if not clean_grams:
        reasons.append("empty clean text")
    elif content == 0:
        reasons.append("no block matches the clean text")
    elif coverage < MIN_COVERAGE:
        reasons.append(f"the content blocks cover {coverage:.0%} of the clean text")
    if content and partial > max(2, content // 3):
        reasons.append(f"{partial} blocks match the clean text only partly")
    if content and unmatched_prose > max(EXCERPT_MIN_CHARS, matched_chars // 2):
        reasons.append(f"the model finds {unmatched_prose:,} characters of article text the clean text does not hold "
                       f"(against {matched_chars:,} matched): an excerpt?")
    doc = Document(id=page.id, blocks=tuple(page.blocks), url=page.url, publisher=page.publisher,
                   extra={k: v for k, v in page.extra.items() if k not in ("html",)}, gold=tuple(gold))
    return Alignment(doc, coverage, content, partial, bool(reasons), "; ".join(reasons))

"""features.py: per-row features that do not depend on row order; estimators pickle and clone."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import clone

from classifier.document import Block, Document
from classifier.features import (
    CONTAINER_WIDTH,
    BlockRow,
    DenseFeatures,
    build_text_features,
    container_context,
    document_features,
    iter_block_rows,
)

TEXTS = ["Home", "World", "A paragraph of the article, in full sentences, about the harbour and its boats.",
         "Another paragraph, shorter.", "© 2024 Example News. All rights reserved.", "Contact"]


def _rows(*docs: Document) -> list[BlockRow]:
    return [row for d in docs for row in iter_block_rows(d)]


def test_block_row_neighbours_and_position() -> None:
    rows = _rows(Document.from_texts(TEXTS[:3]))
    assert [r.block.text for r in rows] == TEXTS[:3]
    assert rows[0].previous is None and rows[0].next is not None and rows[0].next.text == "World"
    assert rows[2].next is None and rows[2].previous is not None and rows[2].previous.text == "World"
    assert [r.position for r in rows] == [0.0, 0.5, 1.0]
    assert BlockRow((Block("only"),), 0).position == 0.0


def test_dense_features_do_not_depend_on_row_order() -> None:
    rows = _rows(Document.from_texts(TEXTS), Document.from_texts(list(reversed(TEXTS))))
    dense = DenseFeatures().fit(rows)
    straight = dense.transform(rows)
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    shuffled = dense.transform([rows[i] for i in order])
    assert np.array_equal(shuffled, straight[order])
    # a block's features come from its own document: the same text in another position differs
    assert not np.array_equal(straight[0], straight[len(TEXTS) + len(TEXTS) - 1])


def test_dense_features_equal_document_features() -> None:
    doc = Document.from_texts(TEXTS)
    assert np.array_equal(DenseFeatures().fit_transform(_rows(doc)), document_features(doc.blocks))


def test_text_features_pickle_and_clone() -> None:
    rows = _rows(Document.from_texts(TEXTS))
    union = build_text_features(n_char_features=2**10, n_word_features=2**8)
    x = union.fit_transform(rows).tocsr()
    assert x.shape == (len(TEXTS), 2**10 + 2**8)
    again = pickle.loads(pickle.dumps(union)).transform(rows).tocsr()
    assert (again != x).nnz == 0
    assert (clone(union).fit_transform(rows).tocsr() != x).nnz == 0


def test_dense_features_pickle_and_clone() -> None:
    rows = _rows(Document.from_texts(TEXTS))
    dense = DenseFeatures().fit(rows)
    assert np.array_equal(pickle.loads(pickle.dumps(dense)).transform(rows), dense.transform(rows))
    assert np.array_equal(clone(dense).fit(rows).transform(rows), dense.transform(rows))


@given(st.lists(st.text(max_size=80), min_size=1, max_size=12))
def test_document_features_are_finite_with_one_row_per_block(texts: list[str]) -> None:
    feats = document_features(tuple(Block(t) for t in texts))
    assert feats.shape[0] == len(texts)
    assert np.isfinite(feats).all()


def test_container_context_is_the_other_members_view() -> None:
    probs = np.array([[0.9, 0.05, 0.05], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.2, 0.3, 0.5], [0.3, 0.3, 0.4]])
    paths = ["body div.entry p", "body div.entry p", "body div.entry ul li", "body nav ul li", None]
    ctx = container_context(probs, paths)
    assert ctx.shape == (5, CONTAINER_WIDTH)
    # same path: the two paragraphs see each other, never themselves
    assert np.allclose(ctx[0, :3], probs[1]) and np.allclose(ctx[1, :3], probs[0])
    assert ctx[0, 3] == np.log1p(1)
    # same parent: the paragraphs under div.entry; each list item is alone in its own "ul"
    paths[1] = "body div.entry h2"
    ctx = container_context(probs, paths)
    assert np.isnan(ctx[0, :3]).all() and np.allclose(ctx[0, 4:7], probs[1]) and ctx[0, 7] == np.log1p(1)
    assert np.isnan(ctx[2, 4:7]).all() and ctx[2, 7] == 0.0
    # alone in its group: missing (the trees' NaN), count 0; no path at all: missing too
    assert np.isnan(ctx[3, :3]).all() and ctx[3, 3] == 0.0
    assert np.isnan(ctx[4]).all()
    assert np.isnan(container_context(probs[4:], paths[4:])).all()  # alone or among blocks with paths: the same
    changed = probs.copy()
    changed[0] = [0.0, 0.0, 1.0]
    assert np.allclose(container_context(changed, paths)[0], ctx[0], equal_nan=True)  # its own view never leaks in


def test_the_boilerplate_lexicon_prefilter_changes_no_answer() -> None:
    import re

    from hypothesis import given
    from hypothesis import strategies as st

    from classifier.features import _BIO_LEX, _BOILER_LEX, _CREDIT_LEX, _boiler_lexicon

    def body(p: re.Pattern[str]) -> str:
        return p.pattern.split("(?ix)", 1)[1].strip()

    whole = re.compile("|".join(body(p) for p in (_BOILER_LEX, _BIO_LEX, _CREDIT_LEX)), re.I | re.X)
    phrases = ["© 2024 Example", "(C) 2019 x", "COPYRIGHT notice", "All Rights Reserved", "Alle Rechte vorbehalten",
               "Subscribe now", "SIGN UP today", "Abonnez-vous", "Síguenos en", "Follow us on X", "Folgen Sie uns",
               "Unterstütze uns", "Support our journalism", "We use cookies", "Privacy Policy", "Datenschutz",
               "This article was first published", "Publié à l'origine par", "Dieser Beitrag erschien zuerst",
               "Publicado originalmente en", "Riproduzione riservata", "Anzeige", "Advertisement", "Publicité",
               "Jane Doe is a senior reporter for", "He is an award-winning investigative journalist",
               "Foto: dpa", "PHOTO : Reuters", "Źródło: PAP", "Getty Images", "picture-alliance", "iStock",
               "The council voted on Tuesday.", "Ein ganz normaler Satz über das Wetter.", "is a", "Foto"]
    for text in phrases:
        assert _boiler_lexicon(text) == bool(whole.search(text[:400])), text

    words = st.sampled_from([w for p in phrases for w in p.split()] + ["the", "of", ":", "©", "is", "a", "an"])

    @given(st.lists(words, max_size=30).map(" ".join))
    def same(text: str) -> None:
        assert _boiler_lexicon(text) == bool(whole.search(text[:400]))

    same()


_SMALL_TEXT = st.text(alphabet="ab(.)*©é ", max_size=12)


@given(st.lists(_SMALL_TEXT, max_size=6), _SMALL_TEXT)
def test_the_literal_trie_finds_a_text_exactly_when_a_substring_test_does(literals: list[str], text: str) -> None:
    """``_any_of`` stands for ``any(a in text for a in literals)`` (the lexicon's
    prefilter): literals that are prefixes of others, regex metacharacters, the empty
    literal and no literal at all."""
    from classifier.features import _any_of

    assert (_any_of(literals).search(text) is not None) == any(a in text for a in literals)


@given(st.lists(st.floats(0.0, 1.0), max_size=30), st.sampled_from((0, 1, 2, 5, 12)))
def test_window_extremes_and_bounds_are_those_of_each_clipped_window(values: list[float], half: int) -> None:
    """The windows of pass 2's context: each position's max and min over the blocks
    within ``half`` of it (shortcuts for windows holding the whole document)."""
    from classifier.features import _window_bounds, _window_extreme

    n = len(values)
    arr = np.array(values, dtype=np.float64)
    lo, hi = _window_bounds(n, half)
    assert lo.tolist() == [max(i - half, 0) for i in range(n)]
    assert hi.tolist() == [min(i + half + 1, n) for i in range(n)]
    assert not lo.flags.writeable  # shared between documents: nobody may change it
    top = _window_extreme(arr, half, np.max, -np.inf)
    bottom = _window_extreme(arr, half, np.min, np.inf)
    assert top.tolist() == [max(values[max(i - half, 0):i + half + 1]) for i in range(n)]
    assert bottom.tolist() == [min(values[max(i - half, 0):i + half + 1]) for i in range(n)]


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_decayed_mean_is_the_weighted_mean_of_the_rows_before(values: list[float]) -> None:
    from classifier.features import _decayed_mean

    rows = np.array(values, dtype=np.float64)[:, None]
    got = _decayed_mean(rows, 0.6)[:, 0]
    for i in range(len(values)):
        weights = [0.6 ** (i - 1 - j) for j in range(i)]
        want = sum(w * v for w, v in zip(weights, values[:i])) / sum(weights) if i else 0.0
        assert abs(got[i] - want) < 1e-9


@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0),
                          st.sampled_from((0.0, 1.0, 3.0, 99.0, 100.0, 250.0, 1499.0, 1500.0, 4000.0))),
                min_size=1, max_size=20))
def test_one_block_contexts_are_those_of_each_document_alone(rows: list[tuple[float, float, float, float]]) -> None:
    """Short records' pass-2 context, computed for many one-block documents at once,
    is bit for bit what the per-document functions give each of them."""
    from classifier.features import article_context, one_block_contexts, probability_context

    raw = np.array([r[:3] for r in rows]) + 1e-3
    probs = raw / raw.sum(axis=1, keepdims=True)
    probs[0] = (0.5, 0.25, 0.25)  # exactly at a threshold: not above it
    chars = np.array([r[3] for r in rows])
    together = one_block_contexts(probs, chars)
    alone = np.vstack([np.hstack([probability_context(probs[i:i + 1]), article_context(probs[i:i + 1], chars[i:i + 1])])
                       for i in range(len(rows))])
    assert together.shape == alone.shape
    assert together.tobytes() == alone.tobytes()


_ONE_BLOCK_TEXTS = ("Home", "", "The ferry will run all winter, the council said on Tuesday.", "© 2024 Gazette",
                    "Share | Tweet | Email", "12:30", "Weiterlesen »", "a" * 2000)


@given(st.lists(st.tuples(st.sampled_from(_ONE_BLOCK_TEXTS), st.sampled_from((None, "en", "de")),
                          st.sampled_from((None, 0.0, 0.42, 1.0)), st.integers(0, 30), st.booleans()),
                min_size=1, max_size=12),
       st.booleans())
def test_one_block_features_are_those_of_each_document_alone(rows: list, dom: bool) -> None:
    """The dense features of many one-block documents at once are, bit for bit, what
    ``document_features`` gives each document alone (with DOM facts too)."""
    from classifier.features import document_features, one_block_features
    from classifier.html import DOM_FACTS

    blocks = [Block(text, lang=lang, lang_score=score, link_chars=min(links, len(text)),
                    dom=tuple(float((i * 7 + links) % 3) for i in range(len(DOM_FACTS))) if has_dom else None)
              for text, lang, score, links, has_dom in rows]
    together = one_block_features(blocks, {}, dom=dom)
    alone = np.vstack([document_features((b,), dom=dom) for b in blocks])
    assert together.shape == alone.shape
    assert together.tobytes() == alone.tobytes()


def test_window_bounds_keep_one_pair_of_arrays_per_window_whatever_the_lengths() -> None:
    # a cache per (length, half) grew to 12 MB a worker over a long run of documents
    from classifier.features import _BOUNDS_KEPT, _KEPT_BOUNDS, _window_bounds

    for n in (3, 700, 1, 250, 4000):
        lo, hi = _window_bounds(n, 7)
        assert lo.tolist() == [max(i - 7, 0) for i in range(n)]
        assert hi.tolist() == [min(i + 8, n) for i in range(n)]
        assert not lo.flags.writeable and not hi.flags.writeable
    assert [len(a) for a in _KEPT_BOUNDS[7]] == [_BOUNDS_KEPT, _BOUNDS_KEPT]
    kept = dict(_KEPT_BOUNDS)
    long = _BOUNDS_KEPT + 100
    lo, hi = _window_bounds(long, 5)
    assert lo.tolist() == [max(i - 5, 0) for i in range(long)]
    assert hi.tolist() == [min(i + 6, long) for i in range(long)]
    assert _KEPT_BOUNDS.keys() == kept.keys()  # a page of many blocks holds no memory after it


def test_two_han_or_kana_characters_are_a_word_of_the_block_shape() -> None:
    # \w+ took a Chinese sentence for three words: a one-sentence news paragraph had the
    # shape of a short menu line, and single-paragraph Chinese records were navigation
    from classifier.features import SHAPE_NAMES, block_shape

    sentence = Block("市政府周一宣布，将在未来三年内投资五十亿元改善城市公共交通系统，"
                     "包括新建两条地铁线路和扩建公交网络。")
    now, before = block_shape(sentence), block_shape(sentence, 8)
    col = {name: i for i, name in enumerate(SHAPE_NAMES)}
    assert now[col["is_sentence_like"]] == 1.0 and before[col["is_sentence_like"]] == 0.0
    assert round(np.expm1(now[col["log_words"]])) == 25 and round(np.expm1(before[col["log_words"]])) == 3
    menu = Block("首页 新闻 体育")
    assert block_shape(menu)[col["is_menu_like"]] == 1.0  # still a menu line: 3 words, no full stop
    mixed = Block("ところがKindle for PCのショートカット")
    assert round(np.expm1(block_shape(mixed)[col["log_words"]])) == 2 + 3 + 4  # kana in pairs, Latin words
    for text in ("An English sentence, with commas and a full stop.", "Une phrase française, déjà écrite."):
        assert block_shape(Block(text)) == block_shape(Block(text), 8)  # no CJK: as before


def test_a_model_of_an_earlier_features_version_reads_its_version_shapes(tiny_model) -> None:
    import copy

    from classifier.features import document_features

    doc = Document.from_texts(["首页 新闻", "市政府周一宣布，将在未来三年内投资五十亿元改善城市公共交通系统。",
                               "版权所有", "प्रधानमंत्री ने रविवार को दिल्ली में नई मेट्रो लाइन का उद्घाटन किया।"])
    old = copy.copy(tiny_model)
    for version in (8, 9):
        old.features_version_ = version
        assert np.array_equal(old.featurize([doc]).dense, document_features(doc.blocks, version=version))
    assert np.array_equal(tiny_model.featurize([doc]).dense, document_features(doc.blocks))
    shapes = [document_features(doc.blocks, version=v) for v in (8, 9, 10)]
    assert not np.array_equal(shapes[0], shapes[1]) and not np.array_equal(shapes[1], shapes[2])


@pytest.mark.parametrize(("story", "menu"), [
    (["प्रधानमंत्री ने रविवार को दिल्ली में नई मेट्रो लाइन का उद्घाटन किया। इस लाइन से रोज़ाना लगभग दो लाख "
      "यात्रियों को लाभ मिलने की उम्मीद है।"], "होम | देश | विदेश | खेल"),
    (["প্রধানমন্ত্রী রবিবার ঢাকায় নতুন মেট্রো লাইনের উদ্বোধন করেছেন। প্রতিদিন প্রায় দুই লাখ যাত্রী এতে উপকৃত হবেন।"],
     "হোম | দেশ | খেলা"),
    (["وزیر اعظم نے اتوار کو شہر میں نئی میٹرو لائن کا افتتاح کیا۔ اس سے روزانہ دو لاکھ مسافروں کو فائدہ ہوگا۔"],
     "ہوم | پاکستان | کھیل"),
    (["Վարչապետը կիրակի օրը բացեց մետրոյի նոր գիծը քաղաքում։ Ամեն օր երկու հարյուր հազար ուղևոր կօգտվի դրանից։"],
     "Գլխավոր | Լուրեր | Սպորտ"),
    (["รถไฟฟ้าสายใหม่เปิดให้บริการเมื่อวันจันทร์ ใช้เวลาเดินทางจากสนามบินไปยังใจกลางเมืองเพียงยี่สิบนาที"],
     "หน้าแรก ข่าว กีฬา"),
], ids=["hi", "bn", "ur", "hy", "th"])
def test_prose_of_other_scripts_has_the_shape_of_prose(story: list[str], menu: str) -> None:
    # \w stops at a Devanagari vowel sign, and the danda ended no sentence: a Hindi news
    # paragraph had the shape of a list of one-letter words, and whole stories came out navigation
    from classifier.features import SHAPE_NAMES, block_shape

    col = {name: i for i, name in enumerate(SHAPE_NAMES)}
    prose = block_shape(Block(story[0]))
    assert prose[col["is_sentence_like"]] == 1.0 and prose[col["short_word_share"]] < 0.7
    assert round(np.expm1(prose[col["log_sentences"]])) >= 1
    assert 8 <= round(np.expm1(prose[col["log_words"]])) <= 40
    assert prose[col["letter_share"]] > 0.6 and prose[col["punct_share"]] < 0.1  # a vowel sign is no punctuation
    menu_shape = block_shape(Block(menu))
    assert menu_shape[col["is_menu_like"]] == 1.0 and menu_shape[col["ends_with_punct"]] == 0
    assert block_shape(Block(story[0]), 9)[col["is_sentence_like"]] == 0.0  # what version 9 saw


def test_the_sentences_of_long_thai_runs_are_counted_as_before() -> None:
    # a review: a greedy pattern for a Thai run before a space took quadratic time on a
    # long run that ends in another character (80,000 characters: a minute); the counts
    # are those of the pattern the models were trained with
    from classifier.features import SHAPE_NAMES, block_shape

    col = {name: i for i, name in enumerate(SHAPE_NAMES)}
    thai = "ภาษาไทยเป็นภาษาราชการของประเทศไทย"
    for text, sentences in ((thai * 300 + ")", 0), (thai * 300, 1), ((thai + " ") * 3, 3), (thai[:11] + " ", 0),
                            ("ก" * 20000 + "x", 0)):
        assert round(np.expm1(block_shape(Block(text))[col["log_sentences"]])) == sentences, text[-20:]


def test_shares_stay_within_zero_and_one_for_circled_letters() -> None:
    # circled letters are upper-case but not letters: upper_share came out 4.0
    from classifier.features import SHAPE_NAMES, block_shape

    for text in ("ⒽⓄⓂⒺ news", "ⒶⒷⒸⒹ", "Ⓐ"):
        shape = dict(zip(SHAPE_NAMES, block_shape(Block(text))))
        assert 0.0 <= shape["upper_share"] <= 1.0, (text, shape["upper_share"])
    assert dict(zip(SHAPE_NAMES, block_shape(Block("ⒽⓄⓂⒺ NEWS"))))["all_caps"] == 1.0


def test_circled_letters_make_no_lower_case_text_upper_case() -> None:
    # they were counted as upper-case letters among letters they are not: "ⒽⓄⓂⒺ news"
    # came out all capitals (all_caps 1, upper_share 1) and "ⒶⒷⒸⒹ ⒺⒻ home page" 3/4 upper-case
    from classifier.features import SHAPE_NAMES, block_shape

    for text in ("ⒽⓄⓂⒺ news", "ⒶⒷⒸⒹ ⒺⒻ home page", "Ⓡ Ⓡ Ⓡ Ⓡ about"):
        shape = dict(zip(SHAPE_NAMES, block_shape(Block(text))))
        assert (shape["upper_share"], shape["all_caps"]) == (0.0, 0.0), (text, shape["upper_share"])
    shape = dict(zip(SHAPE_NAMES, block_shape(Block("ⓗⓞⓜⓔ NEWS é"))))
    assert (shape["upper_share"], shape["all_caps"]) == (0.8, 0.0)


@given(st.lists(st.floats(-1e6, 1e6), max_size=300), st.sampled_from([0.6, 0.85, 0.999]))
def test_decayed_sums_are_scipys_first_order_filter_bit_for_bit(values: list, decay: float) -> None:
    from scipy.signal import lfilter

    from classifier.features import _decayed_sums

    x = np.array(values, dtype=np.float64).reshape(-1, 1).repeat(2, axis=1)
    x[:, 1] *= -0.5
    expected = lfilter([1.0], [1.0, -decay], x, axis=0) if len(x) else x
    assert _decayed_sums(x, decay).tobytes() == expected.tobytes()


def test_decay_weights_grow_as_the_same_filter_of_ones() -> None:
    from scipy.signal import lfilter

    from classifier.features import _decay_weights

    for n in (3, 500, 70, 1):  # kept between calls, grown past what was kept
        assert _decay_weights(0.7, n).tobytes() == lfilter([1.0], [1.0, -0.7], np.ones(n)).tobytes()


def test_document_features_written_into_a_batchs_rows_are_the_same() -> None:
    blocks = tuple(Block(t) for t in ["Home | News | Sport", "The council voted on Tuesday to keep the ferry.",
                                      "It will run all winter.", "© 2026 The Gazette"])
    alone = document_features(blocks)
    batch = np.full((len(blocks) + 2, alone.shape[1]), -1.0)
    written = document_features(blocks, out=batch[1:-1])
    assert np.shares_memory(written, batch) and written.tobytes() == alone.tobytes()
    assert (batch[0] == -1).all() and (batch[-1] == -1).all()

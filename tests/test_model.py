"""model.py: the tiny trained block model, its card check, pickling, smooth(), evaluate()."""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from classifier import model as model_module
from classifier.document import LABELS, Block, Document, Label
from classifier.errors import ModelError
from classifier.html import html_to_blocks
from classifier.model import (
    BlockModel,
    ModelParams,
    drop_copies,
    evaluate,
    fit_block_model,
    load_model,
    smooth,
)
from classifier.pipeline import Sieve

PAGE = [
    "Home", "World", "Sports", "Business", "Weather",
    "Ferry services to the northern islands will resume on Monday after engineers finished repairs to the "
    "harbour wall, which was badly damaged during the storms of early January, the port authority said.",
    "Islanders have relied on a small passenger boat for the last six weeks, and several shops reported "
    "running short of fresh milk, bread and vegetables before the weekend deliveries arrived by air.",
    "© 2024 Example News. All rights reserved.",
    "Privacy policy", "Contact",
]


@pytest.fixture(scope="module")
def page(tiny_model_dir: Path) -> Document:
    return Sieve(tiny_model_dir).label(PAGE)


def test_tiny_model_labels_obvious_blocks(page: Document) -> None:
    labels = [b.label for b in page.blocks]
    assert labels[0] is Label.NAVIGATION  # "Home" at the head of a menu run
    assert labels[1:5] == [Label.NAVIGATION] * 4
    assert labels[5:7] == [Label.CONTENT, Label.CONTENT]  # long prose
    assert labels[7] is Label.BOILERPLATE  # copyright line


def test_scores_are_probabilities_and_label_is_the_argmax(page: Document) -> None:
    for b in page.blocks:
        assert b.scores is not None and len(b.scores) == 3
        assert all(0.0 <= p <= 1.0 for p in b.scores)
        assert sum(b.scores) == pytest.approx(1.0)
        assert b.label is LABELS[int(np.argmax(b.scores))]


def test_predict_proba_shapes_and_empty_documents(tiny_model: BlockModel) -> None:
    docs = [Document.from_texts(PAGE, id="a"), Document.from_texts([], id="empty"), Document.from_texts(["Home"])]
    probs = tiny_model.predict_proba(docs)
    assert [p.shape for p in probs] == [(len(PAGE), 3), (0, 3), (1, 3)]
    assert tiny_model.predict_proba([]) == []


def test_prediction_is_deterministic(tiny_model: BlockModel) -> None:
    docs = [Document.from_texts(PAGE)]
    first, second = tiny_model.predict_proba(docs), tiny_model.predict_proba(docs)
    assert np.array_equal(first[0], second[0])


def test_a_document_is_labelled_the_same_alone_or_in_a_batch(tiny_model: BlockModel) -> None:
    other = Document.from_texts(["Subscribe", "A paragraph about something else entirely, written in full sentences."])
    alone = tiny_model.predict_proba([Document.from_texts(PAGE)])[0]
    batched = tiny_model.predict_proba([other, Document.from_texts(PAGE), other])[1]
    np.testing.assert_allclose(alone, batched, rtol=0, atol=1e-9)


def test_block_model_pickle_round_trip(tiny_model: BlockModel) -> None:
    docs = [Document.from_texts(PAGE)]
    clone = pickle.loads(pickle.dumps(tiny_model))
    assert isinstance(clone, BlockModel) and clone.params == tiny_model.params
    assert np.array_equal(clone.predict_proba(docs)[0], tiny_model.predict_proba(docs)[0])


def test_saved_model_loads_to_the_same_predictions(tiny_model: BlockModel, copy_model_dir) -> None:
    model_dir = copy_model_dir()
    loaded = load_model(model_dir)
    docs = [Document.from_texts(PAGE)]
    assert np.array_equal(loaded.predict_proba(docs)[0], tiny_model.predict_proba(docs)[0])


def test_card_describes_the_model(tiny_model_dir: Path) -> None:
    card = json.loads((tiny_model_dir / "blocks.json").read_text(encoding="utf-8"))
    assert card["sha256"] == hashlib.sha256((tiny_model_dir / "blocks.joblib").read_bytes()).hexdigest()
    assert card["labels"] == [lab.value for lab in LABELS]
    assert card["params"]["n_char_features"] == 2**12 and card["params"]["trees"] == 20
    assert card["file"] == "blocks.joblib"


def test_tampered_model_is_refused_before_unpickling(copy_model_dir, tmp_path: Path) -> None:
    """A file that does not match its card is never unpickled: this pickle would
    create a marker file the moment it is loaded."""
    model_dir = copy_model_dir()
    marker = tmp_path / "unpickled"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (model_dir / "blocks.joblib").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(model_dir)
    assert not marker.exists()


def test_one_changed_byte_is_refused(copy_model_dir) -> None:
    model_dir = copy_model_dir()
    data = bytearray((model_dir / "blocks.joblib").read_bytes())
    data[100] ^= 0x01
    (model_dir / "blocks.joblib").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"blocks\.joblib"):
        load_model(model_dir)


def test_missing_card_or_model_is_refused(copy_model_dir) -> None:
    no_card = copy_model_dir("no-card")
    (no_card / "blocks.json").unlink()
    with pytest.raises(ModelError, match="card .* is missing"):
        load_model(no_card)
    no_model = copy_model_dir("no-model")
    (no_model / "blocks.joblib").unlink()
    with pytest.raises(ModelError, match="not found"):
        load_model(no_model)


def test_card_from_another_scikit_learn_is_refused(copy_model_dir) -> None:
    model_dir = copy_model_dir()
    card_path = model_dir / "blocks.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["sklearn_version"] = "0.24.2"
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="scikit-learn"):
        load_model(model_dir)


def test_params_pickled_by_name_and_older_pickles_load_by_their_order() -> None:
    params = ModelParams(random_state=3, container_context=True, trees=7)
    assert pickle.loads(pickle.dumps(params)) == params
    assert isinstance(params.__getstate__(), dict)  # a field added later cannot shift the others
    names = [n for n in ModelParams.__dataclass_fields__ if n != "container_context"]
    old = [getattr(ModelParams(random_state=3, use_dom=True), n) for n in names]  # before container_context
    restored = ModelParams.__new__(ModelParams)
    restored.__setstate__(old)
    assert restored == ModelParams(random_state=3, use_dom=True)
    older = [getattr(ModelParams(random_state=5), n) for n in names if n != "use_dom"]  # before use_dom too
    restored.__setstate__(older)
    assert restored == ModelParams(random_state=5)
    briefly = names.copy()  # for a few commits container_context sat before random_state
    briefly.insert(briefly.index("use_dom") + 1, "container_context")
    params = ModelParams(random_state=3, use_dom=True, container_context=True)
    restored.__setstate__([getattr(params, n) for n in briefly])
    assert restored == params


def test_features_of_another_version_are_refused(copy_model_dir) -> None:
    from classifier.features import FEATURES_VERSION

    model_dir = copy_model_dir()
    card_path = model_dir / "blocks.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))

    def with_card(version: int, use_dom: bool, container: bool = False) -> None:
        card["features_version"] = version
        card["params"]["use_dom"] = use_dom
        card["params"]["container_context"] = container
        card_path.write_text(json.dumps(card), encoding="utf-8")

    # version 8 added the lexicon columns to every model's block shapes: older text
    # models (5-7) no longer compute the same features either
    for version in (4, 5, 6, 7):
        for use_dom in (False, True):
            with_card(version, use_dom, container=use_dom and version >= 6)
            with pytest.raises(ModelError, match="features version"):
                model_module.check_model_card(model_dir / "blocks.joblib")
    with_card(FEATURES_VERSION, False)
    model_module.check_model_card(model_dir / "blocks.joblib")
    with_card(FEATURES_VERSION, True, container=True)
    model_module.check_model_card(model_dir / "blocks.joblib")
    # the check of a process that only dispatches work (clean --workers N) says so too,
    # once, before any worker starts; and a future model format as well
    from classifier import Sieve

    with_card(FEATURES_VERSION + 1, False)
    with pytest.raises(ModelError, match="features version"):
        Sieve(model_dir, model="text").verify_models()
    with_card(FEATURES_VERSION, False)
    card["model_format"] = "sieve-block-model/2"
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="model format 'sieve-block-model/2'"):
        Sieve(model_dir, model="text").verify_models()


def test_training_needs_two_labels(labelled_documents: list) -> None:
    only_nav = [
        Document(id=d.id, blocks=d.blocks, publisher=d.publisher,
                 gold=tuple({"label": "navigation"} for _ in d.blocks))
        for d in labelled_documents[:4]
    ]
    with pytest.raises(ModelError, match="two labels"):
        fit_block_model(only_nav, params=ModelParams(n_char_features=2**8, n_word_features=2**8, trees=2))


# -- smooth ------------------------------------------------------------------------------

STRONG, WEAK = model_module.STRONG_CONTENT, model_module.WEAK_CONTENT


def test_smooth_turns_a_weak_line_between_strong_content_into_content() -> None:
    strong = [STRONG + 0.1, (0.9 - STRONG) / 2, (0.9 - STRONG) / 2]
    middle = [WEAK + 0.05, 0.15, 0.8 - WEAK]  # navigation by argmax, but some content signal
    probs = np.array([strong, middle, strong])
    out = smooth(probs)
    assert int(np.argmax(out[1])) == 0
    assert out[1].sum() == pytest.approx(1.0) and (out[1] >= 0).all()
    assert out[1][2] / out[1][1] == pytest.approx(middle[2] / middle[1])  # the rest keeps its proportions
    assert np.array_equal(out[[0, 2]], probs[[0, 2]])
    assert np.array_equal(probs[1], middle)  # the input is not changed


@pytest.mark.parametrize(
    "rows",
    [
        # too little content signal in the middle block
        [[0.95, 0.03, 0.02], [WEAK - 0.05, 0.05, 1.0 - WEAK], [0.95, 0.03, 0.02]],
        # one neighbour is not strong content
        [[STRONG - 0.05, 0.05, 1.0 - STRONG], [WEAK + 0.1, 0.1, 0.8 - WEAK], [0.95, 0.03, 0.02]],
        # no neighbour on one side: first and last blocks are never changed
        [[WEAK + 0.1, 0.0, 0.9 - WEAK], [0.95, 0.03, 0.02]],
        # already content: nothing to do
        [[0.95, 0.03, 0.02], [0.5, 0.2, 0.3], [0.95, 0.03, 0.02]],
    ],
)
def test_smooth_leaves_blocks_alone_when_the_rule_does_not_apply(rows: list[list[float]]) -> None:
    probs = np.array(rows)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)  # the cases are real probability rows
    assert np.array_equal(smooth(probs), probs)


_prob_rows = hnp.arrays(np.float64, st.tuples(st.integers(0, 12), st.just(3)),
                        elements=st.floats(0.001, 1.0)).map(lambda a: a / a.sum(axis=1, keepdims=True))


@given(_prob_rows)
def test_smooth_keeps_probabilities_and_only_ever_adds_content(probs: np.ndarray) -> None:
    out = smooth(probs)
    assert out.shape == probs.shape
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
    assert (out >= 0).all()
    for i in range(len(probs)):
        if not np.array_equal(out[i], probs[i]):
            assert 0 < i < len(probs) - 1
            assert int(np.argmax(out[i])) == 0 and out[i][0] > probs[i][0]
            assert probs[i - 1][0] >= STRONG and probs[i + 1][0] >= STRONG and probs[i][0] >= WEAK


# -- drop_copies -----------------------------------------------------------------------------

CAPTION = "The mayor, left, speaks with residents outside the town hall on Monday morning."
COPIES_PAGE = f"""<html><body>
<div class="gallery"><div class="caption-full">{CAPTION}</div><div class="caption-short">{CAPTION}</div></div>
<article><p>The council voted on Monday to close the old bridge to traffic until the repairs are finished.</p>
<figure><img src="a.jpg"><figcaption>{CAPTION}</figcaption></figure>
<ul class="votes"><li>Vote for your favourite on the last page of this article please!</li>
<li>Vote for your favourite on the last page of this article please!</li></ul>
<p>Short line.</p><p>Short line.</p></article></body></html>"""


def test_drop_copies_keeps_one_copy_of_text_repeated_under_other_paths() -> None:
    blocks = html_to_blocks(COPIES_PAGE)
    texts = [b.text for b in blocks]
    assert texts.count(CAPTION) == 3
    probs = np.tile([0.7, 0.2, 0.1], (len(blocks), 1))
    probs[texts.index("Short line.")] = [0.2, 0.1, 0.7]
    figcaption = max(i for i, t in enumerate(texts) if t == CAPTION)
    probs[figcaption] = [0.9, 0.06, 0.04]  # the most confident copy is the one that stays
    out = drop_copies(probs, blocks)
    labels = out.argmax(axis=1)
    copies = [i for i, t in enumerate(texts) if t == CAPTION]
    assert [int(labels[i]) for i in copies] == [1, 1, 0]
    np.testing.assert_allclose(out[copies[0]], [0.2, 0.7, 0.1])  # content and the best other label swap
    # repeated list items share a path, short lines are no copies: untouched
    others = [i for i in range(len(blocks)) if i not in copies]
    assert np.array_equal(out[others], probs[others])
    assert np.array_equal(probs[figcaption], [0.9, 0.06, 0.04])  # the input is not changed
    # blocks without a path (text documents) are never copies
    plain = [Block(b.text) for b in blocks]
    assert np.array_equal(drop_copies(probs, plain), probs)


# -- evaluate --------------------------------------------------------------------------------


def test_evaluate_counts_against_gold_and_skips_unlabelled_blocks() -> None:
    gold_labels = ["content", "content", "navigation", "boilerplate", None]
    predicted_labels = [Label.CONTENT, Label.NAVIGATION, Label.NAVIGATION, Label.BOILERPLATE, Label.CONTENT]
    texts = [f"block {i}" for i in range(5)]
    gold = Document.from_dict({"id": "g", "blocks": [{"text": t, "label": g} for t, g in zip(texts, gold_labels)]})
    predicted = Document(id="g", blocks=tuple(Block(t, label=p) for t, p in zip(texts, predicted_labels)))
    m = evaluate([predicted], [gold])
    assert m["blocks"] == 4
    assert m["per_label"]["content"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert m["per_label"]["navigation"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3,
                                                          "support": 1})
    assert m["per_label"]["boilerplate"]["f1"] == 1.0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert m["accuracy"] == pytest.approx(3 / 4)
    assert m["confusion"]["content"]["navigation"] == 1 and m["confusion"]["content"]["content"] == 1
    assert m["content_vs_rest"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3})
    # labels given by their names (as a user building documents by hand does) count the same
    named = Document(id="g", blocks=tuple(Block(t, label=str(p)) for t, p in zip(texts, predicted_labels)))  # type: ignore[arg-type]
    assert evaluate([named], [gold]) == m
    wrong = Document(id="g", blocks=tuple(Block(t, label="contnet") for t in texts))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="contnet"):
        evaluate([wrong], [gold])


def test_evaluate_refuses_mismatched_documents() -> None:
    a = Document.from_dict({"id": "a", "blocks": [{"text": "x", "label": "content"}]})
    b = Document.from_texts(["x", "y"], id="a")
    with pytest.raises(ValueError):
        evaluate([b], [a])


def test_model_files_are_not_left_half_written(tiny_model_dir: Path) -> None:
    assert not list(tiny_model_dir.glob("*.part"))


# -- the trees read binned features: the same answers as predict_proba ----------------------------


def test_a_loaded_model_labels_as_the_trained_one_and_as_scikit_learn(tiny_model_dir: Path,
                                                                     labelled_documents: list) -> None:
    # the trained model holds scikit-learn's estimators; its file is read into
    # Sieve's stand-ins (``trees``): the same probabilities, bit for bit, and the
    # estimators' own predict_proba agrees
    from conftest import TINY_PARAMS
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import SGDClassifier

    trained = model_module.fit_block_model(labelled_documents, params=TINY_PARAMS)
    assert isinstance(trained.block_pass_, SGDClassifier)
    assert isinstance(trained.context_pass_, HistGradientBoostingClassifier)
    model_module.save_model(trained, tiny_model_dir.parent / "again")
    loaded = load_model(tiny_model_dir.parent / "again")
    assert not isinstance(loaded.block_pass_, SGDClassifier)
    assert not isinstance(loaded.context_pass_, HistGradientBoostingClassifier)
    got, expected = loaded.predict_proba(labelled_documents), trained.predict_proba(labelled_documents)
    assert sum(len(p) for p in got) > 100
    assert all(a.tobytes() == b.tobytes() for a, b in zip(got, expected))
    feats = trained.featurize(labelled_documents)
    p1 = model_module._expand(trained.block_pass_.predict_proba(feats.text.tocsr()), trained.block_pass_.classes_)
    assert model_module._block_proba(loaded.block_pass_, feats).tobytes() == p1.tobytes()
    x = model_module._context_matrix(feats, p1)
    np.testing.assert_allclose(model_module.tree_proba(loaded.context_pass_, x),
                               trained.context_pass_.predict_proba(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("classes", [2, 3])
def test_tree_proba_equals_predict_proba_with_missing_values(classes: int) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(7)
    x = rng.normal(size=(600, 6))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int) + (classes == 3) * (x[:, 3] > 1).astype(int)
    x[rng.random(x.shape) < 0.05] = np.nan
    clf = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(x, y)
    new = rng.normal(size=(300, 6)) * 3  # values outside the training range too
    new[rng.random(new.shape) < 0.1] = np.nan
    np.testing.assert_allclose(model_module.tree_proba(clf, new), clf.predict_proba(new), rtol=0, atol=1e-12)
    assert model_module.tree_proba(clf, new[:0]).shape == (0, classes)


def test_content_recalls_count_unlabelled_predictions_as_not_content() -> None:
    gold = Document("d", tuple(Block(t) for t in "abcde"),
                    gold=tuple({"label": v} for v in ("content", "content", "navigation", "boilerplate", "navigation")))
    labels = (Label.CONTENT, Label.NAVIGATION, Label.NAVIGATION, Label.CONTENT, None)
    pred = Document("d", tuple(Block(t, label=lab) for t, lab in zip("abcde", labels)))
    assert model_module.content_recalls([pred], [gold]) == (0.5, 2 / 3)


def test_the_pages_headline_found_by_its_title_is_content() -> None:
    # the dev data leaves headlines unlabelled: the HTML model called the <h1> navigation
    from classifier.model import headline_as_content

    blocks = (Block("Home", tag="a"), Block("Harbour keeps its winter ferry", tag="h1"),
              Block("The council voted on Tuesday to keep the ferry running.", tag="p"),
              Block("Harbour keeps its winter ferry", tag="h2"))
    probs = np.array([[0.1, 0.1, 0.8], [0.05, 0.05, 0.9], [0.9, 0.05, 0.05], [0.1, 0.1, 0.8]])
    out = headline_as_content(probs, blocks, "Harbour keeps its winter ferry | The Harbour Times")
    assert [int(np.argmax(p)) for p in out] == [2, 0, 0, 2]  # the first matching h1 only
    assert np.allclose(out.sum(axis=1), 1.0) and out is not probs and int(np.argmax(probs[1])) == 2
    assert headline_as_content(probs, blocks, "Another story altogether") is probs
    assert headline_as_content(probs, blocks, None) is probs
    short = (Block("News", tag="h1"),)  # a section name, not a headline
    assert headline_as_content(np.array([[0.1, 0.1, 0.8]]), short, "News | The Harbour Times")[0][2] == 0.8
    # a Chinese headline of 8 characters is as long as an English one of 24 letters (a user's page lost it);
    # section names of two or four characters ("新闻", news; "国际新闻"; "ニュース") are still no headline
    for title, wanted in (("茶农今年迎来丰收", 0), ("新闻", 2), ("国际新闻", 2), ("ニュース", 2)):
        out = headline_as_content(np.array([[0.1, 0.1, 0.8]]), (Block(title, tag="h1"),), f"{title} | 日报")
        assert int(np.argmax(out[0])) == wanted, title


def test_a_site_name_in_an_h1_logo_is_not_the_headline() -> None:
    """"Site | Headline" and "Site » Blog » Headline" titles: the block that matches the
    most of the title is the headline, not the logo's <h1> with the site's name; and
    a headline the model was all but sure was navigation becomes a valid distribution."""
    from classifier.model import headline_as_content, headline_index

    logo = Block("Example Daily News", tag="h1", link_chars=16)  # a link home
    blocks = (logo, Block("World", tag="a"), Block("Turkey and Russia agree grain deal", tag="h1"),
              Block("The two governments signed the agreement in Istanbul on Friday.", tag="p"))
    for title in ("Example Daily News | Turkey and Russia agree grain deal",
                  "Example Daily News » World » Turkey and Russia agree grain deal",
                  "Turkey and Russia agree grain deal - Example Daily News"):
        assert headline_index(blocks, title) == 2, title
    assert headline_index(blocks, "Example Daily News") == 0  # the page's title is the site's name: so be it
    # a site's name longer than the headline, at the end of the title: the headline still
    gazette = (Block("Ferry strike ends", tag="h1"), Block("The crews went back to work on Monday.", tag="p"),
               Block("The Northern Harbour Gazette", tag="h2"))
    assert headline_index(gazette, "Ferry strike ends | The Northern Harbour Gazette") == 0
    # a page's logo is in its header (not an article's header): the article's h1 is the headline
    page = html_to_blocks("<html><body><header><h1>Example Daily News</h1></header><article><header>"
                          "<h1>Turkey and Russia agree grain deal</h1></header><p>The two governments signed the "
                          "agreement in Istanbul on Friday.</p></article></body></html>")
    assert page[headline_index(page, "Example Daily News | Turkey and Russia agree grain deal")].text == \
        "Turkey and Russia agree grain deal"
    sure = np.array([[0.0, 0.0, 1.0]] * 4)
    out = headline_as_content(sure, blocks, "Example Daily News | Turkey and Russia agree grain deal")
    assert [int(np.argmax(p)) for p in out] == [2, 2, 0, 2]
    assert (out >= 0).all() and (out <= 1).all() and np.allclose(out.sum(axis=1), 1.0)


def test_an_h1_worded_much_as_the_title_is_the_headline_when_no_heading_is_the_title() -> None:
    """An SEO title over the headline (a crawl user's page): no heading is the title, its
    beginning or its end, so the <h1> was no headline and came out navigation."""
    from classifier.model import headline_as_content, headline_index

    blocks = (Block("Highland News", tag="h2"), Block("New distillery on Skye to create 60 jobs", tag="h1"),
              Block("The company said building would start in the spring.", tag="p"),
              Block("Whisky exports rise again", tag="h2"))
    title = "Distillery to create 60 jobs | Highland News Online"
    assert headline_index(blocks, title) == 1
    out = headline_as_content(np.array([[0.1, 0.1, 0.8]] * 4), blocks, title)
    assert [int(np.argmax(p)) for p in out] == [2, 0, 2, 2]
    # an <h1> sharing less than half its words with the title, or an <h2>, or the site's logo: none
    assert headline_index(blocks, "Whisky prices fall | Highland News Online") is None
    assert headline_index(blocks[2:], title) is None
    logo = (Block("Skye to create 60 jobs", tag="h1", link_chars=22), Block("Text of the story here.", tag="p"))
    assert headline_index(logo, "Distillery on Skye to create 60 jobs now | Site") is None
    # of two <h1>s, the one sharing the larger share of its words
    two = (Block("Distillery jobs and other island news", tag="h1"), blocks[1])
    assert headline_index(two, title) == 1


def test_a_blogger_post_title_in_an_h3_is_the_headline_not_the_blogs_name() -> None:
    """Blogger titles a post's page "Blog: Post", with the blog's name in an <h1> (which
    begins the title) and the post's title in an <h3>: the <h1> was taken for the
    headline (made content), the post's title was not looked at."""
    from classifier.model import headline_index

    page = html_to_blocks("<html><body><div class='header'><h1><a href='/'>Gardening</a></h1></div>"
                          "<h2 class='date-header'>Sunday, 12 October 2014</h2><div class='post'>"
                          "<h3 class='post-title'>Planting garlic before the first frost</h3><div class='post-body'>"
                          "<p>Every autumn I promise myself that I will get the garlic in early.</p></div></div>"
                          "</body></html>")
    found = headline_index(page, "Gardening: Planting garlic before the first frost")
    assert found is not None and page[found].text == "Planting garlic before the first frost"
    # "Headline : Site" (a spaced colon) is a separator as before: the heading that begins the title
    recipe = (Block("Muffin recipes here", tag="h1"), Block("A basic muffin recipe", tag="h2"))
    assert headline_index(recipe, "A basic muffin recipe : Muffin recipes here") == 1
    # without the blog's name on the page, an <h3> is no headline
    assert headline_index(page[1:], "Gardening: Planting garlic before the first frost") is None


def test_a_missing_label_is_warned_about_once_not_once_per_fold(labelled_documents: list,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    from dataclasses import replace as dc_replace

    from conftest import TINY_PARAMS

    no_boiler = [dc_replace(d, gold=tuple({**g, "label": "navigation"} if g.get("label") == "boilerplate" else g
                                          for g in d.gold)) for d in labelled_documents]
    with caplog.at_level("WARNING", logger="classifier.model"):
        model_module.cross_validate(no_boiler, params=TINY_PARAMS, folds=3)
    assert sum("no blocks labelled boilerplate" in r.getMessage() for r in caplog.records) == 1


def test_each_training_run_warns_of_a_missing_label_again(labelled_documents: list,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    from dataclasses import replace as dc_replace

    from conftest import TINY_PARAMS

    no_boiler = [dc_replace(d, gold=tuple({**g, "label": "navigation"} if g.get("label") == "boilerplate" else g
                                          for g in d.gold)) for d in labelled_documents]
    for _ in range(2):  # once a run, not once a process
        caplog.clear()
        with caplog.at_level("WARNING", logger="classifier.model"):
            model_module.fit_block_model(no_boiler, params=TINY_PARAMS)
        assert sum("no blocks labelled boilerplate" in r.getMessage() for r in caplog.records) == 1


def test_a_model_file_in_a_sub_folder_loads(copy_model_dir) -> None:
    import shutil

    folder = copy_model_dir()
    (folder / "sub").mkdir()
    for name in ("blocks.joblib", "blocks.json"):
        shutil.copyfile(folder / name, folder / "sub" / name)
    card = json.loads((folder / "sub" / "blocks.json").read_text())
    assert card["file"] == "blocks.joblib"
    assert model_module.load_model(folder, "sub/blocks.joblib") is not None


def test_refitting_a_model_of_an_earlier_features_version_trains_on_this_version(
        labelled_documents: list, lid) -> None:
    # fit featurized with the model's old version and then stamped it with this one: the
    # model learned shapes that labelling no longer computes (a review)
    from conftest import TINY_PARAMS

    # a Chinese and a Hindi document: versions 9 and 10 count their words and commas apart
    extra = [lid.annotate_blocks(Document.from_dict({"id": f"x{i}", "publisher": "cjk.example", "blocks": [
        {"text": text, "label": "content"}, {"text": "首页 | 新闻 | 体育", "label": "navigation"}]}))
        for i, text in enumerate(["北京时间周二，市政府宣布，新的地铁线路将于明年年初开通，沿线居民对此表示欢迎。",
                                  "प्रधानमंत्री ने रविवार को दिल्ली में नई मेट्रो लाइन का उद्घाटन किया।"])]
    docs = [*labelled_documents, *extra]
    old = BlockModel(TINY_PARAMS, features_version_=9).fit(docs)
    new = BlockModel(TINY_PARAMS).fit(docs)
    assert old.features_version_ == new.features_version_
    assert all(np.array_equal(a, b) for a, b in zip(old.predict_proba(docs), new.predict_proba(docs)))


def test_block_model_says_when_the_blocks_carry_no_language(tiny_model, lid, caplog) -> None:
    # BlockModel.label_many on documents the language layer had not annotated read every
    # block as languageless, and labelled some blocks unlike Sieve, without a word (a review)
    doc = Document.from_texts(["Residents of Port Aldwin voted on Tuesday to keep the ferry.", "Home | News"])
    with caplog.at_level("WARNING", logger="classifier.model"):
        tiny_model.label_many([lid.annotate_blocks(doc)])
        assert not caplog.records
        tiny_model.label_many([doc])
    assert [r.getMessage() for r in caplog.records if "no block has a language" in r.getMessage()]


def test_fit_leaves_blank_blocks_out_as_labelling_does(labelled_documents: list) -> None:
    # `sieve train` dropped blocks of no visible text before fitting; the library's
    # fit_block_model learned from them as context, which labelling never shows
    from dataclasses import replace

    from conftest import TINY_PARAMS

    spaced = []
    for i, d in enumerate(labelled_documents):
        blocks, gold = [], []
        for j, (b, g) in enumerate(zip(d.blocks, d.gold)):
            blank = ["", "\u200b", " \u00ad ", "\ufeff"][(i + j) % 4]
            blocks += [b, Block(text=blank, lang=b.lang)]
            gold += [g, {"label": "navigation"} if j % 2 else {}]
        spaced.append(replace(d, blocks=tuple(blocks), gold=tuple(gold)))
    plain = fit_block_model(labelled_documents, params=TINY_PARAMS)
    with_blanks = fit_block_model(spaced, params=TINY_PARAMS)
    probe = labelled_documents[:6]
    for a, b in zip(plain.predict_proba(probe), with_blanks.predict_proba(probe)):
        assert np.array_equal(a, b)


def labels_as_the_whole_context_matrix(model: model_module.BlockModel, docs: list[Document]) -> None:
    """``predict_proba`` bins each document's dense features as they come and lets them
    go, and lets the n-grams go once pass 1 has read them (the memory of long pages):
    its probabilities are, bit for bit, those of the whole context matrix side by side
    walked by ``tree_proba``, and those of ``predict_proba`` given the features."""
    from dataclasses import replace

    whole = model.predict_proba(docs)
    feats = model.featurize(docs)
    given_features = model.predict_proba(docs, features=feats)
    assert len(whole) == len(given_features) == len(docs)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(whole, given_features))
    plain = replace(model, params=replace(model.params, smooth=False))  # pass 2's own probabilities
    assert plain.block_pass_ is not None and plain.context_pass_ is not None
    p1 = model_module._block_proba(plain.block_pass_, feats)
    p2 = model_module._expand(model_module.tree_proba(plain.context_pass_, model_module._context_matrix(feats, p1)),
                              plain.context_pass_.classes_)
    got = plain.predict_proba(docs)
    assert [len(p) for p in got] == [b - a for a, b in feats.bounds]
    assert all(p.tobytes() == p2[a:b].tobytes() for p, (a, b) in zip(got, feats.bounds))


def test_labelling_bins_each_documents_features_as_the_whole_matrix(tiny_model_dir: Path,
                                                                     labelled_documents: list) -> None:
    model = load_model(tiny_model_dir)
    ones = [Document(f"one{i}", (b,)) for i, b in enumerate(labelled_documents[3].blocks[:4])]
    docs = labelled_documents[:5] + ones + [Document("empty", ())] + labelled_documents[5:]
    assert sum(len(d.blocks) for d in docs) > 100
    labels_as_the_whole_context_matrix(model, docs)
    labels_as_the_whole_context_matrix(model, ones)
    labels_as_the_whole_context_matrix(model, labelled_documents[:1])
    assert [len(p) for p in model.predict_proba([Document("empty", ())])] == [0]


def test_labelling_lets_the_ngrams_and_each_block_of_dense_features_go(tiny_model_dir: Path,
                                                                         labelled_documents: list,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # a page of 6,000 blocks: its n-grams (2 MB) and dense features (10 MB) were held
    # together through pass 2, beside its context matrix; now pass 1 reads the n-grams
    # before the dense features are made, and a document's dense features are binned
    # a block of columns at a time, each let go before the next is made
    import weakref

    from classifier.features import document_features

    model = load_model(tiny_model_dir)
    monkeypatch.setattr(model_module.BlockModel, "featurize", None)  # not the whole batch's features at once
    monkeypatch.setattr(model_module, "COLUMN_BLOCK_ROWS", 2)  # every document as a long page's
    read: list[weakref.ref] = []
    given: list[weakref.ref] = []
    real_linear, real_columns = model_module.linear_proba, model_module.document_feature_columns

    def linear_proba(clf: object, x: object) -> np.ndarray:
        read.append(weakref.ref(x))
        return real_linear(clf, x)

    def document_feature_columns(blocks: tuple, sink: Callable[[int, np.ndarray], None], *args: object,
                                 **kwargs: object) -> None:
        assert read and all(r() is None for r in read), "the n-grams are held while the dense features are made"
        width = document_features(blocks[:2], *args, **kwargs).shape[1]  # type: ignore[arg-type]
        starts: list[int] = []

        def checking(start: int, values: np.ndarray) -> None:
            assert all(r() is None for r in given), "an earlier block of dense features is still held"
            assert values.shape == (len(blocks), values.shape[1]) and values.shape[1] < width / 4
            given.append(weakref.ref(values))
            starts.append(start)
            sink(start, values)

        real_columns(blocks, checking, *args, **kwargs)  # type: ignore[arg-type]
        assert starts[0] == 0 and len(starts) > 10

    monkeypatch.setattr(model_module, "linear_proba", linear_proba)
    monkeypatch.setattr(model_module, "document_feature_columns", document_feature_columns)
    probs = model.predict_proba(labelled_documents)
    assert len(given) > 10 * sum(len(d.blocks) > 1 for d in labelled_documents) > 50 and len(read) == 1
    assert len(probs) == len(labelled_documents)


def test_documents_long_or_short_by_column_blocks_or_at_once_label_the_same(tiny_model_dir: Path,
                                                                             labelled_documents: list,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model(tiny_model_dir)
    calls: list[int] = []
    real_columns = model_module.document_feature_columns

    def document_feature_columns(blocks: tuple, *args: object, **kwargs: object) -> None:
        calls.append(len(blocks))
        real_columns(blocks, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(model_module, "document_feature_columns", document_feature_columns)
    sizes = sorted(len(d.blocks) for d in labelled_documents)
    runs = []
    for rows in (10**9, sizes[len(sizes) // 2], 2):
        monkeypatch.setattr(model_module, "COLUMN_BLOCK_ROWS", rows)
        calls.clear()
        runs.append(model.predict_proba(labelled_documents))
        assert sorted(calls) == [n for n in sizes if n >= max(rows, 2)]
    assert all(a.tobytes() == b.tobytes() for run in runs[1:] for a, b in zip(run, runs[0]))
    labels_as_the_whole_context_matrix(model, labelled_documents)  # and so with column blocks

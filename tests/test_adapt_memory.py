"""The adapter's memory of labelled texts: per publisher and per role on the page,
and a label seen once does not override what the model is sure of."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from classifier.adapt import ADAPTER_FILE, fit_adapter, load_adapter, merge_repeated_pages, persons_labels, save_adapter
from classifier.cli import cli
from classifier.document import Document, labelled_block
from classifier.errors import ModelError
from classifier.html import html_to_blocks

STORIES = ["Island ferry to run all winter after council vote", "Storm damage to harbour wall worse than feared",
           "Old library reopens as community hub", "New bus timetable leaves villages without evening service",
           "School garden wins county prize", "Lighthouse keeper retires after forty years",
           "Market square to close to cars on Saturdays", "Choir takes top award at festival"]
UNSURE = [0.34, 0.33, 0.33]


def _page(i: int) -> Document:
    """Story ``i`` of a local paper: its headline is the page's h1, and a link in the
    related stories of every other page."""
    related = "".join(f'<li><a href="/news/{j}">{t}</a></li>' for j, t in enumerate(STORIES) if j != i)
    html = (f'<html><body><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li></ul></nav>'
            f'<main><article class="story"><h1>{STORIES[i]}</h1><p>Story {i} of the paper: what happened in the '
            f'town this week, told at length for the readers of page {i}.</p></article>'
            f'<aside class="related"><h3>Related stories</h3><ul>{related}</ul></aside></main></body></html>')
    return Document(f"story-{i}", tuple(html_to_blocks(html)), url=f"https://www.courier.test/news/{i}")


def _labelled(doc: Document, labels: dict[str, str], publisher: str | None = None) -> Document:
    """``doc`` with the blocks whose text is in ``labels`` labelled (the others null),
    as `sieve review` writes a page where one block was answered."""
    return Document.from_dict({"id": doc.id, "url": doc.url, "publisher": publisher,
                               "blocks": [labelled_block(b, labels.get(b.text)) for b in doc.blocks]})


def _flat(doc: Document, row: list[float] = UNSURE) -> np.ndarray:
    return np.array([row] * len(doc.blocks))


def _at(doc: Document, text: str) -> int:
    (k,) = [i for i, b in enumerate(doc.blocks) if b.text == text]
    return k


def test_a_reviewed_headline_does_not_label_the_links_to_it() -> None:
    headline = STORIES[0]
    reviewed = _labelled(_page(0), {headline: "content"})  # one answer: the h1 of its own page
    adapter = fit_adapter([reviewed], [_flat(reviewed)], base_model="html")
    assert adapter.text_model is None and adapter.path_model is None  # one label: only the memory
    for i in range(1, len(STORIES)):  # the same text as a related-stories link on every other page
        page = _page(i)
        probs = _flat(page, [0.1, 0.2, 0.7])
        out = adapter.adjust(page, probs, "html")
        assert np.array_equal(out[_at(page, headline)], probs[_at(page, headline)])
    # on its own page, in its own role, the answer counts: the unsure model is tipped
    page = _page(0)
    out = adapter.adjust(page, _flat(page, [0.2, 0.2, 0.6]), "html")
    assert int(np.argmax(out[_at(page, headline)])) == 0


def test_a_label_seen_once_does_not_override_a_sure_model_but_several_pages_do() -> None:
    headline = STORIES[0]
    once = _labelled(_page(1), {headline: "navigation"})  # a related-stories link, labelled once
    adapter = fit_adapter([once], [_flat(once)], base_model="html")
    page = _page(2)
    sure = _flat(page, [0.995, 0.003, 0.002])
    assert int(np.argmax(adapter.adjust(page, sure, "html")[_at(page, headline)])) == 0
    unsure = _flat(page, [0.5, 0.1, 0.4])
    assert int(np.argmax(adapter.adjust(page, unsure, "html")[_at(page, headline)])) == 2
    # the same text, role and label on several pages: consistent evidence, it is applied
    several = [_labelled(_page(i), {headline: "navigation"}) for i in (1, 3, 4)]
    adapter = fit_adapter(several, [_flat(d) for d in several], base_model="html")
    assert adapter.adjust(page, sure, "html")[_at(page, headline)][2] >= 0.9
    # a text labelled two ways in one role is not remembered
    mixed = several + [_labelled(_page(5), {headline: "content"})]
    adapter = fit_adapter(mixed, [_flat(d) for d in mixed], base_model="html")
    assert not adapter.memory


def test_the_memory_is_per_publisher() -> None:
    text = STORIES[0]  # a related-stories link: navigation on one site, labelled content on another
    a = [_labelled(_page(i), {text: "navigation"}, publisher="a.test") for i in (1, 2, 3)]
    b = [_labelled(_page(i), {text: "content"}, publisher="b.test") for i in (4, 5)]
    adapter = fit_adapter(a + b, [_flat(d) for d in a + b], base_model="html")
    assert adapter.publishers == {"a.test", "b.test"} and len(adapter.memory) == 2
    for pub, label in (("a.test", 2), ("b.test", 0)):
        page = _labelled(_page(6), {}, publisher=pub)
        out = adapter.adjust(page, _flat(page), "html")[_at(page, text)]
        assert int(np.argmax(out)) == label and out[label] >= 0.9


def test_an_adapter_of_the_first_format_is_refused_with_the_reason(tmp_path: Path) -> None:
    doc = _labelled(_page(0), {STORIES[0]: "content", STORIES[1]: "navigation"})
    path = save_adapter(fit_adapter([doc], [_flat(doc)], base_model="html"), tmp_path / ADAPTER_FILE)
    assert load_adapter(path).memory
    card = json.loads(path.with_suffix(".json").read_text())
    card["model_format"] = "sieve-publisher-adapter/1"
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"earlier Sieve.*adapt again with `sieve train --base`"):
        load_adapter(path)


def test_cli_one_review_answer_labels_only_that_block(runner: CliRunner, tiny_model_dir: Path,
                                                      tmp_path: Path) -> None:
    headline = STORIES[0]
    corrections = tmp_path / "corr.jsonl"  # as `sieve review` writes one answer: the h1 of story 0 is content
    corrections.write_text(json.dumps({"id": "p0", "url": _page(0).url, "blocks": [
        labelled_block(b, "content" if b.text == headline else None) for b in _page(0).blocks]}) + "\n")
    pages = tmp_path / "pages.jsonl"
    pages.write_text("".join(json.dumps({"id": f"p{i}", "url": _page(i).url,
                                         "blocks": [labelled_block(b, None) for b in _page(i).blocks]}) + "\n"
                             for i in range(len(STORIES))))
    out = tmp_path / "adapted"
    trained = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(corrections), "-o", str(out)])
    assert trained.exit_code == 0, trained.stderr
    base = runner.invoke(cli, ["score", str(pages), "--model-dir", str(tiny_model_dir)])
    adapted = runner.invoke(cli, ["score", str(pages), "--model-dir", str(out)])
    assert adapted.exit_code == 0, adapted.stderr
    for i, (a, b) in enumerate(zip(base.stdout.splitlines(), adapted.stdout.splitlines(), strict=True)):
        for x, y in zip(json.loads(a)["blocks"], json.loads(b)["blocks"], strict=True):
            if x["text"] == headline and i > 0:  # the related-stories links: as the model said
                assert y["scores"] == x["scores"]


def test_a_text_labelled_boilerplate_on_some_pages_and_navigation_on_others_is_remembered_as_not_content() -> None:
    # `sieve align` labels a block missing from the clean text boilerplate or navigation as the base
    # model guesses on each page: a syndication notice came out boilerplate on most pages and
    # navigation on some, and the adapter remembered nothing of it (it stayed content at 0.92)
    text = STORIES[0]
    pages = [_labelled(_page(i), {text: "boilerplate" if i < 4 else "navigation"}) for i in range(1, 6)]
    adapter = fit_adapter(pages, [_flat(d) for d in pages], base_model="html")
    page = _page(6)
    out = adapter.adjust(page, _flat(page, [0.95, 0.03, 0.02]), "html")[_at(page, text)]
    assert out[0] < 0.1 and int(np.argmax(out)) == 1  # the label given on most pages
    # a reviewer's answer is the block's label over align's guesses on other pages
    seventh = _page(7)
    reviewed = Document.from_dict({"id": seventh.id, "url": seventh.url, "reviewed": True,
                                   "blocks": [labelled_block(b, "navigation" if b.text == text else None)
                                              for b in seventh.blocks]})
    adapter = fit_adapter(pages + [reviewed], [_flat(d) for d in pages + [reviewed]], base_model="html")
    out = adapter.adjust(page, _flat(page, [0.95, 0.03, 0.02]), "html")[_at(page, text)]
    assert int(np.argmax(out)) == 2 and out[2] >= 0.9
    # as many pages of each: not content all the same (boilerplate, the first of the two)
    even = [_labelled(_page(i), {text: "boilerplate" if i < 3 else "navigation"}) for i in range(1, 5)]
    adapter = fit_adapter(even, [_flat(d) for d in even], base_model="html")
    out = adapter.adjust(page, _flat(page, [0.95, 0.03, 0.02]), "html")[_at(page, text)]
    assert out[0] < 0.1 and int(np.argmax(out)) == 1
    # content against the rest is still a disagreement: nothing is remembered
    mixed = pages + [_labelled(_page(7), {text: "content"})]
    assert not fit_adapter(mixed, [_flat(d) for d in mixed], base_model="html").memory


def test_a_reviewed_label_wins_over_align_on_the_other_pages_also_when_merged_with_them() -> None:
    # align labelled the newsletter heading navigation on every page; the reviewer answered
    # "boilerplate" on page 1, and on page 2 labelled another block only: page 2's merged
    # record still holds align's "navigation" for the heading, which no person gave
    text, other = STORIES[0], STORIES[1]

    def record(i: int, labels: dict[str, str], **extra: object) -> Document:
        page = _page(i)
        return Document.from_dict({"id": page.id, "url": page.url, **extra,
                                   "blocks": [labelled_block(b, labels.get(b.text)) for b in page.blocks]})

    aligned = [record(i, {text: "navigation", other: "navigation"}, align={"coverage": 1.0}) for i in range(1, 6)]
    corrections = [record(1, {text: "boilerplate"}, reviewed=True), record(2, {other: "navigation"}, reviewed=True)]
    docs, merged = merge_repeated_pages(aligned + corrections)
    assert merged == 2
    adapter = fit_adapter(docs, [_flat(d) for d in docs], base_model="html")
    page = _page(6)
    out = adapter.adjust(page, _flat(page), "html")[_at(page, text)]
    assert int(np.argmax(out)) == 1 and out[1] >= 0.9


def test_a_page_given_by_align_and_two_review_files_keeps_align_labels_as_align() -> None:
    # two `sieve review` runs with their own -o each answered one block of a page align labelled:
    # the page merged from the first two is marked reviewed, and merging the third took every
    # label it held, align's too, for a person's (the memory and train's caveat trust those)
    text, other = STORIES[0], STORIES[1]

    def record(labels: dict[str, str], **extra: object) -> Document:
        page = _page(1)
        return Document.from_dict({"id": page.id, "url": page.url, **extra,
                                   "blocks": [labelled_block(b, labels.get(b.text)) for b in page.blocks]})

    aligned = record({text: "navigation", other: "navigation", "Home": "navigation"}, align={"coverage": 1.0})
    first, second = record({text: "boilerplate"}, reviewed=True), record({other: "boilerplate"}, reviewed=True)
    for order in ([aligned, first, second], [first, aligned, second], [aligned, first, aligned],
                  [first, second, aligned]):
        (doc,), _ = merge_repeated_pages(order)
        persons = {b.text: p for b, g, p in zip(doc.blocks, doc.gold, persons_labels(doc)) if g.get("label")}
        assert persons["Home"] is False  # align's, in every order
        assert persons[text] is True
        assert persons[other] is any(o is second for o in order)  # align's when no review file answered it

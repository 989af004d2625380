"""Template memory on a publisher's web pages: a block's role on the page, merging
shard memories, and what `sieve templates` says when it learns nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from classifier import Sieve
from classifier.cli import cli
from classifier.document import Block, Document, labelled_block
from classifier.errors import ModelError
from classifier.html import html_to_blocks
from classifier.templates import FORMAT, TemplateMemory, block_role

PUB = "courier.test"
STORIES = [
    ("Island ferry to run all winter after council vote",
     "Councillors voted by nine to four to keep the island ferry running through the winter months.",
     "The operator will add a second crossing on Fridays while the harbour repairs are finished."),
    ("Storm damage to harbour wall worse than feared",
     "Engineers who inspected the harbour wall after the storm found cracks along most of its length.",
     "Fishing boats have been moved to the inner basin until the repairs can begin in the spring."),
    ("Old library reopens as community hub",
     "The old library on Church Street opened its doors again on Saturday after two years of building work.",
     "Volunteers will run a café, a repair shop and homework clubs in the rooms upstairs."),
    ("New bus timetable leaves villages without evening service",
     "Villagers along the coast road say the new timetable leaves them without a bus after six in the evening.",
     "A petition calling for at least one late bus gathered more than a thousand signatures in a week."),
    ("School garden wins county prize",
     "Pupils at the primary school grew enough vegetables this year to supply the school kitchen twice a week.",
     "The judges praised the pond the children dug themselves and the hedge planted along the fence."),
    ("Lighthouse keeper retires after forty years",
     "The last keeper of the point lighthouse climbed its spiral stairs for the final time on Tuesday.",
     "He plans to write a book about the ships he watched pass the headland through four decades."),
    ("Market square to close to cars on Saturdays",
     "From next month the market square will be closed to traffic every Saturday morning until two.",
     "Traders hope the change brings more families into the town centre on market days."),
    ("Choir takes top award at festival",
     "The town choir won the festival's main award with a programme of sea shanties and hymns.",
     "Its conductor said the singers had rehearsed twice a week since the start of the year."),
]
MENU = ["Home", "News", "Sport", "Contact"]
FOOTER = "© 2024 Courier Media Ltd. All rights reserved."


def _html(i: int) -> str:
    """Story ``i``: its headline is the page's h1, and a link in the other pages' related stories."""
    title, *paras = STORIES[i]
    menu = "".join(f'<li><a href="/{m.lower()}">{m}</a></li>' for m in MENU)
    related = "".join(f'<li><a href="/news/{j}">{t}</a></li>' for j, (t, *_) in enumerate(STORIES) if j != i)
    return (f'<html><body><header><nav class="main-menu"><ul>{menu}</ul></nav></header>'
            f'<main><article class="story"><h1>{title}</h1>{"".join(f"<p>{p}</p>" for p in paras)}</article>'
            f'<aside class="related"><h3>Related stories</h3><ul>{related}</ul></aside></main>'
            f"<footer><p>{FOOTER}</p></footer></body></html>")


def _page(i: int) -> Document:
    return Document(f"story-{i}", tuple(html_to_blocks(_html(i))), url=f"https://www.{PUB}/news/{i}")


def _record(i: int) -> dict:
    """Page ``i`` as labelled JSONL (`sieve align` writes this: tag, path and DOM facts kept)."""
    return {"id": f"story-{i}", "url": f"https://www.{PUB}/news/{i}",
            "blocks": [labelled_block(b, None) for b in _page(i).blocks]}


def _where(doc: Document, text: str) -> list[int]:
    return [k for k, b in enumerate(doc.blocks) if b.text == text]


def test_a_headline_linked_from_the_other_pages_is_no_template_on_its_own_page() -> None:
    pages = [_page(i) for i in range(len(STORIES))]
    memory = TemplateMemory.learn(pages)
    headline = STORIES[0][0]
    page = pages[0]
    (h1,) = _where(page, headline)
    assert page.blocks[h1].tag == "h1"
    for content_p in (0.92, 0.6):  # confident or not: seen as a heading on one page only
        probs = np.array([[0.6, 0.1, 0.3]] * len(page.blocks))
        probs[h1] = [content_p, 0.03, 1 - content_p - 0.03]
        out = memory.adjust(page, probs)
        assert np.array_equal(out[h1], probs[h1])
        # the menu, the footer and the links to the other stories are still templates
        for text in (MENU[0], FOOTER, STORIES[3][0]):
            assert out[_where(page, text)[0]][0] <= 0.05
    # the same headline as a related link on another page is one (seen as a link on 7 pages)
    other = pages[3]
    (link,) = _where(other, headline)
    assert block_role(other.blocks[link]) != block_role(page.blocks[h1])
    probs = np.array([[0.6, 0.1, 0.3]] * len(other.blocks))
    assert memory.adjust(other, probs)[link][0] <= 0.05


def test_roles_read_the_same_from_the_page_and_from_its_labelled_jsonl() -> None:
    page = _page(2)
    again = Document.from_dict(json.loads(json.dumps(_record(2))))
    assert [block_role(b) for b in page.blocks] == [block_role(b) for b in again.blocks]
    assert block_role(Block("Home")) == ""  # plain text: the record tells no role
    # a memory learned from the pages applies to their JSONL, and the other way round
    from_pages = TemplateMemory.learn([_page(i) for i in range(len(STORIES))])
    from_jsonl = TemplateMemory.learn([Document.from_dict(_record(i)) for i in range(len(STORIES))])
    assert from_pages.publishers == from_jsonl.publishers


def test_a_text_seen_in_several_roles_is_no_template_for_a_block_of_unknown_role() -> None:
    memory = TemplateMemory.learn([_page(i) for i in range(len(STORIES))])
    texts = [b.text for b in _page(0).blocks]
    plain = Document.from_texts(texts, id="as-text", url=f"https://{PUB}/news/0")
    out = memory.adjust(plain, np.array([[0.6, 0.1, 0.3]] * len(texts)))
    assert out[texts.index(STORIES[0][0])][0] == 0.6  # a heading here, a link there: which is this one?
    assert out[texts.index(MENU[1])][0] <= 0.05  # a menu link on every page: a template whatever its role


def test_a_memory_of_the_first_format_is_refused_with_the_reason(tmp_path: Path) -> None:
    assert FORMAT != "sieve-templates/1"
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": "sieve-templates/1", "min_pages": 3, "min_share": 0.2,
                               "publishers": {PUB: {"pages": 8, "blocks": {"0123456789abcdef": {
                                   "pages": 8, "text": "Home"}}}}}))
    with pytest.raises(ModelError, match="earlier Sieve.*learn it again"):
        TemplateMemory.load(old)


def test_cli_templates_do_not_turn_a_headline_into_navigation(runner: CliRunner, tiny_model_dir: Path,
                                                              tmp_path: Path) -> None:
    data = tmp_path / "labelled.jsonl"
    data.write_text("".join(json.dumps(_record(i)) + "\n" for i in range(len(STORIES))))
    memory = tmp_path / "templates.json"
    learned = runner.invoke(cli, ["templates", "learn", str(data), "-o", str(memory)])
    assert learned.exit_code == 0, learned.stderr
    score = ["score", str(data), "--model-dir", str(tiny_model_dir), "--model", "text"]
    plain = [json.loads(line) for line in runner.invoke(cli, score).stdout.splitlines()]
    with_memory = [json.loads(line) for line in runner.invoke(cli, [*score, "--templates", str(memory)]).stdout
                   .splitlines()]
    for i, (a, b) in enumerate(zip(plain, with_memory, strict=True)):
        (h1,) = [k for k, blk in enumerate(a["blocks"]) if blk["text"] == STORIES[i][0]]
        assert b["blocks"][h1] == a["blocks"][h1]
        links = [k for k, blk in enumerate(b["blocks"]) if blk["text"] in {t for t, *_ in STORIES} and k != h1]
        assert len(links) == len(STORIES) - 1 and all(b["blocks"][k]["label"] != "content" for k in links)


# -- merging -----------------------------------------------------------------------------

def _learn(runner: CliRunner, src: Path, out: Path, *extra: str) -> str:
    result = runner.invoke(cli, ["templates", "learn", str(src), "-o", str(out), *extra])
    assert result.exit_code == 0, result.stderr
    return result.stderr


def test_merged_shard_memories_equal_the_memory_learned_at_once(runner: CliRunner, tmp_path: Path) -> None:
    records = [_record(i) for i in range(len(STORIES))]
    everything = tmp_path / "all.jsonl"
    everything.write_text("".join(json.dumps(r) + "\n" for r in records))
    _learn(runner, everything, tmp_path / "all.json")
    at_once = TemplateMemory.load(tmp_path / "all.json")
    assert not at_once.partial and len(at_once.publishers[PUB]["blocks"]) >= len(MENU) + 1
    for size in (1, 2, 3):  # shards of one page: every template is seen once per shard
        parts = []
        for s in range(0, len(records), size):
            shard = tmp_path / f"s{size}-{s}.jsonl"
            shard.write_text("".join(json.dumps(r) + "\n" for r in records[s:s + size]))
            _learn(runner, shard, shard.with_suffix(".json"), "--partial")
            parts.append(str(shard.with_suffix(".json")))
        assert TemplateMemory.load(Path(parts[0])).partial
        merged = runner.invoke(cli, ["templates", "merge", *parts, "-o", str(tmp_path / f"m{size}.json")])
        assert merged.exit_code == 0, merged.stderr
        result = TemplateMemory.load(tmp_path / f"m{size}.json")
        assert result.publishers == at_once.publishers and not result.partial
        assert (result.min_pages, result.min_share) == (at_once.min_pages, at_once.min_share)
    # partial memories merged into a partial one, merged again: the same
    half = [str(tmp_path / f"s1-{s}.json") for s in range(len(records))]
    for name, group in (("a", half[:3]), ("b", half[3:])):
        assert runner.invoke(cli, ["templates", "merge", *group, "--partial", "-o",
                                   str(tmp_path / f"{name}.json")]).exit_code == 0
    assert runner.invoke(cli, ["templates", "merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                               "-o", str(tmp_path / "ab.json")]).exit_code == 0
    assert TemplateMemory.load(tmp_path / "ab.json").publishers == at_once.publishers


def test_merging_memories_learned_without_partial_says_what_it_may_miss(runner: CliRunner, tmp_path: Path) -> None:
    parts = []
    for s in range(0, len(STORIES), 2):
        shard = tmp_path / f"s{s}.jsonl"
        shard.write_text("".join(json.dumps(_record(i)) + "\n" for i in range(s, s + 2)))
        assert "--partial" in _learn(runner, shard, shard.with_suffix(".json"))  # 2 pages: nothing kept
        parts.append(str(shard.with_suffix(".json")))
    merged = runner.invoke(cli, ["templates", "merge", *parts, "-o", str(tmp_path / "m.json")])
    assert merged.exit_code == 0
    assert "--partial" in merged.stderr and "0 templates" in merged.stderr


def test_learn_says_why_it_found_no_publisher(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "bare.jsonl"
    data.write_text("".join(json.dumps({"id": f"p{i}", "blocks": [b["text"] for b in _record(i)["blocks"]]}) + "\n"
                            for i in range(4)))
    said = _learn(runner, data, tmp_path / "t.json")
    assert "0 publishers" in said and "4 of 4 documents name no publisher" in said and "url" in said


def test_a_template_memory_says_how_many_documents_it_applied_to() -> None:
    memory = TemplateMemory.learn([_page(i) for i in range(len(STORIES))])
    other = Document.from_texts(["Home", "A story of another site."], id="x", url="https://other.test/a")
    memory.adjust(other, np.array([[0.6, 0.1, 0.3]] * 2))
    note = memory.summary()
    assert "applied to 0 of 1 documents" in note and "publisher" in note and PUB in note
    memory.adjust(_page(0), np.array([[0.6, 0.1, 0.3]] * len(_page(0).blocks)))
    assert "applied to 1 of 2 documents" in memory.summary()


def test_a_batch_labelled_again_is_counted_once_by_the_template_memory(tiny_model_dir: Path, break_document) -> None:
    docs = [Document(id=f"d{i}", blocks=(Block("Home | News | Sport"),
                                         Block(f"Story number {i} has a paragraph of text about the harbour.")),
                     url=f"https://harbour.example/{i}") for i in range(6)]
    memory = TemplateMemory.learn(docs, min_pages=3)
    sieve = Sieve(tiny_model_dir, model="text", templates=memory)
    break_document(sieve, "d5")
    done = list(sieve.label_many(docs, on_error=lambda d, e: None))
    assert len(done) == 5
    assert memory.summary().startswith("the template memory applied to 5 of 5 documents")

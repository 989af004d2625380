"""`sieve align` (weak labels from clean text) and `sieve review` (one key per block)."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from classifier.adapt import load_adapter
from classifier.align import align_document, find_clean, index_clean_texts, url_key
from classifier.cli import cli
from classifier.document import Block, Document, Label
from classifier.html import html_to_blocks

MENU = ["Home", "Local news", "Sport"]
ARTICLE = ["Harbour town keeps its winter ferry",
           "Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter.",
           "The council had argued that the winter crossings carry too few passengers to justify the cost."]
FOOTER = "© 2024 Harbour Times. All rights reserved. Reproduction without permission is prohibited."


def _page_html(i: int) -> str:
    nav = "".join(f'<li><a href="/{k}">{t}</a></li>' for k, t in enumerate(MENU))
    body = f"<h1>{ARTICLE[0]}</h1>" + "".join(f"<p>{t}</p>" for t in ARTICLE[1:])
    return (f"<html><body><nav><ul>{nav}</ul></nav><article>{body}</article>"
            f"<footer><p>{FOOTER}</p></footer></body></html>")


def test_align_labels_matching_blocks_content_and_reports_coverage() -> None:
    page = Document.from_texts([*MENU, *ARTICLE, FOOTER], id="p1")
    result = align_document(page, "\n\n".join(ARTICLE))
    labels = [g["label"] for g in result.document.gold]
    assert labels == ["navigation"] * 3 + ["content"] * 3 + ["boilerplate"]
    assert result.coverage == 1.0 and not result.doubtful and result.content_blocks == 3
    # clean text that does not belong to the page: flagged
    wrong = align_document(page, "A different story about mountains and the snow that fell all week long.")
    assert wrong.doubtful and "no block matches" in wrong.reason and wrong.coverage == 0.0
    # half of the article missing from the page: low coverage
    half = align_document(Document.from_texts([*MENU, ARTICLE[1]], id="p2"), "\n\n".join(ARTICLE))
    assert half.doubtful and half.coverage < 0.8
    assert half.document.gold_labels[3] is Label.CONTENT


def test_short_blocks_that_match_count_in_the_coverage() -> None:
    # a recipe's ingredients are blocks of two words: matched, but their words sit in no
    # 3-gram of a block, and the page came out doubtful at 43% coverage
    items = ["two eggs", "fresh milk", "brown sugar", "plain flour", "sea salt", "unsalted butter",
             "vanilla pods", "lemon zest"]
    method = "Mix everything and bake for forty minutes at one hundred eighty degrees."
    page = Document.from_texts([*MENU, *items, method, FOOTER], id="cake")
    result = align_document(page, "\n\n".join([*items, method]))
    assert result.content_blocks == len(items) + 1
    assert result.coverage == 1.0 and not result.doubtful, result.reason
    # the same page without its list: the ingredients' words are not covered
    half = align_document(Document.from_texts([*MENU, method, FOOTER], id="cake"), "\n\n".join([*items, method]))
    assert half.coverage < 0.6 and half.doubtful


def test_a_breadcrumb_ending_in_the_headline_is_not_content() -> None:
    crumb = f"Home » News » {ARTICLE[1]}"  # a long headline: 14 of its 16 word 3-grams are in the clean text
    page = Document.from_texts([*MENU, crumb, *ARTICLE, FOOTER], id="p1")
    result = align_document(page, "\n\n".join(ARTICLE))
    labels = dict(zip(page.texts, result.document.gold_labels))
    assert labels[crumb] is not Label.CONTENT and labels[ARTICLE[1]] is Label.CONTENT
    # a headline that merely contains one separator is still matched
    titled = Document.from_texts([*MENU, "Ferry vote: winter crossings stay / council cuts dropped", FOOTER], id="p2")
    assert align_document(titled, "Ferry vote: winter crossings stay / council cuts dropped").content_blocks == 1


def test_a_short_link_named_like_the_articles_words_is_not_content() -> None:
    # a tag list's "Port Aldwin" matched the clean text's words and was labelled content
    story = ["Port Aldwin keeps its ferry", "Residents of Port Aldwin voted on Tuesday to keep the ferry running."]
    page = Document(id="p", blocks=(Block("Home", tag="li", link_chars=4), Block(story[0], tag="h1"),
                                    Block(story[1], tag="p"), Block("Port Aldwin", tag="li", link_chars=10),
                                    Block("Winter timetable", tag="h2")))
    labels = align_document(page, "\n\n".join([*story, "Winter timetable", "Boats leave at nine."])).document.gold
    assert [g["label"] for g in labels] == ["navigation", "content", "content", "navigation", "content"]


def test_a_related_link_reusing_the_articles_wording_is_not_content() -> None:
    # a related story's headline shares most word 3-grams with the article it sits under and was
    # labelled content (a user run: 10 of 160 related links); a link the article has word for word stays
    article = ["Eastholm keeps its baths", "On Tuesday the district council approved a plan to reopen the old "
               "swimming baths, closed since the flood of 2019.", "Read the council's full plan for the baths",
               "Work starts in March."]
    related = "Eastholm: the district council approved a plan to reopen the old swimming baths"
    page = Document(id="p", blocks=(Block(article[0], tag="h1"), Block(article[1], tag="p"),
                                    Block(article[2], tag="p", link_chars=len(article[2])),
                                    Block(article[3], tag="p"), Block(related, tag="li", link_chars=len(related))))
    labels = align_document(page, "\n\n".join(article)).document.gold
    assert [g["label"] for g in labels] == ["content", "content", "content", "content", "navigation"]
    # the same words as the text of a paragraph, not a link, are still matched
    prose = Document(id="q", blocks=(*page.blocks[:4], Block(related, tag="p")))
    assert align_document(prose, "\n\n".join(article)).document.gold[4]["label"] == "content"


def test_clean_text_that_is_an_excerpt_makes_the_page_doubtful() -> None:
    more = ["The ferry company said it would add a second boat on Fridays once the harbour works are done.",
            "Residents who joined the campaign plan to meet the operator next month to agree the new timetable.",
            "Local shops expect the winter crossings to bring back the weekend visitors they lost last year."]
    page = Document.from_texts([*MENU, *ARTICLE, *more, FOOTER], id="p1")
    sure = [(0.95, 0.03, 0.02) if t in ARTICLE or t in more else (0.05, 0.15, 0.8) for t in page.texts]
    predicted = replace(page, blocks=tuple(replace(b, scores=sc) for b, sc in zip(page.blocks, sure)))
    excerpt = align_document(page, "\n\n".join(ARTICLE[:2]), predicted=predicted)  # a feed's summary
    assert excerpt.coverage == 1.0  # every word of the excerpt is on the page: coverage cannot tell
    assert excerpt.doubtful and "an excerpt?" in excerpt.reason
    assert not excerpt.mismatched  # the page holds all the clean text: a softer doubt than a wrong export
    whole = align_document(page, "\n\n".join([*ARTICLE, *more]), predicted=predicted)
    assert not whole.doubtful, whole.reason


def test_align_command(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    for i in range(3):
        (pages / f"story-{i}.html").write_text(_page_html(i), encoding="utf-8")
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps({"id": "story-0", "text": "\n\n".join(ARTICLE)}) + "\n"
                     + json.dumps({"id": "story-1", "text": "Something else entirely, about a bakery and its bread."})
                     + "\n")
    out = tmp_path / "labelled.jsonl"
    result = runner.invoke(cli, ["align", str(pages), "--clean", str(clean), "-o", str(out),
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    assert "story-0: coverage 100.0%" in result.stdout and "DOUBTFUL" in result.stdout.split("story-1")[1]
    assert "story-2: no clean record with its id (the page names no url)" in result.stderr
    # a page that does not hold its clean text is named apart from softer doubts
    assert "1 of them does not hold its clean text" in result.stderr and "): story-1;" in result.stderr
    assert "or leave it out with --drop-doubtful" in result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["story-0", "story-1"]
    first = records[0]
    assert [b["label"] for b in first["blocks"] if b["text"] in ARTICLE] == ["content"] * 3
    assert all(b["label"] in ("navigation", "boilerplate") for b in first["blocks"] if b["text"] not in ARTICLE)
    assert first["align"]["doubtful"] is False
    # the output trains a model (the labels are SCHEMA.md labels)
    trained = runner.invoke(cli, ["train", str(out), "-o", str(tmp_path / "m"), "--folds", "0",
                                  "--model-dir", str(tiny_model_dir)])
    assert trained.exit_code == 0, trained.stderr
    assert "1 of the documents were aligned doubtfully by `sieve align` (story-1)" in trained.stderr
    dropped = runner.invoke(cli, ["align", str(pages), "--clean", str(clean), "-o", str(tmp_path / "d.jsonl"),
                                  "--drop-doubtful", "--model-dir", str(tiny_model_dir)])
    assert [json.loads(line)["id"] for line in (tmp_path / "d.jsonl").read_text().splitlines()] == ["story-0"]
    assert dropped.exit_code == 0
    # left out already: --drop-doubtful is not given as the way to leave it out
    assert "): story-1; check its --clean record (it is left out)" in dropped.stderr


def test_a_labelled_page_reads_back_as_the_page_gives_its_blocks(runner: CliRunner, tiny_model_dir: Path,
                                                                 tmp_path: Path) -> None:
    # a block's link share is a model input: read back without it, a menu line of the
    # labelled JSONL was scored as prose, and `train --base` and `evaluate` saw other blocks
    page = tmp_path / "story-0.html"
    page.write_text(_page_html(0), encoding="utf-8")
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps({"id": "story-0", "text": "\n\n".join(ARTICLE)}) + "\n", encoding="utf-8")
    out = tmp_path / "labelled.jsonl"
    aligned = runner.invoke(cli, ["align", str(page), "--clean", str(clean), "-o", str(out),
                                  "--model-dir", str(tiny_model_dir)])
    assert aligned.exit_code == 0, aligned.stderr
    back = Document.from_dict(json.loads(out.read_text(encoding="utf-8")))
    cut = html_to_blocks(_page_html(0))
    assert [(b.text, b.tag, b.link_chars, b.path, b.dom) for b in back.blocks] == \
        [(b.text, b.tag, b.link_chars, b.path, b.dom) for b in cut]
    assert sum(b.link_chars > 0 for b in back.blocks) == len(MENU)
    scores = []
    for source in (page, out):
        scored = runner.invoke(cli, ["score", str(source), "--model-dir", str(tiny_model_dir)])
        assert scored.exit_code == 0, scored.stderr
        scores.append([b["scores"] for b in json.loads(scored.stdout)["blocks"]])
    assert scores[0] == scores[1]


def test_align_leaves_out_clean_records_that_are_pages_labels_or_predictions(runner: CliRunner,
                                                                           tiny_model_dir: Path,
                                                                           tmp_path: Path) -> None:
    # each of these gave every block of the page as "clean text": menus labelled content
    pages = tmp_path / "pages"
    pages.mkdir()
    for i in range(2):
        (pages / f"story-{i}.html").write_text(_page_html(i), encoding="utf-8")
    scored = runner.invoke(cli, ["score", str(pages / "story-1.html"), "--model-dir", str(tiny_model_dir)])
    prediction = json.loads(scored.stdout)
    wrong = [{"id": "story-0", "html": _page_html(0)},
             prediction,
             {"id": "story-1", "blocks": [{"text": t, "label": "navigation"} for t in MENU]}]
    clean = tmp_path / "clean.jsonl"
    clean.write_text("".join(json.dumps(r) + "\n" for r in wrong), encoding="utf-8")
    out = tmp_path / "labelled.jsonl"
    refused = runner.invoke(cli, ["align", str(pages), "--clean", str(clean), "-o", str(out),
                                  "--model-dir", str(tiny_model_dir)])
    assert refused.exit_code == 1 and not out.exists()
    assert ("3 of the --clean records left out (1 labelled documents, 1 predictions (blocks with scores), "
            "1 web pages)") in refused.stderr
    assert f"no clean text in {clean}" in refused.stderr
    # among clean records: left out and said; a record repeated with another text too
    good = [{"id": "story-0", "text": "An older text of the story."}, {"id": "story-0", "text": "\n\n".join(ARTICLE)}]
    clean.write_text("".join(json.dumps(r) + "\n" for r in [*wrong, *good]), encoding="utf-8")
    mixed = runner.invoke(cli, ["align", str(pages), "--clean", str(clean), "-o", str(out), "--publisher",
                                "harbour.example", "--model-dir", str(tiny_model_dir)])
    assert mixed.exit_code == 0, mixed.stderr
    assert "3 of the --clean records left out" in mixed.stderr
    assert "1 --clean records repeat an earlier one's id or url with another text (story-0): the later is used" \
        in mixed.stderr
    [record] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["id"] == "story-0" and record["publisher"] == "harbour.example"
    assert [b["label"] for b in record["blocks"] if b["text"] in MENU] != ["content"] * len(MENU)
    assert [b["label"] for b in record["blocks"] if b["text"] in ARTICLE] == ["content"] * len(ARTICLE)
    # review into align's output: its labels were rewritten as a person's ("reviewed")
    before = out.read_bytes()
    reviewed = runner.invoke(cli, ["review", str(pages), "-o", str(out), "--model-dir", str(tiny_model_dir)],
                             input="q")
    assert reviewed.exit_code == 1 and out.read_bytes() == before
    assert "holds 1 page labelled by `sieve align`" in reviewed.stderr


def test_pages_without_clean_text_are_shown_20_at_most(runner: CliRunner, tiny_model_dir: Path,
                                                        tmp_path: Path) -> None:
    # a crawl of 464 pages aligned to a site's few clean records gave 464 lines
    pages = tmp_path / "pages.jsonl"
    pages.write_text("".join(json.dumps({"id": f"p{i:02d}", "html": _page_html(i)}) + "\n" for i in range(25)))
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps({"id": "p00", "text": "\n\n".join(ARTICLE)}) + "\n")
    result = runner.invoke(cli, ["align", str(pages), "--clean", str(clean), "-o", str(tmp_path / "out.jsonl"),
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.endswith("; skipped")]
    assert len(skipped) == 20 and skipped[0].startswith("  p01: ") and skipped[-1].startswith("  p20: ")
    assert "more than 20 pages without clean text: the others are counted" in result.stderr
    assert "1 page aligned (0 doubtful), 24 without clean text" in result.stderr


def test_align_matches_urls_as_written_elsewhere_and_reads_the_named_text_field(
        runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    for i, url in enumerate(["https://www.harbour.example/news/a", "http://harbour.example/news/b/"]):
        page = _page_html(i).replace("<html>", f'<html><head><link rel="canonical" href="{url}"></head>')
        (pages / f"2024.0{i}.story.html").write_text(page, encoding="utf-8")
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps({"url": "http://harbour.example/news/a/#top", "body": "\n\n".join(ARTICLE)}) + "\n"
                     + json.dumps({"url": "https://WWW.harbour.example/news/b", "body": "\n\n".join(ARTICLE)})
                     + "\n", encoding="utf-8")
    out = tmp_path / "labelled.jsonl"
    args = ["align", str(pages), "--clean", str(clean), "-o", str(out), "--model-dir", str(tiny_model_dir)]
    wrong_field = runner.invoke(cli, args)
    # a usage error before anything is read, naming the option and the likely field (it had ended "no page was
    # aligned: none matched a --clean record", then a reject per record hinting at --text-field)
    assert wrong_field.exit_code == 2 and not out.exists()
    assert f"no record of {clean} has 'text'" in wrong_field.stderr
    assert "--clean-text-field names the field that holds the text: --clean-text-field body?" in wrong_field.stderr
    assert "bad_schema" not in wrong_field.stderr and "no page was aligned" not in wrong_field.stderr
    one_right = tmp_path / "one-right.jsonl"  # a record with the field: the run goes on and says what it left
    one_right.write_text(clean.read_text().replace('"body"', '"text"', 1), encoding="utf-8")
    partly = runner.invoke(cli, ["align", str(pages), "--clean", str(one_right), "-o", str(out),
                                 "--model-dir", str(tiny_model_dir)])
    assert partly.exit_code == 0, partly.stderr
    assert "1 of the --clean records rejected" in partly.stderr and "--clean-text-field" in partly.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    nothing = runner.invoke(cli, ["align", str(pages), "--clean", str(empty), "-o", str(out)])
    assert nothing.exit_code == 1 and f"no clean text in {empty}: it holds no record" in nothing.stderr
    result = runner.invoke(cli, [*args, "--clean-text-field", "body"])
    assert result.exit_code == 0, result.stderr
    assert "2 pages aligned (0 doubtful), 0 without clean text" in result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["publisher"]) for r in records] == [("2024.00.story", "harbour.example"),
                                                            ("2024.01.story", "harbour.example")]
    assert all([b["label"] for b in r["blocks"] if b["text"] in ARTICLE] == ["content"] * 3 for r in records)


def _review_articles(runner: CliRunner, model_dir: Path, data_dir: Path, out: Path, keys: str) -> Result:
    """`sieve review` of the example articles into ``out``, given ``keys``; it must end well."""
    result = runner.invoke(cli, ["review", str(data_dir / "articles.jsonl"), "-o", str(out),
                                 "--model-dir", str(model_dir)], input=keys)
    assert result.exit_code == 0, result.stderr
    return result


def test_review_takes_one_key_per_block_and_saves_labels(runner: CliRunner, tiny_model_dir: Path,
                                                         data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "corrections.jsonl"
    # c, b, skip, n, undo (takes the n back), n again, then quit
    result = _review_articles(runner, tiny_model_dir, data_dir, out, "cbsnunq")
    assert result.stdout.count("[c]ontent [b]oilerplate") == 7
    assert "3 blocks labelled" in result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    labels = [b["label"] for r in records for b in r["blocks"] if b["label"]]
    assert sorted(labels) == ["boilerplate", "content", "navigation"]
    # the shown order is least confident first: the first shown block got "c"
    first_shown = result.stdout.split("> ", 1)[1].splitlines()[0].strip()
    assert any(b["text"].split()[:3] == first_shown.split()[:3] and b["label"] == "content"
               for r in records for b in r["blocks"])


def test_review_asks_a_repeated_text_once_and_labels_each_occurrence(runner: CliRunner, tiny_model_dir: Path,
                                                                     tmp_path: Path) -> None:
    # a publisher's menu heading, cookie notice and newsletter box were asked about on every page:
    # a third of a reviewer's ten minutes went to three texts
    notice = "We use cookies to improve your experience on this site. Accept all or manage your settings."
    menu = "Home | Local news | Sport | Weather | Contact the newsroom"
    pages = tmp_path / "pages.jsonl"
    with pages.open("w", encoding="utf-8") as f:
        for i in range(5):
            f.write(json.dumps({"id": f"p{i}", "url": f"https://news.example/story-{i}", "blocks": [menu, notice]})
                    + "\n")
    out = tmp_path / "corrections.jsonl"
    # the first question: b; at the second, undo (the first again): n; then skip the second
    result = runner.invoke(cli, ["review", str(pages), "-o", str(out), "--model-dir", str(tiny_model_dir)],
                           input="buns")
    assert result.exit_code == 0, result.stderr
    asked = [line.split("> ", 1)[1] for line in result.stdout.splitlines() if line.lstrip().startswith("> ")]
    assert len(asked) == 4 and asked[0] == asked[2] and asked[1] == asked[3] and {asked[0], asked[1]} == {menu, notice}
    assert "[2/2]" in result.stdout and "[3/" not in result.stdout  # two questions for ten blocks
    assert result.stdout.count("the answer labels its 4 repeats too") == 4
    records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert sorted(records) == [f"p{i}" for i in range(5)]
    for r in records.values():  # the undo took all five answers back, and "n" labelled all five
        assert {b["text"]: b["label"] for b in r["blocks"]} == {asked[0]: "navigation", asked[1]: None}
    # the publisher's new pages, reviewed again with the same -o: the text answered before is not
    # asked again, its new occurrences take the answer; the one skipped is asked
    with pages.open("a", encoding="utf-8") as f:
        for i in (5, 6):
            f.write(json.dumps({"id": f"p{i}", "url": f"https://news.example/story-{i}", "blocks": [menu, notice]})
                    + "\n")
    again = runner.invoke(cli, ["review", str(pages), "-o", str(out), "--model-dir", str(tiny_model_dir)],
                          input="q")
    assert again.exit_code == 0, again.stderr
    assert "5 earlier answers" in again.stderr and "(and label 2 new occurrences" in again.stderr
    assert [line.split("> ", 1)[1] for line in again.stdout.splitlines() if line.lstrip().startswith("> ")] \
        == [asked[1]]
    records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert sorted(records) == [f"p{i}" for i in range(7)]
    assert all({b["text"]: b["label"] for b in r["blocks"]} == {asked[0]: "navigation", asked[1]: None}
               for r in records.values())
    # one question per text, publisher and role: another publisher's notice, or the notice as a
    # link, is a question of its own; the least confident occurrence is the one shown
    from classifier.cli import _review_queue

    def doc(doc_id: str, url: str, *blocks: Block) -> Document:
        return Document(id=doc_id, url=url, blocks=blocks)

    scored = [doc(f"q{i}", f"https://news.example/{i}", Block(notice, scores=(0.1, 0.9 - i / 10, i / 10)))
              for i in range(3)]
    scored += [doc("r", "https://elsewhere.example/", Block(notice, scores=(0.2, 0.7, 0.1))),
               doc("s", "https://news.example/s",
                   Block(notice, tag="a", link_chars=len(notice), scores=(0.1, 0.1, 0.8)))]
    queue, repeats = _review_queue(scored, {}, 10)
    assert [(d_i, b_i) for _, d_i, b_i in queue] == [(2, 0), (3, 0), (4, 0)]  # q2 is news.example's least sure
    assert repeats[(2, 0)] == [(2, 0), (0, 0), (1, 0)] and repeats[(3, 0)] == [(3, 0)]
    # an earlier answer is not asked again, and its text's other occurrences take it
    answered = {(2, 0): Label.NAVIGATION}
    assert [t[1:] for t in _review_queue(scored, answered, 10)[0]] == [(3, 0), (4, 0)]
    assert answered == {(2, 0): Label.NAVIGATION, (0, 0): Label.NAVIGATION, (1, 0): Label.NAVIGATION}
    # ... unless earlier answers to it disagree: it is asked again, at its least sure new occurrence
    answered = {(2, 0): Label.NAVIGATION, (1, 0): Label.BOILERPLATE}
    assert [t[1:] for t in _review_queue(scored, answered, 10)[0]] == [(3, 0), (4, 0), (0, 0)]


def test_review_groups_a_repeated_text_only_on_one_publishers_pages() -> None:
    # documents naming no publisher nor url (plain text records of unrelated sources) were all one
    # "publisher": "Subscribe now" under a council story was labelled with the answer about a recipe's
    from classifier.cli import _review_queue

    notice = "Subscribe now"
    docs = [Document(id=f"d{i}", blocks=(Block(f"Story {'abc'[i]} of its own.", scores=(0.9, 0.05, 0.05)),
                                         Block(notice, scores=(0.5, 0.3 + i / 10, 0.2 - i / 10))))
            for i in range(3)]
    queue, repeats = _review_queue(docs, {}, 10)
    assert sorted(t[1:] for t in queue if docs[t[1]].blocks[t[2]].text == notice) == [(0, 1), (1, 1), (2, 1)]
    assert all(len(repeats[t[1:]]) == 1 for t in queue)
    # a text repeated within one such document is still asked once
    twice = [Document(id="d", blocks=(Block(notice, scores=(0.5, 0.3, 0.2)), Block(notice, scores=(0.6, 0.3, 0.1))))]
    queue, repeats = _review_queue(twice, {}, 10)
    assert [t[1:] for t in queue] == [(0, 0)] and repeats[(0, 0)] == [(0, 0), (0, 1)]


def test_review_names_a_key_it_does_not_know_and_asks_again(runner: CliRunner, tiny_model_dir: Path,
                                                            data_dir: Path, tmp_path: Path) -> None:
    # a typo or an arrow key showed the same block again, without a word of why
    result = _review_articles(runner, tiny_model_dir, data_dir, tmp_path / "corrections.jsonl", "x\x1bcq")
    assert result.stdout.count("[c]ontent [b]oilerplate") == 2  # the first block once (then c), the second (q)
    assert "x is not one of the keys: c, b, n, s, u or q" in result.stdout
    assert "'\\x1b' is not one of the keys" in result.stdout and "\x1b" not in result.stdout
    assert "1 block labelled" in result.stderr


def test_review_refuses_an_output_it_cannot_write_before_asking_anything(runner: CliRunner, tiny_model_dir: Path,
                                                                          data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    result = runner.invoke(cli, ["review", str(data_dir / "articles.jsonl"), "-o", str(tmp_path / "afile" / "c.jsonl"),
                                 "--model-dir", str(tiny_model_dir)], input="cq")
    assert result.exit_code == 1 and "[c]ontent" not in result.stdout  # no answer asked for, none lost
    assert "afile is a file, not a folder" in result.stderr and "Traceback" not in result.stderr


def test_review_answers_survive_an_output_that_fails_at_saving(runner: CliRunner, tiny_model_dir: Path,
                                                               data_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The output's folder is replaced by a file while a person labels: the answers go to
    a file of the temporary folder, and the error names it."""
    import classifier.cli as cli_module

    folder = tmp_path / "out"
    folder.mkdir()
    keys = iter("cbq")

    def key() -> str:
        if folder.is_dir():
            folder.rmdir()
            folder.write_text("a file now")
        return next(keys)

    monkeypatch.setattr(cli_module, "_review_keys", lambda: key)
    spare_dir = tmp_path / "tmp"
    spare_dir.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(spare_dir))
    result = runner.invoke(cli, ["review", str(data_dir / "articles.jsonl"), "-o", str(folder / "c.jsonl"),
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    (spare,) = spare_dir.glob("sieve-review-*.jsonl")
    assert f"the answers are saved in {spare}" in result.stderr
    labels = [b["label"] for line in spare.read_text().splitlines() for b in json.loads(line)["blocks"] if b["label"]]
    assert sorted(labels) == ["boilerplate", "content"]


def test_review_reads_keys_from_a_pipe_and_saves_when_they_end(sieve_executable: str, tiny_model_dir: Path,
                                                                data_dir: Path, tmp_path: Path) -> None:
    """Keys piped into `sieve review` (no terminal) are read one character each, blanks
    skipped; when they end before `q`, the answers given are saved and the run ends well."""
    out = tmp_path / "corrections.jsonl"
    command = [sieve_executable, "review", str(data_dir / "articles.jsonl"), "-o", str(out),
               "--model-dir", str(tiny_model_dir)]
    piped = subprocess.run(command, input="c b\nn", capture_output=True, text=True, cwd=tmp_path, timeout=300,
                           check=False)
    assert piped.returncode == 0, piped.stderr
    assert "the keys ended" in piped.stderr and "3 blocks labelled" in piped.stderr
    labels = [b["label"] for line in out.read_text().splitlines() for b in json.loads(line)["blocks"] if b["label"]]
    assert sorted(labels) == ["boilerplate", "content", "navigation"]
    again = subprocess.run(command, input="", capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    assert again.returncode == 0, again.stderr  # no key at all: nothing new, the earlier answers kept
    assert sorted(b["label"] for line in out.read_text().splitlines() for b in json.loads(line)["blocks"]
                  if b["label"]) == sorted(labels)


def test_review_again_into_the_same_file_keeps_the_earlier_answers(runner: CliRunner, tiny_model_dir: Path,
                                                                    data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "corrections.jsonl"
    args = ["review", str(data_dir / "articles.jsonl"), "-o", str(out), "--model-dir", str(tiny_model_dir)]
    nothing = runner.invoke(cli, args, input="q")
    assert nothing.exit_code == 0 and "nothing written" in nothing.stderr and not out.exists()
    other = {"id": "elsewhere", "blocks": [{"text": "Subscribe to our newsletter", "label": "boilerplate"}]}
    out.write_text(json.dumps(other) + "\n", encoding="utf-8")  # an earlier review of other data
    first = runner.invoke(cli, args, input="cbq")
    assert first.exit_code == 0, first.stderr
    shown_first = [line for line in first.stdout.splitlines() if line.startswith("  > ")]
    second = runner.invoke(cli, args, input="nq")
    assert second.exit_code == 0, second.stderr
    assert "2 earlier answers" in second.stderr
    assert "1 documents of it not in this data (or changed since) are kept" in second.stderr
    shown_second = [line for line in second.stdout.splitlines() if line.startswith("  > ")]
    # the two blocks answered before are not asked again: it starts where the first review quit
    assert len(shown_first) == 3 and shown_second[0] == shown_first[2]
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records[0] == {**other, "reviewed": True}  # a review output's answer: reviewed labels
    labels = sorted(b["label"] for r in records[1:] for b in r["blocks"] if b["label"])
    assert labels == ["boilerplate", "content", "navigation"]
    assert "4 blocks labelled" in second.stderr


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst"])
def test_review_again_into_a_compressed_file_keeps_the_earlier_answers(runner: CliRunner, tiny_model_dir: Path,
                                                                      data_dir: Path, tmp_path: Path,
                                                                      suffix: str) -> None:
    import zstandard

    out = tmp_path / f"corrections{suffix}"
    args = ["review", str(data_dir / "articles.jsonl"), "-o", str(out), "--model-dir", str(tiny_model_dir)]
    assert runner.invoke(cli, args, input="cbq").exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\x1f\x8b" if suffix.endswith(".gz") else b"\x28\xb5\x2f\xfd")  # written compressed
    second = runner.invoke(cli, args, input="nq")
    assert second.exit_code == 0 and "2 earlier answers" in second.stderr, second.stderr
    raw = out.read_bytes()
    unzstd = zstandard.ZstdDecompressor().decompressobj().decompress
    text = gzip.decompress(raw) if suffix.endswith(".gz") else unzstd(raw)
    labels = sorted(b["label"] for line in text.decode("utf-8").splitlines() for b in json.loads(line)["blocks"]
                    if b["label"])
    assert labels == ["boilerplate", "content", "navigation"]


def test_review_rerun_keeps_answers_of_pages_that_changed_and_of_repeated_ids(runner: CliRunner, tiny_model_dir: Path,
                                                                               tmp_path: Path) -> None:
    data = tmp_path / "pages.jsonl"
    story = "The council kept the winter ferry running after a long debate on Tuesday evening."
    data.write_text(json.dumps({"id": "index", "blocks": ["Home", story]}) + "\n"
                    + json.dumps({"id": "index", "blocks": ["Sport", "The harbour team won the final on Sunday."]})
                    + "\n", encoding="utf-8")
    out = tmp_path / "corrections.jsonl"
    earlier = [{"id": "index", "blocks": [{"text": "Old site menu", "label": "navigation"},
                                          {"text": story, "label": "content"}]},  # the page changed since
               {"id": "index", "blocks": [{"text": "Sport", "label": "navigation"},  # the second page with that id
                                          {"text": "The harbour team won the final on Sunday.", "label": None}]}]
    out.write_text("".join(json.dumps(r) + "\n" for r in earlier), encoding="utf-8")
    result = runner.invoke(cli, ["review", str(data), "-o", str(out), "--model-dir", str(tiny_model_dir)], input="q")
    assert result.exit_code == 0, result.stderr
    assert "1 earlier answers" in result.stderr
    assert "1 documents of it not in this data (or changed since)" in result.stderr
    shown = [line for line in result.stdout.splitlines() if line.startswith("  > ")]
    assert shown and shown[0] != "  > Sport"  # answered before: not asked again
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    labelled = sorted((b["text"], b["label"]) for r in records for b in r["blocks"] if b["label"])
    assert labelled == sorted([("Old site menu", "navigation"), (story, "content"), ("Sport", "navigation")])


# Chinese and Japanese are written without spaces: a paragraph is one \w+ run
ZH_MENU = ["首页", "新闻", "体育"]
ZH_ARTICLE = ["港口小镇保留冬季渡轮",  # one run of letters, as is the last paragraph
              "周二，奥德温港的居民投票决定在冬季几个月里继续运营通往岛上的渡轮，推翻了市议会削减这项服务的计划。",
              "投票在市政厅举行，经过三个小时的会议，以四百一十二票对一百五十八票获得通过。",
              "议会曾经表示冬季航班的乘客太少不足以支撑成本"]
ZH_FOOTER = "版权所有 2024 港口时报。保留所有权利。"
JA_ARTICLE = ["港町が冬のフェリーを残す",
              "火曜日、オールドウィン港の住民は冬の間も島へのフェリーを運航し続けることを投票で決めた。",
              "議会は冬の便は乗客が少なすぎて費用に見合わないと主張していた"]


def test_align_text_without_spaces_matches_by_character() -> None:
    page = Document.from_texts([*ZH_MENU, *ZH_ARTICLE, ZH_FOOTER], id="zh")
    result = align_document(page, "\n\n".join(ZH_ARTICLE))
    labels = [g["label"] for g in result.document.gold]
    assert labels[3:7] == ["content"] * 4  # the one-run headline and paragraph too
    assert "content" not in labels[:3] + labels[7:]  # two-character menu items say too little
    assert result.coverage == 1.0 and not result.doubtful, result.reason
    # a block that is part of a clean-text paragraph (the clean text joins two of them)
    joined = align_document(Document.from_texts(["首页", *JA_ARTICLE], id="ja"),
                            JA_ARTICLE[0] + JA_ARTICLE[1] + "\n\n" + JA_ARTICLE[2])
    assert [g["label"] for g in joined.document.gold][1:] == ["content"] * 3
    assert joined.coverage == 1.0 and not joined.doubtful, joined.reason
    wrong = align_document(page, "山上下了一整个星期的雪，村民们在家里等待道路重新开放")
    assert wrong.doubtful and wrong.content_blocks == 0


def test_align_command_on_chinese_pages(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    nav = "".join(f'<li><a href="/{k}">{t}</a></li>' for k, t in enumerate(ZH_MENU))
    body = f"<h1>{ZH_ARTICLE[0]}</h1>" + "".join(f"<p>{t}</p>" for t in ZH_ARTICLE[1:])
    html = (f'<html><head><meta charset="utf-8"></head><body><nav><ul>{nav}</ul></nav><article>{body}</article>'
            f"<footer><p>{ZH_FOOTER}</p></footer></body></html>")
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "zh-1.html").write_text(html, encoding="utf-8")
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps({"id": "zh-1", "text": "\n\n".join(ZH_ARTICLE)}, ensure_ascii=False) + "\n",
                     encoding="utf-8")
    out = tmp_path / "labelled.jsonl"
    result = runner.invoke(cli, ["align", str(tmp_path / "pages"), "--clean", str(clean), "-o", str(out),
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    assert "zh-1: coverage 100.0%, 4 content blocks" in result.stdout and "DOUBTFUL" not in result.stdout
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [b["text"] for b in record["blocks"] if b["label"] == "content"] == ZH_ARTICLE


def test_fix_a_publisher_end_to_end_from_html_pages(runner: CliRunner, copy_model_dir, data_dir: Path,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README, "Fix a publisher": HTML pages + their clean text (id, url, text) -> align
    -> review -> train --base -> clean with the adapted folder."""
    models = copy_model_dir("models")
    for name in ("html.joblib", "html.json"):  # the shipped HTML model labels the pages
        shutil.copyfile(Path(__file__).resolve().parent.parent / "models" / name, models / name)
    site_pages, crawl = tmp_path / "site-pages", tmp_path / "crawl"
    site_pages.mkdir()
    crawl.mkdir()
    with open(tmp_path / "cms-export.jsonl", "w", encoding="utf-8") as cms, \
            open(crawl / "crawl.jsonl", "w", encoding="utf-8") as pages_jsonl:
        for i in range(6):
            html = _page_html(i).replace(ARTICLE[0], f"{ARTICLE[0]}, day {i}")
            (site_pages / f"story-{i}.html").write_text(html, encoding="utf-8")
            url = f"https://www.harbourtimes.example/news/story-{i}"
            text = "\n\n".join([f"{ARTICLE[0]}, day {i}", *ARTICLE[1:]])
            record = {"id": f"story-{i}", "url": url, "text": text}
            if i == 5:  # a clean record naming its publisher: that name is kept
                record = {**record, "publisher": "harbourtimes.example"}
            cms.write(json.dumps(record) + "\n")
            pages_jsonl.write(json.dumps({"id": f"crawl-{i}", "url": url, "html": html}) + "\n")
    monkeypatch.chdir(tmp_path)  # the README's relative paths
    aligned = runner.invoke(cli, ["align", "site-pages/", "--clean", "cms-export.jsonl", "-o", "labelled.jsonl",
                                  "--model-dir", str(models)])
    assert aligned.exit_code == 0, aligned.stderr
    records = [json.loads(line) for line in Path("labelled.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [f"story-{i}" for i in range(6)]
    assert [r["url"] for r in records] == [f"https://www.harbourtimes.example/news/story-{i}" for i in range(6)]
    assert {r["publisher"] for r in records} == {"harbourtimes.example"}  # the url's host, without www.
    nav_item = next(b for b in records[0]["blocks"] if b["text"] == MENU[0])  # what the page told of each block
    assert nav_item["tag"] == "li" and nav_item["path"] == "html body nav ul li"
    assert nav_item["dom"] == list(html_to_blocks(_page_html(0))[0].dom)
    reviewed = runner.invoke(cli, ["review", "crawl/crawl.jsonl", "-o", "corrections.jsonl", "--model-dir",
                                   str(models), "--model", "text"], input="bq")
    assert reviewed.exit_code == 0, reviewed.stderr
    trained = runner.invoke(cli, ["train", "--base", str(models), "labelled.jsonl", "corrections.jsonl",
                                  "-o", "site-models/", "--general", str(data_dir / "labelled.jsonl")])
    assert trained.exit_code == 0, trained.stderr
    # review's corrections of pages that align labelled too are merged into them, not pages of their own:
    # the one answer ("b") labelled its text on each of the 6 pages, where it repeats in one role
    assert "6 labelled pages repeat an earlier one" in trained.stderr
    # the pages kept their DOM facts through align: the HTML model is adapted, with a path model
    assert "adapter written (all the pages) of the html model for harbourtimes.example:" in trained.stderr
    adapter = load_adapter(Path("site-models/adapter.joblib"))
    assert adapter.base_model == "html" and adapter.path_model is not None
    cleaned = runner.invoke(cli, ["clean", "crawl/", "-o", "clean/", "--model-dir", "site-models/", "--workers", "1"])
    assert cleaned.exit_code == 0, cleaned.stderr
    report = json.loads(Path("clean/_report.json").read_text())
    assert report["read"] == 6 and report["adapted"] == 6  # the crawl's records carry the publisher's urls
    assert report["adapter"] == "html model; harbourtimes.example"
    assert "the folder's adapter (html model; harbourtimes.example) adjusted 6 documents" in cleaned.stderr
    # a bare HTML file names no publisher: the adapter cannot apply, and the summary says why
    bare = runner.invoke(cli, ["score", "site-pages/story-0.html", "-o", "bare.jsonl", "--model-dir", "site-models/"])
    assert bare.exit_code == 0, bare.stderr
    assert "adjusted 0 of 1 documents: it applies to documents that its model labels and whose" in bare.stderr
    # records of block text, of the adapted publisher: the text model's, which the summary says
    blocks = runner.invoke(cli, ["score", str(data_dir / "articles.jsonl"), "-o", "blocks.jsonl", "--model-dir",
                                 "site-models/", "--publisher", "harbourtimes.example"])
    assert blocks.exit_code == 0, blocks.stderr
    assert "adjusted 0 of 3 documents" in blocks.stderr
    assert "records of block texts are the text model's" in blocks.stderr


@pytest.mark.parametrize(("a", "b", "same"), [
    ("https://www.Harbour.example/news/a/#top", "http://harbour.example/news/a", True),
    ("https://harbour.example:8443/a", "https://harbour.example/a", False),
    ("https://harbour.example/a?p=1", "https://harbour.example/a?p=2", False),
    ("http://a:abc/x", "http://a:abc/x", True),   # a port that is no number: the url as written, no crash
    ("http://[::1/x", "http://[::1/y", False),    # a broken IPv6 host
    ("https://", "/", False),                      # no host: as written
    ("https://harbour.example/caf%C3%A9/a%20b", "https://harbour.example/café/a b", True),  # percent-encoded
    ("https://xn--hfen-zeitung-gcb.example/a", "https://hafen-zeitung.example/a", False),  # another host
    ("https://www.xn--hfen-zeitung-gcb.example/a", "https://häfen-zeitung.example/a", True),  # punycode host
    ("https://xn--zz-broken.example/a", "https://xn--zz-broken.example/a", True),  # invalid punycode: as written
    ("https://harbour.example/a%2Fb", "https://harbour.example/a%2Fc", False),
])
def test_url_key(a: str, b: str, same: bool) -> None:
    assert (url_key(a) == url_key(b)) is same


def test_a_clean_record_repeated_by_id_and_url_counts_once() -> None:
    repeated: list[str] = []
    index_clean_texts([Document.from_texts(["An older text."], id="a", url="https://harbour.example/a"),
                       Document.from_texts(["The text now."], id="a", url="https://harbour.example/a")], repeated)
    assert repeated == ["id:a"]


def test_copying_a_model_leaves_the_earlier_pair_whole_when_it_cannot_finish(copy_model_dir) -> None:
    from classifier.cards import verify_file
    from classifier.cli import _copy_checked

    shipped = Path(__file__).resolve().parent.parent / "models"
    out = copy_model_dir("out")  # the tiny test models: another blocks.joblib than the shipped one
    before = (out / "blocks.joblib").read_bytes()
    (out / "blocks.json.part").mkdir()  # the card's temporary file cannot be written
    with pytest.raises(OSError):
        _copy_checked(shipped / "blocks.joblib", out)
    # the model was renamed into place before its card was written: a new model beside the old card
    assert (out / "blocks.joblib").read_bytes() == before and not (out / "blocks.joblib.part").exists()
    verify_file(out / "blocks.joblib")
    (out / "blocks.json.part").rmdir()
    _copy_checked(shipped / "blocks.joblib", out)
    assert verify_file(out / "blocks.joblib") == verify_file(shipped / "blocks.joblib")


def test_a_clean_record_with_an_odd_url_matches_nothing_and_breaks_nothing() -> None:
    index = index_clean_texts([Document.from_texts(["Clean text."], id="c1", url="http://a:abc/x"),
                               Document.from_texts(["Other text."], id="c2", url="")])
    page = Document.from_texts(["Home", "Clean text."], id="p", url="https://")
    assert find_clean(index, page) is None
    assert find_clean(index, Document.from_texts(["x"], id="c1")) is index["id:c1"]


def test_align_takes_the_model_to_use(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "story-0.html").write_text(_page_html(0), encoding="utf-8")
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps({"id": "story-0", "text": "\n\n".join(ARTICLE)}) + "\n", encoding="utf-8")
    out = tmp_path / "labelled.jsonl"
    result = runner.invoke(cli, ["align", str(tmp_path / "story-0.html"), "--clean", str(clean), "-o", str(out),
                                 "--model", "text", "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [b["label"] for b in record["blocks"] if b["text"] in ARTICLE] == ["content"] * 3
    missing = runner.invoke(cli, ["align", str(tmp_path / "story-0.html"), "--clean", str(clean), "-o", str(out),
                                  "--model", "html", "--model-dir", str(tiny_model_dir)])
    assert missing.exit_code == 1 and "html.joblib" in missing.stderr  # the tiny folder has no HTML model


def test_align_refuses_to_write_over_its_clean_input(runner: CliRunner, tmp_path: Path) -> None:
    clean = tmp_path / "cms.jsonl"
    clean.write_text(json.dumps({"id": "p", "text": "The council kept the ferry running."}) + "\n", encoding="utf-8")
    page = tmp_path / "p.html"
    page.write_text("<html><body><p>The council kept the ferry running.</p></body></html>", encoding="utf-8")
    before = clean.read_bytes()
    result = runner.invoke(cli, ["align", str(page), "--clean", str(clean), "-o", str(clean)])
    assert result.exit_code == 2 and "both the --clean input and the output" in result.stderr
    assert clean.read_bytes() == before


def test_the_headline_a_cms_export_keeps_apart_is_content() -> None:
    # the export's body has no title; the adapter then learned "headline = navigation"
    page = Document(id="p1", blocks=tuple(Block(text=t, tag=tag) for t, tag in
                                          [*((m, "li") for m in MENU), (ARTICLE[0], "h1"),
                                           *((a, "p") for a in ARTICLE[1:]), (FOOTER, "p")]))
    body = "\n\n".join(ARTICLE[1:])
    without = align_document(page, body)
    assert [g["label"] for g in without.document.gold][3] != "content"
    with_title = align_document(page, body, title=ARTICLE[0])
    assert [g["label"] for g in with_title.document.gold] == ["navigation"] * 3 + ["content"] * 3 + ["boilerplate"]
    titled_page = replace(page, extra={"title": ARTICLE[0] + " | Harbour Times"})  # the page's own <title>
    assert align_document(titled_page, body).document.gold[3]["label"] == "content"


def test_a_record_title_marks_one_headline_not_its_links_nor_a_short_menu_word() -> None:
    blocks = [Block(text="Home", tag="li", link_chars=4), Block(text="Impressum", tag="li", link_chars=9),
              Block(text=ARTICLE[0], tag="div"), *(Block(text=a, tag="p") for a in ARTICLE[1:]),
              Block(text="Most read", tag="h3"), Block(text=ARTICLE[0], tag="li", link_chars=len(ARTICLE[0]))]
    page = Document(id="p1", blocks=tuple(blocks))
    body = "\n\n".join(ARTICLE[1:])
    labels = [g["label"] for g in align_document(page, body, title=ARTICLE[0]).document.gold]
    assert labels[2] == "content" and labels[6] == "navigation"  # the "Most read" link to the story
    labels = [g["label"] for g in align_document(page, body, title="Impressum").document.gold]
    assert labels[1] == "navigation"  # a title shorter than a headline marks no menu item


def test_clean_text_is_read_as_the_page_is_whatever_its_form() -> None:
    """A CMS body with markup and character references, decomposed accents, soft
    hyphens: the clean text's words are the page's words."""
    import unicodedata

    german = ["Der Hafen bleibt im Winter geöffnet, sagte die Bürgermeisterin am Dienstag.",
              "Die Fähre fährt weiter, obwohl im Dezember nur wenige Gäste übersetzen."]
    page = Document.from_texts([*MENU, *german, FOOTER], id="p1")
    forms = {
        "plain": "\n\n".join(german),
        "decomposed": unicodedata.normalize("NFD", "\n\n".join(german)),
        "soft hyphens": "\n\n".join(german).replace("Bürgermeisterin", "Bürger\u00admeisterin")
                                             .replace("Dezember", "De\u00adzem\u00adber"),
        "cms body": "".join("<p>" + t.replace("ö", "&ouml;").replace("ä", "&auml;").replace("Fähre", "<em>Fähre</em>")
                            + "</p>" for t in german),
    }
    for form, clean in forms.items():
        result = align_document(page, clean)
        assert result.document.gold_labels == [Label.NAVIGATION] * 3 + [Label.CONTENT] * 2 + [Label.BOILERPLATE], form
        assert result.coverage == 1.0 and not result.doubtful, form


def test_pages_are_matched_by_url_before_ids_and_never_by_ids_the_reader_made_up(
        runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    texts = {f"https://harbour.example/{k}": [f"Story {k} of the harbour: the ferry {w} through the winter months.",
                                              f"Residents of Port Aldwin said the {w} vote was close this time."]
             for k, w in (("a", "runs"), ("b", "stops"), ("c", "waits"))}
    urls = list(texts)
    (tmp_path / "pages").mkdir()
    (tmp_path / "clean").mkdir()
    # no ids on either side, the same file name, the records in another order: by url only
    (tmp_path / "pages" / "site.jsonl").write_text("".join(
        json.dumps({"url": u, "blocks": [*MENU, *texts[u], FOOTER]}) + "\n" for u in urls[:2]))
    (tmp_path / "clean" / "site.jsonl").write_text("".join(
        json.dumps({"url": u, "text": "\n\n".join(texts[u])}) + "\n" for u in reversed(urls[:2])))
    out = tmp_path / "labelled.jsonl"
    result = runner.invoke(cli, ["align", str(tmp_path / "pages" / "site.jsonl"), "--clean",
                                 str(tmp_path / "clean" / "site.jsonl"), "-o", str(out),
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    assert "DOUBTFUL" not in result.stdout and result.stdout.count("coverage 100.0%") == 2
    # a crawler's page numbers are not a CMS's article numbers: the url decides
    index = index_clean_texts([Document.from_dict({"id": 1, "url": urls[1], "text": "\n\n".join(texts[urls[1]])}),
                               Document.from_dict({"id": 2, "url": urls[0], "text": "\n\n".join(texts[urls[0]])})])
    page = Document.from_dict({"id": 1, "url": urls[0], "blocks": [*MENU, *texts[urls[0]]]})
    assert find_clean(index, page) is index["url:" + url_key(urls[0])]
    # an id whose record names another url, and no record with the page's url: none
    other = Document.from_dict({"id": 1, "url": urls[2], "blocks": texts[urls[2]]})
    assert find_clean(index, other) is None
    from classifier.align import unmatched_reason

    assert "the clean record with its id is of another url" in unmatched_reason(index, other)
    # a made-up id matches nothing
    made_up = Document.from_dict({"blocks": texts[urls[2]]}, default_id="site.jsonl:1")
    assert not made_up.id_given and find_clean(index_clean_texts(
        [Document.from_dict({"text": "x"}, default_id="site.jsonl:1")]), made_up) is None


def test_the_readme_walk_through_on_the_examples(runner: CliRunner, tiny_model_dir: Path, repo_root: Path,
                                                 tmp_path: Path) -> None:
    """The README's example of fixing a publisher runs as written on examples/."""
    examples = repo_root / "examples"
    labelled = tmp_path / "labelled.jsonl"
    aligned = runner.invoke(cli, ["align", str(examples / "site"), "--clean", str(examples / "site-clean.jsonl"),
                                  "-o", str(labelled), "--model-dir", str(tiny_model_dir)])
    assert aligned.exit_code == 0, aligned.stderr
    assert aligned.stdout.count("coverage 100.0%") == 4 and "DOUBTFUL" not in aligned.stdout
    adapted = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(labelled), "-o", str(tmp_path / "m")])
    assert adapted.exit_code == 0, adapted.stderr
    cleaned = runner.invoke(cli, ["clean", str(examples / "crawl.warc.gz"), "-o", str(tmp_path / "clean"),
                                  "--model-dir", str(tmp_path / "m")])
    assert cleaned.exit_code == 0, cleaned.stderr
    assert "adjusted 4 documents" in cleaned.stderr
    report = json.loads((tmp_path / "clean" / "_report.json").read_text())
    assert report["read"] == 5 and report["written"] == 4 and report["dropped"] == {"warc_warcinfo": 1}
    learned = runner.invoke(cli, ["templates", "learn", str(examples / "site"), "-o", str(tmp_path / "t.json")])
    assert learned.exit_code == 0 and "1 publisher, 13 repeated blocks" in learned.stderr


def test_evaluate_on_aligns_output_says_the_model_labelled_the_rest(runner: CliRunner, tiny_model_dir: Path,
                                                                    repo_root: Path, tmp_path: Path) -> None:
    examples = repo_root / "examples"
    labelled = tmp_path / "labelled.jsonl"
    aligned = runner.invoke(cli, ["align", str(examples / "site"), "--clean", str(examples / "site-clean.jsonl"),
                                  "-o", str(labelled), "--model-dir", str(tiny_model_dir)])
    assert aligned.exit_code == 0, aligned.stderr
    scored = runner.invoke(cli, ["evaluate", str(labelled), "--model-dir", str(tiny_model_dir)])
    assert scored.exit_code == 0, scored.stderr
    assert "all 4 documents are `sieve align` output" in scored.stderr
    assert "not boilerplate from navigation" in scored.stderr
    # the same pages as a person's labels (no align field): no such warning
    person = tmp_path / "person.jsonl"
    person.write_text("".join(json.dumps({k: v for k, v in json.loads(line).items() if k != "align"}) + "\n"
                              for line in labelled.read_text(encoding="utf-8").splitlines()), encoding="utf-8")
    plain = runner.invoke(cli, ["evaluate", str(person), "--model-dir", str(tiny_model_dir)])
    assert plain.exit_code == 0 and "`sieve align` output" not in plain.stderr
    assert plain.stdout == scored.stdout  # the same figures


def test_quiet_leaves_only_errors_on_standard_error(sieve_executable: str, tiny_model_dir: Path, repo_root: Path,
                                                   tmp_path: Path) -> None:
    """`sieve -q` (only errors) silences the notes and summaries of align, train,
    evaluate and templates as it does those of score and clean; their outputs are
    written all the same, and an error still shows."""
    examples = repo_root / "examples"
    labelled, model, memory = tmp_path / "labelled.jsonl", tmp_path / "m", tmp_path / "t.json"
    commands = [
        ["align", str(examples / "site"), "--clean", str(examples / "site-clean.jsonl"), "-o", str(labelled),
         "--model-dir", str(tiny_model_dir)],
        ["train", "--base", str(tiny_model_dir), str(labelled), "-o", str(model)],
        ["train", str(labelled), "-o", str(tmp_path / "m2"), "--folds", "0"],
        ["evaluate", str(labelled), "--model-dir", str(model)],
        ["templates", "learn", str(examples / "site"), "-o", str(memory)],
    ]
    for command in commands:
        loud = subprocess.run([sieve_executable, *command], capture_output=True, text=True, cwd=tmp_path,
                              timeout=300, check=False)
        assert loud.returncode == 0 and loud.stderr.strip(), (command, loud.stderr)
        quiet = subprocess.run([sieve_executable, "-q", *command], capture_output=True, text=True, cwd=tmp_path,
                               timeout=300, check=False)
        assert quiet.returncode == 0, (command, quiet.stderr)
        assert quiet.stderr == "", (command, quiet.stderr)
        assert quiet.stdout == loud.stdout or command[0] == "evaluate", command  # what goes to standard output stays
    assert labelled.stat().st_size and (model / "adapter.joblib").is_file() and memory.is_file()
    failed = subprocess.run([sieve_executable, "-q", "train", str(tmp_path / "missing.jsonl"), "-o", str(model)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    assert failed.returncode != 0 and failed.stderr.strip()


def test_train_copies_only_models_that_match_their_cards(runner: CliRunner, copy_model_dir, tmp_path: Path) -> None:
    # training the HTML model copies the source folder's text model beside it: it was
    # copied unchecked; and train --base copied every .joblib and .json of its base
    models = copy_model_dir("source")
    pages = tmp_path / "pages"
    pages.mkdir()
    for i in range(2):
        (pages / f"story-{i}.html").write_text(_page_html(i), encoding="utf-8")
    clean = tmp_path / "clean.jsonl"
    clean.write_text("".join(json.dumps({"id": f"story-{i}", "url": f"https://harbour.example/{i}",
                                         "text": "\n\n".join(ARTICLE)}) + "\n" for i in range(2)), encoding="utf-8")
    labelled = tmp_path / "labelled.jsonl"
    aligned = runner.invoke(cli, ["align", str(pages), "--clean", str(clean), "-o", str(labelled),
                                  "--model-dir", str(models)])
    assert aligned.exit_code == 0, aligned.stderr
    with open(models / "blocks.joblib", "ab") as f:
        f.write(b"\0")  # no longer the file its card describes
    trained = runner.invoke(cli, ["train", str(labelled), "-o", str(tmp_path / "out"), "--folds", "0",
                                  "--model-dir", str(models)])
    assert trained.exit_code == 1 and "blocks.joblib does not match its card" in trained.stderr
    assert not (tmp_path / "out" / "blocks.joblib").exists()
    base = copy_model_dir("base")
    (base / "extra.joblib").write_bytes(b"not a model")
    (base / "extra.json").write_text("{}", encoding="utf-8")
    adapted = runner.invoke(cli, ["train", "--base", str(base), str(labelled), "-o", str(tmp_path / "adapted")])
    assert adapted.exit_code == 0, adapted.stderr
    written = sorted(p.name for p in (tmp_path / "adapted").iterdir())
    assert "extra.joblib" not in written and "extra.json" not in written
    assert {"blocks.joblib", "blocks.json", "lid.ftz", "lid.json", "adapter.joblib"} <= set(written)


@pytest.mark.parametrize("command", ["align", "review"])
def test_align_and_review_refuse_standard_output_for_their_jsonl(runner: CliRunner, tiny_model_dir: Path,
                                                                 data_dir: Path, tmp_path: Path,
                                                                 command: str) -> None:
    # align prints each page's coverage on standard output, review its questions: the
    # JSON lines would be mixed with them
    src = str(data_dir / "articles.jsonl")
    args = ["align", src, "--clean", src] if command == "align" else ["review", src]
    result = runner.invoke(cli, [*args, "-o", "-", "--model-dir", str(tiny_model_dir)], input="q")
    assert result.exit_code == 2, result.output
    assert "standard output" in result.stderr and "give a file" in result.stderr
    assert result.stdout == ""


def test_align_matches_pages_by_their_id_field(runner: CliRunner, shipped_model_dir: Path, tmp_path: Path) -> None:
    article = "Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter months."
    page = (f"<html><body><nav><a href='/'>Home</a> | <a href='/n'>News</a></nav><p>{article}</p>"
            "<footer>Copyright 2024 Gazette</footer></body></html>")
    pages, clean, out = tmp_path / "pages.jsonl", tmp_path / "clean.jsonl", tmp_path / "labelled.jsonl"
    pages.write_text(json.dumps({"doc_id": "p1", "html": page}) + "\n", encoding="utf-8")
    clean.write_text(json.dumps({"id": "p1", "text": article}) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["align", str(pages), "--clean", str(clean), "-o", str(out), "--id-field", "doc_id",
                                 "--model-dir", str(shipped_model_dir)])
    assert result.exit_code == 0, result.stderr
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["id"] == "p1" and "doc_id" not in record
    assert [b["label"] for b in record["blocks"] if b["text"] == article] == ["content"]
    # without the option, the page has no id and no url: the reason names the option
    plain = runner.invoke(cli, ["align", str(pages), "--clean", str(clean), "-o", str(tmp_path / "plain.jsonl"),
                                "--model-dir", str(shipped_model_dir)])
    assert "neither an id nor a url (--id-field names the field of a record's id)" in plain.stderr

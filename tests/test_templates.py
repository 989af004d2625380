"""Template memory: learning publishers' repeated blocks, merging, files, and using them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from classifier import Sieve
from classifier.cli import cli
from classifier.document import Document
from classifier.errors import ModelError
from classifier.model import content_recalls
from classifier.templates import FORMAT, TemplateMemory, publisher_of

MENU = ["Home", "Local news", "Sport", "Weather", "Contact"]
#: A publisher's own imprint line: no phrase the block model knows as boilerplate (its
#: lexicon has syndication notices such as "publié à l'origine par"), repeated on every page
FOOTER = "The Gazette is printed and published by Harbour Media Ltd at 12 Quay Street, Port Aldwin."
COOKIES = "We use cookies to improve your experience on our website and to show you relevant offers."
TOWNS = ["Port Aldwin", "Kerrow", "Millbrook", "Ashford", "Lowmere", "Brackley", "Dunmore", "Fenwick"]
TOPICS = ["bus routes", "school meals", "harbour wall", "library hours", "cycle lanes", "street lights",
          "market stalls", "ferry fares", "park benches", "bin collections", "post office", "swimming pool"]


def _page(pub: str, i: int, labelled: bool = False) -> dict:
    # every page's article differs in words, not only in numbers (templates ignore digits)
    town, topic = TOWNS[i % len(TOWNS)], TOPICS[i % len(TOPICS)]
    other = TOPICS[(i * 5 + 3) % len(TOPICS)]
    article = [f"{town} council argues again over the {topic}",
               f"Residents of {town} met to discuss the {topic}, which would change life around the {other} "
               f"and the old square, said a spokesperson for the {pub.split('.')[0]} residents group.",
               f"The council said a decision on the {topic} in {town} would follow a consultation about the "
               f"{other}, and that the budget had been set aside."]
    blocks = [{"text": t, "label": "navigation"} for t in MENU]
    blocks += [{"text": t, "label": "content"} for t in article]
    blocks += [{"text": COOKIES, "label": "boilerplate"}, {"text": FOOTER, "label": "boilerplate"}]
    if not labelled:
        blocks = [{"text": b["text"]} for b in blocks]
    return {"id": f"{pub}-{i}", "url": f"https://www.{pub}/2024/{i}.html", "blocks": blocks}


def _crawl(n: int = 24) -> list[Document]:
    return [Document.from_dict(_page(pub, i, labelled=True)) for pub in ("gazette.test", "herald.test")
            for i in range(n)]


def test_publisher_from_field_or_url_host() -> None:
    assert publisher_of(Document.from_dict({"text": "x", "publisher": "Example.org"})) == "example.org"
    assert publisher_of(Document.from_dict({"text": "x", "url": "https://www.news.example.com/a"})) == \
        "news.example.com"
    assert publisher_of(Document.from_dict({"text": "x"})) is None


def test_learn_keeps_repeated_blocks_per_publisher_not_articles() -> None:
    memory = TemplateMemory.learn(_crawl())
    assert set(memory.publishers) == {"gazette.test", "herald.test"}
    entry = memory.publishers["gazette.test"]
    assert entry["pages"] == 24
    texts = {b["text"] for b in entry["blocks"].values()}
    assert set(MENU) <= texts and COOKIES[:60] in texts and FOOTER[:60] in texts
    assert not any("Residents of" in t for t in texts)  # each article paragraph is on one page
    pages, share = memory.evidence("gazette.test", "  HOME ")  # case and spaces do not matter
    assert pages == 24 and share == 1.0
    assert memory.evidence("other.test", "Home") == (0, 0.0)


def test_adjust_turns_templates_into_non_content_but_respects_confident_content() -> None:
    doc = _crawl(1)[0]
    memory = TemplateMemory.learn([Document.from_dict(_page("gazette.test", i)) for i in range(4)], min_pages=3)
    probs = np.array([[0.6, 0.1, 0.3]] * len(doc.blocks))
    out = memory.adjust(doc, probs)
    menu, footer = out[0], out[-1]
    assert menu[0] <= 0.05 and menu[2] > menu[1] and np.isclose(menu.sum(), 1.0)
    assert footer[0] <= 0.05
    assert np.array_equal(out[5], probs[5])  # an article paragraph is left alone
    confident = np.array([[0.95, 0.03, 0.02]] * len(doc.blocks))
    # seen on 4 pages: enough for an unsure block, not for a confident one (needs 6)
    assert np.array_equal(memory.adjust(doc, confident), confident)
    assert memory.adjust(doc, confident)[0][0] == 0.95
    more = TemplateMemory.learn([Document.from_dict(_page("gazette.test", i)) for i in range(6)], min_pages=3)
    assert more.adjust(doc, confident)[0][0] <= 0.05


def test_merge_adds_page_counts_and_files_round_trip(tmp_path: Path) -> None:
    a = TemplateMemory.learn([Document.from_dict(_page("gazette.test", i)) for i in range(5)], partial=True)
    b = TemplateMemory.learn([Document.from_dict(_page("gazette.test", i)) for i in range(5, 12)], partial=True)
    merged = a.merge(b)
    assert merged.publishers["gazette.test"]["pages"] == 12
    assert merged.evidence("gazette.test", "Home") == (12, 1.0)
    path = merged.save(tmp_path / "t.json")
    again = TemplateMemory.load(path)
    assert again.publishers == merged.publishers and json.loads(path.read_text())["format"] == FORMAT
    (tmp_path / "bad.json").write_text('{"format": "something-else"}')
    with pytest.raises(ModelError, match="not a Sieve template memory"):
        TemplateMemory.load(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ModelError, match="cannot read"):
        TemplateMemory.load(tmp_path / "broken.json")


def test_on_a_crawl_templates_raise_non_content_recall_and_keep_content() -> None:
    # issue 6's crawl-like fixture: 2 publishers of 24 pages, the shipped model (the
    # tiny test model already gets every menu line here): 0.857 -> 1.000, content 0.743 kept
    crawl = _crawl(24)
    memory = TemplateMemory.learn([Document.from_dict(_page(p, i)) for p in ("gazette.test", "herald.test")
                                   for i in range(24)])  # learned without labels
    plain = list(Sieve().label_many(crawl))
    with_memory = list(Sieve(templates=memory).label_many(crawl))
    c0, n0 = content_recalls(plain, crawl)
    c1, n1 = content_recalls(with_memory, crawl)
    assert n1 == 1.0 and n1 > n0 and c1 >= c0  # up, and content kept


def test_cli_learn_show_merge_and_use(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path,
                                     data_dir: Path) -> None:
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text("".join(json.dumps(_page("gazette.test", i)) + "\n" for i in range(20)))
    learned = runner.invoke(cli, ["templates", "learn", str(crawl), "-o", str(tmp_path / "t.json")])
    assert learned.exit_code == 0, learned.stderr
    assert "1 publisher, 7 repeated blocks" in learned.stderr
    shown = runner.invoke(cli, ["templates", "show", str(tmp_path / "t.json"), "--top", "3"])
    assert shown.exit_code == 0 and shown.stdout.splitlines()[0].startswith("gazette.test  20 pages")
    assert shown.stdout.splitlines()[-1] == "  ... 4 more blocks (--top 7 shows them all)"  # the rest is said, not lost
    every = runner.invoke(cli, ["templates", "show", str(tmp_path / "t.json"), "--top", "7"]).stdout
    assert "more" not in every and len(every.splitlines()) == 8
    for half, pages in (("a", range(10)), ("b", range(10, 20))):
        (tmp_path / f"{half}.jsonl").write_text("".join(json.dumps(_page("gazette.test", i)) + "\n" for i in pages))
        part = runner.invoke(cli, ["templates", "learn", str(tmp_path / f"{half}.jsonl"), "--partial", "-o",
                                   str(tmp_path / f"{half}.json")])
        assert part.exit_code == 0, part.stderr
    merged = runner.invoke(cli, ["templates", "merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                                 "-o", str(tmp_path / "m.json")])
    assert merged.exit_code == 0, merged.stderr
    assert TemplateMemory.load(tmp_path / "m.json").publishers["gazette.test"]["pages"] == 20
    # one memory twice, by name or as a copy, would count its pages twice
    (tmp_path / "copy.json").write_bytes((tmp_path / "t.json").read_bytes())
    refused = runner.invoke(cli, ["templates", "merge", str(tmp_path / "t.json"), str(tmp_path / ".." / tmp_path.name
                                                                                   / "t.json"),
                                  "-o", str(tmp_path / "m2.json")])
    assert refused.exit_code == 2 and "is given twice" in refused.stderr and not (tmp_path / "m2.json").exists()
    copied = runner.invoke(cli, ["templates", "merge", str(tmp_path / "t.json"), str(tmp_path / "copy.json"),
                                 "-o", str(tmp_path / "m2.json")])
    assert copied.exit_code == 0 and "copy.json is identical to" in copied.stderr
    scored = runner.invoke(cli, ["score", str(crawl), "--model-dir", str(tiny_model_dir),
                                 "--templates", str(tmp_path / "t.json")])
    assert scored.exit_code == 0, scored.stderr
    assert "the template memory applied to 20 of 20 documents" in scored.stderr
    elsewhere = runner.invoke(cli, ["score", str(data_dir / "story.txt"), "--model-dir", str(tiny_model_dir),
                                    "--templates", str(tmp_path / "t.json")])
    assert "applied to 0 of 1 documents" in elsewhere.stderr and "it knows gazette.test" in elsewhere.stderr
    for line in scored.stdout.splitlines():
        blocks = json.loads(line)["blocks"]
        assert all(b["label"] != "content" for b in blocks[:5] + blocks[-2:])
    bad = runner.invoke(cli, ["score", str(crawl), "--model-dir", str(tiny_model_dir), "--templates", str(crawl)])
    assert bad.exit_code == 1 and "template memory" in bad.stderr and "Traceback" not in bad.stderr


def test_a_platform_of_many_host_names_is_pointed_to_publisher(runner: CliRunner, tmp_path: Path) -> None:
    # 35 blogs of one platform, each on its own subdomain: 35 publishers of one page, no
    # template, and a hint at --partial and merge instead of --publisher
    pages = [{**_page("platform.test", i), "url": f"https://blog{i}.platform.test/post"} for i in range(12)]
    data = tmp_path / "blogs.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in pages))
    alone = runner.invoke(cli, ["templates", "learn", str(data), "-o", str(tmp_path / "t.json")])
    assert alone.exit_code == 0, alone.stderr
    assert "the largest publisher here has 1 page)" in alone.stderr
    assert "the 12 publishers of one page or two are likely one site" in alone.stderr
    assert "--publisher NAME makes them one" in alone.stderr
    one = runner.invoke(cli, ["templates", "learn", str(data), "--publisher", "platform.test", "-o",
                              str(tmp_path / "t2.json")])
    assert one.exit_code == 0 and "likely one site" not in one.stderr
    assert json.loads((tmp_path / "t2.json").read_text())["publishers"]


def test_odd_urls_and_damaged_memories(tmp_path: Path) -> None:
    assert publisher_of(Document.from_dict({"text": "x", "url": "http://[x/a"})) is None
    for bad in ({"format": FORMAT, "min_pages": "x"},
                {"format": FORMAT, "publishers": {"a.test": {"pages": 3}}},
                {"format": FORMAT, "publishers": [["a", 1]]},
                {"format": FORMAT, "publishers": {"a.test": {"pages": 3, "blocks": {"0": {"pages": 3}}}}},
                {"format": FORMAT, "publishers": {"a.test": {"pages": 3, "blocks": {
                    "0": {"pages": 3, "roles": {"li/link": "3"}}}}}},
                # a text that is no string: `templates show` failed on it with a TypeError
                {"format": FORMAT, "publishers": {"a.test": {"pages": 3, "blocks": {
                    "0": {"pages": 3, "roles": {"": 3}, "text": 5}, "1": {"pages": 3, "roles": {"": 3},
                                                                       "text": "Menu"}}}}},
                {"format": FORMAT, "publishers": {"a.test": {"pages": 3, "blocks": {
                    "0": {"pages": 3, "roles": {"": 3}, "text": ["Menu"]}}}}},
                # thresholds no learn writes: with 0 and 0, every block of a known publisher was a template
                {"format": FORMAT, "min_pages": 0, "min_share": 0, "publishers": {}},
                {"format": FORMAT, "min_pages": 1, "publishers": {}},
                {"format": FORMAT, "min_share": 1.5, "publishers": {}},
                {"format": FORMAT, "min_share": float("nan"), "publishers": {}}):
        (tmp_path / "t.json").write_text(json.dumps(bad))
        with pytest.raises(ModelError, match="damaged template memory"):
            TemplateMemory.load(tmp_path / "t.json")


def test_show_says_in_one_line_that_a_memory_with_a_text_that_is_no_string_is_damaged(runner: CliRunner,
                                                                                         tmp_path: Path) -> None:
    memory = {"format": FORMAT, "min_pages": 3, "min_share": 0.2, "partial": False,
              "publishers": {"a.test": {"pages": 3, "blocks": {"0": {"pages": 3, "roles": {"": 3}, "text": 5},
                                                               "1": {"pages": 3, "roles": {"": 3}, "text": "Menu"}}}}}
    (tmp_path / "t.json").write_text(json.dumps(memory))
    shown = runner.invoke(cli, ["templates", "show", str(tmp_path / "t.json")])
    assert shown.exit_code == 1 and "damaged template memory" in shown.stderr, shown.output
    assert "Traceback" not in shown.output and len(shown.stderr.strip().splitlines()) == 1


def test_show_escapes_the_control_characters_and_bidi_overrides_of_the_pages_text(runner: CliRunner,
                                                                                   tmp_path: Path) -> None:
    # a footer's OSC sequence (it retitled the terminal) and an RLO (the rest of the line shown reversed)
    # went from the pages to the terminal as they were, unlike every other view of a page's text
    memory = {"format": FORMAT, "min_pages": 3, "min_share": 0.2, "partial": False,
              "publishers": {"a\x1b[2j.test": {"pages": 3, "blocks": {
                  "0": {"pages": 3, "roles": {"div": 3}, "text": "Copyright \u202eExample\x1b]0;pwned\x07 News"}}}}}
    (tmp_path / "t.json").write_text(json.dumps(memory))
    shown = runner.invoke(cli, ["templates", "show", str(tmp_path / "t.json")])
    assert shown.exit_code == 0, shown.output
    assert "\x1b" not in shown.stdout and "\u202e" not in shown.stdout and "\x07" not in shown.stdout
    assert "Copyright \\u202eExample\\x1b]0;pwned\\x07 News" in shown.stdout
    assert shown.stdout.startswith("a\\x1b[2j.test")


def test_show_lists_the_texts_below_the_thresholds_apart(runner: CliRunner, tmp_path: Path) -> None:
    # "14 templates" above 20 lines did not say which ones apply: a text on many pages in two roles, on
    # few in each, is listed beside the templates though it is no template
    memory = {"format": FORMAT, "min_pages": 3, "min_share": 0.2, "partial": False,
              "publishers": {"a.test": {"pages": 20, "blocks": {
                  "0": {"pages": 6, "roles": {"div": 3, "p": 3}, "text": "Morning Brief"},
                  "1": {"pages": 5, "roles": {"div": 5}, "text": "Subscribe to our newsletter"},
                  "2": {"pages": 2, "roles": {"p": 2}, "text": "Read also"},
                  "3": {"pages": 1, "roles": {"p": 1}, "text": "Once"}}}}}
    (tmp_path / "t.json").write_text(json.dumps(memory))
    shown = runner.invoke(cli, ["templates", "show", str(tmp_path / "t.json")])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "a.test  20 pages, 1 template"
    assert "Subscribe to our newsletter" in lines[1]
    assert lines[2] == "  below the thresholds (3 pages and 20% of them in one role), not applied:"
    assert "Morning Brief" in lines[3] and "Read also" in lines[4] and len(lines) == 6
    assert lines[5].startswith("      1 page   Once")  # not "1 pages"; the texts' column kept


def test_a_memory_learned_twice_from_the_same_pages_is_the_same_file(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    clock = iter([0.0, 3600.0, 7200.0, 10800.0])  # learned an hour apart
    monkeypatch.setattr(time, "time", lambda: next(clock))
    monkeypatch.setattr(time, "gmtime", lambda secs=None: time.localtime(0) if secs is None else time.localtime(secs))
    pages = [Document.from_dict(_page("gazette.test", i)) for i in range(6)]
    a = TemplateMemory.learn(pages).save(tmp_path / "a.json")
    monkeypatch.setattr(time, "gmtime", lambda secs=None: time.localtime(3600))
    b = TemplateMemory.learn(pages).save(tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()  # a creation time made every file differ


def test_a_publisher_is_one_whatever_its_spelling() -> None:
    """The publisher field and a url's host read alike: case, www., a trailing dot,
    punycode; a memory learned from one spelling applies to the others."""
    spellings = [{"publisher": "www.Example.com"}, {"publisher": "example.com."},
                 {"url": "https://WWW.example.com./a"}, {"url": "http://example.com/b"}]
    assert {publisher_of(Document.from_dict({"text": "x", **s})) for s in spellings} == {"example.com"}
    assert publisher_of(Document.from_dict({"text": "x", "url": "https://xn--caf-dma.example/a"})) == "café.example"
    assert publisher_of(Document.from_dict({"text": "x", "publisher": "xn--caf-dma.example"})) == "café.example"
    memory = TemplateMemory.learn([Document.from_dict({**_page("gazette.test", i), "publisher": "www.Gazette.test"})
                                   for i in range(4)], min_pages=3)
    doc = Document.from_dict(_page("gazette.test", 9))  # named by its url only
    probs = np.array([[0.6, 0.1, 0.3]] * len(doc.blocks))
    assert memory.adjust(doc, probs)[0][0] <= 0.05


def test_a_page_given_again_counts_once(runner: CliRunner, tmp_path: Path) -> None:
    """A crawl that fetched one story several times (other spellings of its url, or
    without a url the same blocks) does not make the story's paragraphs templates."""
    story = _page("gazette.test", 0)
    copies = [story, {**story, "url": story["url"].replace("https://www.", "http://")},
              {**story, "url": story["url"] + "#comments"}, {**story, "url": story["url"] + "?utm_source=feed"}]
    no_url = [{k: v for k, v in _page("gazette.test", 1).items() if k != "url"} | {"publisher": "gazette.test"}] * 3
    others = [_page("gazette.test", i) for i in range(2, 5)]
    memory = TemplateMemory.learn([Document.from_dict(r) for r in copies + no_url + others], min_pages=3)
    assert memory.publishers["gazette.test"]["pages"] == 5 and memory.repeated == 5
    texts = {b["text"] for b in memory.publishers["gazette.test"]["blocks"].values()}
    assert set(MENU) <= texts and not any("Residents of" in t for t in texts)
    data = tmp_path / "crawl.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in copies + no_url + others))
    result = runner.invoke(cli, ["templates", "learn", str(data), "-o", str(tmp_path / "t.json")])
    assert result.exit_code == 0, result.stderr
    assert "5 of 10 documents repeat a page counted already" in result.stderr


def test_merged_memories_are_the_same_file_in_any_order(tmp_path: Path) -> None:
    """Texts that differ only in their digits share a key; the one shown was the first
    seen, so merging shard memories the other way round gave another file (and
    `sieve clean`, which knows a memory by its sha256, another memory)."""
    pages = [Document.from_dict({**_page("gazette.test", i),
                                 "blocks": [*_page("gazette.test", i)["blocks"], f"Archive: August {2010 + i}"]})
             for i in range(8)]
    whole = TemplateMemory.learn(pages).save(tmp_path / "whole.json")
    first = TemplateMemory.learn(pages[:4], partial=True)
    second = TemplateMemory.learn(pages[4:], partial=True)
    ab = first.merge(second).final().save(tmp_path / "ab.json")
    ba = second.merge(first).final().save(tmp_path / "ba.json")
    reversed_ = TemplateMemory.learn(pages[::-1]).save(tmp_path / "reversed.json")
    assert ab.read_bytes() == ba.read_bytes() == whole.read_bytes() == reversed_.read_bytes()
    assert "Archive: August 2010" in whole.read_text(encoding="utf-8")


def test_a_memory_or_adapter_of_an_earlier_spelling_still_applies(tmp_path: Path, tiny_model_dir: Path) -> None:
    """Memories and adapters written before publishers were normalised named them as
    the records did (www.Gazette.test): read now, they apply to the same pages."""
    from classifier.adapt import ADAPTER_FILE, fit_adapter, load_adapter, save_adapter

    learned = TemplateMemory.learn([Document.from_dict(_page("gazette.test", i)) for i in range(4)], min_pages=3)
    old = learned.to_dict()
    old["publishers"] = {"www.Gazette.test": old["publishers"]["gazette.test"]}
    (tmp_path / "old.json").write_text(json.dumps(old))
    memory = TemplateMemory.load(tmp_path / "old.json")
    assert set(memory.publishers) == {"gazette.test"}
    doc = Document.from_dict(_page("gazette.test", 9))
    assert memory.adjust(doc, np.array([[0.6, 0.1, 0.3]] * len(doc.blocks)))[0][0] <= 0.05
    docs = [Document.from_dict(_page("gazette.test", i, labelled=True)) for i in range(3)]
    sieve = Sieve(tiny_model_dir, model="text")
    adapter = fit_adapter(docs, [np.array([b.scores for b in d.blocks]) for d in sieve.label_many(docs)])
    adapter.publishers = frozenset({"www.gazette.test"})  # as an earlier Sieve named it
    adapter.memory = {("www.gazette.test", k, r): v for (_, k, r), v in adapter.memory.items()}
    save_adapter(adapter, tmp_path / ADAPTER_FILE)
    loaded = load_adapter(tmp_path / ADAPTER_FILE)
    assert loaded.publishers == {"gazette.test"} and loaded.applies_to(doc)
    assert {pub for pub, _, _ in loaded.memory} == {"gazette.test"}


def test_a_memory_file_nested_too_deeply_is_a_clear_error(tmp_path: Path) -> None:
    from classifier.templates import TemplateMemory

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")  # a RecursionError in the JSON reader
    with pytest.raises(ModelError, match="cannot read the template memory \\(nested too deeply\\)"):
        TemplateMemory.load(deep)


def test_learn_and_merge_refuse_standard_output_for_the_memory(runner: CliRunner, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where a file named "-" would be made
    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text("".join(json.dumps(_page("gazette.test", i)) + "\n" for i in range(6)))
    learned = runner.invoke(cli, ["templates", "learn", str(crawl), "-o", str(tmp_path / "t.json")])
    assert learned.exit_code == 0, learned.stderr
    for args in (["learn", str(crawl)], ["merge", str(tmp_path / "t.json")]):
        result = runner.invoke(cli, ["templates", *args, "-o", "-"])
        assert result.exit_code == 2 and "a template memory is a file" in result.stderr, result.stderr
        assert not (tmp_path / "-").exists()


def test_learn_reads_standard_input_as_its_help_says(runner: CliRunner, tmp_path: Path) -> None:
    # "any input `sieve score` reads", but '-' was refused as a path that does not exist
    pages = "".join(json.dumps(_page("gazette.test", i)) + "\n" for i in range(20))
    (tmp_path / "crawl.jsonl").write_text(pages)
    from_file = runner.invoke(cli, ["templates", "learn", str(tmp_path / "crawl.jsonl"), "-o",
                                    str(tmp_path / "f.json")])
    from_stdin = runner.invoke(cli, ["templates", "learn", "-", "-o", str(tmp_path / "s.json")], input=pages)
    assert from_stdin.exit_code == 0, from_stdin.stderr
    assert "1 publisher, 7 repeated blocks" in from_stdin.stderr
    assert (tmp_path / "s.json").read_bytes() == (tmp_path / "f.json").read_bytes() and from_file.exit_code == 0
    (tmp_path / "half.jsonl").write_text("".join(json.dumps(_page("gazette.test", i)) + "\n" for i in range(10)))
    rest = "".join(json.dumps(_page("gazette.test", i)) + "\n" for i in range(10, 20))
    both = runner.invoke(cli, ["templates", "learn", "-", str(tmp_path / "half.jsonl"), "-o", str(tmp_path / "b.json")],
                         input=rest)
    assert both.exit_code == 0 and (tmp_path / "b.json").read_bytes() == (tmp_path / "f.json").read_bytes()


def test_a_memory_named_gz_or_zst_is_written_compressed_and_read_back(runner: CliRunner, tmp_path: Path) -> None:
    # `-o t.json.gz` wrote plain JSON under a name that gzip and zcat refuse
    import gzip

    import zstandard

    crawl = tmp_path / "crawl.jsonl"
    crawl.write_text("".join(json.dumps(_page("gazette.test", i)) + "\n" for i in range(6)))
    for name in ("t.json", "t.json.gz", "t.JSON.GZ", "t.json.zst"):
        result = runner.invoke(cli, ["templates", "learn", str(crawl), "--partial", "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.stderr
    plain = (tmp_path / "t.json").read_bytes()
    assert gzip.decompress((tmp_path / "t.json.gz").read_bytes()) == plain
    assert gzip.decompress((tmp_path / "t.JSON.GZ").read_bytes()) == plain
    assert zstandard.ZstdDecompressor().stream_reader((tmp_path / "t.json.zst").read_bytes()).read() == plain
    # read back by their bytes, whatever their names: show, merge and --templates take them
    shown = runner.invoke(cli, ["templates", "show", str(tmp_path / "t.json.gz")])
    assert shown.exit_code == 0 and "gazette.test" in shown.stdout, shown.stderr
    merged = runner.invoke(cli, ["templates", "merge", str(tmp_path / "t.json.zst"), str(tmp_path / "t.json.gz"),
                                 "-o", str(tmp_path / "m.json")])
    assert merged.exit_code == 0, merged.stderr
    assert TemplateMemory.load(tmp_path / "m.json").publishers["gazette.test"]["pages"] == 12
    (tmp_path / "gz-named.json").write_bytes((tmp_path / "t.json.gz").read_bytes())
    assert TemplateMemory.load(tmp_path / "gz-named.json").to_dict() == json.loads(plain)
    # a cut file is a one-line error, and another compression's name is refused before any work
    (tmp_path / "cut.json.gz").write_bytes((tmp_path / "t.json.gz").read_bytes()[:60])
    cut = runner.invoke(cli, ["templates", "show", str(tmp_path / "cut.json.gz")])
    assert cut.exit_code == 1 and "damaged or cut short" in cut.stderr and "Traceback" not in cut.stderr
    refused = runner.invoke(cli, ["templates", "learn", str(crawl), "-o", str(tmp_path / "t.json.bz2")])
    assert refused.exit_code == 2 and ".bz2" in refused.stderr and not (tmp_path / "t.json.bz2").exists()


def test_learning_from_no_document_is_an_error_not_an_empty_memory(runner: CliRunner, tmp_path: Path) -> None:
    # an empty input (a wrong glob, an empty export) wrote an empty memory and exited 0;
    # train and evaluate refuse the same input
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "folder").mkdir()
    for given in ("empty.jsonl", "folder"):
        result = runner.invoke(cli, ["templates", "learn", str(tmp_path / given), "-o", str(tmp_path / "t.json")])
        assert result.exit_code == 1 and "no document read from" in result.stderr, result.stderr
        assert not (tmp_path / "t.json").exists()
    # a shard learned --partial may be empty (merged with the others): a warning, and the memory
    part = runner.invoke(cli, ["templates", "learn", str(tmp_path / "empty.jsonl"), "--partial", "-o",
                               str(tmp_path / "p.json")])
    assert part.exit_code == 0 and "warning: no document read" in part.stderr
    assert TemplateMemory.load(tmp_path / "p.json").publishers == {}

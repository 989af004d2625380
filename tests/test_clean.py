"""`sieve clean` and the cleaning engine: policies, shards, reports, rejects, workers,
Dask, resuming, bad input."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from classifier.clean import CleanPolicy, clean_document, earlier_output_owners
from classifier.cli import EXIT_TOO_MANY_REJECTS, cli
from classifier.document import Block, Document, Label, Segment
from classifier.engine import REPORT_NAME, _progress, discover_shards, rate_text
from classifier.errors import InputError
from classifier.language import LanguageIdentifier, _text_weight

GERMAN = "Wir haben lange auf diesen Tag gewartet und sind sehr stolz darauf."
ARTICLE = [
    ("Home | News | Sport | Weather", Label.NAVIGATION, "en"),
    ("Harbour town keeps its winter ferry", Label.CONTENT, "en"),
    ("Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter "
     f"months. {GERMAN} The council had planned to cut the service.", Label.CONTENT, "en"),
    ("The vote passed by 412 votes to 158, the highest turnout in a decade.", Label.CONTENT, "en"),
    ("Cet article a été publié à l'origine par la Gazette du Littoral.", Label.BOILERPLATE, "fr"),
    ("Ce texte en français est un paragraphe du corps de l'article, cité tel quel.", Label.CONTENT, "fr"),
]


def _doc() -> Document:
    blocks = []
    for text, label, lang in ARTICLE:
        segments: tuple[Segment, ...] = ()
        if GERMAN in text:
            start = text.index(GERMAN)
            segments = (Segment(start, start + len(GERMAN), "de", 0.99),)
        blocks.append(Block(text, label=label, scores=(1.0, 0.0, 0.0), lang=lang, lang_score=0.9,
                            foreign=lang != "en", segments=segments))
    return Document(id="d1", blocks=tuple(blocks), url="https://example.org/a", publisher="example.org",
                    lang="en", lang_score=0.95, extra={"crawl": "2024-10"})


# -- clean_document: the policy ------------------------------------------------------------


def test_default_policy_keeps_the_article_in_its_language() -> None:
    res = clean_document(_doc(), CleanPolicy(min_chars=10), source="shard-1")
    assert res.dropped is None and len(res.records) == 1
    lang, rec = res.records[0]
    assert lang is None and rec["id"] == "d1" and rec["source"] == "shard-1"
    paragraphs = rec["text"].split("\n\n")
    assert paragraphs[0] == "Harbour town keeps its winter ferry"
    assert GERMAN not in rec["text"] and "Residents of Port Aldwin" in rec["text"]
    assert "The council had planned to cut the service." in paragraphs[1]
    assert "Home | News" not in rec["text"] and "Gazette" not in rec["text"] and "français" not in rec["text"]
    meta = rec["metadata"]
    assert meta["url"] == "https://example.org/a" and meta["publisher"] == "example.org"
    assert meta["lang"] == "en" and meta["lang_score"] == 0.95 and meta["crawl"] == "2024-10"
    assert meta["removed"] == {"boilerplate": 1, "foreign_blocks": 1, "foreign_segments": 1, "navigation": 1}
    assert meta["model"]["name"] == "sieve"


def test_a_record_without_a_publisher_gets_its_urls_host() -> None:
    from dataclasses import replace

    meta = clean_document(replace(_doc(), publisher=None, url="https://www.Coast-Gazette.example/news/1"),
                          CleanPolicy(min_chars=10)).records[0][1]["metadata"]
    assert meta["publisher"] == "coast-gazette.example"
    bare = clean_document(replace(_doc(), publisher=None, url=None), CleanPolicy(min_chars=10))
    assert bare.records[0][1]["metadata"]["publisher"] is None


def test_keep_foreign_and_labels() -> None:
    res = clean_document(_doc(), CleanPolicy(min_chars=10, keep_foreign=True,
                                             keep_labels=frozenset({Label.CONTENT, Label.BOILERPLATE})))
    text = res.records[0][1]["text"]
    assert GERMAN in text and "Gazette" in text and "français" in text and "Home | News" not in text


def test_split_by_language_gives_each_language_its_text() -> None:
    res = clean_document(_doc(), CleanPolicy(min_chars=10, split_by_language=True))
    by_lang = {lang: rec for lang, rec in res.records}
    assert set(by_lang) == {"en", "de", "fr"}
    assert by_lang["de"]["text"] == GERMAN and by_lang["de"]["metadata"]["lang"] == "de"
    assert "français" in by_lang["fr"]["text"] and "Gazette" not in by_lang["fr"]["text"]
    assert GERMAN not in by_lang["en"]["text"] and "Port Aldwin" in by_lang["en"]["text"]
    # the French segment went to the French record: moved, not counted as removed
    assert "foreign_segments" not in by_lang["en"]["metadata"]["removed"]
    assert "foreign_segments" not in res.removed and "foreign_blocks" not in res.removed
    # each record's lang_score: the document's for its own language; for another, the confidence of
    # that language's blocks and segments (a second language's record had null, which broke a filter on it)
    assert by_lang["en"]["metadata"]["lang_score"] == 0.95
    assert by_lang["de"]["metadata"]["lang_score"] == 0.99 and by_lang["fr"]["metadata"]["lang_score"] == 0.9
    # ... each weighing by its length
    quote = "Nous ne reculerons pas devant cette décision du conseil."
    said = f"The mayor said: {quote}"
    doc = _doc()
    doc = replace(doc, blocks=doc.blocks + (Block(said, label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang="en",
                                                  lang_score=0.9, segments=(Segment(16, len(said), "fr", 0.5),)),))
    french = [b.text for b in doc.blocks if b.lang == "fr" and b.label is Label.CONTENT]
    weighed = (0.9 * len(french[0]) + 0.5 * len(quote)) / (len(french[0]) + len(quote))
    fr = {lang: rec for lang, rec in clean_document(doc, CleanPolicy(min_chars=10, split_by_language=True)).records}
    assert fr["fr"]["metadata"]["lang_score"] == round(weighed, 4)


def test_lang_keeps_only_documents_in_the_languages_asked_for() -> None:
    assert clean_document(_doc(), CleanPolicy(min_chars=10, languages=frozenset({"en", "de"}))).records == \
        clean_document(_doc(), CleanPolicy(min_chars=10)).records
    other = clean_document(_doc(), CleanPolicy(min_chars=10, languages=frozenset({"fr"})))
    assert other.dropped == "other_language" and other.records == []
    # a document in no language found is "und"
    none = replace(_doc(), lang=None, lang_score=None)
    assert clean_document(none, CleanPolicy(min_chars=10, languages=frozenset({"en"}))).dropped == "other_language"
    assert clean_document(none, CleanPolicy(min_chars=10, languages=frozenset({"und"}))).dropped is None
    # the same with --annotate: the document goes, not its blocks
    assert clean_document(_doc(), CleanPolicy(min_chars=10, annotate=True,
                                              languages=frozenset({"fr"}))).dropped == "other_language"
    # split by language: only the languages asked for are written, the others counted
    split = clean_document(_doc(), CleanPolicy(min_chars=10, split_by_language=True, languages=frozenset({"en", "de"})))
    assert sorted(lang for lang, _ in split.records) == ["de", "en"]
    assert split.removed["other_language_parts"] == 1  # the French paragraph
    # a French part is enough for --lang fr, though the document is English
    fr = clean_document(_doc(), CleanPolicy(min_chars=10, split_by_language=True, languages=frozenset({"fr"})))
    assert [lang for lang, _ in fr.records] == ["fr"] and fr.records[0][1]["metadata"]["lang"] == "fr"
    gone = clean_document(_doc(), CleanPolicy(min_chars=10, split_by_language=True, languages=frozenset({"it"})))
    assert gone.dropped == "other_language" and gone.removed["other_language_parts"] == 3
    # a run with --lang records it among its options; one without records nothing new
    assert CleanPolicy(languages=frozenset({"en", "de"})).to_dict()["languages"] == ["de", "en"]
    assert "languages" not in CleanPolicy().to_dict()


def test_short_and_empty_documents_are_dropped_with_a_reason() -> None:
    assert clean_document(_doc(), CleanPolicy(min_chars=100_000)).dropped == "too_short"
    nav = Document(id="n", blocks=(Block("Home", label=Label.NAVIGATION),), lang="en")
    res = clean_document(nav, CleanPolicy(min_chars=1))
    assert res.dropped == "no_content" and res.records == []


def test_drop_fields_keeps_what_sieve_read_from_the_page() -> None:
    # a page's title and a WARC record's cut are Sieve's (the README lists them with url and lang),
    # not the input's own fields: --drop-fields dropped them with the input's
    fields = {"crawl": "2024-10", "title": "Ferry kept", "truncated": "length"}
    page = replace(_doc(), blocks=tuple(replace(b, dom=(0.0,)) for b in _doc().blocks), extra=fields)
    meta = clean_document(page, CleanPolicy(min_chars=10, drop_fields=True)).records[0][1]["metadata"]
    assert "crawl" not in meta
    assert meta["title"] == "Ferry kept" and meta["truncated"] == "length"
    assert meta["url"] == "https://example.org/a"
    kept = clean_document(page, CleanPolicy(min_chars=10)).records[0][1]["metadata"]
    assert {k: kept[k] for k in ("crawl", "title", "truncated")} == fields
    # a text record's own fields of these names are the input's: --drop-fields drops them (they were kept)
    text = replace(_doc(), extra=fields)
    meta = clean_document(text, CleanPolicy(min_chars=10, drop_fields=True)).records[0][1]["metadata"]
    assert not {"crawl", "title", "truncated"} & set(meta)
    # a JSONL record's page: its title and published are the page's (or its own, which win); its own
    # date and truncated are input fields, no WARC record's (they were kept under --drop-fields)
    record = replace(page, extra={**fields, "published": "2021-03-04", "date": "2019"}, read_from="html")
    meta = clean_document(record, CleanPolicy(min_chars=10, drop_fields=True)).records[0][1]["metadata"]
    assert meta["title"] == "Ferry kept" and meta["published"] == "2021-03-04"
    assert not {"crawl", "date", "truncated"} & set(meta)


def test_annotate_keeps_every_block_and_drop_fields_drops_input_fields() -> None:
    res = clean_document(_doc(), CleanPolicy(min_chars=10, annotate=True, drop_fields=True))
    rec = res.records[0][1]
    assert len(rec["blocks"]) == len(ARTICLE)
    assert rec["blocks"][2]["segments"][0]["lang"] == "de"
    assert "crawl" not in rec["metadata"]
    # the kept text too (Dolma and datatrove readers need `text`), as the plain record has it,
    # and which blocks it keeps: the menu, the French notice and the French paragraph are not kept
    plain = clean_document(_doc(), CleanPolicy(min_chars=10, drop_fields=True)).records[0][1]
    assert rec["text"] == plain["text"] and GERMAN not in rec["text"]
    assert [b["kept"] for b in rec["blocks"]] == [False, True, True, True, False, False]
    # the text decides the drop, as without --annotate: a short block around a long foreign
    # segment is too short; a block that is all a foreign segment gives the text nothing
    short = "The ferry runs daily. " + GERMAN
    whole = Block(GERMAN, label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang="en", lang_score=0.9,
                  segments=(Segment(0, len(GERMAN), "de", 0.99),))
    doc = Document("d2", (Block(short, label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang="en", lang_score=0.9,
                                segments=(Segment(22, len(short), "de", 0.99),)), whole), lang="en", lang_score=0.9)
    for annotate in (False, True):
        policy = CleanPolicy(min_chars=_text_weight("The ferry runs daily.") + 1, annotate=annotate)
        assert clean_document(doc, policy).dropped == "too_short"
    res = clean_document(doc, CleanPolicy(min_chars=5, annotate=True)).records[0][1]
    assert res["text"] == "The ferry runs daily." and [b["kept"] for b in res["blocks"]] == [True, False]


CAPTIONED_PAGE = b"""<html><head><title>Harbour swim</title></head><body><article>
<h1>Harbour swim</h1>
<p>More than two hundred swimmers crossed the harbour on Saturday morning, the largest field yet.</p>
<figure><img src="a.jpg"><figcaption>Swimmers leave the slipway at dawn.</figcaption></figure>
<p>The winner finished in twenty-two minutes and said she had trained in the cold sea all year.</p>
<div class="photo-credit">Photo by the harbour office</div>
<div class="wp-caption"><p>The lighthouse at the end of the course.</p></div>
<div class="captionless-gallery"><div class="row"><p>Organisers said the race would return next year.</p></div></div>
</article></body></html>"""
CAPTIONS = ["Swimmers leave the slipway at dawn.", "Photo by the harbour office",
            "The lighthouse at the end of the course."]


def test_no_captions_leaves_captions_out_of_the_text_and_counts_them() -> None:
    from dataclasses import replace

    from classifier.html import html_to_blocks, is_caption

    blocks = html_to_blocks(CAPTIONED_PAGE)
    assert [b.text for b in blocks if is_caption(b)] == CAPTIONS  # a class word two levels up is not the block's
    assert not is_caption(Block("Swimmers leave the slipway at dawn.", tag="p"))  # plain text: no markup to tell
    doc = Document(id="p", blocks=tuple(replace(b, label=Label.CONTENT, lang="en", lang_score=0.9, foreign=False)
                                        for b in blocks), lang="en", lang_score=0.9)
    kept = clean_document(doc, CleanPolicy(min_chars=10)).records[0][1]
    assert all(c in kept["text"] for c in CAPTIONS) and "captions" not in kept["metadata"]["removed"]
    res = clean_document(doc, CleanPolicy(min_chars=10, captions=False))
    text = res.records[0][1]["text"]
    assert text.split("\n\n") == [b.text for b in blocks if b.text not in CAPTIONS]
    assert res.records[0][1]["metadata"]["removed"] == {"captions": 3}
    assert "no_captions" not in CleanPolicy().to_dict() and CleanPolicy(captions=False).to_dict()["no_captions"]


def test_what_is_no_caption_stays() -> None:
    # a review: "accreditation" holds "credit", and WordPress puts tables and pull quotes in <figure>s
    from classifier.html import html_to_blocks, is_caption

    page = b"""<html><body><article><p>The story begins here, on the harbour front.</p>
<div class="accreditation-note"><p>The school's accreditation was renewed last year.</p></div>
<figure class="wp-block-table"><table><tr><td>Ferry</td><td>Winter timetable</td></tr></table></figure>
<figure class="wp-block-pullquote"><blockquote><p>We kept the ferry running.</p></blockquote></figure>
<figure><img src="a.jpg"><div class="imageembedcaption">The slipway at dawn.</div></figure>
<div class="photo_credits">Harbour office</div></article></body></html>"""
    found = {b.text: is_caption(b) for b in html_to_blocks(page)}
    assert [t for t, cap in found.items() if cap] == ["The slipway at dawn.", "Harbour office"], found


def test_no_captions_on_the_command_line(runner: CliRunner, shipped_model_dir: Path, tmp_path: Path) -> None:
    page = tmp_path / "swim.html"
    page.write_bytes(CAPTIONED_PAGE)
    texts = {}
    for args in ((), ("--no-captions",)):
        out = tmp_path / f"out{len(args)}"
        result = runner.invoke(cli, ["clean", str(page), "-o", str(out), "--model-dir", str(shipped_model_dir),
                                     "--min-chars", "10", *args])
        assert result.exit_code == 0, result.stderr
        with gzip.open(out / "swim.jsonl.gz", "rt", encoding="utf-8") as f:
            texts[args] = json.loads(f.readline())
    with_captions, without = texts[()], texts[("--no-captions",)]
    shown = [c for c in CAPTIONS if c in with_captions["text"].split("\n\n")]
    assert shown  # the shipped model keeps some caption as content, else this test shows nothing
    assert without["text"].split("\n\n") == [t for t in with_captions["text"].split("\n\n") if t not in CAPTIONS]
    assert without["metadata"]["removed"].get("captions") == len(shown)
    options = json.loads((tmp_path / "out1" / "swim.report.json").read_text())["options"]
    assert options["no_captions"] is True and "no_captions" not in json.loads(
        (tmp_path / "out0" / "swim.report.json").read_text())["options"]


def test_discover_shards_keeps_subfolders_and_refuses_collisions(tmp_path: Path) -> None:
    (tmp_path / "in" / "x").mkdir(parents=True)
    (tmp_path / "in" / "a.jsonl").write_text("{}\n")
    (tmp_path / "in" / "x" / "a.jsonl.gz").write_bytes(b"")
    (tmp_path / "in" / "x" / "a.report.json").write_text("{}")  # an output, never an input
    assert discover_shards([str(tmp_path / "in")]) == [
        (str(tmp_path / "in" / "a.jsonl"), "a"), (str(tmp_path / "in" / "x" / "a.jsonl.gz"), "x/a")]
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "a.txt").write_text("x")
    with pytest.raises(InputError, match="both write a"):
        discover_shards([str(tmp_path / "in" / "a.jsonl"), str(tmp_path / "b" / "a.txt")])


# -- the command on a folder of real files -------------------------------------------------------


def _warc_record(kind: str, uri: str, block: bytes, record_id: str) -> bytes:
    head = (f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Target-URI: {uri}\r\nWARC-Record-ID: <urn:uuid:{record_id}>\r\n"
            f"WARC-Date: 2024-01-01T00:00:00Z\r\nContent-Length: {len(block)}\r\n\r\n").encode()
    return head + block + b"\r\n\r\n"


def _http(body: bytes, content_type: str = "text/html; charset=utf-8") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n".encode() + body


PAGE = (b"<html><head><title>T</title><script>var x = 1;</script></head><body>"
        b"<nav><ul><li><a href='/'>Home</a></li><li><a href='/news'>News</a></li></ul></nav>"
        b"<article><h1>Harbour town keeps its winter ferry</h1>"
        b"<p>Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter "
        b"months, overturning a council plan that would have cut the service.</p>"
        b"<p>The vote, held in the town hall after a three-hour meeting, passed by 412 votes to 158.</p>"
        b"</article><footer>Copyright 2024 Gazette. All rights reserved.</footer></body></html>")


def _corpus(root: Path, data_dir: Path) -> dict[str, int]:
    """A folder of shards of every kind; returns the records each holds."""
    import zstandard

    (root / "sub").mkdir(parents=True)
    articles = (data_dir / "articles.jsonl").read_bytes()
    (root / "articles.jsonl").write_bytes(articles)
    with gzip.open(root / "sub" / "again.jsonl.gz", "wb") as f:
        f.write(articles)
    (root / "zst.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(articles))
    (root / "story.txt").write_bytes((data_dir / "story.txt").read_bytes())
    (root / "page.html").write_bytes(PAGE)
    warc = (_warc_record("warcinfo", "", b"software: test\r\n", "00000000-0000-0000-0000-000000000000")
            + _warc_record("request", "https://example.org/a", b"GET /a HTTP/1.1\r\n\r\n",
                           "00000000-0000-0000-0000-000000000001")
            + _warc_record("response", "https://example.org/a", _http(PAGE), "00000000-0000-0000-0000-000000000002")
            + _warc_record("response", "https://example.org/logo.png", _http(b"\x89PNG....", "image/png"),
                           "00000000-0000-0000-0000-000000000003"))
    (root / "crawl.warc.gz").write_bytes(gzip.compress(warc, mtime=0))
    bad = b"\n".join([
        json.dumps({"id": "ok", "text": "A complete sentence about the harbour and its ferry, long enough."}).encode(),
        b"{not json",
        b"[1, 2, 3]",
        json.dumps({"id": "no-text-field", "body": "x"}).encode(),
        json.dumps({"id": "empty", "text": ""}).encode(),
        b'{"id": "latin1", "text": "caf\xe9"}',
        json.dumps({"id": "huge", "text": "x" * 5000}).encode(),
    ]) + b"\n"
    (root / "bad.jsonl").write_bytes(bad)
    full = gzip.compress(articles, mtime=0)
    (root / "cut.jsonl.gz").write_bytes(full[: len(full) // 2])
    return {"articles": 3, "sub/again": 3, "zst": 3, "story": 1, "page": 1, "crawl": 4, "bad": 7}


def _articles_in(folder: Path) -> Path:
    """``folder``, made, holding a copy of the test data's articles.jsonl."""
    from conftest import DATA

    folder.mkdir(parents=True)
    (folder / "articles.jsonl").write_bytes((DATA / "articles.jsonl").read_bytes())
    return folder


def _big_shard_in(folder: Path, copies: int) -> Path:
    """``folder``, made, holding big.jsonl: the articles ``copies`` times over (ids made
    unique), a shard that runs long enough to be stopped in the middle."""
    from conftest import DATA

    records = [json.loads(line) for line in (DATA / "articles.jsonl").read_text().splitlines() if line.strip()]
    folder.mkdir(parents=True)
    with open(folder / "big.jsonl", "w", encoding="utf-8") as f:
        for i in range(copies):
            for r in records:
                f.write(json.dumps({**r, "id": f"{r.get('id', 'doc')}-{i}"}) + "\n")
    return folder


def _terminate_under_way(run: subprocess.Popen, out: Path, wait: float) -> float:
    """SIGTERM to the run once big.jsonl's shard is under way (its ``.part`` file is in
    ``out``), and its exit status 143 within ``wait`` seconds; the deadline it waited to."""
    deadline = time.monotonic() + 120
    while not list(out.glob("big.jsonl.gz*.part")) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # until the shard is under way on the worker
    assert run.poll() is None, "the run ended before it could be stopped: make the shard bigger"
    run.send_signal(signal.SIGTERM)
    assert run.wait(wait) == 143
    return deadline


def _clean(runner: CliRunner, model_dir: Path, *args: str):
    return runner.invoke(cli, ["clean", *args, "--model-dir", str(model_dir), "--max-bytes", "4000",
                               "--min-chars", "20"])


def test_a_text_beside_blocks_is_not_copied_into_metadata(runner: CliRunner, tiny_model_dir: Path,
                                                           tmp_path: Path) -> None:
    # a corpus record's raw text beside its blocks, or an --annotate output cleaned again, put the
    # whole document a second time under metadata.text
    story = [f"The harbour council met on Tuesday evening to discuss item {i} of the winter ferry plan."
             for i in range(6)]
    record = {"id": "a", "blocks": story, "text": "RAW PAGE TEXT " + " ".join(story), "crawl": "2024-10"}
    (tmp_path / "in.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert _clean(runner, tiny_model_dir, str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "one"),
                  "--annotate").exit_code == 0
    (first,) = [json.loads(line) for line in gzip.open(tmp_path / "one" / "in.jsonl.gz", "rt", encoding="utf-8")]
    assert "text" not in first["metadata"] and first["metadata"]["crawl"] == "2024-10"
    assert first["text"] and "RAW PAGE TEXT" not in first["text"]
    assert _clean(runner, tiny_model_dir, str(tmp_path / "one" / "in.jsonl.gz"), "-o",
                  str(tmp_path / "two")).exit_code == 0
    (second,) = [json.loads(line) for line in gzip.open(tmp_path / "two" / "in.jsonl.gz", "rt", encoding="utf-8")]
    assert "text" not in second["metadata"] and second["text"] == first["text"]


def test_a_text_field_sieve_did_not_read_is_copied_into_metadata(runner: CliRunner, tiny_model_dir: Path,
                                                                   tmp_path: Path) -> None:
    # with --text-field body, a record's 'text' (a summary) is an input field like any other: it
    # was left out of metadata with the text beside blocks
    story = "\n\n".join(f"The harbour council met on Tuesday evening to discuss item {i} of the winter ferry plan."
                        for i in range(6))
    record = {"id": "a", "body": story, "text": "A short summary of the meeting.", "crawl": "2024-10"}
    (tmp_path / "in.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert _clean(runner, tiny_model_dir, str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out"),
                  "--text-field", "body").exit_code == 0
    (out,) = [json.loads(line) for line in gzip.open(tmp_path / "out" / "in.jsonl.gz", "rt", encoding="utf-8")]
    assert out["metadata"]["text"] == "A short summary of the meeting." and "body" not in out["metadata"]
    assert out["text"] and "summary" not in out["text"]
    # --text-field text,raw_content on a record whose text is null: no null 'text' in metadata
    (tmp_path / "in2.jsonl").write_text(json.dumps({"id": "b", "text": None, "raw_content": story}) + "\n",
                                        encoding="utf-8")
    assert _clean(runner, tiny_model_dir, str(tmp_path / "in2.jsonl"), "-o", str(tmp_path / "out2"),
                  "--text-field", "text,raw_content").exit_code == 0
    (out2,) = [json.loads(line) for line in gzip.open(tmp_path / "out2" / "in2.jsonl.gz", "rt", encoding="utf-8")]
    assert "text" not in out2["metadata"] and out2["text"]


def test_a_null_text_field_beside_the_one_read_is_not_copied_but_a_record_s_own_null_field_is(
        runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    # --text-field text,raw_content on a dataframe's export: a null 'raw_content' beside the
    # 'text' read was copied into metadata, as null (a null 'text' beside 'raw_content' is not)
    story = "\n\n".join(f"The harbour council met on Tuesday evening to discuss item {i} of the winter ferry plan."
                        for i in range(6))
    (tmp_path / "in.jsonl").write_text(
        json.dumps({"id": "a", "text": story, "raw_content": None, "author": None}) + "\n", encoding="utf-8")
    assert _clean(runner, tiny_model_dir, str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out"),
                  "--text-field", "text,raw_content").exit_code == 0
    (out,) = [json.loads(line) for line in gzip.open(tmp_path / "out" / "in.jsonl.gz", "rt", encoding="utf-8")]
    assert "raw_content" not in out["metadata"] and out["text"]
    assert out["metadata"]["author"] is None  # the record's own field, written back as it was given


def test_the_kept_characters_are_the_kept_text_without_the_lines_that_join_it() -> None:
    # the summary said "kept 1,804 of 1,788 characters": the blank lines joining the kept
    # blocks were counted as kept text
    for policy in (CleanPolicy(min_chars=10), CleanPolicy(min_chars=10, split_by_language=True, keep_foreign=True)):
        res = clean_document(_doc(), policy)
        texts = [rec["text"] for _, rec in res.records]
        assert res.kept_chars == sum(len(t.replace("\n\n", "")) for t in texts)
    everything = CleanPolicy(min_chars=1, keep_labels=frozenset(Label), keep_foreign=True)
    doc = _doc()
    assert clean_document(doc, everything).kept_chars == sum(len(b.text) for b in doc.blocks)


def test_a_short_or_weakly_foreign_line_of_the_article_stays_in_it() -> None:
    # "Avigilon declined to comment to Axios." came out Spanish at 0.49 and was dropped;
    # a subheading, a name, an ingredient line the same
    def block(text: str, lang: str, score: float) -> Block:
        return Block(text, label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang=lang, lang_score=score,
                     foreign=lang != "en")

    story = "The council voted on Tuesday to keep the ferry running through the winter months."
    doc = Document(id="d", blocks=(block(story, "en", 0.99),
                                   block("Avigilon declined to comment to Axios.", "es", 0.49),
                                   block("1 tsp nutmeg", "hu", 0.94),
                                   block("Le conseil municipal a voté mardi pour garder le bac en hiver.", "fr", 0.98)),
                   lang="en", lang_score=0.9)
    res = clean_document(doc, CleanPolicy(min_chars=10))
    text = res.records[0][1]["text"]
    assert "Avigilon declined" in text and "1 tsp nutmeg" in text  # weak guess, or too short to be a passage
    assert "Le conseil" not in text and res.removed["foreign_blocks"] == 1  # a sure, whole foreign sentence
    split = clean_document(doc, CleanPolicy(min_chars=10, split_by_language=True))
    by_lang = {lang: rec["text"] for lang, rec in split.records}
    assert set(by_lang) == {"en", "fr"} and "Avigilon" in by_lang["en"] and "nutmeg" in by_lang["en"]


@pytest.mark.parametrize("foreign", [
    "東京の新しい地下鉄路線が月曜日に開通し、空港から都心まで二十分で行けるようになりました。",
    "新的地铁线路星期一开通，从机场到市中心只需要二十分钟，乘客们都非常高兴。",
    "รถไฟฟ้าสายใหม่เปิดให้บริการเมื่อวันจันทร์ ใช้เวลาเดินทางจากสนามบินไปยังใจกลางเมืองเพียงยี่สิบนาที",
], ids=["ja", "zh", "th"])
def test_a_foreign_block_written_without_spaces_is_removed(lid: LanguageIdentifier, foreign: str) -> None:
    # a Japanese, Chinese or Thai paragraph in an English story was kept: a foreign
    # block had to hold three space-separated words
    story = ["Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter.",
             foreign,
             "The council had argued that the winter crossings carry too few passengers to justify the cost."]
    doc = lid.finish(lid.annotate_blocks(Document.from_texts(story)), None, [Label.CONTENT] * 3)
    assert doc.lang == "en" and doc.blocks[1].foreign
    res = clean_document(doc, CleanPolicy(min_chars=10))
    assert foreign not in res.records[0][1]["text"] and res.removed["foreign_blocks"] == 1
    split = clean_document(doc, CleanPolicy(min_chars=10, split_by_language=True))
    by_lang = {lang: rec["text"] for lang, rec in split.records}
    assert by_lang[doc.blocks[1].lang] == foreign and foreign not in by_lang["en"]


def test_a_weakly_foreign_block_keeps_its_sentence_in_the_documents_language() -> None:
    # a block foreign on a weak guess counts in the document's language; its segments were
    # found against its own, and the one in the document's language was cut out of it
    mixed = ("Vlada je u ponedjeljak usvojila novi zakon o javnim nabavkama nakon duge rasprave. "
             "This is what the minister said on Monday.")
    start = mixed.index("This")
    story = "The council voted on Tuesday to keep the ferry running through the winter months."
    doc = Document(id="d", lang="en", lang_score=0.9, blocks=(
        Block(story, label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang="en", lang_score=0.99, foreign=False),
        Block(mixed, label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang="hr", lang_score=0.35, foreign=True,
              segments=(Segment(start, len(mixed), "en", 0.95),))))
    res = clean_document(doc, CleanPolicy(min_chars=10))
    assert "This is what the minister said on Monday." in res.records[0][1]["text"]
    assert "foreign_segments" not in res.removed
    sure = replace(doc, blocks=(doc.blocks[0], replace(doc.blocks[1], lang_score=0.9)))
    res = clean_document(sure, CleanPolicy(min_chars=10))  # sure: removed whole, as before
    assert "Vlada" not in res.records[0][1]["text"] and res.removed["foreign_blocks"] == 1


def test_a_surely_foreign_block_keeps_its_sentence_in_the_documents_language() -> None:
    # "Der Sprecher sagte dazu: \"We fully support ... fleet.\"" in a German story: the
    # English quotation is most of the block, so the block is English (surely) and its
    # German lead-in a segment of it; the block was removed whole, the lead-in with it
    lead = "Der Sprecher der Reederei sagte dazu:"
    mixed = lead + (' "We fully support the plan, but the shore power must be available at every '
                    'terminal before we can switch our whole fleet."')
    story = "Die Stadt Hamburg will den Hafen bis 2030 klimaneutral machen, sagte der Senat am Montag."
    doc = Document(id="d", lang="de", lang_score=0.7, blocks=(
        Block(story, label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang="de", lang_score=0.99, foreign=False),
        Block(mixed, label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang="en", lang_score=0.96, foreign=True,
              segments=(Segment(0, len(lead), "de", 0.9),))))
    for annotate in (False, True):
        res = clean_document(doc, CleanPolicy(min_chars=10, annotate=annotate))
        text = res.records[0][1]["text"]
        assert text == story + "\n\n" + lead and "fleet" not in text
        assert res.removed == {"foreign_blocks": 1}
    # split by language, as before: the lead-in goes with the story, the quotation to English
    res = clean_document(doc, CleanPolicy(min_chars=10, split_by_language=True))
    by_lang = {lang: rec["text"] for lang, rec in res.records}
    assert by_lang["de"] == story + "\n\n" + lead and lead not in by_lang["en"]


def test_annotate_counts_the_kept_characters_in_the_report(runner: CliRunner, tiny_model_dir: Path,
                                                           data_dir: Path, tmp_path: Path) -> None:
    _corpus(tmp_path / "in", data_dir)
    reports = {}
    for flags in ((), ("--annotate",)):
        out = tmp_path / f"out{len(flags)}"
        result = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(out), "--workers", "1", *flags)
        assert result.exit_code == 0, result.stderr
        reports[flags] = json.loads((out / "_report.json").read_text())
    # the same blocks are kept either way; an annotated record carries every block, and the same text
    # (the text joins them with blank lines and leaves foreign segments out: close, not equal)
    plain, annotated = reports[()]["chars"]["out"], reports[("--annotate",)]["chars"]["out"]
    assert annotated > 0 and abs(plain - annotated) <= 0.1 * annotated


def test_clean_a_folder_accounts_for_every_record(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                  tmp_path: Path) -> None:
    _corpus(tmp_path / "in", data_dir)
    result = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--workers", "1")
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "out"
    report = json.loads((out / "_report.json").read_text())
    dropped, rejected = sum(report["dropped"].values()), sum(report["rejected"].values())
    assert report["read"] == report["written"] + dropped + rejected
    assert report["shards"] == 8
    assert report["rejected"]["bad_json"] == 1 and report["rejected"]["bad_schema"] == 2  # [1, 2, 3]: not an object
    assert report["rejected"]["bad_encoding"] == 1 and report["rejected"]["too_large"] == 1
    assert report["rejected"]["no_text"] == 1 and report["rejected"]["truncated"] == 1
    assert report["dropped"]["warc_warcinfo"] == 1 and report["dropped"]["warc_request"] == 1
    assert report["dropped"]["not_html"] == 1
    # each shard: its output, its report; rejects only where there were some
    assert (out / "sub" / "again.jsonl.gz").is_file() and (out / "zst.jsonl.gz").is_file()
    assert not (out / "articles.rejects.jsonl").exists()
    rejects = [json.loads(line) for line in (out / "bad.rejects.jsonl").read_text().splitlines()]
    assert [r["position"] for r in rejects] == [2, 3, 4, 5, 6, 7]
    assert all(r["source"].endswith("bad.jsonl") and r["reason"] for r in rejects)
    assert rejects[4].get("raw_base64")  # the latin-1 line kept byte for byte
    records = [json.loads(line) for line in gzip.open(out / "articles.jsonl.gz", "rt")]
    for rec in records:
        assert set(rec) == {"id", "text", "source", "metadata"} and rec["source"] == "articles"
        assert rec["metadata"]["model"]["name"] == "sieve" and "removed" in rec["metadata"]
    page = [json.loads(line) for line in gzip.open(out / "crawl.jsonl.gz", "rt")]
    assert len(page) == 1 and page[0]["metadata"]["url"] == "https://example.org/a"
    assert page[0]["id"] == "urn:uuid:00000000-0000-0000-0000-000000000002"
    assert "var x" not in page[0]["text"]
    assert "8 shards" in result.stderr and "_report.json" in result.stderr


def test_outputs_are_byte_identical_for_any_number_of_workers(tiny_model_dir: Path, data_dir: Path,
                                                              tmp_path: Path, sieve_executable: str) -> None:
    _corpus(tmp_path / "in", data_dir)
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        proc = subprocess.run([sieve_executable, "clean", str(tmp_path / "in"), "-o", str(out), "--workers", workers,
                               "--model-dir", str(tiny_model_dir), "--max-bytes", "4000", "--min-chars", "20"],
                              capture_output=True, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    for rel in files:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel


def test_zstd_outputs_hold_the_gzip_records_and_are_the_same_bytes_for_any_number_of_workers(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path, sieve_executable: str) -> None:
    import zstandard

    _corpus(tmp_path / "in", data_dir)
    gz = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(tmp_path / "gz"), "--workers", "1")
    assert gz.exit_code == 0, gz.stderr
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"zst{workers}"
        proc = subprocess.run([sieve_executable, "clean", str(tmp_path / "in"), "-o", str(out), "--workers", workers,
                               "--compression", "zst", "--model-dir", str(tiny_model_dir), "--max-bytes", "4000",
                               "--min-chars", "20"], capture_output=True, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()
        outs.append(out)
    shards = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*.jsonl.zst"))
    assert [str(p) for p in shards] == sorted(str(p.relative_to(tmp_path / "gz")).removesuffix(".gz") + ".zst"
                                              for p in (tmp_path / "gz").rglob("*.jsonl.gz"))
    for rel in shards:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel
        # one zstd frame with a checksum, holding exactly the records of the gzip output
        frame = zstandard.get_frame_parameters((outs[0] / rel).read_bytes())
        assert frame.has_checksum
        text = zstandard.ZstdDecompressor().decompressobj().decompress((outs[0] / rel).read_bytes())
        twin = (tmp_path / "gz" / rel).with_name(rel.name.removesuffix(".zst") + ".gz")
        assert text == gzip.decompress(twin.read_bytes())
    assert any(zstandard.ZstdDecompressor().decompressobj().decompress((outs[0] / rel).read_bytes())
               for rel in shards)  # not all empty
    # a zstd output is an input Sieve reads
    again = runner.invoke(cli, ["score", str(outs[0] / "articles.jsonl.zst"), "-o", str(tmp_path / "s.jsonl.zst"),
                                "--model-dir", str(tiny_model_dir)])
    assert again.exit_code == 0, again.stderr
    scored = zstandard.ZstdDecompressor().decompressobj().decompress((tmp_path / "s.jsonl.zst").read_bytes())
    assert len(scored.decode("utf-8").splitlines()) == 3
    # a rerun skips them; redone as gzip, the zstd outputs go
    rerun = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(outs[0]), "--compression", "zst")
    assert rerun.exit_code == 0 and "(8 finished before)" in rerun.stderr, rerun.stderr
    refused = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(outs[0]))
    assert refused.exit_code == 1 and "--compression was zst, now gz" in refused.stderr, refused.stderr
    redo = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(outs[0]), "--overwrite", "--workers", "1")
    assert redo.exit_code == 0, redo.stderr
    assert not list(outs[0].rglob("*.zst")) and len(list(outs[0].rglob("*.jsonl.gz"))) == len(shards)


def test_dask_local_cluster_gives_the_same_outputs(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    distributed = pytest.importorskip("distributed")
    _corpus(tmp_path / "in", data_dir)
    # a file name that is not UTF-8 (a Dask key must be): cleaned as any other
    (tmp_path / "in" / os.fsdecode(b"caf\xe9.jsonl")).write_bytes((data_dir / "articles.jsonl").read_bytes())
    local = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(tmp_path / "local"), "--workers", "1")
    assert local.exit_code == 0, local.stderr
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        # the workers run in another folder than the command: relative paths are the command's
        monkeypatch.chdir(tmp_path)
        result = _clean(runner, Path(os.path.relpath(tiny_model_dir, tmp_path)), "in", "-o", "dask",
                        "--engine", "dask", "--scheduler", cluster.scheduler_address)
        assert result.exit_code == 0, result.stderr
        with distributed.Client(cluster) as client:  # the work ran on the cluster's workers
            assert len(client.scheduler_info()["workers"]) == 2
    for path in sorted((tmp_path / "local").rglob("*")):
        if path.is_file():
            twin = tmp_path / "dask" / path.relative_to(tmp_path / "local")
            assert twin.read_bytes() == path.read_bytes(), path


def test_rerun_skips_finished_shards_and_overwrite_redoes_them(runner: CliRunner, tiny_model_dir: Path,
                                                               data_dir: Path, tmp_path: Path) -> None:
    _corpus(tmp_path / "in", data_dir)
    out = tmp_path / "out"
    first = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(out), "--workers", "1")
    assert first.exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # an interrupted run: one shard lost its report and left a partial file
    (out / "story.report.json").unlink()
    (out / "story.jsonl.gz").unlink()
    (out / "story.jsonl.gz.part").write_bytes(b"half a shard")
    again = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(out), "--workers", "1")
    assert again.exit_code == 0 and "(7 finished before)" in again.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    redo = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(out), "--overwrite", "--workers", "1")
    assert redo.exit_code == 0 and "(0 finished before)" in redo.stderr


def test_a_finished_shard_whose_outputs_are_gone_or_cut_is_redone(runner: CliRunner, tiny_model_dir: Path,
                                                                  data_dir: Path, tmp_path: Path) -> None:
    # a rerun trusted the shard report: deleted or cut outputs were "finished before"
    _corpus(tmp_path / "in", data_dir)
    out = tmp_path / "out"
    assert _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(out), "--workers", "1").exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "story.jsonl.gz").unlink()
    cut = out / "sub" / "again.jsonl.gz"
    cut.write_bytes(cut.read_bytes()[:20])
    (out / "bad.rejects.jsonl").unlink()  # the report would count rejects no file holds (a user's run)
    again = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(out), "--workers", "1")
    assert again.exit_code == 0, again.stderr
    assert "(5 finished before)" in again.stderr
    assert "3 finished shard(s) redone: their outputs (or rejects or dropped lists) are gone" in again.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_killed_run_resumes_to_the_same_result(tiny_model_dir: Path, data_dir: Path, tmp_path: Path,
                                                 sieve_executable: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    lines = (data_dir / "articles.jsonl").read_bytes()
    for i in range(12):
        (src / f"part-{i:02d}.jsonl").write_bytes(lines * 20)
    cmd = [sieve_executable, "clean", str(src), "--workers", "1", "--model-dir", str(tiny_model_dir)]
    reference = subprocess.run([*cmd, "-o", str(tmp_path / "ref")], capture_output=True, timeout=600)
    assert reference.returncode == 0, reference.stderr.decode()
    out = tmp_path / "out"
    proc = subprocess.Popen([*cmd, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*.report.json"))) < 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(out.glob("*.report.json")))
    assert 3 <= finished < 12 and not (out / "_report.json").exists()
    resumed = subprocess.run([*cmd, "-o", str(out)], capture_output=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert f"({finished} finished before)" in resumed.stderr.decode()
    ref_files = {p.relative_to(tmp_path / "ref"): p.read_bytes() for p in (tmp_path / "ref").rglob("*") if p.is_file()}
    got = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got.keys() == ref_files.keys()  # no .part left over
    for rel, data in ref_files.items():
        if rel.name.endswith("report.json"):  # reports name their input, the same here
            assert json.loads(got[rel]) == json.loads(data)
        else:
            assert got[rel] == data, rel



#: Runs ``sieve clean`` in a process that has started a second thread first (workers are
#: then spawned: ``engine._start_method``).
WITH_A_THREAD = """
import sys, threading
threading.Thread(target=threading.Event().wait, daemon=True).start()
from classifier.cli import main
sys.argv = ["sieve"] + sys.argv[1:]
main()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers fork on Linux only")
def test_forked_and_spawned_workers_write_the_same_bytes(tiny_model_dir: Path, data_dir: Path, tmp_path: Path,
                                                          sieve_executable: str) -> None:
    _corpus(tmp_path / "in", data_dir)
    args = [str(tmp_path / "in"), "--workers", "2", "--model-dir", str(tiny_model_dir), "--min-chars", "20"]
    forked = subprocess.run([sieve_executable, "clean", *args, "-o", str(tmp_path / "fork")],
                            capture_output=True, timeout=300)
    assert forked.returncode == 0, forked.stderr.decode()
    spawned = subprocess.run([sys.executable, "-c", WITH_A_THREAD, "clean", *args, "-o", str(tmp_path / "spawn")],
                             capture_output=True, timeout=300)
    assert spawned.returncode == 0, spawned.stderr.decode()
    files = sorted(p.relative_to(tmp_path / "fork") for p in (tmp_path / "fork").rglob("*.gz"))
    assert files and files == sorted(p.relative_to(tmp_path / "spawn") for p in (tmp_path / "spawn").rglob("*.gz"))
    for rel in files:
        assert (tmp_path / "fork" / rel).read_bytes() == (tmp_path / "spawn" / rel).read_bytes(), rel


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers fork on Linux only")
def test_the_command_forks_its_workers(tiny_model_dir: Path, data_dir: Path, tmp_path: Path,
                                       sieve_executable: str) -> None:
    # the run imported NumPy (the template memory did), whose thread pool made it spawn
    psutil = pytest.importorskip("psutil")
    from conftest import started_workers
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        (src / f"part-{i}.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes() * 40)
    # as a user runs it: without the tests' OMP_NUM_THREADS=1, importing NumPy starts a thread pool
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    proc = subprocess.Popen([sieve_executable, "clean", str(src), "--workers", "2", "--model-dir", str(tiny_model_dir),
                             "-o", str(tmp_path / "out")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    try:
        workers = started_workers(psutil, proc)
        parent = psutil.Process(proc.pid).cmdline()
        assert [w.cmdline() for w in workers] == [parent, parent]  # forked: the run's own command line
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers fork on Linux only")
def test_workers_fork_only_from_a_process_of_one_thread() -> None:
    code = "from classifier.engine import _start_method; print(_start_method())"
    alone = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert alone.stdout.strip() == "fork"
    threaded = subprocess.run([sys.executable, "-c", "import threading; "
                               "threading.Thread(target=threading.Event().wait, daemon=True).start(); " + code],
                              capture_output=True, text=True, timeout=60, check=True)
    assert threaded.stdout.strip() == "spawn"


def test_the_workers_of_a_killed_run_end_too(tiny_model_dir: Path, data_dir: Path, tmp_path: Path,
                                             sieve_executable: str) -> None:
    # a pool worker whose run was killed (-9) waited for work forever, holding its memory
    psutil = pytest.importorskip("psutil")  # comes with dask's distributed, a test dependency
    src = tmp_path / "in"
    src.mkdir()
    lines = (data_dir / "articles.jsonl").read_bytes()
    for i in range(6):
        (src / f"part-{i:02d}.jsonl").write_bytes(lines * 20)
    proc = subprocess.Popen([sieve_executable, "clean", str(src), "--workers", "2", "--model-dir", str(tiny_model_dir),
                             "-o", str(tmp_path / "out")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(children) < 2 and proc.poll() is None:
            children = [c for c in psutil.Process(proc.pid).children()
                        if "resource_tracker" not in " ".join(c.cmdline())]
            time.sleep(0.05)
        assert len(children) == 2, "the run did not start its two workers"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _, alive = psutil.wait_procs(children, timeout=20)
        assert alive == []
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()

def test_a_killed_worker_costs_no_shard_and_one_that_kills_its_worker_only_itself(
        tiny_model_dir: Path, data_dir: Path, tmp_path: Path, sieve_executable: str) -> None:
    # a worker killed by the out-of-memory killer broke the pool: every shard after it failed
    psutil = pytest.importorskip("psutil")
    from conftest import workers_of
    src = tmp_path / "in"
    src.mkdir()
    lines = (data_dir / "articles.jsonl").read_bytes()
    for i in range(4):
        (src / f"part-{i:02d}.jsonl").write_bytes(lines * 300)  # a few seconds each: time to kill its worker
    reference = tmp_path / "reference"
    cmd = [sieve_executable, "clean", str(src), "--model-dir", str(tiny_model_dir), "--min-chars", "20"]
    assert subprocess.run([*cmd, "-o", str(reference), "--workers", "1"], capture_output=True,
                          timeout=300).returncode == 0
    # killed once: every shard is done all the same; the shard running alone again killed too: it fails alone
    for kills, expect in ((1, 0), (2, 1)):
        out = tmp_path / f"out{kills}"
        proc = subprocess.Popen([*cmd, "-o", str(out), "--workers", "2"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        killed: set[int] = set()
        spared: set[int] = set()  # the workers alive at a kill: the next kill is of a worker started after it
        try:
            deadline = time.monotonic() + 240
            while proc.poll() is None and time.monotonic() < deadline:
                workers = workers_of(psutil, proc.pid)
                for child in workers:
                    with contextlib.suppress(psutil.Error):
                        if len(killed) < kills and child.pid not in spared and child.cpu_times().user > 0.5:
                            killed.add(child.pid)  # a worker at work (models loaded)
                            spared.update(w.pid for w in workers)
                            child.kill()
                            break
                time.sleep(0.05)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == expect, err
        assert len(killed) == kills and "a worker died" in err and "each alone in a worker of its own" in err
        failed = [line for line in err.splitlines() if "died (killed: out of memory?)" in line]
        assert len(failed) == expect, err
        for path in sorted(reference.rglob("*.jsonl.gz")):
            twin = out / path.relative_to(reference)
            if expect and f"shard {path.name.removesuffix('.jsonl.gz')} failed" in failed[0]:
                assert not twin.exists() and not (out / f"{twin.name[:-9]}.report.json").exists()
            else:  # every other shard as in a run where nothing was killed
                assert gzip.decompress(twin.read_bytes()) == gzip.decompress(path.read_bytes()), path


def test_ctrl_c_stops_the_shards_under_way_and_a_rerun_finishes_cleanly(
        tiny_model_dir: Path, data_dir: Path, tmp_path: Path, sieve_executable: str) -> None:
    # Ctrl-C with workers waited for every shard already handed to the pool
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    lines = (data_dir / "articles.jsonl").read_bytes()
    for i in range(8):
        (src / f"part-{i:02d}.jsonl").write_bytes(lines * 150)
    cmd = [sieve_executable, "clean", str(src), "-o", str(out), "--model-dir", str(tiny_model_dir), "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while proc.poll() is None and time.monotonic() < deadline and not list(out.glob("*.report.json")):
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)  # as Ctrl-C does to the run (its workers end with it)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1 and "Aborted!" in err, err
    assert len(list(out.glob("*.report.json"))) <= 3  # not the shards queued behind the running ones
    # the workers' unfinished files go with them (they were left for a rerun to remove)
    assert not list(out.rglob("*.part"))
    again = subprocess.run([*cmd, "--split-by-language"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "other options" in again.stderr  # the finished shards say so
    again = subprocess.run([*cmd, "--split-by-language", "--overwrite"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert not list(out.rglob("*.part")) and len(list(out.glob("*.report.json"))) == 8


def test_too_many_rejects_has_its_own_exit_status(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    junk = b"nope\n{bad\n" + json.dumps({"text": "A fine sentence here."}).encode()
    (tmp_path / "in" / "junk.jsonl").write_bytes(junk)
    result = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(tmp_path / "out"))
    assert result.exit_code == EXIT_TOO_MANY_REJECTS and "max-reject-share" in result.stderr
    ok = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(tmp_path / "out2"),
                "--max-reject-share", "0.9")
    assert ok.exit_code == 0


def test_stdin_to_stdout_and_text_format(runner: CliRunner, tiny_model_dir: Path, data_dir: Path) -> None:
    data = (data_dir / "articles.jsonl").read_bytes()
    result = runner.invoke(cli, ["clean", "-", "--model-dir", str(tiny_model_dir), "--min-chars", "1"],
                           input=io.BytesIO(data))
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [json.loads(line)["id"] for line in data.splitlines()]
    text = runner.invoke(cli, ["clean", "--format", "text", str(data_dir / "story.txt"),
                               "--model-dir", str(tiny_model_dir)])
    assert text.exit_code == 0 and text.stdout.startswith("# story [en]")
    assert "Cet article" not in text.stdout  # the French notice is not the article


def test_usage_errors(runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    no_out = runner.invoke(cli, ["clean", str(data_dir / "story.txt")])
    assert no_out.exit_code == 2 and "-o" in no_out.stderr
    both = runner.invoke(cli, ["clean", "--format", "text", str(data_dir / "story.txt"), "-o", str(tmp_path)])
    assert both.exit_code == 2
    missing = runner.invoke(cli, ["clean", str(tmp_path / "absent"), "-o", str(tmp_path / "o")])
    assert missing.exit_code == 2


THREE_LANGUAGES = [
    ("en-1", "The ferry to the island will keep running through the winter, the council decided on Tuesday.\n"
             "Residents had asked for the service to stay after the storms of last year cut the road twice."),
    ("de-1", "Die Fähre zur Insel fährt auch im Winter weiter, hat der Gemeinderat am Dienstag beschlossen.\n"
             "Die Bewohner hatten darum gebeten, nachdem die Stürme des letzten Jahres die Straße zweimal sperrten."),
    ("fr-1", "Le bac vers l'île continuera de circuler tout l'hiver, a décidé le conseil municipal mardi.\n"
             "Les habitants l'avaient demandé après que les tempêtes de l'an dernier ont coupé la route deux fois."),
]


def test_lang_drops_documents_in_other_languages_and_says_how_many(runner: CliRunner, tiny_model_dir: Path,
                                                                    tmp_path: Path) -> None:
    src = tmp_path / "news.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in THREE_LANGUAGES), encoding="utf-8")
    every_label = ("--keep", "content", "--keep", "boilerplate", "--keep", "navigation")  # the tiny model's aside
    everything = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "all"), *every_label)
    assert everything.exit_code == 0, everything.stderr
    langs = {json.loads(line)["metadata"]["lang"] for line in gzip.open(tmp_path / "all" / "news.jsonl.gz", "rt")}
    assert langs == {"en", "de", "fr"}  # what --lang chooses among
    out = tmp_path / "out"
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--lang", "en,DE", "--lang", "en", *every_label)
    assert result.exit_code == 0, result.stderr
    kept = [json.loads(line) for line in gzip.open(out / "news.jsonl.gz", "rt")]
    assert [(r["id"], r["metadata"]["lang"]) for r in kept] == [("en-1", "en"), ("de-1", "de")]
    report = json.loads((out / "_report.json").read_text())
    assert report["read"] == 3 and report["written"] == 2 and report["dropped"] == {"other_language": 1}
    assert [json.loads(line) for line in (out / "news.dropped.jsonl").read_text().splitlines()] == \
        [{"id": "fr-1", "reason": "other_language"}]
    assert "other_language: 1" in result.stderr and report["languages"] == {"de": 1, "en": 1}
    # split by language, German only: the report counts the German records, not the documents'
    # languages (an English story's German paragraph is a German record)
    mixed = tmp_path / "mixed.jsonl"
    english, german = THREE_LANGUAGES[0][1], THREE_LANGUAGES[1][1]
    mixed.write_text(json.dumps({"id": "en-de", "text": english + "\n" + english.replace("Tuesday", "Monday")
                                 + "\n" + german.split("\n")[1]}) + "\n", encoding="utf-8")
    split = _clean(runner, tiny_model_dir, str(src), str(mixed), "-o", str(tmp_path / "split"), "--lang", "de",
                   "--split-by-language", *every_label)
    assert split.exit_code == 0, split.stderr
    split_report = json.loads((tmp_path / "split" / "_report.json").read_text())
    assert split_report["languages"] == {"de": 2} and split_report["written"] == 2
    # a rerun with other languages is refused, naming the option, before any work
    again = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--lang", "fr", *every_label)
    assert again.exit_code == 1 and "--lang was de+en, now fr" in again.stderr
    # codes the language model never gives are usage errors, with a hint
    eng = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "x"), "--lang", "eng")
    assert eng.exit_code == 2 and "'eng'" in eng.stderr and "did you mean en" in eng.stderr
    word = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "x"), "--lang", "english")
    assert word.exit_code == 2 and "'english' is not a language code" in word.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("code", "meant"), [("deu", "de"), ("ger", "de"), ("spa", "es"), ("jpn", "ja"),
                                             ("chi", "zh"), ("jp", "ja"), ("jw", "jv"), ("mo", "ro"),
                                             # "fil" hinted fi (Finnish) for Filipino (lid.176 knows Tagalog); a
                                             # withdrawn code; ISO 639-3's Tosk Albanian (Sieve writes gsw for
                                             # lid.176's als, Swiss German)
                                             ("fil", "tl"), ("sh", "hbs"), ("als", "sq")])
def test_lang_names_the_code_meant_by_a_three_letter_or_country_code(runner: CliRunner, tiny_model_dir: Path,
                                                                     tmp_path: Path, code: str, meant: str) -> None:
    # spelling alone hinted "eu or de" for deu, "sa" (Sanskrit) for spa, "pnb" for jpn, "hi" for chi,
    # and nothing for ger: a user building a Spanish corpus was sent to a Sanskrit one
    src = tmp_path / "news.jsonl"
    src.write_text(json.dumps({"id": "de-1", "text": THREE_LANGUAGES[1][1]}) + "\n", encoding="utf-8")
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "x"), "--lang", code)
    assert result.exit_code == 2 and f"'{code}' (did you mean {meant}?)" in result.stderr, result.stderr
    assert "Warning" not in result.stderr  # the usage error says it; not CleanPolicy's warning beside it
    assert not (tmp_path / "x").exists()
    # a policy made in Python has no model to check against: it warns of the code the shipped model writes
    with pytest.warns(UserWarning, match=f"'{code}' is written '{meant}' by the shipped language model"):
        policy = CleanPolicy(languages={code, "en"})
    assert policy.languages == {code, "en"}  # kept: a language model may write such codes


def test_split_by_language_writes_a_shard_per_language(runner: CliRunner, tiny_model_dir: Path,
                                                       data_dir: Path, tmp_path: Path) -> None:
    result = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(tmp_path / "out"),
                    "--split-by-language", "--keep", "content", "--keep", "boilerplate")
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "out").glob("story.*.jsonl.gz"))
    assert names == ["story.en.jsonl.gz", "story.fr.jsonl.gz"]
    (fr,) = [json.loads(line) for line in gzip.open(tmp_path / "out" / "story.fr.jsonl.gz", "rt")]
    assert fr["metadata"]["lang"] == "fr" and fr["text"].startswith("Cet article")
    # one document, a record in each language's shard: the reports count both
    shard, run = (json.loads((tmp_path / "out" / f).read_text()) for f in ("story.report.json", "_report.json"))
    assert shard["written"] == 1 and shard["records"] == {"story.en.jsonl.gz": 1, "story.fr.jsonl.gz": 1}
    assert run["written"] == 1 and run["records"] == 2


if sys.platform == "win32":  # pragma: no cover
    pytest.skip("SIGKILL test needs POSIX", allow_module_level=True)


def test_an_output_folder_inside_the_input_folder_is_not_read_back(runner: CliRunner, tiny_model_dir: Path,
                                                                   data_dir: Path, tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    src = _articles_in(tmp_path / "data")
    for _ in range(2):
        result = _clean(runner, tiny_model_dir, str(src), "-o", str(src / "out"), "--overwrite")
        assert result.exit_code == 0, result.stderr
        assert json.loads((src / "out" / "_report.json").read_text())["shards"] == 1
        assert "not read as inputs" not in result.stderr  # its own outputs: nothing to say
    # an input file someone put into the output folder is not read either: said
    (src / "out" / "more.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes())
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(src / "out"), "--overwrite")
    assert result.exit_code == 0 and json.loads((src / "out" / "_report.json").read_text())["shards"] == 1
    assert "1 files under the output folder" in result.stderr and "(more.jsonl)" in result.stderr
    assert "holds the output of an earlier" not in caplog.text  # its own output folder is no earlier run's
    # that folder, read by a later run into another: an earlier run's output, not input
    # (a user's crawl came out twice, each page beside its own cleaned copy)
    again = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "elsewhere"))
    assert again.exit_code == 0, again.stderr
    assert json.loads((tmp_path / "elsewhere" / "_report.json").read_text())["shards"] == 1
    assert caplog.text.count(f"{src / 'out'} holds the output of an earlier `sieve clean`") == 1  # said once
    # and again by the next run in the same process (a notebook, a service): once a run, not once a process
    from classifier.engine import run_clean

    run_clean([str(src)], tmp_path / "third", CleanPolicy(min_chars=20), model_dir=str(tiny_model_dir))
    assert caplog.text.count(f"{src / 'out'} holds the output of an earlier `sieve clean`") == 2
    scored = runner.invoke(cli, ["score", str(src), "--model-dir", str(tiny_model_dir)])
    assert scored.exit_code == 0 and len(scored.stdout.splitlines()) == 3  # articles.jsonl's 3 documents
    alone = runner.invoke(cli, ["score", str(src / "out"), "--model-dir", str(tiny_model_dir)])
    assert alone.exit_code == 0 and len(alone.stdout.splitlines()) >= 3  # given on its own, it is read


def test_empty_text_is_never_written_and_text_format_reads_folders(runner: CliRunner, tiny_model_dir: Path,
                                                                  data_dir: Path, tmp_path: Path) -> None:
    nav = Document(id="n", blocks=(Block("Home", label=Label.NAVIGATION),), lang="en")
    assert clean_document(nav, CleanPolicy(min_chars=0)).dropped == "no_content"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "story.txt").write_bytes((data_dir / "story.txt").read_bytes())
    text = runner.invoke(cli, ["clean", "--format", "text", str(tmp_path / "in"), "--model-dir", str(tiny_model_dir)])
    assert text.exit_code == 0 and text.stdout.startswith("# story")


def test_warc_chunked_bodies_header_charsets_and_numbered_shards(tmp_path: Path) -> None:
    import bz2

    from classifier.readers import RejectSink, read_any

    body = "<html><body><p>Zażółć gęślą jaźń, powiedział burmistrz miasta.</p></body></html>".encode("iso-8859-2")
    chunked = b"%x\r\n" % 20 + body[:20] + b"\r\n" + b"%x\r\n" % (len(body) - 20) + body[20:] + b"\r\n0\r\n\r\n"
    http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=ISO-8859-2\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunked)
    (tmp_path / "c.warc").write_bytes(_warc_record("response", "https://example.pl/a", http,
                                                   "00000000-0000-0000-0000-00000000000a"))
    sink = RejectSink()
    (doc,) = list(read_any(tmp_path / "c.warc", sink))
    assert doc.texts == ["Zażółć gęślą jaźń, powiedział burmistrz miasta."] and sink.total == 0
    lines = json.dumps({"id": "x", "text": "Some text of a document."}).encode() + b"\n"
    (tmp_path / "part.0.jsonl.bz2").write_bytes(bz2.compress(lines))
    (tmp_path / "part.1.jsonl").write_bytes(lines)
    assert [d.id for d in read_any(tmp_path / "part.0.jsonl.bz2", sink)] == ["x"]
    names = [name for _, name in discover_shards([str(tmp_path)])]
    assert names == ["c", "part.0", "part.1"]


def test_a_redone_shard_removes_its_stale_language_shards_only(runner: CliRunner, tiny_model_dir: Path,
                                                                 data_dir: Path, tmp_path: Path) -> None:
    assert earlier_output_owners("a.de.jsonl.gz") == ["a.de", "a"] and earlier_output_owners("a.jsonl") == ["a"]
    assert earlier_output_owners("a.rejects.jsonl") == ["a.rejects"] and earlier_output_owners("a.report.json") == []
    story = (data_dir / "story.txt").read_text(encoding="utf-8")
    english = story[: story.index("Cet article")].rstrip() + "\n"
    (tmp_path / "in").mkdir()
    (tmp_path / "other").mkdir()
    src, out = tmp_path / "in" / "story.txt", tmp_path / "out"
    # another shard, `story.de`, whose output is named like a German shard of `story`: never touched
    (tmp_path / "other" / "story.de.txt").write_text(english, encoding="utf-8")
    neighbour = _clean(runner, tiny_model_dir, str(tmp_path / "other"), "-o", str(out))
    assert neighbour.exit_code == 0, neighbour.stderr
    theirs = {p.name: p.read_bytes() for p in out.glob("story.de.*")}
    assert set(theirs) == {"story.de.jsonl.gz", "story.de.report.json"}

    def run(text: str, *flags: str) -> list[str]:
        src.write_text(text, encoding="utf-8")
        result = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--split-by-language",
                        "--keep", "content", "--keep", "boilerplate", *flags)
        assert result.exit_code == 0, result.stderr
        assert {p.name: p.read_bytes() for p in out.glob("story.de.*")} == theirs
        ours = sorted(p.name for p in out.glob("story*.jsonl*") if not p.name.startswith("story.de."))
        report = json.loads((out / "story.report.json").read_text())
        assert report["outputs"] == ours
        return ours

    assert run(story) == ["story.en.jsonl.gz", "story.fr.jsonl.gz"]
    assert run(english, "--overwrite") == ["story.en.jsonl.gz"]  # the French notice is gone
    assert run(story, "--overwrite") == ["story.en.jsonl.gz", "story.fr.jsonl.gz"]
    (out / "story.report.json").unlink()  # a shard redone without --overwrite: its report is lost
    assert run(english) == ["story.en.jsonl.gz"]
    # a shard written without --split-by-language, then split: the unsplit shard is stale too
    src.write_text(english, encoding="utf-8")
    plain = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--overwrite")
    assert plain.exit_code == 0 and (out / "story.jsonl.gz").exists()
    assert run(story, "--overwrite") == ["story.en.jsonl.gz", "story.fr.jsonl.gz"]


def test_a_rerun_with_other_options_refuses_finished_shards(runner: CliRunner, tiny_model_dir: Path, copy_model_dir,
                                                             tiny_model, data_dir: Path, tmp_path: Path) -> None:
    from classifier.model import save_model

    src, out = _articles_in(tmp_path / "in"), tmp_path / "out"
    (src / "story.txt").write_bytes((data_dir / "story.txt").read_bytes())
    first = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1")
    assert first.exit_code == 0, first.stderr
    options = json.loads((out / "story.report.json").read_text())["options"]
    card = json.loads((tiny_model_dir / "blocks.json").read_text())
    assert options["min_chars"] == 20 and options["suffix"] == ".jsonl.gz" and options["keep_labels"] == ["content"]
    assert options["models"]["blocks.joblib"] == card["sha256"] and options["models"]["html.joblib"] is None
    (src / "more.txt").write_bytes((data_dir / "story.txt").read_bytes())  # a new shard: not cleaned either
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def refused(model_dir: Path, *args: str) -> str:
        result = runner.invoke(cli, ["clean", str(src), "-o", str(out), "--workers", "1", "--model-dir",
                                     str(model_dir), "--max-bytes", "4000", *args])
        assert result.exit_code == 1, result.stderr
        assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # no work done
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"Error: {out}: 2 finished shard(s) were made with other options")
        assert line.endswith("pass --overwrite to redo them, or write to another -o")
        return line

    line = refused(tiny_model_dir, "--min-chars", "50", "--compression", "none", "--keep", "content",
                   "--keep", "navigation")
    assert "--min-chars was 20, now 50" in line and "--compression was gz, now none" in line
    assert "--keep was content, now content+navigation" in line and "--split" not in line
    assert "--split-by-language was off, now on" in refused(tiny_model_dir, "--min-chars", "20",
                                                             "--split-by-language")
    assert "--text-field was text, now body" in refused(tiny_model_dir, "--min-chars", "20", "--text-field", "body")
    assert "--no-captions was off, now on" in refused(tiny_model_dir, "--min-chars", "20", "--no-captions")
    other_models = copy_model_dir("other")
    save_model(tiny_model, other_models, file_name="html.joblib")  # an HTML model: auto labels pages with it
    assert "--model-dir: other models (html.joblib)" in refused(other_models, "--min-chars", "20")
    memory = tmp_path / "templates.json"
    learnt = runner.invoke(cli, ["templates", "learn", str(src), "-o", str(memory)])
    assert learnt.exit_code == 0, learnt.stderr
    assert "--templates: none before" in refused(tiny_model_dir, "--min-chars", "20", "--templates", str(memory))
    # the same options (the same models in another folder too): the run resumes
    same = _clean(runner, copy_model_dir("same"), str(src), "-o", str(out), "--workers", "1")
    assert same.exit_code == 0 and "(2 finished before)" in same.stderr
    kept = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p in before and p.name != "_report.json"}
    assert kept == {p: b for p, b in before.items() if p.name != "_report.json"}
    # --overwrite redoes every shard with the new options
    redo = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1", "--compression", "none",
                  "--overwrite")
    assert redo.exit_code == 0 and "(0 finished before)" in redo.stderr
    assert sorted(p.name for p in out.glob("*.jsonl*")) == ["articles.jsonl", "more.jsonl", "story.jsonl"]
    assert json.loads((out / "_report.json").read_text())["shards"] == 3


def test_a_finished_shard_whose_input_changed_is_redone(runner: CliRunner, tiny_model_dir: Path,
                                                        tmp_path: Path) -> None:
    # a crawl file appended to after its shard was made: the rerun skipped it, and the new
    # records were never read (exit 0)
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    line = "Record {} of the file: a paragraph long enough to be kept in the cleaned corpus for sure."
    for name in ("a", "b"):
        (src / f"{name}.jsonl").write_text("".join(json.dumps({"id": f"{name}{i}", "text": line.format(i)}) + "\n"
                                                   for i in range(3)), encoding="utf-8")
    first = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1")
    assert first.exit_code == 0, first.stderr
    a_report = (out / "a.report.json").read_bytes()
    with open(src / "b.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "b9", "text": line.format(9)}) + "\n")
    again = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1")
    assert again.exit_code == 0, again.stderr
    assert "1 finished shard(s) redone: their input changed since (b)" in again.stderr
    assert "(1 finished before)" in again.stderr and (out / "a.report.json").read_bytes() == a_report
    assert json.loads((out / "b.report.json").read_text())["read"] == 4
    assert json.loads((out / "_report.json").read_text())["read"] == 7
    with gzip.open(out / "b.jsonl.gz", "rt", encoding="utf-8") as f:
        assert [json.loads(x)["id"] for x in f] == ["b0", "b1", "b2", "b9"]
    third = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1")
    assert "(2 finished before)" in third.stderr and "redone" not in third.stderr


def test_a_finished_shard_without_recorded_options_is_not_reused(runner: CliRunner, tiny_model_dir: Path,
                                                                  data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(out))
    assert first.exit_code == 0, first.stderr
    report = json.loads((out / "story.report.json").read_text())
    del report["options"]  # as an earlier Sieve wrote it
    (out / "story.report.json").write_text(json.dumps(report))
    again = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(out))
    assert again.exit_code == 1 and "options not recorded (made by an earlier Sieve)" in again.stderr


def test_a_wrong_text_field_stops_the_run_before_it_starts(runner: CliRunner, tiny_model_dir: Path,
                                                           tmp_path: Path) -> None:
    # a RedPajama corpus (its text in 'raw_content') run with the default --text-field was
    # read to its end, every record rejected, before the run exited 3
    story = "Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter."
    (tmp_path / "in" / "en").mkdir(parents=True)
    with gzip.open(tmp_path / "in" / "en" / "part-0.jsonl.gz", "wt", encoding="utf-8") as f:
        for i in range(150):
            f.write(json.dumps({"raw_content": story, "doc_id": str(i), "meta": {"url": f"https://x.org/{i}"}}) + "\n")
    (tmp_path / "in" / "en" / "part-1.jsonl").write_text(json.dumps({"raw_content": story}) + "\n")
    out = tmp_path / "out"
    wrong = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(out))
    assert wrong.exit_code == 2, wrong.stderr
    assert "'raw_content', 'doc_id', 'meta'" in wrong.stderr and "--text-field raw_content?" in wrong.stderr
    assert not out.exists()  # nothing read, nothing written
    for command in (["score"], ["lang"], ["clean", "--format", "text"]):
        result = runner.invoke(cli, [*command, str(tmp_path / "in" / "en" / "part-1.jsonl"),
                                     "--model-dir", str(tiny_model_dir)])
        assert result.exit_code == 2 and "no record of" in result.stderr
        assert "--text-field raw_content?" in result.stderr
    right = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(out), "--text-field", "raw_content")
    assert right.exit_code == 0, right.stderr
    assert json.loads((out / REPORT_NAME).read_text())["written"] == 151
    # one input with the field is enough: a manifest beside the shards is the run's to reject
    (tmp_path / "in" / "manifest.jsonl").write_text(json.dumps({"shards": 2}) + "\n")
    mixed = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(tmp_path / "out2"),
                   "--text-field", "raw_content")
    assert mixed.exit_code == 0, mixed.stderr
    assert json.loads((tmp_path / "out2" / REPORT_NAME).read_text())["rejected"] == {"bad_schema": 1}
    # standard input is not read ahead: its records are rejected one by one, and the end
    # says where their text is (it said only how many were rejected)
    for command in (["clean"], ["score"], ["lang"]):
        piped = runner.invoke(cli, [*command, "-", "--model-dir", str(tiny_model_dir)],
                              input=io.BytesIO((tmp_path / "in" / "en" / "part-1.jsonl").read_bytes()))
        assert piped.exit_code == EXIT_TOO_MANY_REJECTS and "bad_schema" in piped.stderr
        assert "hold their text in 'raw_content': --text-field raw_content?" in piped.stderr, command


def test_a_shard_whose_records_name_their_text_otherwise_is_warned_about_and_both_names_read_it(
        runner: CliRunner, tiny_model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # a user's crawl: RedPajama v1 shards ('text') beside v2 ones ('raw_content'); the v2 shard
    # was rejected record for record, the run exited 0 and said only "0 written"
    story = "Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter."
    (tmp_path / "in" / "v2").mkdir(parents=True)
    (tmp_path / "in" / "v1.jsonl").write_text(
        "".join(json.dumps({"id": f"a{i}", "text": story}) + "\n" for i in range(3)), encoding="utf-8")
    (tmp_path / "in" / "v2" / "part-0.jsonl").write_text(
        "".join(json.dumps({"doc_id": f"b{i}", "raw_content": story, "meta": {}}) + "\n" for i in range(2))
        # a dataframe's export: both columns, one of them null
        + json.dumps({"doc_id": "b2", "text": None, "raw_content": story}) + "\n", encoding="utf-8")
    base = ["--model-dir", str(tiny_model_dir), "--min-chars", "1"]
    lost = runner.invoke(cli, ["clean", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *base])
    assert lost.exit_code == 0, lost.stderr  # a third of the records: under --max-reject-share
    assert json.loads((tmp_path / "out" / REPORT_NAME).read_text())["rejected"] == {"bad_schema": 3}
    assert "shard v2/part-0: every one of its 3 documents was rejected (3 bad_schema" in caplog.text
    assert "--text-field text,raw_content" in caplog.text
    assert "shard v1" not in caplog.text  # a shard with its records written: nothing to say
    both = runner.invoke(cli, ["clean", str(tmp_path / "in"), "-o", str(tmp_path / "out2"), *base,
                               "--text-field", " text , raw_content"])  # spaced as a user may
    assert both.exit_code == 0, both.stderr
    report = json.loads((tmp_path / "out2" / REPORT_NAME).read_text())
    assert report["read"] == 6 and report["rejected"] == {} and report["written"] + sum(report["dropped"].values()) == 6
    # the same option however it is spaced: a rerun finds the shards finished, not made with other options
    again = runner.invoke(cli, ["clean", str(tmp_path / "in"), "-o", str(tmp_path / "out2"), *base,
                                "--text-field", "text,raw_content"])
    assert again.exit_code == 0 and "(2 finished before)" in again.stderr
    empty = runner.invoke(cli, ["clean", str(tmp_path / "in"), "-o", str(tmp_path / "out3"), *base,
                                "--text-field", "text,"])
    assert empty.exit_code == 2 and "a field name is empty" in empty.stderr
    with gzip.open(tmp_path / "out2" / "v2" / "part-0.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    assert records and all("raw_content" not in r["metadata"] and r["text"] for r in records)
    # a record with both fields is read from the first name given
    scored = runner.invoke(cli, ["score", "-", "--model-dir", str(tiny_model_dir), "--text-field", "body,text"],
                           input=json.dumps({"id": "x", "text": "Home | News", "body": story}) + "\n")
    (record,) = [json.loads(line) for line in scored.stdout.splitlines()]
    assert record["blocks"][0]["text"] == story and record["text"] == "Home | News"


def test_too_many_rejects_exit_status_on_standard_input_and_text_format(runner: CliRunner, tiny_model_dir: Path,
                                                                         tmp_path: Path) -> None:
    junk = b"{bad\nnope\n" + json.dumps({"id": "ok", "text": "A fine sentence about the harbour ferry."}).encode()
    (tmp_path / "junk.jsonl").write_bytes(junk)
    base = ["--model-dir", str(tiny_model_dir), "--min-chars", "1"]
    stdin = runner.invoke(cli, ["clean", "-", *base], input=io.BytesIO(junk))
    assert stdin.exit_code == EXIT_TOO_MANY_REJECTS, stdin.stderr
    assert "2 of 3 documents rejected, more than --max-reject-share 0.5" in stdin.stderr
    assert [json.loads(line)["id"] for line in stdin.stdout.splitlines()] == ["ok"]  # the good record still written
    text = runner.invoke(cli, ["clean", "--format", "text", str(tmp_path / "junk.jsonl"), *base])
    assert text.exit_code == EXIT_TOO_MANY_REJECTS and "max-reject-share" in text.stderr
    assert text.stdout.startswith("# ok")
    tolerant = runner.invoke(cli, ["clean", "-", *base, "--max-reject-share", "0.9"], input=io.BytesIO(junk))
    assert tolerant.exit_code == 0, tolerant.stderr


def test_an_unreachable_dask_scheduler_is_one_line_before_any_work(runner: CliRunner, tiny_model_dir: Path,
                                                                   data_dir: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from classifier import engine

    pytest.importorskip("distributed")
    assert f"within {engine.DASK_CONNECT_TIMEOUT} s" in runner.invoke(cli, ["clean", "--help"]).stdout
    monkeypatch.setattr(engine, "DASK_CONNECT_TIMEOUT", 1)  # the test need not wait 10 s
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    out = tmp_path / "new" / "out"
    for scheduler, words in ((address, f"no Dask scheduler answered at {address} within 1 s"),
                             ("nonsense", "--scheduler nonsense: not a Dask scheduler address")):
        started = time.monotonic()
        result = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(out), "--engine", "dask",
                        "--scheduler", scheduler)
        assert result.exit_code == 1 and time.monotonic() - started < 20
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("Error: ") and words in line
        assert not (tmp_path / "new").exists()  # the folders the run made go with it: nothing was written
    # a folder that was there before the run stays, empty as it was
    (tmp_path / "kept").mkdir()
    result = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(tmp_path / "kept"),
                    "--engine", "dask", "--scheduler", address)
    assert result.exit_code == 1 and (tmp_path / "kept").is_dir() and not any((tmp_path / "kept").iterdir())


def test_scheduler_without_the_dask_engine_is_a_usage_error(runner: CliRunner, tiny_model_dir: Path,
                                                            data_dir: Path, tmp_path: Path) -> None:
    result = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(tmp_path / "out"),
                    "--scheduler", "tcp://127.0.0.1:8786")
    assert result.exit_code == 2
    assert "--scheduler is the address of a Dask scheduler: add --engine dask" in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_output_folder_that_cannot_be_created_is_one_error(runner: CliRunner, tiny_model_dir: Path,
                                                              data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    bad = [tmp_path / "a-file" / "out"] + ([Path("/proc/nope")] if Path("/proc").is_dir() else [])
    for out in bad:
        result = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), str(data_dir / "articles.jsonl"),
                        "-o", f"{out}/", "--workers", "1")
        assert result.exit_code == 1
        (line,) = result.stderr.strip().splitlines()  # no line per shard, no summary claiming a report
        assert line.startswith(f"Error: cannot create the output folder {out}") and "pass another -o" in line




@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="file names there are Unicode, never raw bytes")
def test_a_shard_whose_file_name_is_not_utf8_is_cleaned(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                       tmp_path: Path) -> None:
    # it failed on every run (UnicodeEncodeError writing its 'source'): a retry could never help
    src = tmp_path / "in"
    src.mkdir()
    raw = os.fsencode(src) + b"/caf\xe9.jsonl"
    with open(raw, "wb") as f:
        f.write((data_dir / "broken.jsonl").read_bytes())
    out = tmp_path / "out"
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1", "--min-chars", "1")
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / REPORT_NAME).read_text(encoding="utf-8"))
    assert report["read"] == 2 and report["written"] == 1 and report["rejected"] == {"bad_json": 1}
    (rejects,) = [p for p in out.iterdir() if p.name.endswith(".rejects.jsonl")]
    (reject,) = [json.loads(line) for line in rejects.read_bytes().decode("utf-8").splitlines()]
    assert reject["source"].endswith("caf\ufffd.jsonl") and reject["position"] == 2


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="file names there are Unicode, never raw bytes")
def test_a_shard_whose_file_name_is_not_utf8_is_redone_and_rejects_what_breaks(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    with open(os.fsencode(src) + b"/caf\xe9.txt", "wb") as f:
        f.write((data_dir / "story.txt").read_bytes())
    first = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1")
    assert first.exit_code == 0, first.stderr
    # redone into the other compression: its earlier output is its own, and goes
    again = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1", "--overwrite",
                   "--compression", "none")
    assert again.exit_code == 0, again.stderr
    assert sorted(os.fsdecode(p.name).encode("utf-8", "surrogateescape") for p in out.iterdir()
                  if not p.name.startswith(("_", "."))) == [b"caf\xe9.jsonl", b"caf\xe9.report.json"]
    # an unexpected error on its document (its id is the file's name) is a reject, not a crashed shard
    from classifier.model import BlockModel

    def broken(self: BlockModel, documents: list, **kwargs: object) -> list:
        raise RuntimeError("boom")

    monkeypatch.setattr(BlockModel, "predict_proba", broken)
    third = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1", "--overwrite")
    assert third.exit_code == 3, third.stderr  # all of it rejected
    (rejects,) = [p for p in out.iterdir() if p.name.endswith(".rejects.jsonl")]
    (reject,) = [json.loads(line) for line in rejects.read_bytes().decode("utf-8").splitlines()]
    assert reject["reason"] == "internal_error:RuntimeError"
    assert json.loads(reject["raw"])["id"] == os.fsdecode(b"caf\xe9")  # as read, lossless

def test_an_empty_input_folder_writes_an_empty_report_into_a_new_output_folder(
        runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    result = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(tmp_path / "new" / "out"), "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((tmp_path / "new" / "out" / REPORT_NAME).read_text(encoding="utf-8"))
    assert (report["read"], report["written"], report["shards"]) == (0, 0, 0)

def test_a_failed_shard_is_reported_once_and_no_report_is_claimed(runner: CliRunner, tiny_model_dir: Path,
                                                                  data_dir: Path, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    (src / "story.txt").write_bytes((data_dir / "story.txt").read_bytes())
    (src / "sub" / "other.txt").write_bytes((data_dir / "story.txt").read_bytes())
    out.mkdir()
    (out / "sub").write_text("a file where the shard's folder goes")
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if "sub/other" in line and "failed" in line] == [
        f"sieve clean: shard sub/other failed: cannot create the folder {out / 'sub'} for its outputs (File exists)",
        "Error: 1 shard(s) failed (sub/other); rerun to retry them (finished shards are kept)"]
    # the counts are the one done shard's: the summary says it is one of two
    summary = next(line for line in lines if line.startswith("sieve clean: 1 of 2 shards done "))
    assert "(0 finished before, 1 failed)" in summary and summary.endswith("; no _report.json written (a shard failed)")
    assert REPORT_NAME not in summary.replace("no _report.json written", "")
    assert not (out / REPORT_NAME).exists() and (out / "story.report.json").is_file()
    # the log does not say it again (on a terminal, log lines go to standard error too)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "sub/other" in r.getMessage()]


def test_shard_run_options_on_a_stream_are_a_usage_error(runner: CliRunner, tiny_model_dir: Path,
                                                        tmp_path: Path) -> None:
    record = json.dumps({"id": "ok", "text": "A fine sentence about the harbour ferry."}).encode()
    (tmp_path / "one.jsonl").write_bytes(record)
    base = ["--model-dir", str(tiny_model_dir), "--min-chars", "1"]
    for extra in (["--workers", "2"], ["--overwrite"], ["--compression", "none", "--engine", "local"]):
        stdin = runner.invoke(cli, ["clean", "-", *base, *extra], input=io.BytesIO(record))
        assert stdin.exit_code == 2 and "not with '-' or --format text" in stdin.stderr, stdin.stderr
        assert all(flag in stdin.stderr for flag in extra if flag.startswith("--"))
        assert stdin.stdout == ""  # nothing cleaned with options it would have ignored
        text = runner.invoke(cli, ["clean", "--format", "text", str(tmp_path / "one.jsonl"), *base, *extra])
        assert text.exit_code == 2, text.stderr
    plain = runner.invoke(cli, ["clean", "-", *base], input=io.BytesIO(record))
    assert plain.exit_code == 0 and json.loads(plain.stdout)["id"] == "ok"
    # --drop-fields shapes the records' metadata: the text view has none (it was ignored)
    dropped = runner.invoke(cli, ["clean", "--format", "text", str(tmp_path / "one.jsonl"), *base, "--drop-fields"])
    assert dropped.exit_code == 2 and "drop --drop-fields" in dropped.stderr and dropped.stdout == ""
    kept = runner.invoke(cli, ["clean", "-", *base, "--drop-fields"], input=io.BytesIO(record))
    assert kept.exit_code == 0 and json.loads(kept.stdout)["id"] == "ok"


def test_split_by_language_refuses_a_shard_named_like_another_ones_language_output(runner: CliRunner,
                                                                                   tiny_model_dir: Path,
                                                                                   data_dir: Path,
                                                                                   tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("story.txt", "story.de.txt"):  # shards "story" and "story.de"
        (src / name).write_bytes((data_dir / "story.txt").read_bytes())
    split = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--split-by-language")
    assert split.exit_code == 2 and "shard story's 'de' output is named like shard story.de's" in split.stderr
    assert not out.exists() or not any(out.iterdir())  # refused before any work
    plain = _clean(runner, tiny_model_dir, str(src), "-o", str(out))  # unsplit, the names do not clash
    assert plain.exit_code == 0, plain.stderr
    # "raw" is no language the model gives: data and data.raw can never clash
    other = tmp_path / "other"
    other.mkdir()
    for name in ("data.txt", "data.raw.txt", "data.und.txt"):
        (other / name).write_bytes((data_dir / "story.txt").read_bytes())
    clash = _clean(runner, tiny_model_dir, str(other), "-o", str(tmp_path / "o2"), "--split-by-language")
    assert clash.exit_code == 2 and "shard data's 'und' output is named like shard data.und's" in clash.stderr
    (other / "data.und.txt").unlink()
    fine = _clean(runner, tiny_model_dir, str(other), "-o", str(tmp_path / "o2"), "--split-by-language")
    assert fine.exit_code == 0, fine.stderr


def test_common_crawl_wet_files_are_read_as_text_documents(runner: CliRunner, tiny_model_dir: Path,
                                                           tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # a user's WET shard gave an empty corpus with exit 0: every conversion record was skipped
    story = ("Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter.\n"
             "The vote, held in the town hall after a three-hour meeting, passed by 412 votes to 158.\n"
             "Home | News | Sport\n")
    wet = (_warc_record("warcinfo", "", b"software: test\r\n", "00000000-0000-0000-0000-000000000000")
           + _warc_record("conversion", "https://example.org/ferry", story.encode(),
                          "00000000-0000-0000-0000-000000000001")
           + _warc_record("conversion", "https://example.org/empty", b"", "00000000-0000-0000-0000-000000000002")
           + _warc_record("conversion", "https://example.org/bad", b"caf\xe9 au lait\n",
                          "00000000-0000-0000-0000-000000000003"))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "CC-MAIN-0001.warc.wet.gz").write_bytes(gzip.compress(wet, mtime=0))
    out = tmp_path / "out"
    result = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(out), "--min-chars", "1",
                    "--max-reject-share", "0.9")
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["read"] == 4 and report["dropped"] == {"warc_warcinfo": 1}
    assert report["rejected"] == {"bad_encoding": 1, "no_text": 1} and report["written"] == 1
    with gzip.open(out / "CC-MAIN-0001.jsonl.gz", "rt", encoding="utf-8") as f:
        (record,) = [json.loads(line) for line in f]
    assert record["id"] == "urn:uuid:00000000-0000-0000-0000-000000000001"
    assert record["metadata"]["url"] == "https://example.org/ferry" and "Port Aldwin" in record["text"]
    assert record["metadata"]["date"] == "2024-01-01T00:00:00Z"  # when the page was fetched (WARC-Date)
    rejects = [json.loads(line) for line in (out / "CC-MAIN-0001.rejects.jsonl").read_text().splitlines()]
    assert {r["warc"]["url"] for r in rejects} == {"https://example.org/empty", "https://example.org/bad"}
    assert any("not UTF-8" in r["detail"] for r in rejects if r["reason"] == "bad_encoding")
    # a WET shard whose every document is rejected is told (its warcinfo is read and skipped)
    bad = (_warc_record("warcinfo", "", b"software: test\r\n", "00000000-0000-0000-0000-000000000010")
           + _warc_record("conversion", "https://example.org/x", b"\xff\xfe text",
                          "00000000-0000-0000-0000-000000000011"))
    (tmp_path / "in" / "CC-MAIN-0002.warc.wet.gz").write_bytes(gzip.compress(bad, mtime=0))
    with caplog.at_level(logging.WARNING):
        told = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(tmp_path / "out-b"), "--min-chars",
                      "1", "--max-reject-share", "0.9")
    assert told.exit_code == 0, told.stderr
    assert "shard CC-MAIN-0002: every one of its 1 documents was rejected (1 bad_encoding" in caplog.text
    assert "shard CC-MAIN-0001" not in caplog.text
    # a charset its Content-Type names is read (else UTF-8)
    latin = "Le café du port ouvre à nouveau ses portes après deux ans de travaux sur la jetée.\n".encode("latin-1")
    head = (f"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://example.org/fr\r\n"
            f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000020>\r\n"
            f"Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Length: {len(latin)}\r\n\r\n").encode()
    (tmp_path / "fr.warc").write_bytes(head + latin + b"\r\n\r\n")
    fr = runner.invoke(cli, ["score", str(tmp_path / "fr.warc"), "--model-dir", str(tiny_model_dir)])
    assert fr.exit_code == 0, fr.stderr
    assert json.loads(fr.stdout)["blocks"][0]["text"].startswith("Le café du port ouvre à nouveau")
    # a line of the extracted text is a block, read by the text model
    scored = runner.invoke(cli, ["score", str(tmp_path / "in" / "CC-MAIN-0001.warc.wet.gz"),
                                 "--model-dir", str(tiny_model_dir), "--max-reject-share", "0.9"])
    assert scored.exit_code == 0, scored.stderr
    (doc,) = [json.loads(line) for line in scored.stdout.splitlines()]
    assert [b["text"] for b in doc["blocks"]] == story.strip().split("\n") and "tag" not in doc["blocks"][0]


def test_clean_on_standard_input_counts_skipped_records_as_read_and_dropped(runner: CliRunner, tiny_model_dir: Path,
                                                                           tmp_path: Path) -> None:
    import re

    warc = (_warc_record("request", "https://example.org/a", b"GET /a HTTP/1.1\r\n\r\n",
                         "00000000-0000-0000-0000-000000000001")
            + _warc_record("response", "https://example.org/a", _http(PAGE), "00000000-0000-0000-0000-000000000002")
            + _warc_record("response", "https://example.org/logo.png", _http(b"\x89PNG....", "image/png"),
                           "00000000-0000-0000-0000-000000000003"))
    result = runner.invoke(cli, ["clean", "-", "--input-format", "warc", "--model-dir", str(tiny_model_dir),
                                 "--min-chars", "1"], input=io.BytesIO(warc))
    assert result.exit_code == 0, result.stderr
    counts = re.search(r"([\d,]+) records read, ([\d,]+) written, ([\d,]+) dropped(?: \([^)]*\))?, ([\d,]+) "
                       r"rejected", result.stderr)
    assert counts is not None, result.stderr
    read, written, dropped, rejected = (int(g.replace(",", "")) for g in counts.groups())
    assert read == 3 and read == written + dropped + rejected  # the request and the image are read and dropped
    assert "dropped (not_html: 1, warc_request: 1)" in result.stderr  # and why, as a folder run says


@pytest.mark.parametrize("requests", [1, 2])
def test_score_summary_counts_records_that_are_no_documents_in_words(runner: CliRunner, tiny_model_dir: Path,
                                                                     tmp_path: Path, requests: int) -> None:
    warc = b"".join(_warc_record("request", f"https://example.org/{i}", b"GET / HTTP/1.1\r\n\r\n",
                                 f"00000000-0000-0000-0000-00000000000{i}") for i in range(requests))
    warc += _warc_record("response", "https://example.org/a", _http(PAGE), "00000000-0000-0000-0000-000000000009")
    (tmp_path / "crawl.warc").write_bytes(warc)
    result = runner.invoke(cli, ["score", str(tmp_path / "crawl.warc"), "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    said = ("1 record that is no document skipped (warc_request: 1)" if requests == 1
            else "2 records that are no documents skipped (warc_request: 2)")
    assert said in result.stderr


def test_a_run_into_a_folder_holding_other_inputs_shards_says_its_report_counts_its_own(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    # a user checked a folder of 12 shards against a _report.json rewritten by a run of one of them
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for name in ("a.jsonl", "b.jsonl", "sub/c.jsonl"):
        (src / name).write_bytes((data_dir / "articles.jsonl").read_bytes())
    out = tmp_path / "out"
    first = _clean(runner, tiny_model_dir, str(src), "-o", str(out))
    assert first.exit_code == 0 and "finished shard(s) of inputs not given" not in first.stderr
    again = _clean(runner, tiny_model_dir, str(src / "a.jsonl"), "-o", str(out), "--overwrite")
    assert again.exit_code == 0, again.stderr
    assert "holds 2 finished shard(s) of inputs not given to this run (b, sub/c)" in again.stderr
    assert json.loads((out / REPORT_NAME).read_text())["shards"] == 1
    rerun = _clean(runner, tiny_model_dir, str(src), "-o", str(out))  # all of them again: nothing to say
    assert rerun.exit_code == 0 and "not given to this run" not in rerun.stderr


def test_include_and_exclude_choose_the_files_of_an_input_folder(runner: CliRunner, tiny_model_dir: Path,
                                                                  data_dir: Path, tmp_path: Path) -> None:
    # a user's crawl folder held a README.md, a paths list and a stats.json: each became a document or a reject
    src = tmp_path / "crawl"
    (src / "sub").mkdir(parents=True)
    articles = (data_dir / "articles.jsonl").read_bytes()
    (src / "a.jsonl").write_bytes(articles)
    (src / "sub" / "b.jsonl").write_bytes(articles)
    (src / "README.md").write_text("How this crawl was made: a long paragraph about the crawler settings and "
                                   "the seed list, written for the people who use the data.\n", encoding="utf-8")
    (src / "stats.json").write_text('{"pages": 2}\n', encoding="utf-8")
    base = ["--model-dir", str(tiny_model_dir), "--min-chars", "1"]

    def shards(out: Path) -> list[str]:
        return sorted(str(f.relative_to(out)) for f in out.rglob("*.jsonl.gz"))

    everything = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "all"), *base])
    assert everything.exit_code == 0 and shards(tmp_path / "all") == ["README.jsonl.gz", "a.jsonl.gz",
                                                                       "stats.jsonl.gz", "sub/b.jsonl.gz"]
    only = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "only"), *base, "--include", "*.jsonl"])
    assert only.exit_code == 0, only.stderr
    assert shards(tmp_path / "only") == ["a.jsonl.gz", "sub/b.jsonl.gz"]
    crossing = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "crossing"), *base, "--include",
                                   "su*.jsonl"])  # no file's name matches: '*' crosses '/' in sub/b.jsonl
    assert crossing.exit_code == 0 and shards(tmp_path / "crossing") == ["sub/b.jsonl.gz"]
    star = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "star"), *base, "--include", "**/*.jsonl"])
    assert star.exit_code == 0 and shards(tmp_path / "star") == ["a.jsonl.gz", "sub/b.jsonl.gz"]  # ** as in globs
    none = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "none"), *base, "--include", "*.warc.gz"])
    assert none.exit_code == 0 and "--include '*.warc.gz'" in none.stderr  # nothing chosen: the filter is named
    left = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "left"), *base, "--exclude", "README.md",
                               "--exclude", "*.json", "--exclude", "sub/*"])
    assert left.exit_code == 0 and shards(tmp_path / "left") == ["a.jsonl.gz"]
    # a file given by name is read whatever the patterns say; --format text chooses the same way
    named = runner.invoke(cli, ["clean", str(src / "README.md"), "-o", str(tmp_path / "named"), *base,
                                "--exclude", "*.md"])
    assert named.exit_code == 0 and shards(tmp_path / "named") == ["README.jsonl.gz"]
    text = runner.invoke(cli, ["clean", "--format", "text", str(src), *base, "--include", "sub/*"])
    alone = runner.invoke(cli, ["clean", "--format", "text", str(src / "sub" / "b.jsonl"), *base])
    assert text.exit_code == 0 and text.stdout.startswith("# ") and text.stdout == alone.stdout


def test_a_model_file_absent_then_and_not_looked_for_before_is_no_difference() -> None:
    from classifier.options import option_differences

    now = {"min_chars": 20, "models": {"html.joblib": "abc", "lid.ftz": "def", "adapter.joblib": None}}
    before = {"min_chars": 20, "models": {"html.joblib": "abc", "lid.ftz": "def"}}  # an earlier Sieve
    assert option_differences(before, now) == []
    changed = {"min_chars": 20, "models": {"html.joblib": "abc", "lid.ftz": "def", "adapter.joblib": "123"}}
    assert option_differences(before, changed) == ["--model-dir: other models (adapter.joblib)"]
    # a flag recorded only when given: absent is off
    assert option_differences({**before, "no_captions": True}, before) == ["--no-captions was on, now off"]
    assert option_differences({**before, "publisher": "a.example"}, before) == ["--publisher was a.example, now none"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_clean_says_to_how_many_documents_the_template_memory_applied(runner: CliRunner, tiny_model_dir: Path,
                                                                      tmp_path: Path, workers: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for shard in range(2):
        (src / f"s{shard}.jsonl").write_text("".join(
            json.dumps({"id": f"{shard}-{i}", "url": f"https://harbour.example/{shard}/{i}",
                        "blocks": ["Home | News | Sport", f"Story {shard}-{i}: the council kept the ferry running "
                                   "through the winter after a long debate.",
                                   "Our reporters cover the harbour, the council and the islands every day of "
                                   "the week, in print and online."]}) + "\n" for i in range(4)),
            encoding="utf-8")
    (src / "other.jsonl").write_text(json.dumps({"id": "x", "url": "https://other.example/a",
                                                 "blocks": ["A page of another site with one paragraph."]}) + "\n",
                                     encoding="utf-8")
    memory = tmp_path / "templates.json"
    learnt = runner.invoke(cli, ["templates", "learn", str(src / "s0.jsonl"), str(src / "s1.jsonl"), "-o", str(memory)])
    assert learnt.exit_code == 0, learnt.stderr
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "out"), "--workers", workers,
                    "--templates", str(memory))
    assert result.exit_code == 0, result.stderr
    assert "the template memory applied to 8 of 9 documents" in result.stderr
    report = json.loads((tmp_path / "out" / "_report.json").read_text(encoding="utf-8"))
    assert {k: report["templates"][k] for k in ("documents", "applied")} == {"documents": 9, "applied": 8}
    # how many blocks it turned from content: "applied" alone read as if it had changed them
    labels = {}
    for name, extra in (("plain", []), ("memory", ["--templates", str(memory)])):
        scored = runner.invoke(cli, ["score", str(src), "--model-dir", str(tiny_model_dir), *extra])
        assert scored.exit_code == 0, scored.stderr
        labels[name] = [b["label"] for line in scored.stdout.splitlines() for b in json.loads(line)["blocks"]]
    turned = sum(a == "content" != b for a, b in zip(labels["plain"], labels["memory"], strict=True))
    assert turned > 0 and report["templates"]["turned"] == turned
    assert f"and turned {turned} blocks the model labelled content to non-content" in result.stderr


def test_each_thread_cleans_with_its_own_sieve(tiny_model_dir: Path) -> None:
    # a Dask worker runs one shard per thread at once: a shard's report counts what its
    # Sieve's adapter and template memory did meanwhile, so threads must not share one
    import threading

    from classifier.clean import _sieve_for

    mine = _sieve_for(str(tiny_model_dir))
    assert _sieve_for(str(tiny_model_dir)) is mine  # loaded once per thread
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(_sieve_for(str(tiny_model_dir))))
    thread.start()
    thread.join()
    assert other and other[0] is not mine


def test_dask_workers_with_several_threads_count_templates_per_shard(runner: CliRunner, tiny_model_dir: Path,
                                                                     tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    src = tmp_path / "in"
    src.mkdir()
    for shard in range(4):
        host = "harbour.example" if shard < 3 else "other.example"
        (src / f"s{shard}.jsonl").write_text("".join(
            json.dumps({"id": f"{shard}-{i}", "url": f"https://{host}/{shard}/{i}",
                        "blocks": ["Home | News | Sport", f"Story {shard}-{i}: the council kept the ferry running "
                                   "through the winter after a long debate."]}) + "\n" for i in range(6)),
            encoding="utf-8")
    memory = tmp_path / "templates.json"
    learnt = runner.invoke(cli, ["templates", "learn", str(src / "s0.jsonl"), "-o", str(memory)])
    assert learnt.exit_code == 0, learnt.stderr
    with distributed.LocalCluster(n_workers=1, threads_per_worker=3, processes=True,
                                  dashboard_address=None) as cluster:
        result = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "out"), "--engine", "dask",
                        "--scheduler", cluster.scheduler_address, "--templates", str(memory))
    assert result.exit_code == 0, result.stderr
    turned = []
    for shard in range(4):
        report = json.loads((tmp_path / "out" / f"s{shard}.report.json").read_text(encoding="utf-8"))
        counts = report["templates"]
        assert {k: counts[k] for k in ("documents", "applied")} == {"documents": 6, "applied": 6 if shard < 3 else 0}
        turned.append(counts["turned"])
    # the three shards of one site are alike: each thread counted its own shard's blocks only
    assert turned[0] == turned[1] == turned[2] > 0 and turned[3] == 0
    assert json.loads((tmp_path / "out" / "_report.json").read_text(encoding="utf-8"))["templates"] == {
        "documents": 24, "applied": 18, "turned": sum(turned)}


def test_dask_runs_from_another_folder_than_the_workers_and_side_by_side(
        tiny_model_dir: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # relative paths are the user's folder's, not the workers'; and two runs on one
    # scheduler whose shards have the same names each get their own results
    import threading

    distributed = pytest.importorskip("distributed")
    from classifier.clean import CleanPolicy
    from classifier.engine import run_clean

    (tmp_path / "workers").mkdir()
    (tmp_path / "user" / "in").mkdir(parents=True)
    (tmp_path / "user" / "in" / "articles.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes())
    monkeypatch.chdir(tmp_path / "workers")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster:
        monkeypatch.chdir(tmp_path / "user")
        results = {}

        def run(out: str, policy: CleanPolicy) -> None:
            results[out] = run_clean(["in"], Path(out), policy, engine="dask", scheduler=cluster.scheduler_address,
                                     model_dir=str(tiny_model_dir), progress=False)

        runs = [threading.Thread(target=run, args=("keep", CleanPolicy(min_chars=1))),
                threading.Thread(target=run, args=("drop", CleanPolicy(min_chars=10**6)))]
        for t in runs:
            t.start()
        for t in runs:
            t.join()
    assert not any((tmp_path / "workers").iterdir())  # nothing read or written from the workers' folder
    keep, drop = results["keep"], results["drop"]
    assert keep.failed == [] and drop.failed == []
    assert keep.report["written"] == 3 and keep.report["dropped"] == {}
    assert drop.report["written"] == 0 and sum(drop.report["dropped"].values()) == 3
    assert (tmp_path / "user" / "keep" / "articles.jsonl.gz").is_file()
    assert (tmp_path / "user" / "drop" / "articles.report.json").is_file()


def test_shards_whose_files_would_share_a_name_are_refused(runner: CliRunner, tiny_model_dir: Path,
                                                          data_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    story = (data_dir / "story.txt").read_bytes()
    (src / "x.txt").write_bytes(story)
    (src / "x.rejects.txt").write_bytes(story)  # uncompressed, its output is x's rejects file
    out = tmp_path / "out"
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--compression", "none")
    assert result.exit_code == 2  # a usage error: the names alone make no run
    assert "shards x.rejects and x would both write x.rejects.jsonl" in result.stderr
    assert not out.exists() or not any(out.iterdir())
    assert _clean(runner, tiny_model_dir, str(src), "-o", str(out)).exit_code == 0  # compressed: no clash
    (src / "_report.json").mkdir()  # a sub-folder where the run report goes: no input (a name with _)
    (src / "_report.json" / "a.txt").write_bytes(story)
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "out2"))
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "out2" / REPORT_NAME).read_text(encoding="utf-8"))["shards"] == 2


@contextlib.contextmanager
def _lock_held(lock: Path, mode: str = "a+b") -> Iterator[None]:
    """Another process holding the lock file ``lock`` (as another run of `sieve clean` holds
    its folder's) while the block runs; it ends after it, and its lock with it."""
    other = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"f = open({str(lock)!r}, {mode!r})\n"
        "fcntl.flock(f.fileno(), fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "locked"
        yield
    finally:
        other.kill()
        other.wait()


def test_a_second_run_into_a_folder_in_use_is_refused(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                      tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    from classifier.engine import LOCK_NAME

    out = tmp_path / "out"
    out.mkdir()
    with _lock_held(out / LOCK_NAME):
        result = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(out))
        assert result.exit_code == 1
        assert f"another `sieve clean` is writing into {out} now" in result.stderr
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]
    # the lock goes with its process: the folder is free again
    assert _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(out)).exit_code == 0
    assert fcntl is not None


@pytest.mark.parametrize("held", ["out", "out/sub"])
def test_a_run_into_a_folder_above_or_below_one_in_use_is_refused(held: str, runner: CliRunner,
                                                                 tiny_model_dir: Path, data_dir: Path,
                                                                 tmp_path: Path) -> None:
    pytest.importorskip("fcntl")
    from classifier.engine import LOCK_NAME

    # `clean crawl/ -o out` beside `clean other/ -o out/sub`: each lock was its own folder's,
    # and the run into out/sub removed the unfinished files of out's shards sub/*, then put
    # its shards of the same names over out's finished ones
    src = tmp_path / "crawl"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "story.txt").write_bytes((data_dir / "story.txt").read_bytes())
    (tmp_path / held).mkdir(parents=True)
    inputs, out = ((str(data_dir / "story.txt"), tmp_path / "out" / "sub") if held == "out"
                   else (str(src), tmp_path / "out"))
    with _lock_held(tmp_path / held / LOCK_NAME):
        result = _clean(runner, tiny_model_dir, inputs, "-o", str(out))
        assert result.exit_code == 1, result.stderr
        assert f"another `sieve clean` is writing into {tmp_path / held} now" in result.stderr
        assert not list((tmp_path / "out").rglob("*.gz"))
    assert _clean(runner, tiny_model_dir, inputs, "-o", str(out)).exit_code == 0  # the other run ended


def test_a_lock_file_of_another_user_still_locks_the_folder(runner: CliRunner, tiny_model_dir: Path,
                                                           data_dir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fcntl")
    import builtins

    from classifier.engine import LOCK_NAME

    # a folder a team shares: the lock file is the first user's (0644), which a second user
    # could not open for writing, and that user's run went on unlocked beside the first's
    out = tmp_path / "out"
    out.mkdir()
    lock = out / LOCK_NAME
    lock.touch()
    lock.chmod(0o444)
    real_open = builtins.open

    def as_another_user(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if os.fspath(file) == str(lock) and mode != "rb":  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", str(lock))  # root may write a 0444 file
        return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", as_another_user)
    with _lock_held(lock, "rb"):
        result = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(out))
        assert result.exit_code == 1, result.stderr
        assert f"another `sieve clean` is writing into {out} now" in result.stderr
    assert _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(out)).exit_code == 0


def test_linked_folders_are_read_and_a_file_given_twice_once(runner: CliRunner, tiny_model_dir: Path,
                                                            data_dir: Path, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    src, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    src.mkdir()
    elsewhere.mkdir()
    (elsewhere / "story.txt").write_bytes((data_dir / "story.txt").read_bytes())
    (src / "articles.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes())
    (src / "linked").symlink_to(elsewhere, target_is_directory=True)
    (src / "loop").symlink_to(src, target_is_directory=True)  # a link to a folder above: walked once
    (src / "alias.jsonl").symlink_to(src / "articles.jsonl")
    out = tmp_path / "out"
    result = _clean(runner, tiny_model_dir, str(src), str(src / "articles.jsonl"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / REPORT_NAME).read_text(encoding="utf-8"))
    assert report["shards"] == 2 and report["read"] == 4  # articles (3 records) and linked/story (1)
    assert (out / "linked" / "story.jsonl.gz").is_file()
    assert (out / "articles.jsonl.gz").is_file() and not (out / "alias.jsonl.gz").exists()  # the file, not a link
    assert f"{src / 'alias.jsonl'} is the same file as {src / 'articles.jsonl'}: read once" in caplog.text


def test_a_loop_of_file_links_in_an_input_folder_is_said_not_read(runner: CliRunner, tiny_model_dir: Path,
                                                                  tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    # a.jsonl -> b.jsonl -> a.jsonl: the run stopped with a traceback (Path.resolve's
    # "Symlink loop"), before any work
    src = _articles_in(tmp_path / "in")
    (src / "a.jsonl").symlink_to(src / "b.jsonl")
    (src / "b.jsonl").symlink_to(src / "a.jsonl")
    out = tmp_path / "out"
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert json.loads((out / REPORT_NAME).read_text(encoding="utf-8"))["shards"] == 1
    assert f"2 entries under {src} are no regular file" in caplog.text


def test_an_input_folder_that_cannot_be_listed_stops_the_run(runner: CliRunner, tiny_model_dir: Path,
                                                             data_dir: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # os.walk passes over a sub-folder it cannot list: its shards were left out without
    # a word, and the run ended with status 0 and a report counting the others only
    src = _articles_in(tmp_path / "in")
    (src / "locked").mkdir()
    (src / "locked" / "story.txt").write_bytes((data_dir / "story.txt").read_bytes())
    scandir = os.scandir

    def no_entry(path: object = ".") -> object:  # as chmod 000 does for a user who is not root
        if os.fspath(path) == str(src / "locked"):  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", os.fspath(path))  # type: ignore[arg-type]
        return scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", no_entry)
    out = tmp_path / "out"
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(out))
    assert result.exit_code == 1, result.stderr
    assert f"cannot list the input folder {src / 'locked'} (Permission denied)" in result.stderr
    assert "Traceback" not in result.stderr and not (out / REPORT_NAME).exists()


def test_a_hard_link_to_an_input_file_is_read_once(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                  tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # a crawl folder where a file is hard-linked under a second name (cp -l, rsync --link-dest): its
    # documents were written twice, as two shards
    src = tmp_path / "in"
    src.mkdir()
    (src / "a-articles.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes())
    os.link(src / "a-articles.jsonl", src / "b-copy.jsonl")
    out = tmp_path / "out"
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / REPORT_NAME).read_text(encoding="utf-8"))
    assert report["shards"] == 1 and report["read"] == 3
    assert (out / "a-articles.jsonl.gz").is_file() and not (out / "b-copy.jsonl.gz").exists()
    assert f"{src / 'b-copy.jsonl'} is the same file as {src / 'a-articles.jsonl'}: read once" in caplog.text


def test_a_run_that_would_write_over_its_input_is_refused(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    raw = (data_dir / "articles.jsonl").read_bytes()
    Path("articles.jsonl").write_bytes(raw)
    result = _clean(runner, tiny_model_dir, "articles.jsonl", "-o", ".", "--compression", "none")
    assert result.exit_code == 2  # a usage error, said before any work
    assert f"shard articles would write {tmp_path / 'articles.jsonl'}, one of the inputs: write to another -o" in (
        result.stderr)
    assert Path("articles.jsonl").read_bytes() == raw  # untouched
    Path("corpus").mkdir()
    Path("corpus", "articles.jsonl").write_bytes(raw)
    result = _clean(runner, tiny_model_dir, "corpus", "-o", "corpus/")
    assert result.exit_code == 2 and "corpus is the output folder too" in result.stderr
    assert sorted(p.name for p in Path("corpus").iterdir()) == ["articles.jsonl"]
    assert _clean(runner, tiny_model_dir, "articles.jsonl", "-o", ".").exit_code == 0  # articles.jsonl.gz: no clash


def test_dolma_and_redpajama_records_give_their_url_and_metadata(runner: CliRunner, tiny_model_dir: Path,
                                                                 tmp_path: Path) -> None:
    article = ("The council voted on Tuesday to keep the ferry running through the winter, after a debate that "
               "lasted well into the night and drew a crowd of islanders to the town hall.")
    records = [
        {"id": 0, "text": article, "source": "common-crawl", "added": "2024-01-01",
         "metadata": {"url": "https://www.harbour.example/a", "warc_date": "2024-01-01", "lang": "xx"}},
        {"id": 1, "text": article, "meta": {"url": "https://news.example/b", "language": "en"}},
    ]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "dolma.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = tmp_path / "out"
    assert _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(out)).exit_code == 0
    dolma, redpajama = [json.loads(line) for line in gzip.open(out / "dolma.jsonl.gz", "rt", encoding="utf-8")]
    meta = dolma["metadata"]
    assert meta["url"] == "https://www.harbour.example/a" and meta["publisher"] == "harbour.example"
    assert meta["warc_date"] == "2024-01-01" and "metadata" not in meta
    # Dolma's top-level fields stay there (not the shard's name: the record's own source)
    assert (dolma["source"], dolma["added"]) == ("common-crawl", "2024-01-01") and "source" not in meta
    assert redpajama["source"] == "dolma"
    assert meta["lang"] != "xx"  # Sieve's own keys win
    assert redpajama["metadata"]["url"] == "https://news.example/b"
    assert redpajama["metadata"]["meta"] == {"url": "https://news.example/b", "language": "en"}
    # cleaning the output again merges, never nests
    again = tmp_path / "again"
    assert _clean(runner, tiny_model_dir, str(out / "dolma.jsonl.gz"), "-o", str(again)).exit_code == 0
    twice = [json.loads(line) for line in gzip.open(again / "dolma.jsonl.gz", "rt", encoding="utf-8")][0]
    assert "metadata" not in twice["metadata"] and twice["metadata"]["url"] == "https://www.harbour.example/a"
    # --drop-fields leaves the input's fields out, not the url it gave
    dropped = tmp_path / "dropped"
    assert _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(dropped), "--drop-fields").exit_code == 0
    first = json.loads(gzip.open(dropped / "dolma.jsonl.gz", "rt", encoding="utf-8").readline())
    assert first["metadata"]["url"] == "https://www.harbour.example/a" and "warc_date" not in first["metadata"]


def test_annotate_with_split_by_language_is_a_usage_error(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                          tmp_path: Path) -> None:
    result = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(tmp_path / "out"), "--annotate",
                    "--split-by-language")
    assert result.exit_code == 2 and "drop --split-by-language" in result.stderr


def test_every_name_clash_is_named_at_once_and_a_named_pipe_is_an_input(runner: CliRunner, tiny_model_dir: Path,
                                                                        data_dir: Path, tmp_path: Path) -> None:
    import threading

    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.jsonl", "a.jsonl.gz", "b.txt", "b.html"):
        (src / name).write_bytes(b"")
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "would both write a.*" in result.stderr and "would both write b.*" in result.stderr
    # files of one folder: its parent as the input would not help (a user was told to try it)
    assert "differ only in their extensions" in result.stderr and "parent folder" not in result.stderr
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "c.jsonl").write_bytes(b"")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "c.jsonl").write_bytes(b"")
    apart = _clean(runner, tiny_model_dir, str(tmp_path / "other"), str(tmp_path / "more"), "-o",
                   str(tmp_path / "out"))
    assert apart.exit_code == 2 and "would both write c.*" in apart.stderr and "parent folder" in apart.stderr
    pipe = tmp_path / "feed"
    os.mkfifo(pipe)
    records = (data_dir / "articles.jsonl").read_bytes()

    def feed() -> None:
        with open(pipe, "wb") as f:
            f.write(records)

    # into a folder: refused (no worker could open it, no rerun read it again)
    result = _clean(runner, tiny_model_dir, str(pipe), "-o", str(tmp_path / "piped"))
    assert result.exit_code == 1 and "is no regular file (a named pipe?)" in result.stderr
    writer = threading.Thread(target=feed)  # to standard output: read once, as '-' is
    writer.start()
    result = _clean(runner, tiny_model_dir, str(pipe), "--format", "text")
    writer.join()
    assert result.exit_code == 0, result.stderr
    assert "3 records read" in result.stderr and "# harbour-1 [en]" in result.stdout


def test_spark_markers_and_hidden_files_in_a_folder_are_no_inputs(runner: CliRunner, tiny_model_dir: Path,
                                                                  data_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "_temporary" / "0").mkdir(parents=True)
    (src / "part-00000.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes())
    (src / "_SUCCESS").write_bytes(b"")
    (src / "_temporary" / "0" / "part-00001.jsonl").write_bytes(b"{half a record")
    (src / ".part-00000.jsonl.crc").write_bytes(b"\x00\x01")
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "out" / REPORT_NAME).read_text(encoding="utf-8"))
    assert report["shards"] == 1 and report["read"] == 3 and report["rejected"] == {}


def test_a_file_under_a_link_to_a_folder_of_the_input_is_read_under_its_own_name(tmp_path: Path) -> None:
    # os.walk lists folders in the file system's order: when the link came first, the real
    # folder was skipped as seen and its files named through the link
    from classifier.engine import discover_shards

    src = tmp_path / "in"
    for i in range(6):
        (src / f"real{i}").mkdir(parents=True)
        (src / f"real{i}" / "x.jsonl").write_text("{}\n", encoding="utf-8")
        (src / f"a-link{i}").symlink_to(src / f"real{i}", target_is_directory=True)  # sorts first
        (src / f"z-link{i}").symlink_to(src / f"real{i}", target_is_directory=True)
    names = [name for _, name in discover_shards([str(src)])]
    assert names == [f"real{i}/x" for i in range(6)]


def test_a_records_html_beside_its_text_is_not_copied_into_the_metadata() -> None:
    doc = Document.from_dict({"id": "p", "text": "The council kept the ferry running through the winter months.",
                              "html": "<html><body><p>The council kept the ferry running.</p></body></html>",
                              "crawl": "2024-10"})
    labelled = Document(doc.id, tuple(Block(b.text, label=Label.CONTENT, lang="en", lang_score=0.9, foreign=False)
                                      for b in doc.blocks), extra=doc.extra, lang="en", lang_score=0.9)
    (_, rec), = clean_document(labelled, CleanPolicy(min_chars=10)).records
    assert "html" not in rec["metadata"] and rec["metadata"]["crawl"] == "2024-10"


def test_each_record_names_the_block_model_that_labelled_it(runner: CliRunner, copy_model_dir, tiny_model,
                                                            data_dir: Path, tmp_path: Path) -> None:
    """A page is labelled by the HTML model, a text by the text model: each record's
    metadata names its own model and the sha256 of that model's card."""
    from classifier.cards import read_card
    from classifier.model import save_model

    models = copy_model_dir()
    save_model(tiny_model, models, file_name="html.joblib", card={"note": "the HTML model of this test"})
    src = tmp_path / "in"
    src.mkdir()
    (src / "page.html").write_bytes(PAGE)
    (src / "story.txt").write_bytes((data_dir / "story.txt").read_bytes())
    out = tmp_path / "out"
    result = _clean(runner, models, str(src), "-o", str(out), "--workers", "1")
    assert result.exit_code == 0, result.stderr

    def model_of(name: str) -> dict:
        with gzip.open(out / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            return json.loads(f.readline())["metadata"]["model"]

    for name, file in (("page", "html.joblib"), ("story", "blocks.joblib")):
        model = model_of(name)
        assert model["block_model"] == file, name
        assert model["block_model_sha256"] == read_card(models / file)["sha256"][:16]
    # on standard output too, and --model text labels the page with the text model
    for choice, file in (("auto", "html.joblib"), ("text", "blocks.joblib")):
        piped = runner.invoke(cli, ["clean", "-", "--model-dir", str(models), "--min-chars", "1", "--model", choice],
                              input=io.BytesIO(PAGE))
        assert piped.exit_code == 0, piped.stderr
        assert json.loads(piped.stdout.splitlines()[0])["metadata"]["model"]["block_model"] == file


def test_a_memory_replaced_in_place_is_read_again_by_the_same_process(runner: CliRunner, tiny_model_dir: Path,
                                                                      tmp_path: Path) -> None:
    """A long-lived process (a Dask worker, a library caller) keeps its Sieve per
    options: a template memory written over between two runs is read again."""
    from classifier.clean import _sieve_for

    src = tmp_path / "in"
    src.mkdir()
    (src / "s.jsonl").write_text("".join(
        json.dumps({"id": str(i), "url": f"https://harbour.example/{i}",
                    "blocks": ["Home | News | Sport", f"Story {i}: the council kept the ferry running."]}) + "\n"
        for i in range(4)), encoding="utf-8")
    memory = tmp_path / "templates.json"
    assert runner.invoke(cli, ["templates", "learn", str(src), "-o", str(memory)]).exit_code == 0
    first = _sieve_for(str(tiny_model_dir), "auto", str(memory))
    assert _sieve_for(str(tiny_model_dir), "auto", str(memory)) is first
    learnt = first.templates
    other = tmp_path / "other.json"
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "o.jsonl").write_text(json.dumps({"id": "x", "url": "https://other.example/a",
                                                        "blocks": ["Menu"]}) + "\n", encoding="utf-8")
    assert runner.invoke(cli, ["templates", "learn", str(tmp_path / "o"), "-o", str(other)]).exit_code == 0
    os.replace(other, memory)  # another memory under the same name
    again = _sieve_for(str(tiny_model_dir), "auto", str(memory))
    assert again is not first and again.templates.to_dict() != learnt.to_dict()


def test_a_redo_that_fails_leaves_its_shard_unfinished(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shard redone with --overwrite whose report cannot be written (or that is killed
    after its outputs are renamed) is not taken as finished by the next run."""
    import uuid

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes())
    out = tmp_path / "out"
    assert _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1").exit_code == 0
    run = uuid.UUID(int=7)
    monkeypatch.setattr(uuid, "uuid4", lambda: run)  # the run's id, in its unfinished files' names
    blocker = out / f"a.report.json.{run.hex[:12]}.part"
    blocker.mkdir()  # the new report cannot be written
    redo = runner.invoke(cli, ["clean", str(src), "-o", str(out), "--workers", "1", "--overwrite", "--min-chars",
                               "100000", "--model-dir", str(tiny_model_dir), "--max-bytes", "4000"])
    assert redo.exit_code == 1
    assert not (out / "a.report.json").exists()  # the old report does not describe the outputs now
    blocker.rmdir()
    monkeypatch.undo()
    again = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1", "--overwrite")
    assert again.exit_code == 0 and "(0 finished before)" in again.stderr
    with gzip.open(out / "a.jsonl.gz", "rt", encoding="utf-8") as f:
        assert len(f.readlines()) == json.loads((out / "a.report.json").read_text())["written"] > 0


def test_a_finished_shard_of_another_input_file_is_not_reused(runner: CliRunner, tiny_model_dir: Path,
                                                              data_dir: Path, tmp_path: Path) -> None:
    for crawl in ("crawl-01", "crawl-02"):
        (tmp_path / crawl).mkdir()
        (tmp_path / crawl / "part-0.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes())
    out = tmp_path / "out"
    assert _clean(runner, tiny_model_dir, str(tmp_path / "crawl-01"), "-o", str(out)).exit_code == 0
    second = _clean(runner, tiny_model_dir, str(tmp_path / "crawl-02"), "-o", str(out))
    assert second.exit_code == 1
    assert f"the finished shard part-0 was made from {tmp_path / 'crawl-01' / 'part-0.jsonl'}" in second.stderr
    assert "pass --overwrite" in second.stderr
    # the same file again (through another spelling of its path) resumes
    same = _clean(runner, tiny_model_dir, str(tmp_path / "crawl-02" / ".." / "crawl-01"), "-o", str(out))
    assert same.exit_code == 0 and "(1 finished before)" in same.stderr


@pytest.mark.parametrize("command", ["score", "clean"])
def test_sigterm_stops_like_ctrl_c_and_leaves_no_partial_output(tiny_model_dir: Path, data_dir: Path,
                                                                tmp_path: Path, sieve_executable: str,
                                                                command: str) -> None:
    """`kill`, `timeout`, a batch scheduler: the command stops, removes what it was
    writing, and exits 143."""
    src = tmp_path / "big.jsonl"
    src.write_bytes((data_dir / "articles.jsonl").read_bytes() * 400)
    out = tmp_path / ("out.jsonl" if command == "score" else "out")
    cmd = [sieve_executable, command, str(src), "-o", str(out), "--model-dir", str(tiny_model_dir)]
    if command == "clean":
        cmd += ["--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline and not list(tmp_path.rglob("*.part")):
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143 and "stopped (SIGTERM)" in err, err
    assert not list(tmp_path.rglob("*.part")) and not out.is_file()


def test_a_cut_quotation_leaves_no_stray_punctuation() -> None:
    from classifier.clean import _cut

    text = "He said: « Nous ne reculerons pas », and the crowd cheered loudly."
    assert _cut(text, [(text.index("«"), text.index("»") + 1)]) == "He said, and the crowd cheered loudly."
    text = f"The mayor said {GERMAN} The ferry will run all winter."
    assert _cut(text, [(text.index(GERMAN), text.index(GERMAN) + len(GERMAN))]) == \
        "The mayor said The ferry will run all winter."
    text = f"The mayor ({GERMAN}) agreed."
    start = text.index(GERMAN)
    assert _cut(text, [(start - 1, start + len(GERMAN) + 1)]) == "The mayor agreed."
    text = "记者说：“This is very good for us.”今天股市大涨。"  # no spaces: none put in
    assert _cut(text, [(text.index("“"), text.index("”") + 1)]) == "记者说：今天股市大涨。"
    # a quotation that began a sentence: its comma went with it ("158., said the mayor.")
    text = "It passed by 412 votes to 158. « Nous ne reculerons pas », said the mayor."
    assert _cut(text, [(text.index("«"), text.index("»") + 1)]) == "It passed by 412 votes to 158. said the mayor."
    text = "It passed. « Nous ne reculerons pas ». The mayor left."
    assert _cut(text, [(text.index("«"), text.index("»") + 1)]) == "It passed. The mayor left."
    text = "记者说。“This is very good for us.”，今天股市大涨。"
    assert _cut(text, [(text.index("“"), text.index("”") + 1)]) == "记者说。今天股市大涨。"
    # a quotation that began the paragraph began a sentence too (", said the mayor." before)
    text = "« Nous ne reculerons pas », said the mayor. The council agreed."
    assert _cut(text, [(0, text.index("»") + 1)]) == "said the mayor. The council agreed."
    text = "“Wir schaffen das”. The mayor left."
    assert _cut(text, [(0, text.index("”") + 1)]) == "The mayor left."


def test_a_cut_quotation_leaves_no_space_between_han_or_kana() -> None:
    from classifier.clean import _cut

    # a Chinese story puts a space after an English quotation; cut out, it stood between two
    # Han characters: "表示： 主办方表示"
    text = '研究人员表示："This is the most impressive gathering I have attended." 主办方表示，人数将超过三十万。'
    assert _cut(text, [(text.index('"'), text.rindex('"') + 1)]) == "研究人员表示：主办方表示，人数将超过三十万。"
    text = '市の担当者は "We are very happy with the new visitors." 観光客は増えた。'
    assert _cut(text, [(text.index('"'), text.rindex('"') + 1)]) == "市の担当者は観光客は増えた。"
    text = 'Der Sprecher sagte "We are very happy with it." Dann ging er.'  # spaces stay where words have them
    assert _cut(text, [(text.index('"'), text.rindex('"') + 1)]) == "Der Sprecher sagte Dann ging er."


def test_a_cut_takes_the_brackets_it_empties_and_the_bidi_marks_around_it() -> None:
    from classifier.clean import _cut

    # "a déclaré (« … ») avant" came out "a déclaré () avant"
    text = "Le ministre a déclaré (« We will protect every single job in this sector ») avant de partir."
    assert _cut(text, [(text.index("«"), text.index("»") + 1)]) == "Le ministre a déclaré avant de partir."
    text = "Der Minister sagte [„We will protect every job in this sector“] und ging."
    assert _cut(text, [(text.index("„"), text.index("“") + 1)]) == "Der Minister sagte und ging."
    text = "The mayor (as she said: « Nous ne reculerons pas ») agreed."  # the brackets hold more: kept
    assert _cut(text, [(text.index("«"), text.index("»") + 1)]) == "The mayor (as she said) agreed."
    # an English quotation in Arabic, wrapped in direction marks: the marks went to the cleaned text
    text = '\u200fقال المدير: \u200e"We will finish the project before the end of next year."\u200f وأكد أن العمل يسير.'
    assert _cut(text, [(text.index('"'), text.rindex('"') + 1)]) == "\u200fقال المدير: وأكد أن العمل يسير."


def test_a_cut_quotation_that_began_a_sentence_takes_the_dash_to_its_speaker() -> None:
    from classifier.clean import _cut

    # Russian and Ukrainian put a dash between a quotation and its speaker: "два роки. — сказав він."
    text = "Реформа триватиме ще два роки. «Мы не будем останавливаться на полпути», — сказав він. Опозиція проти."
    assert _cut(text, [(text.index("«"), text.index("»") + 1)]) == \
        "Реформа триватиме ще два роки. сказав він. Опозиція проти."
    text = "«Мы не будем останавливаться на полпути» – сказал министр. Оппозиция против."
    assert _cut(text, [(0, text.index("»") + 1)]) == "сказал министр. Оппозиция против."
    text = "Он сказал: «Мы не будем останавливаться на полпути», — и ушёл."  # mid-sentence: the dash stays
    assert _cut(text, [(text.index("«"), text.index("»") + 1)]) == "Он сказал, — и ушёл."


def test_min_chars_counts_a_han_character_as_a_words_worth() -> None:
    """A short Chinese news item holds as much text as an English one three times its
    length: --min-chars weighs Han and kana characters as 3."""
    zh = "北京首都国际机场的新地铁线路于周一正式开通，乘客只需二十分钟。"  # 31 characters
    doc = Document(id="zh", blocks=(Block(zh, label=Label.CONTENT, lang="zh", lang_score=1.0, foreign=False),),
                   lang="zh", lang_score=1.0)
    assert clean_document(doc, CleanPolicy(min_chars=80)).dropped is None
    assert clean_document(doc, CleanPolicy(min_chars=100)).dropped == "too_short"
    en = Document(id="en", blocks=(Block("x" * 40, label=Label.CONTENT, lang="en", lang_score=1.0, foreign=False),),
                  lang="en", lang_score=1.0)
    assert clean_document(en, CleanPolicy(min_chars=80)).dropped == "too_short"


def test_a_long_lived_process_keeps_one_sieve_per_options(tiny_model_dir: Path, tmp_path: Path) -> None:
    from classifier.clean import _THREAD, _sieve_for

    memory = tmp_path / "t.json"
    for version in range(3):  # a memory rewritten between runs: the Sieves of older versions are let go
        from classifier.templates import TemplateMemory

        TemplateMemory(min_pages=3 + version).save(memory)
        _sieve_for(str(tiny_model_dir), "auto", str(memory))
    mine = [k for k in _THREAD.sieves if k[2] == str(memory)]
    assert len(mine) == 1


def test_cutting_a_segment_keeps_the_blocks_line_breaks() -> None:
    # a block with a foreign segment came out on one line: every line break was lost
    from classifier.clean import _cut

    text = ("The ferry timetable lists\nthe winter crossings by day.\n"
            "Ohne die Fähre wäre die Insel für uns unerreichbar.\nBoats leave at nine.")
    start = text.index("Ohne")
    end = text.index("\nBoats")
    assert _cut(text, [(start, end)]) == ("The ferry timetable lists\nthe winter crossings by day.\n"
                                         "Boats leave at nine.")
    said = 'He said: « Nous ne reculerons pas », and left.'
    assert _cut(said, [(said.index("«"), said.index("»") + 1)]) == "He said, and left."
    assert _cut("记者：“This is fine.”今天", [(3, 18)]) == "记者：今天"


def test_the_text_format_names_each_documents_url(runner: CliRunner, tiny_model_dir: Path, repo_root: Path) -> None:
    # a WARC record's id (urn:uuid:...) alone said nothing of the page it is
    result = runner.invoke(cli, ["clean", "--format", "text", str(repo_root / "examples" / "crawl.warc.gz"),
                                 "--model-dir", str(tiny_model_dir), "--min-chars", "0"])
    assert result.exit_code == 0, result.stderr
    heads = [line for line in result.stdout.splitlines() if line.startswith("# urn:uuid:")]
    assert len(heads) == 4
    assert all(head.split()[-1].startswith("https://www.harbour-times.example/news/") for head in heads)


def test_inputs_of_one_name_are_no_clash_when_the_output_is_one_stream(runner: CliRunner, tiny_model_dir: Path,
                                                                      tmp_path: Path) -> None:
    # story.html and story.htm would write one shard, but the text format writes no shard
    for name in ("story.html", "story.htm"):
        (tmp_path / name).write_text("<html><body><p>Residents of Port Aldwin voted on Tuesday to keep the "
                                     "island ferry running through the winter.</p></body></html>", encoding="utf-8")
    args = [str(tmp_path / "story.html"), str(tmp_path / "story.htm"), "--model-dir", str(tiny_model_dir)]
    text = runner.invoke(cli, ["clean", "--format", "text", *args, "--min-chars", "0"])
    assert text.exit_code == 0, text.stderr
    assert text.stdout.count("# story") == 2
    shards = runner.invoke(cli, ["clean", *args, "-o", str(tmp_path / "out")])
    assert shards.exit_code == 2 and "would both write story.*" in shards.stderr  # shards would clash


def test_a_crawl_whose_every_page_is_rejected_exits_3_whatever_its_requests(runner: CliRunner,
                                                                             tiny_model_dir: Path,
                                                                             tmp_path: Path) -> None:
    # a Common Crawl file holds a request record per page (and metadata records): counted
    # in the share, they kept a run that rejected every page under 0.5, exit 0
    def record(i: int, kind: str) -> bytes:
        http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>Page %d: the ferry keeps "
                b"running through the winter months, the council said.</p></body></html>" % i)
        head = (b"WARC/1.0\r\nWARC-Type: " + kind.encode() + b"\r\nWARC-Record-ID: <urn:uuid:%d-%s>\r\n"
                b"WARC-Target-URI: https://example.org/%d\r\nContent-Type: application/http; msgtype=%s\r\n"
                b"Content-Length: %d\r\n\r\n") % (i, kind.encode(), i, kind.encode(), len(http))
        return head + http + b"\r\n\r\n"

    crawl = tmp_path / "crawl.warc"
    crawl.write_bytes(b"".join(record(i, kind) for i in range(3) for kind in ("request", "response", "metadata")))
    out = tmp_path / "out"
    result = runner.invoke(cli, ["clean", str(crawl), "-o", str(out), "--max-bytes", "100",
                                 "--model-dir", str(tiny_model_dir)])
    report = json.loads((out / "_report.json").read_text())
    assert report["read"] == 9 and report["rejected"] == {"too_large": 3} and report["skipped"] == 6
    assert result.exit_code == EXIT_TOO_MANY_REJECTS, result.stderr
    assert "3 of 3 documents rejected" in result.stderr


def test_a_stopped_dask_run_leaves_no_file_of_a_shard_still_running(sieve_executable: str, tiny_model_dir: Path,
                                                                   tmp_path: Path) -> None:
    """A task on a Dask worker cannot be stopped: a shard of a run stopped by SIGTERM went
    on to its end and put its outputs and report in place, and a rerun started meanwhile
    shared its unfinished files. Now it finds the run stopped and puts nothing in place."""
    distributed = pytest.importorskip("distributed")
    src = _big_shard_in(tmp_path / "in", 400)
    out = tmp_path / "out"
    command = [sieve_executable, "clean", str(src), "-o", str(out), "--model-dir", str(tiny_model_dir)]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        run = subprocess.Popen([*command, "--engine", "dask", "--scheduler", cluster.scheduler_address],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = _terminate_under_way(run, out, 60)
        # the shard goes on on the worker (cancelled, it no longer shows on the scheduler) to
        # its end: its unfinished file is then removed, or (before) renamed into place
        while list(out.glob("*.part")) and time.monotonic() < deadline + 120:
            time.sleep(0.1)
        assert not list(out.glob("*.part"))
        assert not (out / "big.jsonl.gz").exists() and not (out / "big.report.json").exists()
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    report = json.loads((out / "big.report.json").read_text())
    with gzip.open(out / "big.jsonl.gz", "rt", encoding="utf-8") as f:
        assert len(f.readlines()) == report["written"] > 0


def test_a_run_stopped_on_a_local_dask_cluster_leaves_no_unfinished_file(tiny_model_dir: Path,
                                                                         tmp_path: Path) -> None:
    """The local cluster of `--engine dask` is closed as the run stops: its workers are killed
    in the middle of their shards and removed none of their `.part` files, which stayed
    beside the outputs until a rerun (with `--workers`, a stopped run leaves none)."""
    pytest.importorskip("distributed")
    src = _big_shard_in(tmp_path / "in", 4000)
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "classifier", "clean", str(src), "-o", str(out), "--model-dir",
                            str(tiny_model_dir), "--engine", "dask", "--workers", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _terminate_under_way(run, out, 120)
    assert sorted(p.name for p in out.iterdir() if p.name.endswith(".part")) == []


def test_an_output_folder_deleted_during_the_run_stops_it_with_one_line(runner: CliRunner, tiny_model_dir: Path,
                                                                       data_dir: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`rm -rf OUT` while a shard is read: the shard's writer made the folder again, found no
    run file there and said "a later `sieve clean` run writes into its folder now" (none did),
    and so did every shard after it, one line each, a million for a million shards."""
    import shutil

    from classifier import clean as clean_module

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a", "b", "c", "d"):
        (src / f"{name}.txt").write_bytes((data_dir / "story.txt").read_bytes())
    read_any = clean_module.read_any

    def deleted_while_b_is_read(path: str, *args: object, **kwargs: object) -> object:
        if path.endswith("b.txt"):
            shutil.rmtree(out)  # the operator, between two documents
        return read_any(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(clean_module, "read_any", deleted_while_b_is_read)
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1")
    assert result.exit_code == 1, result.stderr
    assert "a later `sieve clean` run" not in result.stderr
    assert f".sieve-clean.run is gone from {out}: the run that started the shard ended, or the folder was " \
           "deleted during it" in result.stderr
    assert "The run stopped" in result.stderr and "shard c" not in result.stderr and "shard d" not in result.stderr
    assert not list(out.glob("*.part")) and not (out / "c.jsonl.gz").exists()


def test_the_failed_shards_are_named_in_order_whatever_order_they_failed_in(runner: CliRunner,
                                                                             tiny_model_dir: Path,
                                                                             data_dir: Path, tmp_path: Path) -> None:
    # with 2+ workers the shards fail in an order of their own: the final line listed them so
    out = tmp_path / "out"
    for name in ("b", "a"):
        (tmp_path / f"{name}.txt").write_bytes((data_dir / "story.txt").read_bytes())
        (out / f"{name}.jsonl.gz").mkdir(parents=True)  # no output can be put in its place
    result = _clean(runner, tiny_model_dir, str(tmp_path / "b.txt"), str(tmp_path / "a.txt"), "-o", str(out),
                    "--workers", "1")
    assert result.exit_code == 1, result.stderr
    assert "2 shard(s) failed (a, b); rerun to retry them" in result.stderr


def test_a_shard_of_a_run_that_no_longer_writes_in_its_folder_puts_nothing_in_place(data_dir: Path,
                                                                                    tiny_model_dir: Path,
                                                                                    tmp_path: Path) -> None:
    from classifier.clean import RUN_FILE, ShardTask, Superseded, clean_shard

    out = tmp_path / "out"
    out.mkdir()
    run_file = out / RUN_FILE
    task = ShardTask(input=str(data_dir / "articles.jsonl"), output=str(out / "a"), name="a",
                     policy=CleanPolicy(min_chars=1), model_dir=str(tiny_model_dir), run="0123456789ab",
                     run_file=str(run_file))
    for current in ("ba9876543210\n", None):  # another run writes there now, or none does
        if current is None:
            run_file.unlink()
        else:
            run_file.write_text(current)
        with pytest.raises(Superseded):
            clean_shard(task)
        assert sorted(p.name for p in out.iterdir() if p.name != RUN_FILE) == []
    run_file.write_text("0123456789ab\n")  # its own run: the shard is cleaned
    assert clean_shard(task)["written"] > 0 and (out / "a.jsonl.gz").is_file() and (out / "a.report.json").is_file()


def test_documents_named_by_their_file_are_named_by_its_path_in_the_input_folder(
        runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    # en/part-0.jsonl and de/part-0.jsonl gave records without an id the same ids, and a
    # site's a/index.html and b/index.html the same id
    src = tmp_path / "in"
    for lang in ("en", "de"):
        (src / lang).mkdir(parents=True)
        (src / lang / "part-0.jsonl").write_text(
            json.dumps({"text": "Residents of Port Aldwin voted on Tuesday to keep the island ferry running."}) + "\n"
            + json.dumps({"id": "given", "text": "The council had argued that the crossings cost too much."}) + "\n")
    for page in ("a", "b"):
        (src / "site" / page).mkdir(parents=True)
        (src / "site" / page / "index.html").write_text(
            "<html><body><p>The council had argued that the winter crossings carry too few passengers.</p>"
            "</body></html>", encoding="utf-8")
    (src / "top.jsonl").write_text(json.dumps({"text": "A story at the top of the folder, about the ferry."}) + "\n")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["clean", str(src), "-o", str(out), "--min-chars", "1", "--keep", "content",
                                 "--keep", "boilerplate", "--keep", "navigation", "--keep-foreign",
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    ids = sorted(json.loads(line)["id"] for f in out.rglob("*.jsonl.gz") for line in gzip.open(f, "rt"))
    assert ids == ["de/part-0.jsonl:1", "en/part-0.jsonl:1", "given", "given", "site/a/index", "site/b/index",
                   "top.jsonl:1"]


def test_dolma_top_level_fields_stay_at_the_top_level() -> None:
    # the input's source (the dataset) gave way to the shard's name and overwrote its
    # metadata.source; added and created moved into metadata
    block = Block("Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter.",
                  label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang="en", lang_score=0.99, foreign=False)
    dolma = Document(id="d1", blocks=(block,), lang="en", lang_score=0.99,
                     extra={"source": "common-crawl", "added": "2024-01-01T00:00:00Z", "created": "2023-05-01",
                            "metadata": {"source": "cc-2023-14", "warc": "x"}})
    (_, rec), = clean_document(dolma, CleanPolicy(min_chars=1), source="shard-0").records
    assert list(rec)[:5] == ["id", "text", "source", "added", "created"]
    assert (rec["source"], rec["added"], rec["created"]) == ("common-crawl", "2024-01-01T00:00:00Z", "2023-05-01")
    assert rec["metadata"]["source"] == "cc-2023-14" and "added" not in rec["metadata"]
    (_, plain), = clean_document(replace(dolma, extra={}), CleanPolicy(min_chars=1), source="shard-0").records
    assert plain["source"] == "shard-0"  # without its own, the record names its shard


def test_each_dropped_document_is_listed_with_its_reason(runner: CliRunner, tiny_model_dir: Path,
                                                         tmp_path: Path) -> None:
    # 133 documents dropped as too_short were counted, but named nowhere
    src = tmp_path / "in"
    src.mkdir()
    story = "Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter months."
    (src / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "long", "text": f"{story}\n\n{story.replace('Tuesday', 'Monday')}"},
        {"id": "short", "text": "Ferry runs."}, {"id": "empty-after", "text": "Home | News | Sport"}]))
    (src / "b.jsonl").write_text(json.dumps({"id": "kept", "text": story * 3}) + "\n")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["clean", str(src), "-o", str(out), "--min-chars", "150",
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    listed = [json.loads(line) for line in (out / "a.dropped.jsonl").read_text().splitlines()]
    report = json.loads((out / "a.report.json").read_text())
    assert sorted(r["id"] for r in listed) == sorted(d for d in ("long", "short", "empty-after")
                                                     if d not in _ids(out / "a.jsonl.gz"))
    assert {r["reason"] for r in listed} <= {"too_short", "no_content"}
    assert len(listed) == sum(report["dropped"].values()) > 0
    assert not (out / "b.dropped.jsonl").exists()  # nothing dropped: no list
    # the lists are no inputs of a run over the output folder
    again = runner.invoke(cli, ["clean", str(out), "-o", str(tmp_path / "again"), "--model-dir", str(tiny_model_dir)])
    assert again.exit_code == 0 and json.loads((tmp_path / "again" / "_report.json").read_text())["shards"] == 2


def _ids(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["id"] for line in f]


def test_a_port_that_answers_but_not_as_a_dask_scheduler_is_one_line(runner: CliRunner, tiny_model_dir: Path,
                                                                     data_dir: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # the dashboard's port given for the scheduler's: the connection is made and no Dask
    # greeting comes; distributed's own timeout does not cover that, and the command hung
    import socket

    from classifier import engine

    pytest.importorskip("distributed")
    monkeypatch.setattr(engine, "DASK_CONNECT_TIMEOUT", 1)
    with socket.socket() as listener:  # accepts connections (the kernel's backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        result = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(tmp_path / "out"),
                        "--engine", "dask", "--scheduler", address)
        assert result.exit_code == 1 and time.monotonic() - started < 30
    (line,) = result.stderr.strip().splitlines()
    assert f"something answered at {address}, but not as a Dask scheduler" in line and "8786" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, words", [
    (["--scheduler", ""], "--scheduler is empty"),
    (["--scheduler", " "], "--scheduler is empty"),
    (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "4"], "a Dask cluster (--scheduler) has its own workers"),
])
def test_an_empty_scheduler_or_workers_for_a_cluster_is_a_usage_error(runner: CliRunner, tiny_model_dir: Path,
                                                                      data_dir: Path, tmp_path: Path,
                                                                      args: list[str], words: str) -> None:
    # an unset "$SCHEDULER" ran on a local cluster instead, and --workers was ignored without a word
    result = _clean(runner, tiny_model_dir, str(data_dir / "story.txt"), "-o", str(tmp_path / "out"),
                    "--engine", "dask", *args)
    assert result.exit_code == 2 and words in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_dask_worker_with_other_models_cleans_nothing_and_stops_the_run(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the worker's own SIEVE_MODEL_DIR labelled with its models, silently: other outputs
    # than the command's (and than --workers 1 on the same machine)
    distributed = pytest.importorskip("distributed")
    monkeypatch.delenv("SIEVE_MODEL_DIR", raising=False)  # the command uses the shipped models
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        (src / f"s{i}.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes())
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  env={"SIEVE_MODEL_DIR": str(tiny_model_dir)}) as cluster:
        result = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "out"), "--engine", "dask",
                                     "--scheduler", cluster.scheduler_address])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: shard s")  # one line, not one per shard
    assert "would clean with other models or another Sieve than the command" in lines[0]
    assert "--model-dir: other models (blocks.joblib" in lines[0] and "The run stopped" in lines[0]
    assert not list((tmp_path / "out").glob("*.jsonl.gz")) and not list((tmp_path / "out").glob("*.report.json"))


def test_a_worker_that_does_not_see_the_commands_files_says_so(tiny_model_dir: Path, data_dir: Path,
                                                               tmp_path: Path) -> None:
    # on a worker without the shared file system every shard failed alone, the output
    # folder's absence taken for "a later run writes into its folder now"
    from classifier.clean import CleanPolicy, ShardTask, WorkerMismatch, clean_shard

    out = tmp_path / "out"
    out.mkdir()
    (out / ".sieve-clean.run").write_text("run1", encoding="utf-8")
    task = ShardTask(input=str(data_dir / "articles.jsonl"), output=str(out / "articles"), name="articles",
                     policy=CleanPolicy(), model_dir=str(tiny_model_dir), run="run1",
                     run_file=str(out / ".sieve-clean.run"), expected="{}")
    unseen = [replace(task, run_file=str(tmp_path / "elsewhere" / ".sieve-clean.run")),
              replace(task, input=str(tmp_path / "missing.jsonl")),
              replace(task, model_dir=str(tmp_path / "no-models"))]
    for bad, what in zip(unseen, ("the output folder", "the input", "the model folder (--model-dir)")):
        with pytest.raises(WorkerMismatch, match="Dask workers must see the command's files") as err:
            clean_shard(bad)
        assert str(err.value).startswith(what) and "does not exist on this worker (host " in str(err.value)
    assert not any(p.name != ".sieve-clean.run" for p in out.iterdir())  # nothing written


def test_a_scheduler_lost_during_the_run_is_one_error_and_keeps_the_finished_shards(
        tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    # each shard not done was reported failed, then dask's reconnect attempts logged a
    # traceback as the client closed
    import threading

    distributed = pytest.importorskip("distributed")
    from classifier.clean import CleanPolicy
    from classifier.engine import run_clean

    src = tmp_path / "in"
    src.mkdir()
    for i in range(30):
        (src / f"s{i:02d}.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes())
    out = tmp_path / "out"
    failures: list[str] = []
    outcome: list[BaseException] = []
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)

    def run() -> None:
        try:
            run_clean([str(src)], out, CleanPolicy(), engine="dask", scheduler=cluster.scheduler_address,
                      model_dir=str(tiny_model_dir), progress=False,
                      on_failure=lambda name, why: failures.append(name))
        except BaseException as err:  # noqa: BLE001 - checked below
            outcome.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("*.report.json")) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        cluster.close()
    thread.join(120)
    assert not thread.is_alive()
    finished = sorted(out.glob("*.report.json"))
    assert finished and len(finished) < 30  # the scheduler went in the middle of the run
    (err,) = outcome
    assert isinstance(err, InputError) and "lost the Dask scheduler during the run" in str(err)
    assert failures == []  # not a failure per shard
    for report in finished:  # a finished shard is whole
        assert (out / report.name.replace(".report.json", ".jsonl.gz")).is_file()


def test_a_local_dask_cluster_takes_no_fixed_port(sieve_executable: str, tiny_model_dir: Path, data_dir: Path,
                                                  tmp_path: Path) -> None:
    # its scheduler's HTTP server took 8787 and, with that port held (another cluster's
    # dashboard), every run printed dask's "Port 8787 is already in use" warning
    import socket

    pytest.importorskip("distributed")
    with contextlib.ExitStack() as stack:
        holder = stack.enter_context(socket.socket())
        try:
            holder.bind(("", 8787))
            holder.listen(1)
        except OSError:
            pass  # held already: the run must not mind either way
        proc = subprocess.run([sieve_executable, "clean", str(data_dir / "articles.jsonl"), "-o", str(tmp_path / "out"),
                               "--engine", "dask", "--model-dir", str(tiny_model_dir), "--min-chars", "20"],
                              capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "8787" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr


def test_entries_of_an_input_folder_that_are_no_files_are_said_not_read(tmp_path: Path, data_dir: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    from classifier.engine import expand_folders

    # a git-annex or DVC file not fetched yet (a broken link), a named pipe, a link to a
    # device: left out without a word, they were in no count
    src = tmp_path / "in"
    src.mkdir()
    (src / "story.txt").write_bytes((data_dir / "story.txt").read_bytes())
    (src / "annexed.jsonl").symlink_to(tmp_path / "not-fetched.jsonl")
    os.mkfifo(src / "pipe")
    (src / "zero").symlink_to("/dev/zero")
    (src / ".hidden-link").symlink_to(tmp_path / "nowhere")  # hidden: left out as hidden files are
    with caplog.at_level(logging.WARNING):
        assert expand_folders([str(src)]) == [str(src / "story.txt")]
    assert caplog.text.count("no regular file") == 1
    assert f"3 entries under {src} are no regular file" in caplog.text
    assert "annexed.jsonl" in caplog.text and "pipe" in caplog.text and "hidden" not in caplog.text


DOLMA = [{"id": "a", "source": "cc", "text": "The council approved the new budget for the harbour on Tuesday after a "
          "long debate about the costs of dredging the channel and repairing the old sea wall."},
         {"id": "b", "source": "cc", "text": "Der Gemeinderat hat am Dienstag nach einer langen Debatte über die "
          "Kosten das neue Budget für den Hafen genehmigt und die Reparatur der alten Mauer beschlossen."}]


def test_a_redone_shard_of_records_with_their_own_source_removes_its_earlier_outputs(
        runner: CliRunner, shipped_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dolma records keep their `source`, so an output's first record did not say which shard
    wrote it: a redo unsplit left the split run's part.de/part.en beside part.jsonl.gz,
    every document twice for a reader of **/*.jsonl.gz."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "part.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in DOLMA),
                                    encoding="utf-8")
    args = [str(src), "-o", str(out), "--workers", "1", "--model-dir", str(shipped_model_dir), "--min-chars", "20"]
    split = runner.invoke(cli, ["clean", *args, "--split-by-language"])
    assert split.exit_code == 0, split.stderr
    assert sorted(p.name for p in out.glob("*.jsonl.gz")) == ["part.de.jsonl.gz", "part.en.jsonl.gz"]
    again = runner.invoke(cli, ["clean", *args, "--overwrite"])
    assert again.exit_code == 0, again.stderr
    assert sorted(p.name for p in out.glob("*.jsonl.gz")) == ["part.jsonl.gz"]
    # a redo that stops half-way keeps what the earlier report named: the next run still removes it
    split = runner.invoke(cli, ["clean", *args, "--split-by-language", "--overwrite"])
    assert split.exit_code == 0, split.stderr
    from classifier.errors import ModelError
    from classifier.model import BlockModel

    def broken(self: BlockModel, documents: list, **kwargs: object) -> list:
        raise ModelError("the model went away")

    with monkeypatch.context() as m:
        m.setattr(BlockModel, "predict_proba", broken)
        failed = runner.invoke(cli, ["clean", *args, "--overwrite"])
    assert failed.exit_code == 1, failed.stderr
    stub = json.loads((out / "part.report.json").read_text(encoding="utf-8"))
    assert stub == {"name": "part", "unfinished": True, "owned": ["part.de.jsonl.gz", "part.en.jsonl.gz"]}
    resumed = runner.invoke(cli, ["clean", *args])  # no --overwrite: an unfinished shard is done again
    assert resumed.exit_code == 0 and "(0 finished before)" in resumed.stderr, resumed.stderr
    assert sorted(p.name for p in out.glob("*.jsonl.gz")) == ["part.jsonl.gz"]
    assert json.loads((out / "part.report.json").read_text(encoding="utf-8"))["outputs"] == ["part.jsonl.gz"]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="file names there are Unicode, never raw bytes")
def test_shards_under_names_that_are_not_utf8_are_found_finished(runner: CliRunner, tiny_model_dir: Path,
                                                                  data_dir: Path, tmp_path: Path) -> None:
    # the report named them with U+FFFD for the byte: a folder's shards could never be resumed
    # (exit 1, "made from another input"), a file's shard was redone on every run
    folder = os.fsdecode(os.fsencode(tmp_path) + b"/crawl\xe9")
    os.mkdir(folder)
    (Path(folder) / "articles.jsonl").write_bytes((data_dir / "articles.jsonl").read_bytes())
    with open(os.fsencode(folder) + b"/p\xe9.jsonl", "wb") as f:
        f.write((data_dir / "articles.jsonl").read_bytes())
    for run in range(2):
        result = _clean(runner, tiny_model_dir, folder, "-o", str(tmp_path / "out"), "--workers", "1")
        assert result.exit_code == 0, result.stderr
        assert f"({2 * run} finished before)" in result.stderr, result.stderr


def test_a_full_disk_for_the_run_files_is_one_line(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import classifier.engine as engine

    src = data_dir / "articles.jsonl"

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(engine, "write_run_report", full)
        result = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "a"), "--workers", "1")
    assert result.exit_code == 1 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: cannot write the run report {tmp_path / 'a' / REPORT_NAME}: No space left on device; the shards "
        "are finished: rerun to write it")
    rerun = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "a"), "--workers", "1")
    assert rerun.exit_code == 0 and "(1 finished before)" in rerun.stderr and (tmp_path / "a" / REPORT_NAME).is_file()
    with monkeypatch.context() as m:
        m.setattr(engine, "write_text_atomic", full)
        result = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "b"), "--workers", "1")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.stderr
    assert "Error: cannot write " in result.stderr and "No space left on device" in result.stderr
    assert "Traceback" not in result.stderr and not list((tmp_path / "b").glob("*.jsonl.gz"))


def test_a_shard_whose_output_cannot_be_completed_leaves_no_rejects_or_dropped_list(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "mixed.jsonl"
    src.write_bytes((data_dir / "articles.jsonl").read_bytes() + b"{not json\n"
                    + json.dumps({"id": "tiny", "text": "Short."}).encode() + b"\n")
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # the disk fills up as the output shard's last bytes go out
        if ".jsonl.gz." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    if not os.path.exists("/proc/self/fd"):
        pytest.skip("needs /proc")
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", fsync)
        result = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "out"), "--workers", "1")
    assert result.exit_code == 1 and "shard mixed failed" in result.stderr, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == []
    rerun = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "out"), "--workers", "1")
    assert rerun.exit_code == 0, rerun.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == [
        REPORT_NAME, "mixed.dropped.jsonl", "mixed.jsonl.gz", "mixed.rejects.jsonl", "mixed.report.json"]


def test_a_redone_shard_leaves_a_file_another_shard_has_written_since(runner: CliRunner, shipped_model_dir: Path,
                                                                      tmp_path: Path) -> None:
    # shard a split wrote a.de.jsonl.gz; shard a.de (another input) wrote its own since; a redo
    # of a unsplit deleted it, as its earlier report named it, and a.de's report still said finished
    german = ("Die Bundesregierung hat am Mittwoch ein neues Gesetz beschlossen, das die Rechte der Mieter in den "
              "großen Städten stärken soll.")
    (tmp_path / "in2").mkdir()
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"id": f"a{i}", "text": f"{german} Nummer {i}."},
                                                         ensure_ascii=False) + "\n" for i in range(3)), "utf-8")
    (tmp_path / "in2" / "a.de.jsonl").write_text(json.dumps({"id": "x", "text": german}, ensure_ascii=False) + "\n",
                                                 "utf-8")
    base = ["-o", str(tmp_path / "out"), "--workers", "1", "--model-dir", str(shipped_model_dir), "--min-chars", "20"]
    for args in ([str(tmp_path / "a.jsonl"), "--split-by-language"], [str(tmp_path / "in2" / "a.de.jsonl")],
                 [str(tmp_path / "a.jsonl"), "--overwrite"]):
        result = runner.invoke(cli, ["clean", *args, *base])
        assert result.exit_code == 0, result.stderr
    with gzip.open(tmp_path / "out" / "a.de.jsonl.gz", "rt", encoding="utf-8") as f:
        assert [json.loads(line)["id"] for line in f] == ["x"]


def test_progress_rates_below_one_document_a_second_are_not_shown_as_zero() -> None:
    assert [rate_text(r) for r in (0.0, 0.042, 0.4, 3.25, 9.99, 10.0, 1234.6)] == \
        ["0", "0.042", "0.4", "3.2", "10", "10", "1,235"]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_the_progress_bar_shows_on_a_terminal_that_gives_no_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # a new pseudo-terminal is 0 x 0 (`script`, `docker exec -t`) until someone sets its size:
    # tqdm then drew nothing, and a run showed neither a bar nor the lines it gives off a terminal
    import select

    leader, follower = os.openpty()
    with os.fdopen(follower, "w", encoding="utf-8") as tty:
        assert tty.isatty() and os.get_terminal_size(tty.fileno()) == (0, 0)
        monkeypatch.setattr(sys, "stderr", tty)
        bar = _progress(3, True)
        assert bar is not None
        for _ in range(3):
            bar.update(1)
        bar.close()
        tty.flush()
    shown = b""
    while select.select([leader], [], [], 1)[0]:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert b"3/3" in shown


def test_a_warning_during_a_run_is_not_written_after_the_progress_bar(tiny_model_dir: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # a shard whose every record was rejected is a warning, logged while the bar shows: it was
    # written after the bar's text on its line ("... 450 docs/s]sieve: WARNING: shard ...")
    from classifier.engine import run_clean

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text("not json\n{broken\n", encoding="utf-8")
    (tmp_path / "in" / "b.jsonl").write_text(json.dumps({"id": "b", "text": "The ferry runs all winter. " * 5})
                                              + "\n", encoding="utf-8")
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("sieve: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [handler])
    run_clean([str(tmp_path / "in")], tmp_path / "out", CleanPolicy(min_chars=20), model_dir=str(tiny_model_dir),
              progress=True)
    shown = err.getvalue()
    assert "2/2" in shown and "sieve: WARNING: shard a: every one of its 2 documents was rejected" in shown
    assert not re.search(r"[^\r\n]sieve: WARNING", shown), shown  # on a line of its own
    assert root.handlers == [handler]  # given back after the run


def test_a_shard_of_a_long_file_name_is_cleaned_and_resumed(runner: CliRunner, tiny_model_dir: Path,
                                                             tmp_path: Path) -> None:
    # a page saved under a long URL (240 bytes, as wget names them): its unfinished NAME.jsonl.gz.RUN.part
    # (and beyond 241 bytes its NAME.rejects.jsonl) is longer than the 255 bytes a file name may be, so
    # the shard failed every run ("File name too long") and no _report.json was ever written
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "site").mkdir(parents=True)
    story = "The island ferry will keep running through the winter, the council said on Tuesday."
    long_name = "p" * 236 + "é"  # 238 bytes: cut at a whole character
    (src / "site" / f"{long_name}.txt").write_text(story, encoding="utf-8")
    (src / "site" / "short.txt").write_text(story, encoding="utf-8")
    first = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1")
    assert first.exit_code == 0, first.stderr
    report = json.loads((out / REPORT_NAME).read_text(encoding="utf-8"))
    assert (report["shards"], report["read"], report["written"]) == (2, 2, 2)
    (kept,) = [p for p in (out / "site").iterdir() if p.name.endswith(".jsonl.gz") and p.name != "short.jsonl.gz"]
    assert len(kept.name.encode()) <= 255 - 32 and kept.name.startswith("p" * 200 + "~")
    with gzip.open(kept, "rt", encoding="utf-8") as f:
        assert json.loads(f.readline())["id"] == f"site/{long_name}"  # the document keeps its name
    shard_report = json.loads(Path(str(kept).removesuffix(".jsonl.gz") + ".report.json").read_text("utf-8"))
    assert shard_report["name"] == f"site/{long_name}"
    again = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--workers", "1")
    assert again.exit_code == 0 and "(2 finished before)" in again.stderr, again.stderr


def test_a_block_that_shows_nothing_is_not_written_as_a_paragraph(runner: CliRunner, shipped_model_dir: Path,
                                                                  tmp_path: Path) -> None:
    # a zero-width space after a content paragraph took its label and was written as a
    # paragraph of the clean text (a review of the blank-block change)
    story = ["Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter.",
             "The vote passed by 412 votes to 158, the highest turnout the island has seen in a decade."]
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "blocks": [story[0], "\u00ad\u200b", story[1], "\u200b"]}) + "\n",
                   encoding="utf-8")
    result = runner.invoke(cli, ["clean", "-", "--model-dir", str(shipped_model_dir), "--min-chars", "0"],
                           input=src.read_text(encoding="utf-8"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["text"] == "\n\n".join(story)


def test_a_policy_made_in_python_reads_labels_and_codes_as_sieve_clean_does() -> None:
    # {"EN"}, {"en-GB"} or {"Content"} dropped every document without a word; "--lang"
    # and "--keep" read or refuse them
    assert CleanPolicy(languages=frozenset({"EN", "pt-BR", "und"})).languages == {"en", "pt", "und"}
    assert CleanPolicy(languages="en,de").languages == {"en", "de"}
    assert CleanPolicy(keep_labels={"content", "navigation"}).keep_labels == {Label.CONTENT, Label.NAVIGATION}
    assert CleanPolicy(keep_labels="boilerplate").keep_labels == {Label.BOILERPLATE}
    assert clean_document(_doc(), CleanPolicy(min_chars=10, languages=frozenset({"EN"}))).records == \
        clean_document(_doc(), CleanPolicy(min_chars=10)).records
    assert CleanPolicy(keep_labels={"content"}, languages={"en-GB"}).to_dict() == \
        CleanPolicy(languages=frozenset({"en"})).to_dict()
    for bad in ({"keep_labels": {"Content"}}, {"languages": {"english"}}, {"min_chars": -1},
                {"annotate": True, "split_by_language": True}):
        with pytest.raises(ValueError):
            CleanPolicy(**bad)  # type: ignore[arg-type]
    for bad_count in (None, "100", 1.5, True):
        with pytest.raises(TypeError, match="min_chars"):
            CleanPolicy(min_chars=bad_count)  # type: ignore[arg-type]


def test_blocks_labelled_by_hand_with_the_labels_names_are_cleaned() -> None:
    # Block.to_dict takes a label's name as well as a Label; cleaning raised AttributeError on it
    by_name = replace(_doc(), blocks=tuple(replace(b, label=b.label.value if b.label else None)
                                           for b in _doc().blocks))
    assert clean_document(by_name, CleanPolicy(min_chars=10)) == clean_document(_doc(), CleanPolicy(min_chars=10))
    bad = replace(_doc(), blocks=(replace(_doc().blocks[0], label="nav"), *_doc().blocks[1:]))
    with pytest.raises(ValueError, match="'nav'"):
        clean_document(bad, CleanPolicy(min_chars=10))


def test_annotate_keeps_the_text_and_the_drop_of_a_run_without_it_when_blocks_show_nothing() -> None:
    invisible = (Block("\u200b", label=Label.CONTENT, lang=None), Block("\ufeff\u00ad", label=Label.CONTENT))
    doc = replace(_doc(), blocks=(*_doc().blocks[:3], *invisible, *_doc().blocks[3:]))
    plain = clean_document(doc, CleanPolicy(min_chars=10))
    annotated = clean_document(doc, CleanPolicy(min_chars=10, annotate=True))
    assert annotated.records[0][1]["text"] == plain.records[0][1]["text"]
    assert annotated.kept_chars == plain.kept_chars
    only = replace(_doc(), blocks=invisible)
    assert clean_document(only, CleanPolicy(min_chars=0, annotate=True)).dropped == \
        clean_document(only, CleanPolicy(min_chars=0)).dropped == "no_content"


@pytest.mark.parametrize(("code", "name", "meant", "meant_name"), [("se", "Northern Sami", "sv", "Swedish"),
                                                                   ("kr", "Kanuri", "ko", "Korean")])
def test_a_language_code_that_is_also_a_country_s_is_not_called_another_language_s(
        runner: CliRunner, tiny_model_dir: Path, tmp_path: Path, code: str, name: str, meant: str,
        meant_name: str) -> None:
    # 'se' (Sweden's country code) is Northern Sami's ISO 639-1 code: the warning said the shipped
    # language model writes it 'sv', as if Northern Sami text were Swedish (so 'kr', Kanuri, 'ko')
    with pytest.warns(UserWarning) as caught:
        policy = CleanPolicy(languages={code, "en"})
    (said,) = [str(w.message) for w in caught]
    assert f"'{code}' is {name}'s code" in said and f"{meant_name} is '{meant}'" in said
    assert "is written" not in said
    assert policy.languages == {code, "en"}
    src = tmp_path / "news.jsonl"
    src.write_text(json.dumps({"id": "de-1", "text": THREE_LANGUAGES[1][1]}) + "\n", encoding="utf-8")
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(tmp_path / "x"), "--lang", code)
    assert result.exit_code == 2 and f"'{code}' ({name}'s code; did you mean {meant}, {meant_name}?)" in result.stderr


# -- --id-field ----------------------------------------------------------------------------------

_RP_STORY = ("Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter months. "
             "The council had planned to cut the service.")


def _redpajama(path: Path) -> Path:
    """RedPajama-like records: the id in 'doc_id', a record's own 'id' beside it."""
    records = [{"doc_id": "rp-1", "id": "own-1", "text": _RP_STORY, "meta": {"url": "https://news.example/a"}},
               {"text": _RP_STORY + " Again."},
               {"doc_id": 42, "text": _RP_STORY + " Once more."},
               {"doc_id": {"nested": 1}, "text": _RP_STORY}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("workers", ["1", "2"])
def test_clean_id_field_gives_the_output_ids(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path,
                                             workers: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    _redpajama(src / "rp.jsonl")
    (src / "b.jsonl").write_text(json.dumps({"doc_id": "b-1", "text": _RP_STORY}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--id-field", "doc_id", "--workers", workers,
                    "--keep", "content", "--keep", "boilerplate", "--keep", "navigation")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in gzip.open(out / "rp.jsonl.gz", "rt", encoding="utf-8")]
    assert [r["id"] for r in records] == ["rp-1", "rp.jsonl:2", 42]
    assert [json.loads(line)["id"] for line in gzip.open(out / "b.jsonl.gz", "rt", encoding="utf-8")] == ["b-1"]
    meta = records[0]["metadata"]
    assert meta["id"] == "own-1" and "doc_id" not in meta and meta["url"] == "https://news.example/a"
    assert all("doc_id" not in r["metadata"] and "doc_id" not in r for r in records)
    (reject,) = [json.loads(line) for line in (out / "rp.rejects.jsonl").read_text().splitlines()]
    assert reject["position"] == 4 and reject["reason"] == "bad_schema"
    assert reject["detail"] == "field 'doc_id' must be a string or integer, not dict"
    assert json.loads((out / "rp.report.json").read_text())["options"]["id_field"] == "doc_id"


def test_clean_to_standard_output_takes_the_id_field(runner: CliRunner, tiny_model_dir: Path,
                                                     tmp_path: Path) -> None:
    path = _redpajama(tmp_path / "rp.jsonl")
    result = runner.invoke(cli, ["clean", "-", "--id-field", "doc_id", "--model-dir", str(tiny_model_dir),
                                 "--keep", "content", "--keep", "boilerplate", "--keep", "navigation"],
                           input=path.read_bytes())
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["rp-1", "-:2", 42]
    text = runner.invoke(cli, ["clean", "--format", "text", str(path), "--id-field", "doc_id", "--model-dir",
                               str(tiny_model_dir), "--min-chars", "0"])
    assert text.exit_code == 0 and text.stdout.startswith("# rp-1 "), text.stdout


def test_a_rerun_with_another_id_field_is_refused(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    src = _redpajama(tmp_path / "rp.jsonl")
    out = tmp_path / "out"
    first = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--id-field", "doc_id")
    assert first.exit_code == 0, first.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for args, said in ((), "--id-field was doc_id, now id"), (("--id-field", "uid"), "--id-field was doc_id, now uid"):
        refused = _clean(runner, tiny_model_dir, str(src), "-o", str(out), *args)
        assert refused.exit_code == 1 and said in refused.stderr, refused.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # no work done
    again = _clean(runner, tiny_model_dir, str(src), "-o", str(out), "--id-field", " doc_id ")
    assert again.exit_code == 0 and "1 finished before" in again.stderr, again.stderr
    # a run with the default records no id_field: shards of a Sieve without the option resume as they were
    plain = tmp_path / "plain"
    assert _clean(runner, tiny_model_dir, str(src), "-o", str(plain)).exit_code == 0
    assert "id_field" not in json.loads((plain / "rp.report.json").read_text())["options"]
    refused = _clean(runner, tiny_model_dir, str(src), "-o", str(plain), "--id-field", "doc_id")
    assert refused.exit_code == 1 and "--id-field was id, now doc_id" in refused.stderr, refused.stderr


def test_id_field_differences_name_the_default() -> None:
    from classifier.options import option_differences

    before = {"min_chars": 20}  # made with the default --id-field, or by a Sieve without it
    assert option_differences(before, before) == []
    assert option_differences(before, {**before, "id_field": "doc_id"}) == ["--id-field was id, now doc_id"]
    assert option_differences({**before, "id_field": "doc_id"}, before) == ["--id-field was doc_id, now id"]


def test_a_warc_pages_record_keeps_when_it_was_fetched(runner: CliRunner, tiny_model_dir: Path,
                                                      tmp_path: Path) -> None:
    # corpus builders split and deduplicate by crawl date: a WARC page's record had its url and
    # id but not its WARC-Date (datatrove's WARC reader keeps it as metadata "date")
    dated = _warc_record("response", "https://example.org/a", _http(PAGE), "00000000-0000-0000-0000-000000000002")
    undated = _warc_record("resource", "https://example.org/b", PAGE, "00000000-0000-0000-0000-000000000003")
    undated = undated.replace(b"WARC-Date: 2024-01-01T00:00:00Z\r\n", b"")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "crawl.warc.gz").write_bytes(gzip.compress(dated.replace(b"2024-01-01", b"2023-05-07")
                                                                  + undated.replace(b"WARC-Type: resource",
                                                                                    b"WARC-Type: resource\r\n"
                                                                                    b"Content-Type: text/html"),
                                                                  mtime=0))
    result = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--min-chars", "1")
    assert result.exit_code == 0, result.stderr
    with gzip.open(tmp_path / "out" / "crawl.jsonl.gz", "rt", encoding="utf-8") as f:
        records = {r["metadata"]["url"]: r for r in map(json.loads, f)}
    assert records["https://example.org/a"]["metadata"]["date"] == "2023-05-07T00:00:00Z"
    assert "date" not in records["https://example.org/b"]["metadata"]  # no WARC-Date: none made up
    # Sieve read it from the record: no input field for --drop-fields to leave out; a text record's own is one
    story = "Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter."
    (tmp_path / "in" / "rec.jsonl").write_text(json.dumps({"id": "r", "date": "2020", "text": story}) + "\n")
    dropped = _clean(runner, tiny_model_dir, str(tmp_path / "in"), "-o", str(tmp_path / "drop"), "--min-chars", "1",
                     "--drop-fields")
    assert dropped.exit_code == 0, dropped.stderr
    with gzip.open(tmp_path / "drop" / "crawl.jsonl.gz", "rt", encoding="utf-8") as f:
        assert json.loads(f.readline())["metadata"]["date"] == "2023-05-07T00:00:00Z"
    with gzip.open(tmp_path / "drop" / "rec.jsonl.gz", "rt", encoding="utf-8") as f:
        assert "date" not in json.loads(f.readline())["metadata"]
    scored = runner.invoke(cli, ["score", str(tmp_path / "in" / "crawl.warc.gz"), "--model-dir", str(tiny_model_dir)])
    assert scored.exit_code == 0, scored.stderr
    assert [json.loads(line).get("date") for line in scored.stdout.splitlines()] == ["2023-05-07T00:00:00Z", None]


def test_an_output_folder_named_like_a_file_is_said_to_be_a_folder(runner: CliRunner, tiny_model_dir: Path,
                                                                    tmp_path: Path) -> None:
    # `sieve score -o labelled.jsonl` writes a file; `sieve clean -o out.jsonl` made a folder of that name unsaid
    story = [f"The harbour council met on Tuesday evening to discuss item {i} of the winter ferry plan."
             for i in range(4)]
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "a", "blocks": story}) + "\n", encoding="utf-8")
    said = "is the output folder"
    result = _clean(runner, tiny_model_dir, str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 0, result.stderr
    assert said in result.stderr and f"{tmp_path / 'out.jsonl'}/NAME.jsonl.gz" in result.stderr
    assert (tmp_path / "out.jsonl" / "in.jsonl.gz").is_file()
    # the folder there already (a rerun), a folder's name, or -q: nothing said
    again = _clean(runner, tiny_model_dir, str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"),
                   "--overwrite")
    plain = _clean(runner, tiny_model_dir, str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "cleaned"))
    quiet = runner.invoke(cli, ["-q", "clean", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "q.jsonl.gz"),
                                "--model-dir", str(tiny_model_dir), "--min-chars", "20"])
    for run in (again, plain, quiet):
        assert run.exit_code == 0, run.stderr
        assert said not in run.stderr
    assert (tmp_path / "q.jsonl.gz" / "in.jsonl.gz").is_file()
    # Parquet shards are named as such
    parquet = _clean(runner, tiny_model_dir, str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "p.parquet"),
                     "--format", "parquet")
    assert parquet.exit_code == 0, parquet.stderr  # pyarrow: a test dependency
    assert f"{tmp_path / 'p.parquet'}/NAME.parquet" in parquet.stderr


def test_each_record_names_the_script_of_its_text() -> None:
    # a corpus split by language and script (FineWeb-2's srp_Cyrl, srp_Latn) needs the script: Serbian
    # in either script was one language, and so were Chinese and Japanese kanji-only headlines
    from classifier.language import text_script

    def cleaned(*texts: str, lang: str, split: bool = False) -> dict[str | None, dict]:
        doc = Document(id="s", blocks=tuple(Block(t, label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang=lang,
                                                  lang_score=0.9, foreign=False) for t in texts),
                       lang=lang, lang_score=0.9)
        res = clean_document(doc, CleanPolicy(min_chars=10, split_by_language=split))
        return {key: rec["metadata"] for key, rec in res.records}

    cyrillic = "Влада Србије усвојила је данас нови закон о заштити животне средине и вода."
    latin = "Vlada Srbije usvojila je danas novi zakon o zaštiti životne sredine i voda."
    assert cleaned(cyrillic, lang="sr")[None]["script"] == "Cyrl"
    assert cleaned(latin, lang="sr")[None]["script"] == "Latn"
    # most letters decide: a Cyrillic story quoting a Latin name stays Cyrl
    assert cleaned(cyrillic, "Novak Đoković", lang="sr")[None]["script"] == "Cyrl"
    texts = ("東京都の新しい公園が今日開園しました。", "杭州市政府周三宣布新城市公园正式开放。",
             "서울시는 오늘 새 공원을 열었다.", "Γεια σας από την Αθήνα.", "2024 — 12:30", "")
    assert [text_script(t) for t in texts] == ["Jpan", "Hani", "Hang", "Grek", None, None]
    # split by language: each record the script of its own text
    doc = Document(id="m", lang="en", lang_score=0.9, blocks=(
        Block("The council met on Tuesday to discuss the harbour and its winter ferry service.", label=Label.CONTENT,
              scores=(1.0, 0.0, 0.0), lang="en", lang_score=0.9),
        Block(cyrillic, label=Label.CONTENT, scores=(1.0, 0.0, 0.0), lang="sr", lang_score=0.95, foreign=True)))
    split = {key: rec["metadata"] for key, rec in clean_document(doc, CleanPolicy(min_chars=10,
                                                                                  split_by_language=True)).records}
    assert (split["en"]["script"], split["sr"]["script"]) == ("Latn", "Cyrl")

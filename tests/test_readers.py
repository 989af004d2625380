"""readers.py: every record ends as a document or exactly one reject with a reason."""

from __future__ import annotations

import base64
import gzip
import io
import itertools
import json
import random
import re
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from classifier.document import is_blank
from classifier.errors import InputError
from classifier.readers import (
    Reject,
    RejectSink,
    _read_jsonl_stream,
    document_id_for,
    missing_text_field,
    read_any,
    read_jsonl,
)


def _read(path: Path | str, **kwargs) -> tuple[list, list[Reject]]:
    rejected: list[Reject] = []
    docs = list(read_any(path, RejectSink(on_reject=rejected.append), **kwargs))
    return docs, rejected


def _record(i: int) -> bytes:
    return json.dumps({"id": f"d{i}", "text": f"Paragraph {i} of the story, with a few words."}).encode() + b"\n"


def test_mixed_jsonl_each_bad_line_has_its_reason_and_position(tmp_path: Path) -> None:
    lines = [
        _record(1),                                             # 1 ok
        b'{"id": "broken", "text": "no closing brace"\n',       # 2 bad_json
        b'["a list", "not an object"]\n',                       # 3 bad_schema
        b'{"id": "shape", "blocks": "not a list"}\n',           # 4 bad_schema
        b'{"id": "enc", "text": "caf\xe9 au lait"}\n',          # 5 bad_encoding (latin-1 byte)
        b"\n",                                                  # 6 blank: not a record
        b'{"id": "empty", "blocks": []}\n',                     # 7 no_text
        b'{"id": "blank", "blocks": ["  ", "\\u200b\\u00ad"]}\n',  # 8 no_text (nothing visible)
        b"\x00\x9f\x92\x96\xff\xfe binary \x00\n",              # 9 binary
        b'{"id": "nan", "text": "x", "score": NaN}\n',          # 10 bad_json (NaN is not JSON)
        b'{"id": "sur", "text": "lone \\ud800 surrogate"}\n',   # 11 bad_encoding
        b"[" * 100_000 + b"\n",                                 # 12 bad_json (nesting too deep)
        _record(13),                                            # 13 ok
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"".join(lines))
    docs, rejected = _read(path)
    assert [d.id for d in docs] == ["d1", "d13"]
    assert [(r.position, r.reason) for r in rejected] == [
        (2, "bad_json"), (3, "bad_schema"), (4, "bad_schema"), (5, "bad_encoding"), (7, "no_text"),
        (8, "no_text"), (9, "binary"), (10, "bad_json"), (11, "bad_encoding"), (12, "bad_json"),
    ]
    assert all(r.source == str(path) for r in rejected)
    # the raw record is kept so that nothing is lost; the schema message names the field
    assert rejected[0].raw == lines[1]
    assert "blocks" in rejected[2].detail
    # read == yielded + rejected (blank lines are not records)
    records = sum(1 for line in lines if line.strip())
    assert records == len(docs) + len(rejected)



def test_a_byte_order_mark_before_the_first_record_is_not_part_of_it(tmp_path: Path) -> None:
    # Windows tools write UTF-8 with a BOM: the first record is as good as the others
    # (CRLF line ends too); a BOM at the start of a later line too (two such files joined),
    # one inside a line is bad JSON
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _record(1).replace(b"\n", b"\r\n") + _record(2).replace(b"\n", b"\r\n")
                     + b"\xef\xbb\xbf" + _record(3) + b" \xef\xbb\xbf" + _record(4))
    docs, rejected = _read(path)
    assert [d.id for d in docs] == ["d1", "d2", "d3"]
    assert [(r.position, r.reason) for r in rejected] == [(4, "bad_json")]


def test_a_jsonl_html_field_of_binary_data_is_rejected_as_a_page_file_is(tmp_path: Path) -> None:
    png = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + "\x00\x01\x02\x03" * 50  # an image body kept as text
    page = "<html><body><p>The ferry keeps running through the winter months.</p></body></html>"
    path = tmp_path / "pages.jsonl"
    path.write_text("".join(json.dumps({"id": i, "html": h}) + "\n" for i, h in (("img", png), ("page", page))),
                    encoding="utf-8")
    docs, rejected = _read(path)
    assert [d.id for d in docs] == ["page"]
    assert [(r.position, r.reason) for r in rejected] == [(1, "binary")]
    (tmp_path / "img.html").write_bytes(png.encode("latin-1"))
    assert [r.reason for r in _read(tmp_path / "img.html")[1]] == ["binary"]


def test_a_document_of_too_many_blocks_is_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 1.8 MB of two-letter paragraphs took 1.4 GB to label: a few kB per block, under --max-bytes
    import classifier.readers as readers

    monkeypatch.setattr(readers, "MAX_BLOCKS", 10)
    many = "\n\n".join(f"line {i}" for i in range(11))
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (
        {"id": "a", "text": "A fine paragraph."}, {"id": "many", "text": many},
        {"id": "list", "blocks": ["x"] * 11}, {"id": "ten", "blocks": ["x"] * 10},
        {"id": "page", "html": "<p>x</p>" * 11})), encoding="utf-8")
    docs, rejected = _read(path)
    assert [d.id for d in docs] == ["a", "ten"]
    assert [(r.position, r.reason) for r in rejected] == [(2, "too_large"), (3, "too_large"), (5, "too_large")]
    assert all(r.detail == "more than 10 blocks (the limit)" and r.raw is not None for r in rejected)
    (tmp_path / "many.txt").write_text(many, encoding="utf-8")
    (tmp_path / "many.html").write_text("<p>x</p>" * 11, encoding="utf-8")
    for name in ("many.txt", "many.html"):
        assert [r.reason for r in _read(tmp_path / name)[1]] == ["too_large"]
    assert _read(tmp_path / "many.html")[1][0].raw == b"<p>x</p>" * 11  # a page's reject keeps its bytes


def test_a_page_of_too_many_blocks_is_refused_while_it_is_cut() -> None:
    # 10 MB of <p>x</p> (1.25 M blocks) was cut whole, 1.6 GB, before the limit was checked
    from classifier.document import Document
    from classifier.errors import TooManyBlocks
    from classifier.html import html_to_blocks

    page = "<html><body>" + "<p>x</p>" * 1000 + "</body></html>"
    assert len(html_to_blocks(page, max_blocks=1000)) == 1000
    with pytest.raises(TooManyBlocks, match="more than 999 blocks"):
        html_to_blocks(page, max_blocks=999)
    with pytest.raises(TooManyBlocks):
        Document.from_dict({"blocks": ["x"] * 1000}, max_blocks=999)
    assert len(Document.from_dict({"html": page}, max_blocks=1000).blocks) == 1000


def test_reject_to_dict_keeps_undecodable_bytes_as_base64() -> None:
    raw = b'{"text": "caf\xe9"}'
    out = Reject("in.jsonl", 3, "bad_encoding", "not UTF-8", raw).to_dict()
    assert out["position"] == 3 and out["reason"] == "bad_encoding"
    assert "raw" not in out
    assert base64.b64decode(out["raw_base64"]) == raw
    assert str(Reject("in.jsonl", 2, "bad_json", "oops")) == "in.jsonl:2: bad_json (oops)"


def test_record_over_max_bytes_is_rejected_and_the_next_is_read(tmp_path: Path) -> None:
    big = json.dumps({"id": "big", "text": "word " * 400}).encode() + b"\n"
    path = tmp_path / "sizes.jsonl"
    path.write_bytes(_record(1) + big + _record(3))
    docs, rejected = _read(path, max_bytes=1000)
    assert [d.id for d in docs] == ["d1", "d3"]
    assert [(r.position, r.reason) for r in rejected] == [(2, "too_large")]
    assert rejected[0].detail.startswith(f"{len(big) - 1} bytes > limit 1000")  # the record, not its line end


@pytest.mark.parametrize("name", ["long.jsonl", "long.jsonl.gz"])
def test_a_line_far_over_max_bytes_is_never_held_whole(tmp_path: Path, name: str) -> None:
    huge = b'{"id": "huge", "text": "' + b"x" * 3_000_000 + b'"}\n'
    data = _record(1) + huge + _record(3) + huge.rstrip(b"\n")  # the last line has no newline
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    docs, rejected = _read(path, max_bytes=5000)
    assert [d.id for d in docs] == ["d1", "d3"]
    assert [(r.position, r.reason) for r in rejected] == [(2, "too_large"), (4, "too_large")]
    # the record's size, with or without a line end after it (the first counted its "\n")
    assert [r.detail.split(" >")[0] for r in rejected] == [f"{len(huge) - 1} bytes"] * 2
    assert all(r.raw is not None and len(r.raw) == 5000 and r.raw.startswith(b'{"id": "huge"') for r in rejected)


def test_jsonl_without_id_gets_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "noid.jsonl"
    path.write_text('{"text": "a b c"}\n\n{"text": "d e f"}\n', encoding="utf-8")
    docs, _ = _read(path)
    assert [d.id for d in docs] == ["noid.jsonl:1", "noid.jsonl:3"]


def test_id_field_names_each_records_id(tmp_path: Path) -> None:
    path = tmp_path / "rp.jsonl"
    records = [{"doc_id": "rp-1", "id": "own", "text": "One."}, {"text": "Two."}, {"doc_id": None, "text": "Three."},
               {"doc_id": 7.0, "text": "Four."}, {"doc_id": ["x"], "text": "Five."}, {"doc_id": 8, "text": "Six."}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    docs, rejected = _read(path, id_field="doc_id")
    assert [d.id for d in docs] == ["rp-1", "rp.jsonl:2", "rp.jsonl:3", 7, 8]
    assert docs[0].extra == {"id": "own"} and all("doc_id" not in d.extra for d in docs)
    assert [(r.position, r.reason, r.detail) for r in rejected] == [
        (5, "bad_schema", "field 'doc_id' must be a string or integer, not list")]
    # without it, as before: 'id' is the id, 'doc_id' an ordinary field
    docs, _ = _read(path)
    assert [d.id for d in docs][:2] == ["own", "rp.jsonl:2"] and docs[0].extra == {"doc_id": "rp-1"}
    # a JSON array's objects, and a file read through read_jsonl
    array = tmp_path / "export.json"
    array.write_text(json.dumps(records[:2], indent=2), encoding="utf-8")
    assert [d.id for d in _read(array, id_field="doc_id")[0]] == ["rp-1", "export.json:7"]
    assert [d.id for d in read_jsonl(path, RejectSink(), id_field="doc_id")] == ["rp-1", "rp.jsonl:2", "rp.jsonl:3",
                                                                                7, 8]


def test_id_field_names_each_parquet_rows_id(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "rp.parquet"
    pq.write_table(pa.table({"doc_id": ["rp-1", None, "rp-3"], "id": ["own", "own2", None],
                             "text": ["One.", "Two.", "Three."]}), path)
    docs, rejected = _read(path, id_field="doc_id")
    assert rejected == [] and [d.id for d in docs] == ["rp-1", "rp.parquet:2", "rp-3"]
    assert [d.extra for d in docs] == [{"id": "own"}, {"id": "own2"}, {}]  # a null column: no field of its row
    numbers = tmp_path / "n.parquet"
    pq.write_table(pa.table({"uid": pa.array([5, 6], pa.int64()), "text": ["One.", "Two."]}), numbers)
    assert [d.id for d in _read(numbers, id_field="uid")[0]] == [5, 6]
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"uid": [1.5], "text": ["One."]}), bad)
    docs, rejected = _read(bad, id_field="uid")
    assert docs == [] and [(r.reason, r.detail) for r in rejected] == [
        ("bad_schema", "field 'uid' must be a string or integer, not float")]


def test_text_field_option_picks_the_field(tmp_path: Path) -> None:
    path = tmp_path / "body.jsonl"
    path.write_text('{"id": "b", "body": "One.\\n\\nTwo.", "text": 3}\n', encoding="utf-8")
    docs, rejected = _read(path, text_field="body")
    assert rejected == [] and docs[0].texts == ["One.", "Two."]


def test_a_missing_text_field_is_found_in_the_first_records_only(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from classifier import readers

    body = [json.dumps({"id": f"b{i}", "body": "x" * 40, "n": i}) for i in range(3)]
    plain = tmp_path / "body.jsonl"
    plain.write_text("{broken\n\n" + "\n".join(body) + "\n", encoding="utf-8")
    check = missing_text_field([str(plain)])
    assert check is not None and check.records == 3 and check.files == [str(plain)] and check.whole
    assert list(check.fields) == ["id", "body", "n"] and check.likely_text_field() == "body"
    assert missing_text_field([str(plain)], text_field="body") is None
    # a record's name or address is never advised as its text, however long
    named = tmp_path / "named.jsonl"
    named.write_text("".join(json.dumps({"id": f"some-long-record-name-{i}", "URL": "https://example.com/a/b"})
                             + "\n" for i in range(3)), encoding="utf-8")
    check = missing_text_field([str(named)])
    assert check is not None and list(check.fields) == ["id", "URL"] and check.likely_text_field() is None
    # a record with the field past the first ones is not looked for: a wrong field is judged early
    late = tmp_path / "late.jsonl"
    late.write_text("\n".join(body * 40) + "\n" + _record(1).decode(), encoding="utf-8")
    assert missing_text_field([str(late)]).records == 100 and not missing_text_field([str(late)]).whole
    # pages beside a manifest.jsonl are the run's documents: it is not refused for the manifest
    (tmp_path / "page.html").write_text("<html><body><p>A page of the crawl.</p></body></html>")
    assert missing_text_field([str(plain), str(tmp_path / "page.html")]) is None
    assert missing_text_field([str(late)], records=121) is None
    # any input with the field, or with blocks or html, clears the run; so does a JSON array, a
    # text file and a file of no parsable record: the run's rejects say why
    pages = tmp_path / "pages.jsonl.gz"
    pages.write_bytes(gzip.compress(json.dumps({"html": "<p>Hello</p>"}).encode() + b"\n"))
    assert missing_text_field([str(plain), str(pages)]) is None
    (tmp_path / "array.json").write_text("[" + ", ".join(body) + "]", encoding="utf-8")
    (tmp_path / "story.txt").write_text('{"body": "a story that starts with a brace"}', encoding="utf-8")
    (tmp_path / "junk.jsonl").write_bytes(b"{nope\n\xff\xfe\n")
    (tmp_path / "cut.jsonl.gz").write_bytes(gzip.compress(b"".join(_record(i) for i in range(50)))[:30])
    assert all(missing_text_field([str(tmp_path / name)]) is None
               for name in ("array.json", "story.txt", "junk.jsonl", "cut.jsonl.gz", "absent.jsonl"))
    # records too large to look at a hundred of: "the first records", not "no record of"
    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps({"body": "x" * 1000}) + "\n" for _ in range(20)))
    monkeypatch.setattr(readers, "FIELD_CHECK_BYTES", 5000)
    partly = missing_text_field([str(big)])
    assert partly is not None and partly.records == 4 and not partly.whole


def test_gzipped_jsonl_is_read(tmp_path: Path) -> None:
    path = tmp_path / "crawl.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(_record(i) for i in range(5))))
    docs, rejected = _read(path)
    assert rejected == [] and [d.id for d in docs] == [f"d{i}" for i in range(5)]


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_gzip_keeps_the_records_before_the_cut(tmp_path: Path, keep: float) -> None:
    n = 300
    full = gzip.compress(b"".join(_record(i) for i in range(n)), mtime=0)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(full[: int(len(full) * keep)])
    docs, rejected = _read(path)
    assert [(r.reason, r.position) for r in rejected] == [("truncated", len(docs) + 1)]
    assert 0 < len(docs) < n
    assert [d.id for d in docs] == [f"d{i}" for i in range(len(docs))]  # a prefix, in order, intact
    assert docs[-1].texts == [f"Paragraph {len(docs) - 1} of the story, with a few words."]


def test_truncated_zstd_jsonl_keeps_the_records_before_the_cut(tmp_path: Path) -> None:
    # zstandard's stream reader ends quietly at a cut: this file gave no document and no reject
    import zstandard

    frames = [zstandard.ZstdCompressor().compress(b"".join(_record(i) for i in range(k, k + 100)))
              for k in (0, 100, 200)]
    path = tmp_path / "cut.jsonl.zst"
    path.write_bytes(b"".join(frames)[:-40])
    docs, rejected = _read(path)
    assert [d.id for d in docs] == [f"d{i}" for i in range(200)]
    assert [(r.reason, r.position) for r in rejected] == [("truncated", 201)]
    path.write_bytes(b"".join(frames))
    docs, rejected = _read(path)
    assert rejected == [] and len(docs) == 300


def test_truncated_gzip_text_file_is_one_reject(tmp_path: Path) -> None:
    full = gzip.compress(("A paragraph of text.\n\n" * 2000).encode())
    path = tmp_path / "story.txt.gz"
    path.write_bytes(full[: len(full) // 2])
    docs, rejected = _read(path)
    assert docs == [] and [(r.position, r.reason) for r in rejected] == [(1, "truncated")]


def test_text_file_is_one_document_of_blank_line_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "harbour.notes.txt"
    path.write_text("\ufeffThe headline\n\nFirst paragraph,\nwrapped.\n\n\n  Second paragraph.  \n", encoding="utf-8")
    docs, rejected = _read(path)
    assert rejected == []
    assert len(docs) == 1 and docs[0].id == "harbour.notes"  # the name without its format extension; BOM dropped
    assert docs[0].texts == ["The headline", "First paragraph,\nwrapped.", "Second paragraph."]


def test_text_file_without_blank_lines_is_a_block_per_line(tmp_path: Path) -> None:
    path = tmp_path / "menu.txt"
    path.write_text("Home\nWorld\nSports\n", encoding="utf-8")
    docs, _ = _read(path)
    assert docs[0].texts == ["Home", "World", "Sports"]


def test_shipped_story_fixture_reads_as_twelve_paragraphs(data_dir: Path) -> None:
    docs, rejected = _read(data_dir / "story.txt")
    assert rejected == [] and docs[0].id == "story" and len(docs[0].blocks) == 12


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "no_text"),
        (b" \n\t\n  \n", "no_text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        ("Caf\u00e9 cr\u00e8me\n".encode("latin-1"), "bad_encoding"),
    ],
)
def test_unusable_text_files_are_one_reject(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    docs, rejected = _read(path)
    assert docs == [] and [(r.position, r.reason) for r in rejected] == [(1, reason)]


def test_a_bad_encoding_reject_says_how_to_mend_the_file(tmp_path: Path) -> None:
    # a UTF-8 story with one stray windows-1252 byte was told to convert from Latin-1,
    # which would turn each of its own "ü" into "Ã¼"
    story = "Die Bürger stimmten am Dienstag für die Fähre über den Fluss, trotz der Kosten.\n\n" * 3
    stray = tmp_path / "stray.txt"
    stray.write_bytes(story.encode() + b"Ein Gedankenstrich \x96 aus Word.\n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(story.encode("latin-1"))
    (one,), (other,) = _read(stray)[1], _read(latin)[1]
    assert one.reason == other.reason == "bad_encoding"
    at = len(story.encode()) + len("Ein Gedankenstrich ")
    assert one.detail.startswith(f"UTF-8 but for 1 stray byte sequence, the first at byte {at} (line 7)")
    assert "iconv -f UTF-8 -t UTF-8 -c" in one.detail and "LATIN1" not in one.detail
    assert other.detail.startswith("not UTF-8 at byte 5 (line 1)") and "iconv -f LATIN1" in other.detail
    # the byte of the file and its line, after a byte-order mark and in UTF-16 (a review)
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbfab\n\xff more\n")
    assert _read(bom)[1][0].detail.startswith("not UTF-8 at byte 6 (line 2)")
    wide = tmp_path / "wide.txt"
    wide.write_bytes("上海上海\n第二行 ".encode("utf-16") + b"\x00\xd8\x41\x00")  # 上 is U+4E0A: a 0x0A byte
    assert _read(wide)[1][0].detail.startswith("not UTF-16 at byte 20 (line 2)")


def test_text_file_over_max_bytes_is_rejected_plain_and_gzipped(tmp_path: Path) -> None:
    text = ("A sentence of the page. " * 100).encode()
    plain, packed = tmp_path / "big.txt", tmp_path / "big.txt.gz"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text))
    for path in (plain, packed):
        docs, rejected = _read(path, max_bytes=len(text) - 1)
        assert docs == [] and [r.reason for r in rejected] == ["too_large"]
        assert rejected[0].raw == text[:-1]  # its first --max-bytes bytes, as a JSONL line's reject
        docs, rejected = _read(path, max_bytes=len(text))
        assert rejected == [] and len(docs) == 1


def test_binary_garbage_as_jsonl_is_all_rejected(tmp_path: Path) -> None:
    rng = random.Random(3)
    garbage = bytes(rng.randrange(256) for _ in range(20_000))
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(garbage)
    docs, rejected = _read(path)
    records = sum(1 for line in garbage.split(b"\n") if line.strip())
    assert docs == []
    assert len(rejected) == records > 0
    assert {r.reason for r in rejected} <= {"binary", "bad_encoding", "bad_json"}


def test_missing_file_and_folder_raise_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        _read(tmp_path / "absent.jsonl")
    with pytest.raises(InputError, match="is a folder"):
        _read(tmp_path)
    with pytest.raises(InputError, match="unknown input format"):
        _read(tmp_path / "x.txt", input_format="pdf")


def test_input_format_overrides_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "records.txt"
    path.write_bytes(_record(1) + _record(2))
    assert [d.id for d in _read(path, input_format="jsonl")[0]] == ["d1", "d2"]
    as_text = _read(path)[0]
    assert len(as_text) == 1 and len(as_text[0].blocks) == 2  # two lines -> two blocks of one document


@pytest.mark.parametrize(
    ("data", "ids"),
    [(b"\n  " + _record(1) + _record(2), ["d1", "d2"]), (b"Plain words.\n\nMore words.\n", ["stdin"]),
     (b"\xef\xbb\xbf" + _record(1) + _record(2), ["d1", "d2"])],  # a byte-order mark before the first record
)
def test_stdin_is_sniffed(monkeypatch: pytest.MonkeyPatch, data: bytes, ids: list[str]) -> None:
    # a BytesIO has no peek(): the reader must still see the first byte
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    docs, rejected = _read("-")
    assert rejected == [] and [d.id for d in docs] == ids


def test_records_after_a_first_line_of_something_else_are_json_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    # a header or log line before the records: read as text, every record was one document of raw JSON
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"exported 2024-10-01\n" + _record(1) + _record(2))))
    docs, rejected = _read("-")
    assert [d.id for d in docs] == ["d1", "d2"] and [(r.position, r.reason) for r in rejected] == [(1, "bad_json")]
    # nesting too deep for Python's JSON decoder is no record (a RecursionError escaped)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"title\n" + b"[" * 5000 + b"\n{}\n{}\n")))
    docs, rejected = _read("-")
    assert [d.id for d in docs] == ["stdin"] and rejected == []
    # text with a line of JSON in it, or one record after a line, stays text
    for data in (b"A note.\n" + _record(1) + b"More words after it.\n", b"A title\n" + _record(1)):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        docs, rejected = _read("-")
        assert [d.id for d in docs] == ["stdin"] and rejected == []



_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Ferry</title></head><body><nav><a href='/'>Home</a></nav>"
         b"<p>The council kept the ferry running through the winter after a long debate.</p></body></html>")


def test_stdin_holding_a_page_or_nothing_is_sniffed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(_PAGE)))
    docs, rejected = _read("-")
    assert rejected == [] and [b.text for b in docs[0].blocks][-1].startswith("The council kept")
    assert docs[0].is_page  # cut as a page, not its markup read as text
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert _read("-") == ([], [])  # nothing piped in: no document, as an empty JSONL file


def test_a_file_whose_name_says_no_format_is_sniffed(tmp_path: Path) -> None:
    # Spark and Hadoop name shards part-00000.gz; a page saved without .html
    with gzip.open(tmp_path / "part-00000.gz", "wb") as f:
        f.write(_record(1) + _record(2))
    assert [d.id for d in _read(tmp_path / "part-00000.gz")[0]] == ["d1", "d2"]
    (tmp_path / "saved-page").write_bytes(b"  <!-- saved -->\n" + _PAGE)
    (page,) = _read(tmp_path / "saved-page")[0]
    assert page.is_page and page.blocks[-1].text.startswith("The council kept")
    # a .txt file is text, whatever it begins with
    (tmp_path / "notes.txt").write_bytes(b"{braces} open this story.\n\nA second paragraph.\n")
    (notes,) = _read(tmp_path / "notes.txt")[0]
    assert [b.text for b in notes.blocks] == ["{braces} open this story.", "A second paragraph."]


@pytest.mark.parametrize("kind", ["gz", "zst", "bz2", "xz"])
def test_compressed_stdin_is_decompressed_and_a_cut_keeps_the_records_before_it(
        monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    # cat crawl.jsonl.gz | sieve clean -: it was read as one binary text document
    import bz2
    import lzma

    import zstandard

    compress = {"gz": gzip.compress, "zst": zstandard.ZstdCompressor().compress, "bz2": bz2.compress,
                "xz": lzma.compress}[kind]
    data = b"".join(_record(i) for i in range(300))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(compress(data))))
    docs, rejected = _read("-")
    assert rejected == [] and [d.id for d in docs] == [f"d{i}" for i in range(300)]
    whole = compress(data)
    for cut in (whole[: len(whole) * 2 // 3], whole[:12]):  # a cut, and one before any whole record
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(cut)))
        docs, rejected = _read("-")  # never an exception out of the sniffing
        assert [r.reason for r in rejected] == ["truncated"]
        assert [d.id for d in docs] == [f"d{i}" for i in range(len(docs))]



@pytest.mark.parametrize("head", [b"\x1f\x8b\x08\x00", b"BZh91AY&SY", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"])
def test_stdin_with_a_compression_header_and_no_valid_data_is_one_reject(monkeypatch: pytest.MonkeyPatch,
                                                                         head: bytes) -> None:
    # bz2 raises a bare OSError ("Invalid data stream"): it left the sniffing, and the
    # CLI reported it as "cannot write OUTPUT"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(head + b"junk" * 10)))
    docs, rejected = _read("-")
    assert docs == [] and len(rejected) == 1 and rejected[0].reason in ("truncated", "corrupt", "unreadable")


def test_damaged_gzip_is_corrupt_not_truncated_and_keeps_the_records_before(tmp_path: Path) -> None:
    data = b"".join(_record(i) for i in range(50))
    whole = bytearray(gzip.compress(data))
    whole[-8] ^= 0xFF  # the CRC-32 in the gzip trailer
    (tmp_path / "crc.jsonl.gz").write_bytes(bytes(whole))
    docs, rejected = _read(tmp_path / "crc.jsonl.gz")
    assert [d.id for d in docs] == [f"d{i}" for i in range(50)]
    assert [r.reason for r in rejected] == ["corrupt"] and "damaged" in rejected[0].detail
    (tmp_path / "cut.jsonl.gz").write_bytes(bytes(whole[: len(whole) // 2]))
    assert [r.reason for r in _read(tmp_path / "cut.jsonl.gz")[1]] == ["truncated"]



@pytest.mark.parametrize("kind", ["bz2", "xz"])
def test_damaged_bz2_or_xz_is_corrupt_and_a_cut_truncated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          kind: str) -> None:
    # bz2 raises a bare OSError for damaged data ("unreadable"), lzma an LZMAError
    # ("truncated"): both are damage, as a gzip file's is
    import bz2
    import lzma

    data = b"".join(_record(i) for i in range(2000))
    whole = (bz2.compress if kind == "bz2" else lzma.compress)(data)
    damaged = bytearray(whole)
    damaged[len(damaged) // 2] ^= 0xFF
    cut = whole[: len(whole) // 2]
    for name, body, reason in (("damaged", bytes(damaged), "corrupt"), ("cut", cut, "truncated")):
        path = tmp_path / f"{name}.jsonl.{kind}"
        path.write_bytes(body)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
        for source in (path, "-"):
            docs, rejected = _read(source)
            assert rejected and rejected[-1].reason == reason, (name, source, rejected[-1])
            if kind == "xz":  # xz gives out what it decoded before the damage: every whole record of it
                assert [d.id for d in docs] == [f"d{i}" for i in range(len(docs))] and len(docs) > 100

def test_a_cut_gzip_on_stdin_keeps_as_many_records_as_the_file(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(_record(i) for i in range(2000)))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    from_file = [d.id for d in _read(path)[0]]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    assert len(from_file) > 100 and [d.id for d in _read("-")[0]] == from_file


def test_readers_are_lazy(tmp_path: Path) -> None:
    path = tmp_path / "lazy.jsonl"
    path.write_bytes(_record(1) + b"{broken\n")
    rejected: list[Reject] = []
    docs = read_jsonl(path, RejectSink(on_reject=rejected.append))
    assert next(docs).id == "d1" and rejected == []  # the bad line has not been read yet
    assert list(docs) == [] and [r.reason for r in rejected] == ["bad_json"]


@pytest.mark.parametrize(("name", "expected"), [("story.txt", "story"), ("a/b/story.txt.gz", "story"),
                                                  ("README", "README"), (".hidden", ".hidden"),
                                                  ("2024.03.ferry-vote.html", "2024.03.ferry-vote"),
                                                  ("2024.03.ferry-vote.html.gz", "2024.03.ferry-vote")])
def test_document_id_for(name: str, expected: str) -> None:
    assert document_id_for(name) == expected


def test_reject_sink_counts_by_reason() -> None:
    sink = RejectSink()
    for reason in ("bad_json", "bad_json", "binary"):
        sink.add(Reject("f", 1, reason))
    assert sink.counts == {"bad_json": 2, "binary": 1} and sink.total == 3


_good = st.builds(lambda i, t: json.dumps({"id": f"g{i}", "text": t}).encode(),
                  st.integers(0, 10**6), st.text(min_size=1).filter(lambda t: not is_blank(t)))
_bad = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" "))


@given(st.lists(st.one_of(_good, _bad), max_size=20))
@example(lines=[b"["])  # a JSON array cut before its first object: nothing read, nothing said
@example(lines=[b"[\x00"])  # a bad object that runs to the cut: one reject, not another for the cut
@example(lines=[b"[\x00", b'{"id": "g0", "text": "0"}'])  # the array's notice besides a reject and a record
@example(lines=[b"{", b"\x00"])  # a "{" on its own line: a pretty-printed record, read as objects are
@example(lines=[b"\x0b{", b'{"id": "g0", "text": "0"}'])  # a vertical tab before a broken object: no object before it
def test_read_equals_yielded_plus_rejected(lines: list[bytes]) -> None:
    sink = RejectSink()
    stream = io.BytesIO(b"\n".join(lines))
    docs = list(_read_jsonl_stream(stream, "mem.jsonl", sink, "text", 10_000))
    # a UTF-8 byte order mark at the start of a line is no data (it is dropped)
    lines = [line.removeprefix(b"\xef\xbb\xbf") for line in lines]
    nonblank = sum(1 for line in lines if line.strip())
    first = next((line for line in lines if line.strip()), b"")
    if first.lstrip()[:1] != b"[" and first.strip() != b"{":  # JSON Lines: one result per line
        assert len(docs) + sink.total == nonblank
    else:
        # a JSON array, or records pretty-printed (a "{" on its own first line), goes by
        # objects, not lines: a broken one may take several lines, a line may hold several
        # ("[0 0": two records that are no objects), and an array never closed is said once
        # more at its "[" ("truncated": this stream is never cut); what is not a good record
        # is said
        assert sink.counts.get("truncated", 0) <= 1
        assert sink.total or len(docs) == nonblank - (first.strip() != b"{")
    good = [json.loads(line)["id"] for line in lines if line.strip() and line.startswith(b'{"id": "g')]
    assert [d.id for d in docs] == good


def test_time_limit_keeps_an_outer_alarm_and_stops_a_slow_block() -> None:
    import signal
    import time

    from classifier.readers import PageTimeout, time_limit

    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        with time_limit(1.0):
            pass
        assert 25 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    with pytest.raises(PageTimeout):
        with time_limit(0.1):
            time.sleep(2)



def test_time_limit_stops_a_slow_block_in_a_thread_and_never_fires_after_it() -> None:
    # a Dask worker runs each task in a thread, where no signal can interrupt: the page
    # time limit must hold there too
    import threading
    import time

    from classifier.readers import PageTimeout, time_limit

    seen: dict[str, float | int] = {"late": 0}

    def work() -> None:
        started = time.monotonic()
        try:
            with time_limit(0.2):
                while time.monotonic() - started < 10:  # bounded: without a limit the test fails, never hangs
                    pass
        except PageTimeout:
            seen["stopped_after"] = time.monotonic() - started
        for _ in range(300):  # blocks that end about when their limit does
            try:
                with time_limit(0.0005):
                    sum(range(2000))
            except PageTimeout:
                pass
            try:
                sum(range(2000))
            except PageTimeout:
                seen["late"] += 1

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive() and 0.1 < seen.get("stopped_after", 99) < 5 and seen["late"] == 0


# -- WARC: bad records are rejected and reading goes on at the next record ---------------------------


def _warc(i: int, *, length: int | None = None, version: bytes = b"WARC/1.0", kind: str = "response") -> bytes:
    http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            b"<html><body><p>Page %d: the ferry keeps running through the winter months.</p></body></html>" % i)
    head = (version + b"\r\nWARC-Type: " + kind.encode() + b"\r\nWARC-Record-ID: <urn:uuid:%d>\r\n"
            b"WARC-Target-URI: https://example.org/%d\r\nContent-Type: application/http; msgtype=response\r\n"
            b"Content-Length: %d\r\n\r\n") % (i, i, len(http) if length is None else length)
    return head + http + b"\r\n\r\n"


def _write_warc(path: Path, records: list[bytes]) -> Path:
    """Plain, or each part a gzip member / zstd frame of its own, as WARC writers do."""
    path.write_bytes(_warc_bytes(path.name, records))
    return path


def _warc_bytes(name: str, records: list[bytes]) -> bytes:
    import zstandard

    if name.endswith(".gz"):
        return b"".join(gzip.compress(r, mtime=0) for r in records)
    if name.endswith(".zst"):
        return b"".join(zstandard.ZstdCompressor().compress(r) for r in records)
    return b"".join(records)


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz", "crawl.warc.zst"])
@pytest.mark.parametrize(("bad", "kept"), [
    ([_warc(2, version=b"WARX/1.0")], [1, 3, 4]),              # a broken first line
    ([_warc(2).replace(b"Length: ", b"Length: x")], [1, 3, 4]),  # a length that is no number
    ([_warc(2, length=30)], [1, 3, 4]),                          # a length shorter than the record
    ([b"stray bytes between two records\r\n\r\n", _warc(2)], [1, 2, 3, 4]),
])
def test_malformed_warc_record_is_rejected_and_the_next_records_are_read(tmp_path: Path, name: str,
                                                                          bad: list[bytes], kept: list[int]) -> None:
    path = _write_warc(tmp_path / name, [_warc(1), *bad, _warc(3), _warc(4)])
    docs, rejected = _read(path)
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in kept]
    assert rejected and {r.reason for r in rejected} == {"malformed"}
    assert all(r.source == str(path) and r.position >= 2 for r in rejected)
    assert any("WARC" in r.detail for r in rejected)


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz", "crawl.warc.zst"])
def test_malformed_first_and_last_warc_records(tmp_path: Path, name: str) -> None:
    bad = _warc(9).replace(b"Length: ", b"Length: x")
    docs, rejected = _read(_write_warc(tmp_path / name, [bad, _warc(1), _warc(2), bad]))
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/2"]
    assert rejected and all(r.reason == "malformed" for r in rejected)



@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz", "crawl.warc.zst"])
# into the next record (its text was read twice: in this record's page and as its own);
# past the next records; and over --max-bytes too
@pytest.mark.parametrize("length", [300, 99_999, 50_000_000])
def test_a_content_length_running_past_the_next_records_does_not_swallow_them(tmp_path: Path, name: str,
                                                                               length: int) -> None:
    # a wrong length is no cut file: the good records after it are read, the bad one is malformed
    records = [_warc(1), _warc(2, length=length), _warc(3), _warc(4, kind="request", length=length), _warc(5)]
    sink = RejectSink()
    docs = list(read_any(_write_warc(tmp_path / name, records), sink, max_bytes=10 << 20))
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in (1, 3, 5)]
    # a request's length is not checked against its bytes (never read): it is skipped, what follows it malformed
    assert sink.counts == {"malformed": 2} and sink.skipped == ({"warc_request": 1} if length == 300 else {})
    # the same on a pipe (standard input)
    sink = RejectSink()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdin", io.TextIOWrapper(_Pipe(_warc_bytes(name, records))))
        docs = list(read_any("-", sink, input_format="warc"))
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in (1, 3, 5)] and sink.counts == {"malformed": 2}


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.zst", "-"])
@pytest.mark.parametrize("cut", [0.8, 0.5, 0.25])  # in the page, in the HTTP header, in the WARC header
def test_a_plain_warc_cut_short_and_followed_by_another_loses_only_the_cut_record(tmp_path: Path, name: str,
                                                                                   cut: float) -> None:
    # a truncated WARC with another appended (cat): the cut record runs straight into
    # the next one, even mid-line; the next record is read, the cut one is malformed
    cut_record = _warc(2)[: int(len(_warc(2)) * cut)]
    data = _warc_bytes(name, [_warc(1) + cut_record + _warc(3) + _warc(4)])
    sink = RejectSink()
    rejected: list[Reject] = []
    sink.on_reject = rejected.append
    docs = _read_warc_named(name, data, tmp_path, sink)
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in (1, 3, 4)]
    assert [r.reason for r in rejected] == ["malformed"] and rejected[0].position == 2
    assert "cut short" in rejected[0].detail


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz", "crawl.warc.zst"])
def test_a_page_that_shows_warc_header_text_is_read_whole(tmp_path: Path, name: str) -> None:
    # a page about the WARC format quotes a record's header (CRLF lines and all)
    sample = (b"<pre>WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:x>\r\n"
              b"Content-Length: 12\r\n\r\nHTTP/1.1 200</pre>")
    http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>How a crawl is stored: "
            b"every response is a record.</p>" + sample + b"<p>The end of the lesson.</p></body></html>")
    page = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:7>\r\n"
            b"WARC-Target-URI: https://example.org/7\r\nContent-Type: application/http; msgtype=response\r\n"
            b"Content-Length: %d\r\n\r\n" % len(http)) + http + b"\r\n\r\n"
    docs, rejected = _read(_write_warc(tmp_path / name, [_warc(1), page, _warc(3)]))
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in (1, 7, 3)] and rejected == []
    assert docs[1].texts[-1] == "The end of the lesson."


def test_a_file_that_is_no_warc_is_one_reject(tmp_path: Path) -> None:
    path = tmp_path / "notes.warc"
    path.write_bytes(b"these are notes, not a web archive\n" * 50)
    docs, rejected = _read(path)
    assert docs == [] and [(r.position, r.reason) for r in rejected] == [(1, "malformed")]
    assert "not a WARC file" in rejected[0].detail


def test_truncated_warc_gz_keeps_the_records_before_the_cut(tmp_path: Path) -> None:
    whole = b"".join(gzip.compress(_warc(i), mtime=0) for i in (1, 2, 3))
    (tmp_path / "cut.warc.gz").write_bytes(whole[: len(whole) - 40])
    docs, rejected = _read(tmp_path / "cut.warc.gz")
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/2"]
    assert [r.reason for r in rejected] == ["truncated"]


def test_warc_records_other_than_responses_are_counted_as_skipped(tmp_path: Path) -> None:
    sink = RejectSink()
    path = _write_warc(tmp_path / "c.warc", [_warc(1, kind="request"), _warc(2), _warc(3, kind="metadata")])
    docs = list(read_any(path, sink))
    assert [d.url for d in docs] == ["https://example.org/2"]
    assert sink.skipped == {"warc_request": 1, "warc_metadata": 1} and sink.total == 0


def _warc_page(i: int, http: bytes) -> bytes:
    """A WARC response record of ``http`` (its headers and body) for https://example.org/i."""
    head = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:%d>\r\n"
            b"WARC-Target-URI: https://example.org/%d\r\nContent-Length: %d\r\n\r\n") % (i, i, len(http))
    return head + http + b"\r\n\r\n"


def test_a_warc_reject_says_which_record_and_keeps_its_bytes(tmp_path: Path) -> None:
    # a reject in a big WARC carried only the record's number among all records
    brotli = _warc_page(2, b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Type: text/html\r\n\r\n\x1b\x03")
    empty = _warc_page(3, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>  </p><script>x = 1</script>")
    records = [_warc(1), brotli, empty]
    path = _write_warc(tmp_path / "c.warc", records)
    found: list = []
    docs = list(read_any(path, RejectSink(on_reject=found.append)))
    assert [d.url for d in docs] == ["https://example.org/1"]
    (enc, blank) = [r.to_dict() for r in found]
    assert enc["reason"] == "bad_encoding" and blank["reason"] == "no_text"
    assert enc["warc"] == {"url": "https://example.org/2", "warc_record_id": "<urn:uuid:2>",
                           "offset": len(records[0])}
    assert blank["warc"]["url"] == "https://example.org/3" and blank["warc"]["offset"] == len(records[0]) + len(brotli)
    assert "Content-Encoding: br" in enc["raw"] and "<script>" in blank["raw"]


@pytest.mark.parametrize("with_brotli", [True, False])
def test_a_warc_body_in_brotli_or_zstd_as_browsers_fetch_it_is_read(tmp_path: Path, with_brotli: bool,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # a browser-based crawler (Browsertrix) keeps bodies as servers send them to a browser,
    # br or zstd: each was rejected as "HTTP content encoding 'br' is not supported"
    import zstandard

    brotli = pytest.importorskip("brotli")
    page = b"<html><body><p>The ferry keeps running through the winter, the council said.</p></body></html>"
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: %s\r\n\r\n%s"
    records = [
        _warc_page(1, http % (b"zstd", zstandard.ZstdCompressor().compress(page))),
        _warc_page(2, http % (b"zstd", page)),  # stored decoded under the header, as some crawlers keep it
        _warc_page(3, http % (b"zstd", zstandard.ZstdCompressor().compress(page)[:-6])),  # cut short
        _warc_page(4, http % (b"zstd", zstandard.ZstdCompressor().compress(b" " * 50_000))),  # past the limit
        _warc_page(5, http % (b"br", page)),
        _warc_page(6, http % (b"br", brotli.compress(page))),
        _warc_page(7, http % (b"br", brotli.compress(page)[:-3])),
        _warc_page(8, http % (b"br", brotli.compress(b" " * 50_000))),
    ]
    if not with_brotli:  # no dependency of Sieve's: a br body is then a reject that says what to install
        monkeypatch.setitem(sys.modules, "brotli", None)
    docs, rejected = _read(_write_warc(tmp_path / "b.warc", records), max_bytes=10_000)
    assert {d.blocks[0].text for d in docs} == {"The ferry keeps running through the winter, the council said."}
    reasons = [(r.reason, r.warc["url"][-1]) for r in rejected]
    if with_brotli:
        assert [d.url[-1] for d in docs] == ["1", "2", "5", "6"]
        assert reasons == [("bad_encoding", "3"), ("too_large", "4"), ("bad_encoding", "7"), ("too_large", "8")]
    else:
        assert [d.url[-1] for d in docs] == ["1", "2", "5"]
        assert reasons == [("bad_encoding", "3"), ("too_large", "4")] + [("bad_encoding", i) for i in "678"]
        assert "needs the brotli package" in rejected[-1].detail


def test_a_warc_resource_record_of_a_page_is_read_as_a_page(tmp_path: Path) -> None:
    # a site's files stored as resource records (warcit), with no HTTP header: every page
    # was skipped as a warc_resource record; other resources (a screenshot, text) still are
    def resource(i: int, content_type: str, block: bytes) -> bytes:
        head = (f"WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:{i}>\r\n"
                f"WARC-Target-URI: https://example.org/{i}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(block)}\r\n\r\n").encode()
        return head + block + b"\r\n\r\n"

    page = "<html><body><p>Паром будет ходить всю зиму, сообщили в администрации.</p></body></html>"
    records = [resource(1, "text/html; charset=windows-1251", page.encode("cp1251")),
               resource(2, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(64)),
               resource(3, "text/plain", b"Extracted text of a page."),
               _warc(4)]
    sink = RejectSink()
    docs = list(read_any(_write_warc(tmp_path / "site.warc.gz", records), sink))
    assert [(d.id, d.url) for d in docs][0] == ("urn:uuid:1", "https://example.org/1")
    assert docs[0].blocks[0].text == "Паром будет ходить всю зиму, сообщили в администрации."
    assert [d.url for d in docs][1:] == ["https://example.org/4"]
    assert sink.skipped == {"warc_resource": 2} and sink.total == 0
    # one the crawler cut short says so, as a response does
    cut = resource(5, "text/html", page.encode()).replace(b"WARC-Type: resource\r\n",
                                                          b"WARC-Type: resource\r\nWARC-Truncated: length\r\n")
    docs = list(read_any(_write_warc(tmp_path / "cut.warc", [records[0], cut]), RejectSink()))
    assert [d.extra.get("truncated") for d in docs] == [None, "length"]


def test_warc_zst_in_one_frame_goes_on_after_a_malformed_record(tmp_path: Path) -> None:
    import zstandard

    bad = _warc(2).replace(b"Length: ", b"Length: x")
    path = tmp_path / "crawl.warc.zst"  # as `zstd crawl.warc` writes it: one frame
    path.write_bytes(zstandard.ZstdCompressor().compress(b"".join([_warc(1), bad, _warc(3), _warc(4)])))
    docs, rejected = _read(path)
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in (1, 3, 4)]
    assert rejected and {r.reason for r in rejected} == {"malformed"}
    assert any("decompressed stream" in r.detail and "skipped to the record" in r.detail for r in rejected)


def test_warc_zst_with_a_dictionary_frame_is_read(tmp_path: Path) -> None:
    # the WARC zstd format: a skippable frame holding the dictionary the record frames use
    import struct

    import zstandard

    raw = _warc(0) * 4
    dictionary = zstandard.ZstdCompressionDict(raw, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    compress = zstandard.ZstdCompressor(dict_data=dictionary).compress
    bad = _warc(2).replace(b"Length: ", b"Length: x")
    path = tmp_path / "crawl.warc.zst"
    path.write_bytes(struct.pack("<II", 0x184D2A5D, len(raw)) + raw
                     + b"".join(compress(r) for r in [_warc(1), bad, _warc(3)]))
    docs, rejected = _read(path)
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/3"]
    assert rejected and {r.reason for r in rejected} == {"malformed"}


def test_truncated_warc_zst_keeps_the_records_before_the_cut(tmp_path: Path) -> None:
    whole = _warc_bytes("c.warc.zst", [_warc(i) for i in (1, 2, 3)])
    (tmp_path / "cut.warc.zst").write_bytes(whole[: len(whole) - 40])
    docs, rejected = _read(tmp_path / "cut.warc.zst")
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/2"]
    assert [(r.position, r.reason) for r in rejected] == [(3, "truncated")]


class _Pipe(io.RawIOBase):
    """Standard input from a pipe: it cannot seek or tell, and hands over a few bytes at a time."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        chunk = self._data.read(min(len(buffer), 100))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz", "crawl.warc.zst"])
def test_warc_on_a_pipe_goes_on_after_a_malformed_record(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    bad = [_warc(2).replace(b"Length: ", b"Length: x"), b"stray bytes\r\n\r\n"]
    data = _warc_bytes(name, [_warc(1), *bad, _warc(3), _warc(4, kind="request"), _warc(5)])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(_Pipe(data)))
    sink = RejectSink()
    rejected: list[Reject] = []
    sink.on_reject = rejected.append
    docs = list(read_any("-", sink, input_format="warc"))
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in (1, 3, 5)]
    assert rejected and {r.reason for r in rejected} == {"malformed"} and sink.skipped == {"warc_request": 1}
    assert all(r.source == "-" and r.position >= 2 for r in rejected)


def test_a_cut_warc_zst_on_a_pipe_keeps_the_records_before_the_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _warc_bytes("c.warc.zst", [_warc(i) for i in (1, 2, 3)])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(_Pipe(whole[: len(whole) - 40])))
    docs, rejected = _read("-", input_format="warc")
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/2"]
    assert [(r.position, r.reason) for r in rejected] == [(3, "truncated")]


def test_rewindable_keeps_only_what_a_search_needs() -> None:
    from classifier.readers import _Rewindable

    stream = _Rewindable(_Pipe(bytes(range(256)) * 100_000), keep=0)  # keeps at least 4 MB
    assert stream.read(10) == bytes(range(10)) and stream.tell() == 10
    stream.seek(3)
    assert stream.read(2) == b"\x03\x04"
    stream.forget(5)
    with pytest.raises(io.UnsupportedOperation):
        stream.seek(4)
    stream.seek(20_000_000)  # forward: read up to it, keeping the last few MB only
    assert stream.read(1) == bytes([20_000_000 % 256]) and stream.earliest > 5
    assert len(stream.read()) == 25_600_000 - 20_000_001 and stream.read(5) == b""


def test_sieve_reads_a_warc_zst_from_a_real_pipe(tiny_model_dir: Path, sieve_executable: str) -> None:
    # before: fastwarc asked the pipe where it was, and the process died of "Illegal seek"
    import subprocess

    bad = _warc(2).replace(b"Length: ", b"Length: x")
    data = _warc_bytes("c.warc.zst", [_warc(1), bad, _warc(3), _warc(4)])
    proc = subprocess.run([sieve_executable, "score", "-", "--input-format", "warc", "--model-dir",
                           str(tiny_model_dir)], input=data, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    urls = [json.loads(line)["url"] for line in proc.stdout.splitlines()]
    assert urls == [f"https://example.org/{i}" for i in (1, 3, 4)]
    assert "-:2: malformed" in proc.stderr.decode() and "skipped to the record" in proc.stderr.decode()


def test_a_zstd_bomb_is_read_in_bounded_pieces() -> None:
    import io
    import tracemalloc

    import zstandard

    from classifier.readers import _ZstdFrames

    bomb = zstandard.ZstdCompressor().compress(bytes(256 << 20))  # 256 MB of zeros in a few kB
    assert len(bomb) < 64 << 10
    reader = _ZstdFrames(io.BytesIO(bomb))
    tracemalloc.start()
    try:
        total = 0
        while chunk := reader.read(1 << 16):
            total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 256 << 20
    assert peak < 32 << 20  # never the whole expansion of one compressed chunk at once


def test_a_gzipped_warc_on_a_pipe_is_sniffed_as_warc_and_read_as_its_file_is(monkeypatch: pytest.MonkeyPatch,
                                                                              tmp_path: Path) -> None:
    # decompressed before it was known to be WARC, standard input lost the reader's
    # member-by-member recovery: reading stopped at a broken member, and the whole
    # record before a cut went uncounted
    members = [gzip.compress(_warc(i), mtime=0) for i in range(1, 7)]
    broken = members[2][:10] + b"\x00" * 20 + members[2][30:]
    corrupt = b"".join([*members[:2], broken, *members[3:]])
    cut = b"".join(members)[:-25]
    # cut in the last member's first bytes: fastwarc ends quietly there, and only a file's
    # size said so (standard input lost the record without a word)
    header_cut = b"".join(members[:-1]) + members[-1][:5]
    for data in (corrupt, cut, header_cut):
        path = tmp_path / "x.warc.gz"
        path.write_bytes(data)
        file_sink = RejectSink()
        from_file = [d.url for d in read_any(path, file_sink)]
        pipe_sink = RejectSink()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(_Pipe(data)))
        from_pipe = [d.url for d in read_any("-", pipe_sink)]  # no --input-format: sniffed
        assert from_pipe == from_file and len(from_file) >= 4
        assert pipe_sink.counts == file_sink.counts and pipe_sink.total >= 1


# -- found by a review of the readers (session 9) ----------------------------------------------------


def test_a_compressed_http_body_is_inflated_no_further_than_the_size_limit(tmp_path: Path) -> None:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = packer.compress(b"<html><body><p>hello</p>") + packer.compress(b" " * (8 << 20)) + packer.flush()
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n" + bomb
    path = _write_warc(tmp_path / "c.warc.gz", [_warc(1), _warc_page(2, http), _warc(3)])
    docs, rejected = _read(path, max_bytes=1 << 20)  # 8 MB of spaces behind 8 kB: over the 1 MB limit
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/3"]
    assert [(r.position, r.reason) for r in rejected] == [(2, "too_large")] and "inflates" in rejected[0].detail


def test_a_record_that_breaks_the_reader_is_a_reject_and_reading_goes_on(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from classifier.document import Document

    real = Document.from_dict.__func__  # type: ignore[attr-defined]

    def from_dict(cls, record, **kwargs):  # type: ignore[no-untyped-def]
        if record.get("id") == "d2":
            raise RuntimeError("a bug met by one record")
        return real(cls, record, **kwargs)

    monkeypatch.setattr(Document, "from_dict", classmethod(from_dict))
    path = tmp_path / "a.jsonl"
    path.write_bytes(_record(1) + _record(2) + _record(3))
    docs, rejected = _read(path)
    assert [d.id for d in docs] == ["d1", "d3"]
    assert [(r.position, r.reason) for r in rejected] == [(2, "malformed")] and "RuntimeError" in rejected[0].detail


def test_a_warc_whose_lines_end_in_lf_alone_is_a_reject_not_a_quiet_skip(tmp_path: Path) -> None:
    path = tmp_path / "lf.warc"
    path.write_bytes(b"".join(_warc(i).replace(b"\r\n", b"\n") for i in (1, 2, 3)))
    docs, rejected = _read(path)
    assert docs == [] and rejected and rejected[0].reason == "malformed" and "WARC-Type" in rejected[0].detail


@pytest.mark.parametrize("suffix", [".bz2", ".xz"])
def test_warc_compressed_with_bzip2_or_xz_is_read(tmp_path: Path, suffix: str) -> None:
    import bz2
    import lzma

    compress = bz2.compress if suffix == ".bz2" else lzma.compress
    path = tmp_path / f"c.warc{suffix}"
    path.write_bytes(compress(b"".join(_warc(i) for i in (1, 2, 3))))
    docs, rejected = _read(path)
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in (1, 2, 3)] and rejected == []


class _Trickle(io.RawIOBase):
    """A pipe whose writer wrote one byte first, then the rest."""

    def __init__(self, data: bytes) -> None:
        self._parts = [data[:1], data[1:]]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        while self._parts and not self._parts[0]:
            self._parts.pop(0)
        if not self._parts:
            return 0
        chunk = self._parts[0][: len(buffer)]
        self._parts[0] = self._parts[0][len(chunk):]
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize(("data", "ids"), [
    (b"\nA story about the harbour.\n\nThe ferry runs all winter.\n", ["stdin"]),  # a text, not two bad JSON lines
    (gzip.compress(_record(1) + _record(2), mtime=0), ["d1", "d2"]),  # gzip seen though its magic came apart
])
def test_standard_input_is_sniffed_on_its_first_bytes_however_they_arrive(monkeypatch: pytest.MonkeyPatch,
                                                                          data: bytes, ids: list[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(_Trickle(data)))  # type: ignore[arg-type]
    docs, rejected = _read("-")
    assert [d.id for d in docs] == ids and rejected == []


def test_a_number_out_of_range_is_bad_json_not_infinity(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"id": "x", "text": "Words of a story.", "weight": 1e400}\n' + _record(2))
    docs, rejected = _read(path)
    assert [d.id for d in docs] == ["d2"] and [r.reason for r in rejected] == ["bad_json"]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""])
def test_a_record_exactly_at_the_size_limit_is_kept_whatever_its_line_end(tmp_path: Path, ending: bytes) -> None:
    record = _record(1).rstrip(b"\n")
    path = tmp_path / "a.jsonl"
    path.write_bytes(record + ending)
    docs, rejected = _read(path, max_bytes=len(record))
    assert [d.id for d in docs] == ["d1"] and rejected == []
    docs, rejected = _read(path, max_bytes=len(record) - 1)
    assert docs == [] and [r.reason for r in rejected] == ["too_large"]


def test_a_compressed_file_under_a_plain_name_is_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"  # gzip, whatever the name says
    path.write_bytes(gzip.compress(_record(1) + _record(2), mtime=0))
    docs, rejected = _read(path)
    assert [d.id for d in docs] == ["d1", "d2"] and rejected == []


def test_a_damaged_warc_bz2_keeps_the_records_before_the_damage_and_says_so(tmp_path: Path) -> None:
    import bz2

    data = bytearray(bz2.compress(b"".join(_warc(i) for i in range(1, 60))))
    middle = len(data) // 2
    data[middle:middle + 50] = bytes(50)  # bz2 raised OSError, which failed the whole shard
    path = tmp_path / "c.warc.bz2"
    path.write_bytes(bytes(data))
    docs, rejected = _read(path)
    assert rejected and rejected[-1].reason == "corrupt"  # damaged, not cut (a cut is "truncated")
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in range(1, len(docs) + 1)]


def test_an_http_body_cut_short_is_a_reject_not_half_a_page(tmp_path: Path) -> None:
    body = gzip.compress(b"<html><body>" + b"<p>The ferry keeps running through the winter.</p>" * 200
                         + b"</body></html>", mtime=0)
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n" + body[: len(body) // 2]
    docs, rejected = _read(_write_warc(tmp_path / "c.warc", [_warc(1), _warc_page(2, http)]))
    assert [d.url for d in docs] == ["https://example.org/1"]
    assert [(r.reason, "truncated" in r.detail) for r in rejected] == [("bad_encoding", True)]


def test_a_bad_json_line_is_described_as_the_one_line_it_is(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(_record(1) + b'{"id": "b", "text": "broken\n' + b'{"id": "c", "text": "x"\n' + _record(4))
    docs, rejected = _read(path)
    assert [d.id for d in docs] == ["d1", "d4"]
    cut, unclosed = rejected
    assert "Unterminated string" in cut.detail  # not "Invalid control character" (the line's own newline)
    assert "line 1" in unclosed.detail and "line 2" not in unclosed.detail


@pytest.mark.parametrize("cut", [3, 10, 30, 52])
def test_a_warc_gz_cut_in_the_first_bytes_of_a_member_says_so(tmp_path: Path, cut: int) -> None:
    # fastwarc ends quietly at a member cut this early: the record was neither read nor rejected
    members = [gzip.compress(_warc(i), mtime=0) for i in (1, 2, 3)]
    path = tmp_path / "c.warc.gz"
    path.write_bytes(members[0] + members[1] + members[2][:cut])
    docs, rejected = _read(path)
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/2"]
    assert [(r.position, r.reason) for r in rejected] == [(3, "truncated")] and f"last {cut} bytes" in \
        rejected[0].detail


@pytest.mark.parametrize("field", [b"WARC-Record-ID", b"https://", b"application/ht", b"msgtype", b"Content-Length"])
@pytest.mark.parametrize("name", ["c.warc.gz", "-"])
def test_a_warc_gz_member_cut_inside_its_warc_header_is_truncated(tmp_path: Path, field: bytes, name: str) -> None:
    # the last member inflates to part of its WARC header (a download cut there): fastwarc
    # gives a record without a Content-Length, which was "malformed" (no HTTP header), or
    # skipped as not_http and in no rejects file when the cut fell in its Content-Type
    third = _warc(3)
    deflate = zlib.compressobj(6, zlib.DEFLATED, 31)
    cut = deflate.compress(third[:third.index(field) + 4]) + deflate.flush(zlib.Z_SYNC_FLUSH)
    data = gzip.compress(_warc(1), mtime=0) + gzip.compress(_warc(2), mtime=0) + cut
    rejected: list[Reject] = []
    sink = RejectSink(on_reject=rejected.append)
    docs = _read_warc_named(name, data, tmp_path, sink)
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/2"]
    assert [(r.position, r.reason) for r in rejected] == [(3, "truncated")] and sink.skipped == {}
    assert "ends in its header" in rejected[0].detail


@pytest.mark.parametrize("after", [b"Content-Length:", b"Content-Length: "])
def test_a_warc_gz_member_cut_just_after_its_content_length_name_is_truncated(tmp_path: Path, after: bytes) -> None:
    # fastwarc gives the record an empty Content-Length (not none) there: it was "malformed",
    # a WARC response without an HTTP header, where a plain .warc cut there is "truncated"
    third = _warc(3)
    deflate = zlib.compressobj(6, zlib.DEFLATED, 31)
    cut = deflate.compress(third[:third.index(after) + len(after)]) + deflate.flush(zlib.Z_SYNC_FLUSH)
    (tmp_path / "c.warc.gz").write_bytes(gzip.compress(_warc(1), mtime=0) + cut)
    rejected: list[Reject] = []
    docs = list(read_any(tmp_path / "c.warc.gz", RejectSink(on_reject=rejected.append)))
    assert [d.url for d in docs] == ["https://example.org/1"]
    assert [(r.position, r.reason) for r in rejected] == [(2, "truncated")]


@pytest.mark.parametrize("members", ["per record", "one"])
def test_a_whole_warc_gz_has_no_truncation_reject(tmp_path: Path, members: str) -> None:
    records = [_warc(i) for i in (1, 2, 3)]
    data = (b"".join(gzip.compress(r, mtime=0) for r in records) if members == "per record"
            else gzip.compress(b"".join(records), mtime=0))
    path = tmp_path / "c.warc.gz"
    path.write_bytes(data)
    docs, rejected = _read(path)
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in (1, 2, 3)] and rejected == []


def test_a_whole_warc_gz_of_one_member_with_gzip_magic_inside_or_a_trailing_newline_is_no_cut(
        tmp_path: Path) -> None:
    from fastwarc.warc import ArchiveIterator

    meta = (b"WARC/1.0\r\nWARC-Type: metadata\r\nWARC-Record-ID: <urn:uuid:m%d>\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n")
    body = b"".join(b"%08d" % i for i in range(300_000 // 8))
    raw = bytearray(_warc(1) + meta % (1, len(body)) + body + b"\r\n\r\n" + _warc(2) + meta % (2, len(body))
                    + body + b"\r\n\r\n")
    path = tmp_path / "one.warc.gz"
    path.write_bytes(gzip.compress(bytes(raw), compresslevel=0, mtime=0))
    with open(path, "rb") as f:  # where fastwarc says the last record starts: inside the one member
        last = [r.stream_pos for r in ArchiveIterator(f, parse_http=False, auto_decode="none")][-1]
    at = raw.find(path.read_bytes()[last:last + 8])
    raw[at:at + 2] = b"\x1f\x8b"  # the gzip magic there, in the stored data, by chance
    path.write_bytes(gzip.compress(bytes(raw), compresslevel=0, mtime=0))
    docs, rejected = _read(path)
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/2"] and rejected == []
    per_record = tmp_path / "c.warc.gz"
    per_record.write_bytes(b"".join(gzip.compress(_warc(i), mtime=0) for i in (1, 2)) + b"\n")
    docs, rejected = _read(per_record)
    assert len(docs) == 2 and rejected == []


def test_utf16_text_files_are_read_and_binary_stays_binary(tmp_path: Path) -> None:
    """Windows tools save text as UTF-16 (with or without a byte-order mark): its NUL
    bytes are half of its ASCII characters, not binary data."""
    story = "Der Hafen bleibt im Winter offen.\n\nDie Fähre fährt weiter, sagte die Bürgermeisterin.\n"
    for name, data in (("bom.txt", story.encode("utf-16")), ("le.txt", story.encode("utf-16-le")),
                       ("be.txt", story.encode("utf-16-be")), ("u32.txt", story.encode("utf-32")),  # read as
                       ("u32be.txt", b"\x00\x00\xfe\xff" + story.encode("utf-32-be"))):  # UTF-16 and \x00s
        (tmp_path / name).write_bytes(data)
        docs, rejects = _read(tmp_path / name)
        assert not rejects and [b.text for b in docs[0].blocks] == story.strip().split("\n\n"), name
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)) * 8)
    docs, rejects = _read(tmp_path / "blob.txt")
    assert not docs and [r.reason for r in rejects] == ["binary"]


def test_a_json_array_of_records_is_read_record_by_record(tmp_path: Path) -> None:
    # an export as a JSON array was one reject per line (a pretty-printed one: every line),
    # 'records read' counted its lines, and more than half rejected gave exit status 3
    records = [{"id": f"r{i}", "text": f"Story {i} of the export."} for i in range(4)]
    lines = [json.dumps(r) for r in records]
    for name, content in (("flat.json", json.dumps(records)), ("pretty.json", json.dumps(records, indent=2)),
                          ("per-line.json", "[\n" + ",\n".join(lines) + "\n]\n"),
                          ("stray.jsonl", "[\n" + "".join(line + "\n" for line in lines)),  # a stray "[" and JSONL
                          ("then-jsonl.json", json.dumps(records[:2]) + "\n" + "\n".join(lines[2:]) + "\n")):
        (tmp_path / name).write_text(content, encoding="utf-8")
        docs, rejects = _read(tmp_path / name)
        # a "[" never closed: the file was cut, or the "[" is stray; either way said
        said = [(1, "truncated")] if name == "stray.jsonl" else []
        assert [d.id for d in docs] == ["r0", "r1", "r2", "r3"], name
        assert [(r.position, r.reason) for r in rejects] == said, name
        assert docs[1].blocks[0].text == "Story 1 of the export."
    # a broken record is one reject, at the line where it starts, and the next one is read
    pretty = json.dumps(records, indent=2).replace('"id": "r1"', '"id": r1')
    (tmp_path / "broken.json").write_text(pretty, encoding="utf-8")
    docs, rejects = _read(tmp_path / "broken.json")
    assert [d.id for d in docs] == ["r0", "r2", "r3"]
    assert [(r.position, r.reason) for r in rejects] == [(pretty.split("\n").index("  {", 2) + 1, "bad_json")]
    assert rejects[0].raw is not None and b'"id": r1' in rejects[0].raw and b'"r2"' not in rejects[0].raw
    per_line = "[\n" + ",\n".join([lines[0], '{"id": x}', *lines[1:]]) + "\n]\n"
    (tmp_path / "broken-line.json").write_text(per_line, encoding="utf-8")
    docs, rejects = _read(tmp_path / "broken-line.json")
    assert [d.id for d in docs] == ["r0", "r1", "r2", "r3"] and [(r.position, r.reason) for r in rejects] == [
        (3, "bad_json")]
    # JSON Lines or another array after the closing "]" (the rest of a read-ahead was one reject)
    (tmp_path / "more.json").write_text(json.dumps(records[:2], indent=2) + "\n" + "\n".join(lines[2:]) + "\n")
    (tmp_path / "two.json").write_text(json.dumps(records[:2], indent=2) + "\n" + json.dumps(records[2:]) + "\n")
    for name in ("more.json", "two.json"):
        docs, rejects = _read(tmp_path / name)
        assert [d.id for d in docs] == ["r0", "r1", "r2", "r3"] and rejects == [], name
    # a broken object where the next ones start at another column, or on the same line
    (tmp_path / "first-bad.json").write_text('[{"id": "bad", "text": "x",},\n' + ",\n".join(lines) + "]\n")
    (tmp_path / "one-line-bad.json").write_text("[" + ", ".join([lines[0], '{"id": x}', *lines[1:]]) + "]")
    for name, at in (("first-bad.json", 1), ("one-line-bad.json", 1)):
        docs, rejects = _read(tmp_path / name)
        assert [d.id for d in docs] == ["r0", "r1", "r2", "r3"], name
        assert [(r.position, r.reason) for r in rejects] == [(at, "bad_json")], name
    # an array on one line longer than --max-bytes is read object by object; an object over
    # the limit is one too_large reject, and the next object is read
    docs, rejects = _read(tmp_path / "flat.json", max_bytes=100)
    assert [d.id for d in docs] == ["r0", "r1", "r2", "r3"] and rejects == []
    huge = dict(records[1], text=" ".join(["A long paragraph of the article."] * 100))
    (tmp_path / "huge.json").write_text(json.dumps([records[0], huge, records[2]], indent=2))
    docs, rejects = _read(tmp_path / "huge.json", max_bytes=1000)
    assert [d.id for d in docs] == ["r0", "r2"] and [(r.position, r.reason) for r in rejects] == [(6, "too_large")]
    # a cut compressed array: the objects before the cut, then what the stream says
    many = [{"id": f"m{i}", "text": f"Story {i} of a long export."} for i in range(300)]
    packed = gzip.compress(json.dumps(many, indent=2).encode(), mtime=0)
    (tmp_path / "cut.json.gz").write_bytes(packed[: len(packed) // 2])
    docs, rejects = _read(tmp_path / "cut.json.gz")
    assert len(docs) > 50 and [d.id for d in docs] == [f"m{i}" for i in range(len(docs))]
    assert [r.reason for r in rejects] == ["truncated"]
    # standard input, a file without extension: the first bytes say it is an array of records
    from classifier.readers import sniff_format

    assert sniff_format(b"[\n  {") == "jsonl" and sniff_format(b"[]") == "jsonl" and sniff_format(b"[1]") == "text"
    # records that are no objects are rejected as JSON Lines' are
    (tmp_path / "numbers.json").write_text(json.dumps([1, records[0]]), encoding="utf-8")
    docs, rejects = _read(tmp_path / "numbers.json")
    assert [d.id for d in docs] == ["r0"] and [r.reason for r in rejects] == ["bad_schema"]


def _big_warc(i: int) -> bytes:
    """A response record of about 3 kB: many of them span the 64 kB buffers of the readers."""
    body = b"".join(b"<p>Page %d, paragraph %d: the ferry keeps running through the winter months.</p>" % (i, k)
                    for k in range(35))
    return _warc_page(i, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>" + body + b"</body></html>")


@pytest.mark.parametrize("suffix", [".warc.xz", ".warc.bz2"])
def test_a_cut_warc_xz_or_bz2_keeps_every_whole_record_before_the_cut(tmp_path: Path, suffix: str) -> None:
    # the reader filled 64 kB at a time, and the records it held when the cut was met were
    # lost without a word (16 of 193 whole records in a cut .warc.xz)
    import bz2
    import lzma

    records = [_big_warc(i) for i in range(1, 201)]
    whole = lzma.compress(b"".join(records)) if suffix == ".warc.xz" else bz2.compress(b"".join(records), 1)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(whole[:-2000])
    readable = (lzma.LZMADecompressor() if suffix == ".warc.xz" else bz2.BZ2Decompressor()).decompress(whole[:-2000])
    ends = list(itertools.accumulate(len(r) for r in records))  # the readable bytes begin the file's
    complete = sum(1 for end in ends if end <= len(readable))
    docs, rejected = _read(path)
    assert complete > 100 and [d.url for d in docs] == [f"https://example.org/{i}" for i in range(1, complete + 1)]
    assert [(r.position, r.reason) for r in rejected] == [(complete + 1, "truncated")]


def test_a_cut_warc_zst_on_a_pipe_keeps_every_whole_record(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _warc_bytes("c.warc.zst", [_big_warc(i) for i in range(1, 41)])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(_Pipe(whole[: len(whole) - 50])))
    docs, rejected = _read("-", input_format="auto")
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in range(1, 40)]  # 23 before the fix
    assert [(r.position, r.reason) for r in rejected] == [(40, "truncated")]


def test_a_damaged_zstd_frame_keeps_the_records_before_it_and_is_corrupt(tmp_path: Path) -> None:
    import zstandard

    frames = [zstandard.ZstdCompressor(write_checksum=True).compress(_record(i)) for i in range(400)]
    damaged = bytearray(frames[299])
    damaged[len(damaged) // 2] ^= 0xFF
    frames[299] = bytes(damaged)
    path = tmp_path / "d.jsonl.zst"
    path.write_bytes(b"".join(frames))
    docs, rejected = _read(path)
    assert [d.id for d in docs] == [f"d{i}" for i in range(299)]  # 266 before the fix
    assert [(r.position, r.reason) for r in rejected] == [(300, "corrupt")]


def test_a_chunk_size_that_is_no_hex_number_does_not_hang(tmp_path: Path) -> None:
    # int("-ffff", 16) is a number: the position went back and the same line was read for ever
    import subprocess

    http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"-ffff\r\n<p>The ferry keeps running through the winter months.</p>\r\n0\r\n\r\n")
    path = _write_warc(tmp_path / "c.warc", [_warc_page(1, http), _warc(2)])
    code = ("import sys; from classifier.readers import RejectSink, read_any; "
            "print([d.url for d in read_any(sys.argv[1], RejectSink())])")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(["https://example.org/1", "https://example.org/2"])


def test_a_response_record_without_http_is_skipped_not_rejected(tmp_path: Path) -> None:
    dns = b"20240101000000\nexample.org.\t300\tIN\tA\t93.184.216.34\n"
    head = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:9>\r\nWARC-Target-URI: dns:example.org\r\n"
            b"Content-Type: text/dns\r\nContent-Length: %d\r\n\r\n") % len(dns)
    sink = RejectSink()
    found: list[Reject] = []
    sink.on_reject = found.append
    docs = list(read_any(_write_warc(tmp_path / "c.warc", [head + dns + b"\r\n\r\n", _warc(1)]), sink))
    assert [d.url for d in docs] == ["https://example.org/1"] and found == [] and sink.skipped == {"not_http": 1}
    # a response record that says it holds HTTP and does not is still malformed
    docs, rejected = _read(_write_warc(tmp_path / "d.warc", [_warc_page(2, b"no http here\r\n\r\n<p>x</p>")]))
    assert docs == [] and [r.reason for r in rejected] == ["malformed"]


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.zst"])
def test_a_content_length_shorter_than_the_record_is_one_reject_not_half_a_page(tmp_path: Path, name: str) -> None:
    # the page was cut at the length ("... The fer") and written, and what was left of it
    # was a reject of its own: 4 records read of 3
    short = _big_warc(2)
    length = int(re.search(rb"Content-Length: (\d+)", short).group(1))  # type: ignore[union-attr]
    short = short.replace(b"Content-Length: %d" % length, b"Content-Length: %d" % (length - 120))
    path = _write_warc(tmp_path / name, [_big_warc(1), short, _big_warc(3)])
    docs, rejected = _read(path)
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/3"]
    assert [(r.position, r.reason) for r in rejected] == [(2, "malformed")]
    assert "ends inside the record" in rejected[0].detail and rejected[0].warc["url"] == "https://example.org/2"
    # the last record of the file: rejected, and nothing after it is read
    path = _write_warc(tmp_path / f"last-{name}", [_big_warc(1), short])
    docs, rejected = _read(path)
    assert [d.url for d in docs] == ["https://example.org/1"] and [r.position for r in rejected] == [2]


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.zst", "-"])
@pytest.mark.parametrize("keep", [25, 60])
def test_a_warc_cut_in_its_last_records_first_lines_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           name: str, keep: int) -> None:
    # fastwarc ended quietly at a record cut in its first line or two: nothing was reported
    whole = b"".join([_warc(1), _warc(2)])
    cut = whole + _warc(3)[:keep]
    if name == "-":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(_Pipe(cut)))
        docs, rejected = _read("-", input_format="warc")
    else:
        import zstandard

        path = tmp_path / name
        path.write_bytes(zstandard.ZstdCompressor().compress(cut) if name.endswith(".zst") else cut)
        docs, rejected = _read(path)
    assert [d.url for d in docs] == ["https://example.org/1", "https://example.org/2"]
    assert [(r.position, r.reason) for r in rejected] == [(3, "truncated")], rejected
    # a whole file, and one with line breaks after its last record, say nothing
    (tmp_path / "whole.warc").write_bytes(whole + b"\r\n\n")
    assert _read(tmp_path / "whole.warc")[1] == []


def test_a_json_array_cut_before_its_closing_bracket_is_a_truncated_reject() -> None:
    for data, read in ((b"[", 0), (b'[{"id": 1, "text": "a"}', 1), (b'[{"id": 1, "text": "a"},\n', 1)):
        sink = RejectSink()
        docs = list(_read_jsonl_stream(io.BytesIO(data), "m.jsonl", sink, "text", 10_000))
        assert len(docs) == read and sink.counts == {"truncated": 1}, data
    sink = RejectSink()
    assert len(list(_read_jsonl_stream(io.BytesIO(b'[{"id": 1, "text": "a"}]'), "m.jsonl", sink, "text",
                                       10_000))) == 1 and sink.total == 0


@pytest.mark.parametrize(("head", "kind"), [
    (b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nstream\n", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
], ids=["pdf", "png"])
def test_a_pdf_or_an_image_saved_as_a_page_is_rejected_as_binary(tmp_path: Path, head: bytes, kind: str) -> None:
    # a PDF's header and streams were read as a page of one block of "%PDF-1.5 ... stream xœí"
    path = tmp_path / "report.html"
    path.write_bytes(head + b"x\x9c\xed\x9d some stream bytes\nendstream\nendobj\n" * 20)
    docs, rejected = _read(path)
    assert docs == [] and [(r.reason, r.detail) for r in rejected] == [("binary", f"not an HTML page: {kind}")]


def test_a_zstd_file_made_with_a_long_window_is_read(tmp_path: Path) -> None:
    # `zstd --long=31` on a stream writes frames that ask for a 2 GiB window: refused by
    # the library's default limit, they were rejected as damaged data
    import zstandard

    data = b"".join(_record(i) for i in range(500))
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31, enable_ldm=True)
    out = io.BytesIO()
    with zstandard.ZstdCompressor(compression_params=params).stream_writer(out, closefd=False) as w:
        w.write(data)
    assert zstandard.get_frame_parameters(out.getvalue()).window_size == 1 << 31
    (tmp_path / "long.jsonl.zst").write_bytes(out.getvalue())
    docs, rejected = _read(tmp_path / "long.jsonl.zst")
    assert rejected == [] and [d.id for d in docs] == [f"d{i}" for i in range(500)]


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst", ".warc.gz", ".txt.bz2", ".html.xz"])
def test_an_empty_compressed_file_is_a_truncated_reject(tmp_path: Path, suffix: str) -> None:
    # a failed download (0 bytes) was read as an empty shard, without a word
    path = tmp_path / f"part-0{suffix}"
    path.write_bytes(b"")
    docs, rejected = _read(path)
    assert docs == [] and [(r.position, r.reason) for r in rejected] == [(1, "truncated")]
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert _read(tmp_path / "empty.jsonl") == ([], [])  # an empty plain file holds no record: no reject


def test_a_stream_cut_inside_its_first_record_is_still_read_as_jsonl_or_warc(tmp_path: Path) -> None:
    # `split -n 3 corpus.jsonl` gives xaa, xab, xac: xab began with the tail of a record
    # and was read as one text document of raw JSON, 999 good records inside it (exit 0)
    lines = [json.dumps({"id": f"r{i}", "text": f"Story {i}: the ferry keeps running through the winter."}) + "\n"
             for i in range(40)]
    data = "".join(lines).encode()
    cut = data.index(lines[10].encode()) + 12  # inside record r10
    (tmp_path / "xaa").write_bytes(data[:cut])
    (tmp_path / "xab").write_bytes(data[cut:])
    first, first_rejects = _read(tmp_path / "xaa")
    second, second_rejects = _read(tmp_path / "xab")
    assert [d.id for d in first] == [f"r{i}" for i in range(10)] and [r.reason for r in first_rejects] == ["bad_json"]
    assert [d.id for d in second] == [f"r{i}" for i in range(11, 40)]
    assert [(r.position, r.reason) for r in second_rejects] == [(1, "bad_json")]  # the cut record's tail, said
    # a web page's record cut in its 100 kB html: the next record still shows where it begins
    pages = [json.dumps({"id": f"p{i}", "html": "<p>" + "word " * 20_000 + "</p>"}) + "\n" for i in range(3)]
    (tmp_path / "part-00001").write_bytes("".join(pages).encode()[len(pages[0]) // 2:])
    docs, rejects = _read(tmp_path / "part-00001")
    assert [d.id for d in docs] == ["p1", "p2"] and [r.reason for r in rejects] == ["bad_json"]
    # a first line that is a JSON value but no record, then records
    (tmp_path / "part-00000").write_bytes(b"[1, 2]\n" + data)
    docs, rejects = _read(tmp_path / "part-00000")
    assert len(docs) == 40 and [(r.position, r.reason) for r in rejects] == [(1, "bad_schema")] * 2  # 1 and 2
    # a WARC cut inside its first record: the records after the cut, the piece before them rejected
    warc = b"".join(_big_warc(i) for i in range(1, 6))
    (tmp_path / "tail-of-crawl").write_bytes(warc[200:])
    docs, rejects = _read(tmp_path / "tail-of-crawl")
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in range(2, 6)]
    assert [r.reason for r in rejects] == ["malformed"]
    # text that merely holds braces or a WARC line stays text
    (tmp_path / "notes").write_bytes(b"int main() {}\n{ return 0; }\nabout WARC/1.0 files\n")
    docs, rejects = _read(tmp_path / "notes")
    assert len(docs) == 1 and not rejects and docs[0].blocks[0].text.startswith("int main()")


def test_http_bodies_stored_decoded_or_with_lf_headers_keep_their_whole_page(tmp_path: Path) -> None:
    page = (b"<html><body>\n<h1>Ferry keeps running</h1>\r\n\r\n<p>The island ferry will run through the winter, "
            b"the council said on Tuesday after a long meeting.</p>\n</body></html>")
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    records = [
        # stored de-chunked (LF line ends), the chunked header kept: was emptied, "no_text"
        _warc_page(1, ok + b"Transfer-Encoding: chunked\r\n\r\n" + page),
        # minified on one line, the same
        _warc_page(2, ok + b"Transfer-Encoding: chunked\r\n\r\n" + page.replace(b"\n", b"").replace(b"\r", b"")),
        # an HTTP header with LF alone and a body holding a CRLF blank line: the page's top was cut
        _warc_page(3, b"HTTP/1.1 200 OK\nContent-Type: text/html\n\n" + page),
        # stored decoded, its gzip or deflate header kept: was a bad_encoding reject
        _warc_page(4, ok + b"Content-Encoding: gzip\r\n\r\n" + page),
        _warc_page(5, ok + b"Content-Encoding: deflate\r\n\r\n" + page),
        # chunks with LF line ends, and real chunks and gzip, as before
        _warc_page(6, ok + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\n%s\n0\n\n" % (len(page), page)),
        _warc_page(7, ok + b"Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
                   + b"%x\r\n%s\r\n0\r\n\r\n" % (len(z := gzip.compress(page, mtime=0)), z)),
    ]
    docs, rejects = _read(_write_warc(tmp_path / "bodies.warc", records))
    assert not rejects
    assert [d.url for d in docs] == [f"https://example.org/{i}" for i in range(1, 8)]
    for d in docs:
        assert [b.text for b in d.blocks][:2] == ["Ferry keeps running", "The island ferry will run through the "
                                                 "winter, the council said on Tuesday after a long meeting."], d.url
    # a body that is compressed and damaged is still said to be
    broken = _warc_page(8, ok + b"Content-Encoding: gzip\r\n\r\n" + gzip.compress(page, mtime=0)[:-30] + b"xx")
    docs, rejects = _read(_write_warc(tmp_path / "broken.warc", [broken]))
    assert not docs and [r.reason for r in rejects] == ["bad_encoding"]
    # stored decoded but not beginning with "<" (a BOM, UTF-16): was bad_encoding; a body of two
    # gzip members (gzip -c a b) was cut after the first without a word; a list naming one coding
    half = len(page) // 2
    more = [
        _warc_page(9, ok + b"Content-Encoding: gzip\r\n\r\n\xef\xbb\xbf" + page),
        _warc_page(10, ok + b"Content-Encoding: gzip\r\n\r\n" + page.decode().encode("utf-16")),
        _warc_page(11, ok + b"Content-Encoding: gzip\r\n\r\n" + gzip.compress(page[:half], mtime=0)
                   + gzip.compress(page[half:], mtime=0)),
        _warc_page(12, ok + b"Content-Encoding: gzip, identity\r\n\r\n" + gzip.compress(page, mtime=0)),
        # UTF-16 without its mark, as its header says: was "binary"
        _warc_page(13, ok.replace(b"text/html", b"text/html; charset=utf-16le") + b"\r\n"
                   + page.decode().encode("utf-16-le")),
    ]
    docs, rejects = _read(_write_warc(tmp_path / "more.warc", more))
    assert not rejects and [d.url for d in docs] == [f"https://example.org/{i}" for i in range(9, 14)]
    for d in docs:
        assert [b.text for b in d.blocks][:2] == ["Ferry keeps running", "The island ferry will run through the "
                                                 "winter, the council said on Tuesday after a long meeting."], d.url


def test_pages_that_are_json_or_hold_noframes_markup(tmp_path: Path) -> None:
    # an API's JSON served as text/html was kept as article text; <noframes> and <noembed>
    # came out as raw markup (libxml2 keeps them as text)
    (tmp_path / "api.html").write_text(json.dumps({"status": "ok", "data": [{"title": "Harbour reopens"}]}))
    docs, rejects = _read(tmp_path / "api.html")
    assert not docs and [(r.reason, r.detail) for r in rejects] == [("not_html", "the page is JSON, not HTML")]
    # the same answer in a JSONL record's html field was cut into blocks and kept as text
    api = json.dumps({"status": "ok", "data": [{"title": "Harbour reopens"}]})
    page = "<html><body><p>The harbour reopened on Tuesday after three weeks of repairs.</p></body></html>"
    lines = [{"id": "api", "html": api}, {"id": "list", "html": " [1, 2, 3]"}, {"id": "page", "html": page},
             {"id": "braces", "html": "{not json} <p>The harbour reopened on Tuesday after repairs.</p>"}]
    (tmp_path / "pages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    docs, rejects = _read(tmp_path / "pages.jsonl")
    assert [d.id for d in docs] == ["page", "braces"]
    assert [(r.reason, r.position, r.detail) for r in rejects] == [
        ("not_html", 1, "the 'html' field is JSON, not HTML"), ("not_html", 2, "the 'html' field is JSON, not HTML")]
    (tmp_path / "frames.html").write_text(
        "<html><frameset><frame src='m.html'><noframes><body><p>Old browsers: the harbour reopened on Tuesday."
        "</p></body></noframes></frameset><body><p>The harbour reopened on Tuesday after three weeks of repairs."
        "</p><noembed><p>No plug-in</p></noembed></body></html>")
    docs, rejects = _read(tmp_path / "frames.html")
    texts = [b.text for b in docs[0].blocks]
    assert not rejects and not any("<" in t for t in texts) and "No plug-in" not in " ".join(texts)
    # nor is "[" nested deeper than Python's decoder goes (a RecursionError failed the shard)
    (tmp_path / "deep.html").write_text("[" * 5000)
    assert [r.reason for r in _read(tmp_path / "deep.html")[1]] == ["no_text"]
    # text beginning with "[" that is no JSON is a page as before
    (tmp_path / "note.html").write_text("[Updated] <p>The harbour reopened on Tuesday after repairs.</p>")
    assert _read(tmp_path / "note.html")[0]


def test_a_file_is_decompressed_by_its_first_bytes_not_its_name(tmp_path: Path) -> None:
    # a plain or zstd file named .gz was one "corrupt" reject: all its records lost
    import zstandard

    lines = [json.dumps({"id": f"r{i}", "text": f"Story {i}: the ferry keeps running."}) + "\n" for i in range(20)]
    data = "".join(lines).encode()
    (tmp_path / "plain.jsonl.gz").write_bytes(data)
    (tmp_path / "zstd.jsonl.gz").write_bytes(zstandard.ZstdCompressor().compress(data))
    (tmp_path / "gzip.jsonl.zst").write_bytes(gzip.compress(data, mtime=0))
    for name in ("plain.jsonl.gz", "zstd.jsonl.gz", "gzip.jsonl.zst"):
        docs, rejects = _read(tmp_path / name)
        assert [d.id for d in docs] == [f"r{i}" for i in range(20)] and not rejects, name
    # damaged compressed data under its own name is still said to be damaged
    (tmp_path / "junk.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    docs, rejects = _read(tmp_path / "junk.jsonl.gz")
    assert not docs and [r.reason for r in rejects] == ["corrupt"]
    (tmp_path / "binary.jsonl.gz").write_bytes(bytes(range(256)) * 4)
    docs, rejects = _read(tmp_path / "binary.jsonl.gz")
    assert not docs and [r.reason for r in rejects] == ["corrupt"]


def test_a_byte_order_mark_at_the_start_of_any_line_is_no_part_of_its_record(tmp_path: Path) -> None:
    # `cat a.jsonl b.jsonl` of two files that each begin with a BOM: b's first record was bad_json
    a = b"\xef\xbb\xbf" + json.dumps({"id": "a1", "text": "The first file's story."}).encode() + b"\n"
    b = b"\xef\xbb\xbf" + json.dumps({"id": "b1", "text": "The second file's story."}).encode() + b"\n"
    (tmp_path / "both.jsonl").write_bytes(a + b)
    docs, rejects = _read(tmp_path / "both.jsonl")
    assert [d.id for d in docs] == ["a1", "b1"] and not rejects


def test_the_field_check_lets_a_run_with_failed_fetches_first_go_on(tmp_path: Path) -> None:
    from classifier.readers import missing_text_field

    failed = [{"id": f"f{i}", "url": f"https://example.org/{i}", "text": None} for i in range(100)]
    good = [{"id": f"g{i}", "url": f"https://example.org/g{i}", "text": "A story. " * 30} for i in range(20)]
    (tmp_path / "crawl.jsonl").write_text("".join(json.dumps(r) + "\n" for r in failed + good), encoding="utf-8")
    assert missing_text_field([str(tmp_path / "crawl.jsonl")]) is None
    # a null text beside another field that holds the text is still a wrong --text-field
    frame = [{"id": f"d{i}", "text": None, "raw_content": "A story of the island ferry. " * 20} for i in range(30)]
    (tmp_path / "frame.jsonl").write_text("".join(json.dumps(r) + "\n" for r in frame), encoding="utf-8")
    check = missing_text_field([str(tmp_path / "frame.jsonl")])
    assert check is not None and check.likely_text_field() == "raw_content"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_json_lines_saved_as_utf16_are_read_as_utf8_ones(tmp_path: Path, codec: str) -> None:
    # PowerShell's `>` writes UTF-16 with a BOM: 5 records gave 1 "binary" and 5 "bad_json" rejects
    from classifier.readers import sniff_format

    records = [{"id": f"r{i}", "text": f"Die Fähre fährt im Winter weiter, Geschichte {i}."} for i in range(5)]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in records)
    data = (b"\xfe\xff" + text.encode("utf-16-be")) if codec == "utf-16-be" else text.encode("utf-16")
    (tmp_path / "export.jsonl").write_bytes(data)
    docs, rejects = _read(tmp_path / "export.jsonl")
    assert [d.id for d in docs] == [f"r{i}" for i in range(5)] and not rejects
    assert docs[0].blocks[0].text == "Die Fähre fährt im Winter weiter, Geschichte 0."
    # a file without a name that says it, or standard input: its first bytes say JSON Lines
    assert sniff_format(data[:4096]) == "jsonl"
    (tmp_path / "part-00000").write_bytes(data)
    assert [d.id for d in _read(tmp_path / "part-00000")[0]] == [f"r{i}" for i in range(5)]
    # UTF-16 text stays text
    assert sniff_format("Une histoire de bac.\n".encode("utf-16")) == "text"


def test_pretty_printed_records_are_read_object_by_object(tmp_path: Path) -> None:
    # json.dump(record, indent=2) gave a bad_json reject per line (5 for 1 record)
    one = {"id": "p1", "text": "The island ferry keeps running through the winter."}
    (tmp_path / "one.json").write_text(json.dumps(one, indent=2) + "\n", encoding="utf-8")
    docs, rejects = _read(tmp_path / "one.json")
    assert [d.id for d in docs] == ["p1"] and not rejects
    # `jq . corpus.jsonl`: pretty objects one after another, one of them broken
    many = [{"id": f"q{i}", "text": f"Story {i} of the ferry."} for i in range(4)]
    pretty = [json.dumps(r, indent=2) for r in many]
    pretty[2] = pretty[2].replace('"text":', '"text"')  # no colon
    (tmp_path / "jq.json").write_text("\n".join(pretty) + "\n", encoding="utf-8")
    docs, rejects = _read(tmp_path / "jq.json")
    assert [d.id for d in docs] == ["q0", "q1", "q3"] and [r.reason for r in rejects] == ["bad_json"]
    # an object that wraps the records is one record without a text: one reject that says so
    wrapped = {"data": many}
    (tmp_path / "wrapped.json").write_text(json.dumps(wrapped, indent=2), encoding="utf-8")
    docs, rejects = _read(tmp_path / "wrapped.json")
    assert not docs and len(rejects) == 1 and rejects[0].reason == "bad_schema"


def test_the_reading_fixes_hold_on_what_a_review_tried(tmp_path: Path) -> None:
    from classifier.readers import missing_text_field, sniff_format

    # notes that quote a WARC record or a JSON object stay text (they were WARC, JSONL)
    (tmp_path / "notes.md").write_bytes(b"# Crawl notes\n\nA record begins:\n\nWARC/1.0\nWARC-Type: response\n")
    (tmp_path / "list").write_bytes(b"Shopping list [v2]\n{\"milk\": 2} is how my app writes it.\n")
    for name in ("notes.md", "list"):
        docs, rejects = _read(tmp_path / name)
        assert len(docs) == 1 and not rejects, name
    assert sniff_format(b"x\r\n\r\nWARC/1.0\r\nWARC-Type: response\r\n") == "warc"  # a cut WARC still is
    # a text field of the wrong type is still a wrong --text-field (not a failed fetch)
    (tmp_path / "lists.jsonl").write_text("".join(json.dumps({"id": i, "text": ["a", "b"]}) + "\n"
                                                  for i in range(50)), encoding="utf-8")
    assert missing_text_field([str(tmp_path / "lists.jsonl")]) is not None
    # records indented with a tab (jq --tab) or one space, the first one broken: the others read
    records = [{"id": f"p{i}", "blocks": [f"Paragraph one of story {i}.", f"Paragraph two of story {i}."]}
               for i in range(3)]
    for indent in ("\t", 1):
        pretty = [json.dumps(r, indent=indent) for r in records]
        pretty[0] = pretty[0].replace("Paragraph one", "Paragraph \\q one")  # an invalid escape
        (tmp_path / "pretty.json").write_text("\n".join(pretty) + "\n", encoding="utf-8")
        docs, rejects = _read(tmp_path / "pretty.json")
        assert [d.id for d in docs] == ["p1", "p2"] and [r.reason for r in rejects] == ["bad_json"], indent


def test_a_huge_pretty_printed_document_is_not_held_whole(tmp_path: Path) -> None:
    # a 200 MB indented JSON document (a dataset's one object) took 680 MB: the search for the
    # next object after the too-large one read the whole file into memory
    doc = {"version": "1", "data": [{"title": f"Article {i}", "paragraphs": [{"context": "words " * 40}]}
                                    for i in range(3000)]}
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    size = path.stat().st_size
    read_at_first_reject: list[int] = []
    with open(path, "rb") as stream:
        def note(reject: Reject) -> None:
            read_at_first_reject.append(stream.tell())

        sink = RejectSink(on_reject=note)
        docs = list(_read_jsonl_stream(stream, str(path), sink, "text", 20_000))
    assert not docs and sink.total >= 1 and size > 50 * 20_000
    assert read_at_first_reject[0] < 10 * 20_000  # said before a tenth of the file was read


def test_utf16_json_lines_cut_in_a_compressed_file_keep_every_whole_record(tmp_path: Path) -> None:
    records = [{"id": f"r{i}", "text": f"Die Fähre fährt im Winter weiter, Geschichte {i}."} for i in range(3000)]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-16")
    packed = gzip.compress(data, mtime=0)
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    readable = zlib.decompressobj(31).decompress(packed[: len(packed) // 2])
    whole = readable.decode("utf-16", "ignore").count("\n")
    docs, rejects = _read(tmp_path / "cut.jsonl.gz")
    assert [d.id for d in docs] == [f"r{i}" for i in range(whole)]
    assert [(r.position, r.reason) for r in rejects] == [(whole + 1, "truncated")]


def test_arrays_one_after_another_broken_first_objects_and_cut_positions(tmp_path: Path) -> None:
    # a file of a JSON array per line: each "]" started a nested reader, and the 330th or so
    # ended the shard in a RecursionError
    (tmp_path / "arrays.jsonl").write_bytes(b"".join(b"[" + _record(i).strip() + b"]\n" for i in range(1500)))
    docs, rejects = _read(tmp_path / "arrays.jsonl")
    assert [d.id for d in docs] == [f"d{i}" for i in range(1500)] and rejects == []
    # a broken object first on a line of an array written on one line: the objects after it
    # on that line were part of its reject
    (tmp_path / "one-line.json").write_bytes(b'[{"text": bad}, {"text": "good one"}, {"text": "good two"}]\n')
    docs, rejects = _read(tmp_path / "one-line.json")
    assert [b.text for d in docs for b in d.blocks] == ["good one", "good two"]
    assert [(r.position, r.reason, r.raw) for r in rejects] == [(1, "bad_json", b'{"text": bad}')]
    # ... and objects sharing a line are named apart (all were one-line.json:1)
    assert [d.id for d in docs] == ["one-line.json:1:2", "one-line.json:1:3"]
    # a cut inside an array is said at the line the cut is on, as for JSON Lines (it was one more)
    packed = gzip.compress(b'[\n{"text": "a"},\n{"text": "b"},\n', mtime=0)
    (tmp_path / "cut.json.gz").write_bytes(packed[:30])  # '[\n{"text": "a"},\n{"text": "b' comes out
    docs, rejects = _read(tmp_path / "cut.json.gz")
    assert [b.text for d in docs for b in d.blocks] == ["a"]
    assert [(r.position, r.reason) for r in rejects] == [(3, "truncated")]


def test_what_a_file_without_a_telling_name_holds_before_a_cut_says_its_format(tmp_path: Path) -> None:
    # the sniff read its first MB in one call, which a cut ended: nothing was kept, the file
    # was read as text, and its records were one reject
    data = gzip.compress(b"".join(_record(i) for i in range(200)), mtime=0)
    (tmp_path / "part-00000.gz").write_bytes(data[: len(data) * 2 // 3])
    docs, rejects = _read(tmp_path / "part-00000.gz")
    assert len(docs) > 100 and [d.id for d in docs] == [f"d{i}" for i in range(len(docs))]
    assert [(r.position, r.reason) for r in rejects] == [(len(docs) + 1, "truncated")]


def test_a_run_of_comments_is_sniffed_at_once() -> None:
    # each comment doubled the ways the page pattern tried to split them: 40 hung the reader
    import signal

    from classifier.readers import sniff_format

    def hung(signum: int, frame: object) -> None:
        raise AssertionError("sniff_format did not return within 30 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        assert sniff_format(b"<!---->" * 60 + b"hello") == "text"
        assert sniff_format(b"<!-- a --> <!-- b -->\n<!DOCTYPE html><html>") == "html"
        # a comment ends at its first "-->": what follows it is no page start
        assert sniff_format(b"<!-- a --> words --> <html>") == "text"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_compressed_text_file_under_a_plain_name_is_measured_decompressed(tmp_path: Path) -> None:
    # the limit went by the file's size when its name said no compression: the compressed size,
    # the reject's raw record gzip bytes
    rng = random.Random(3)
    text = " ".join(rng.choice(["harbour", "ferry", "council", "vote", "winter"]) + str(rng.randrange(99))
                    for _ in range(4000)).encode()
    (tmp_path / "story.txt").write_bytes(gzip.compress(text, mtime=0))
    assert 1000 < (tmp_path / "story.txt").stat().st_size < len(text)
    docs, rejects = _read(tmp_path / "story.txt", max_bytes=1000)
    assert docs == [] and [(r.reason, r.detail.split(" >")[0], r.raw) for r in rejects] == [
        ("too_large", f"{len(text)} bytes", text[:1000])]


def test_utf16_text_with_no_ascii_is_read_by_its_mark(tmp_path: Path) -> None:
    # without a NUL byte (no ASCII character) the mark was not looked at: bad_encoding
    (tmp_path / "zh.txt").write_bytes("中文测试段落。第二段文字。".encode("utf-16"))
    docs, rejects = _read(tmp_path / "zh.txt")
    assert rejects == [] and [b.text for b in docs[0].blocks] == ["中文测试段落。第二段文字。"]


def test_objects_sharing_a_line_across_arrays_have_distinct_ids(tmp_path: Path) -> None:
    # the count of a line's objects started again at each array, and at a record after "]"
    a = [{"text": f"Story {i}."} for i in range(3)]
    (tmp_path / "a.json").write_text(json.dumps(a[:2]) + " " + json.dumps(a[2:]) + "\n", encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(a[:1]) + " " + json.dumps(a[1]) + "\n" + json.dumps(a[2]) + "\n",
                                     encoding="utf-8")
    assert [d.id for d in _read(tmp_path / "a.json")[0]] == ["a.json:1", "a.json:1:2", "a.json:1:3"]
    docs, rejects = _read(tmp_path / "b.json")
    assert [d.id for d in docs] == ["b.json:1", "b.json:1:2", "b.json:2"] and rejects == []


def test_a_broken_object_whose_brackets_do_not_pair_keeps_the_next_one() -> None:
    from classifier.readers import _balanced_end

    text = '{"text": "x"]}, {"text": "good"}]'
    assert _balanced_end(text, 0, len(text)) is None  # not the "}" that closes nothing it opened
    assert _balanced_end('{"a": [1, {"b": "}"}]}, {}', 0, 26) == 22


def test_a_compressed_page_far_over_the_limit_is_not_read_to_its_end(tmp_path: Path) -> None:
    # a gzip bomb (a 5 MB file of 5 GB of spaces) was decompressed to its end to count its size:
    # 15 s a file, outside the page time limit; now counted to 4 times the limit, 64 MiB at least
    import zlib

    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = co.compress(b"<p>") + b"".join(co.compress(b" " * (1 << 20)) for _ in range(96)) + co.flush()
    (tmp_path / "bomb.html.gz").write_bytes(member)  # 96 MB inflated
    docs, rejected = _read(tmp_path / "bomb.html.gz", max_bytes=1 << 20)
    assert docs == [] and [r.reason for r in rejected] == ["too_large"]
    assert rejected[0].detail.startswith("more than 67108864 bytes > limit 1048576")
    (tmp_path / "big.txt.gz").write_bytes(gzip.compress(b"word " * 300_000))  # 1.5 MB: counted exactly
    (reject,) = _read(tmp_path / "big.txt.gz", max_bytes=1 << 20)[1]
    assert reject.detail.startswith("1500000 bytes > limit 1048576")


@pytest.mark.parametrize("kind", ["jsonl", "text", "array", "html", "warc", "http-body", "parquet"])
def test_a_too_large_reject_names_max_bytes_as_the_way_to_raise_the_limit(tmp_path: Path, kind: str) -> None:
    # "3451 bytes > limit 100" said what, not how to read such records
    import zlib

    page = b"<html><body><p>" + b"The ferry keeps running through the winter months. " * 40 + b"</p></body></html>"
    if kind == "jsonl":
        path = tmp_path / "a.jsonl"
        path.write_bytes(json.dumps({"id": "a", "text": "word " * 400}).encode() + b"\n")
    elif kind == "text":
        path = tmp_path / "a.txt"
        path.write_bytes(b"A sentence of the page. " * 100)
    elif kind == "array":
        path = tmp_path / "a.json"
        path.write_text(json.dumps([{"id": "a", "text": "word " * 400}], indent=2))
    elif kind == "html":
        path = tmp_path / "a.html"
        path.write_bytes(page)
    elif kind == "warc":
        path = _write_warc(tmp_path / "a.warc", [_warc(1)])
    elif kind == "parquet":
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        path = tmp_path / "a.parquet"
        pq.write_table(pa.Table.from_pydict({"id": ["a"], "text": ["word " * 400]}), path)
    else:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        body = packer.compress(page) + packer.flush()
        http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n" + body
        assert len(_warc_page(1, http)) < 1000 < len(page)
        path = _write_warc(tmp_path / "b.warc", [_warc_page(1, http)])
    docs, rejected = _read(path, max_bytes=100 if kind in ("warc",) else 1000)
    assert docs == [] and [r.reason for r in rejected] == ["too_large"]
    assert "--max-bytes raises it" in rejected[0].detail, rejected[0].detail


def test_a_page_with_a_stray_nul_byte_is_read_and_binary_starting_with_a_tag_is_not(tmp_path: Path) -> None:
    # one NUL in the first 4 KB of a page rejected it whole as "binary data", while a NUL
    # further on was read; it is no character of the text (browsers ignore it in a page's body)
    para = "<p>The ferry keeps running through the winter months, the council said.</p>"
    page = f"<!DOCTYPE html><html><body>{para}<p>te\x00xt</p>{para}</body></html>"
    (tmp_path / "nul.html").write_bytes(page.encode())
    (tmp_path / "pages.jsonl").write_text(json.dumps({"id": "p", "html": page}) + "\n", encoding="utf-8")
    for name in ("nul.html", "pages.jsonl"):
        docs, rejected = _read(tmp_path / name)
        assert rejected == [] and [b.text for b in docs[0].blocks][1] == "text", name
    # bytes with NULs that begin as markup but are mostly control characters stay binary
    rng = random.Random(3)
    (tmp_path / "noise.html").write_bytes(b"<" + bytes(rng.randrange(256) for _ in range(8000)))
    (tmp_path / "nuls.html").write_bytes(b"<html>" + b"\x00\x01 abc" * 500)
    for name in ("noise.html", "nuls.html"):
        docs, rejected = _read(tmp_path / name)
        assert docs == [] and [r.reason for r in rejected] == ["binary"], name


def test_a_page_cut_short_says_so_in_its_record(tmp_path: Path) -> None:
    # a chunked body without its last chunk was labelled as a whole page, without a word;
    # Common Crawl marks bodies it cut at 1 MiB with WARC-Truncated, which was not read
    paragraph = b"<p>The ferry keeps running through the winter months, the port authority said.</p>"
    chunked = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
    whole = chunked + b"%x\r\n%s\r\n0\r\n\r\n" % (len(paragraph), paragraph)
    cut = chunked + b"%x\r\n%s\r\n" % (len(paragraph), paragraph)
    marked = _warc_page(4, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + paragraph).replace(
        b"WARC-Type: response\r\n", b"WARC-Type: response\r\nWARC-Truncated: length\r\n")
    path = _write_warc(tmp_path / "c.warc", [_warc_page(1, whole), _warc_page(2, cut), _warc(3), marked])
    sink = RejectSink()
    docs = list(read_any(path, sink))
    assert sink.total == 0
    assert [(d.url, d.extra.get("truncated")) for d in docs] == [
        ("https://example.org/1", None), ("https://example.org/2", "chunked_body"),
        ("https://example.org/3", None), ("https://example.org/4", "length")]
    assert docs[0].blocks == docs[1].blocks  # the part there is read as before


def _read_warc_named(name: str, data: bytes, tmp_path: Path, sink: RejectSink) -> list:
    """The documents of WARC ``data`` given as the file ``name`` (``-``: piped to standard input)."""
    if name == "-":
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(sys, "stdin", io.TextIOWrapper(_Pipe(data)))
            return list(read_any("-", sink, input_format="warc"))
    (tmp_path / name).write_bytes(data)
    return list(read_any(tmp_path / name, sink))


def test_a_null_text_beside_a_page_in_html_is_read_as_the_page_as_in_parquet(tmp_path: Path) -> None:
    # a dataframe's export has every column in every row: a null text, blocks or html is no field
    page = "<html><body><article><p>The ferry keeps running through the winter months.</p></article></body></html>"
    path = tmp_path / "frame.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (
        {"id": "page", "text": None, "html": page},
        {"id": "blocks", "blocks": None, "text": "A paragraph of the story."},
        {"id": "none", "text": None, "html": None},
    )), encoding="utf-8")
    docs, rejected = _read(path)
    assert [(d.id, d.read_from) for d in docs] == [("page", "html"), ("blocks", "text")]
    assert docs[0].texts == ["The ferry keeps running through the winter months."]
    assert "text" not in docs[0].extra and "blocks" not in docs[1].extra  # a null field is no field
    assert [(r.position, r.reason, r.detail) for r in rejected] == [
        (3, "bad_schema", "no text: text, html null in this record")]
    from classifier.document import Document  # the library reads a record so too
    assert Document.from_dict({"text": None, "html": page}).read_from == "html"

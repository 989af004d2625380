"""Parquet input (classifier/parquet.py): rows read as JSON Lines records are, through
the real command line, with the shipped models; bad files as rejects."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from classifier.cli import cli
from classifier.readers import Reject, RejectSink, read_any

STORY = [
    "Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter months, "
    "after a campaign that lasted most of the year.",
    "The vote passed by 412 votes to 158, the highest turnout the island has seen in a decade, and the council "
    "said it would find the money in next year's budget.",
]
GERMAN = ("Die Gemeinde Port Aldwin hat am Dienstag beschlossen, die Fähre auch im Winter fahren zu lassen. "
          "Die Abstimmung war knapp, aber die Beteiligung war so hoch wie seit Jahren nicht mehr.")


def _rows() -> dict[str, list]:
    return {
        "text": ["\n\n".join(STORY), GERMAN, None, "\n\n".join(reversed(STORY))],
        "id": ["a", None, "c", "d"],
        "url": ["https://news.example/a", "https://news.example/b", None, "https://news.example/d"],
        "date": [dt.datetime(2024, 3, 1, 12, 30), None, dt.datetime(2024, 3, 2), dt.datetime(2024, 3, 3)],
        "score": [0.98, float("nan"), 0.5, 0.9],
    }


def _write(path: Path, columns: dict[str, list], **kw: object) -> Path:
    pq.write_table(pa.table(columns), path, **kw)
    return path


def _shard(out: Path, name: str) -> list[dict]:
    with gzip.open(out / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _rejects(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_clean_reads_a_parquet_shard_as_records(runner: CliRunner, shipped_model_dir: Path, tmp_path: Path) -> None:
    shard = _write(tmp_path / "part-0001.parquet", _rows(), row_group_size=2)
    out = tmp_path / "out"
    result = runner.invoke(cli, ["clean", str(shard), "-o", str(out), "--model-dir", str(shipped_model_dir)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "_report.json").read_text())
    assert report["read"] == 4 == report["written"] + sum(report["dropped"].values()) + sum(report["rejected"].values())
    records = {r["id"]: r for r in _shard(out, "part-0001")}
    assert set(records) == {"a", "part-0001.parquet:2", "d"}  # a null id: named by its row, as a JSONL line
    a = records["a"]
    assert a["text"] == "\n\n".join(STORY) and a["metadata"]["lang"] == "en"
    assert a["metadata"]["url"] == "https://news.example/a"
    assert a["metadata"]["date"] == "2024-03-01T12:30:00.000000" and a["metadata"]["score"] == 0.98
    assert records["part-0001.parquet:2"]["metadata"]["lang"] == "de"
    assert records["part-0001.parquet:2"]["metadata"]["score"] is None  # NaN is no JSON
    [reject] = _rejects(out / "part-0001.rejects.jsonl")
    assert (reject["position"], reject["reason"]) == (3, "bad_schema")
    assert "text null" in reject["detail"]
    assert json.loads(reject["raw"])["date"] == "2024-03-02T00:00:00.000000"


def test_a_row_reads_as_the_same_record_in_json_lines(runner: CliRunner, shipped_model_dir: Path,
                                                      tmp_path: Path) -> None:
    # blocks as a list of structs: a struct field a block leaves out is null in a table,
    # no field (a label only some blocks have is gold only for those)
    records = [
        {"id": "p1", "url": "https://news.example/p1", "blocks": [
            {"text": "Home | News | Sport | Weather", "label": "navigation"},
            {"text": STORY[0]}, {"text": STORY[1], "label": "content"}]},
        {"id": "p2", "text": GERMAN, "url": "https://news.example/p2"},
    ]
    jsonl = tmp_path / "same.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    parquet = tmp_path / "same.parquet"
    pq.write_table(pa.table({key: [r.get(key) for r in records] for key in ("id", "url", "blocks", "text")}),
                   parquet)
    assert list(read_any(parquet, RejectSink())) == list(read_any(jsonl, RejectSink()))
    for command in ("score", "evaluate"):  # evaluate: the gold labels (labelled data read as Parquet too)
        outs = []
        for path in (jsonl, parquet):
            result = runner.invoke(cli, [command, str(path), "--model-dir", str(shipped_model_dir), "--json"]
                                   if command == "evaluate" else [command, str(path), "--model-dir",
                                                                  str(shipped_model_dir)])
            assert result.exit_code == 0, result.output
            outs.append(result.stdout)
        assert outs[0] == outs[1]
    assert json.loads(outs[0])["blocks"] == 2  # the labelled ones


def test_pages_stored_as_bytes_are_decoded_as_page_files(runner: CliRunner, shipped_model_dir: Path,
                                                         tmp_path: Path) -> None:
    page = ("<html><head><meta charset='windows-1252'><title>Caf\u00e9 opens</title></head><body>"
            "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav><article><h1>Caf\u00e9 opens</h1>"
            f"<p>The caf\u00e9 on the quay opened on Monday. {STORY[0]}</p><p>{STORY[1]}</p></article></body></html>")
    shard = _write(tmp_path / "pages.parquet", {"html": [page.encode("cp1252")], "url": ["https://news.example/c"]})
    result = runner.invoke(cli, ["clean", str(shard), "--format", "text", "--model-dir", str(shipped_model_dir)])
    assert result.exit_code == 0, result.output
    assert "The caf\u00e9 on the quay opened on Monday." in result.stdout
    assert "Home" not in result.stdout.split("\n", 3)[-1]



def _damage_row_group(data: bytearray, group: int) -> None:
    """Overwrite the middle of the first column chunk of row group ``group`` of the Parquet
    file ``data`` (its header and footer intact): that group cannot be decoded."""
    import pyarrow.parquet as pq

    column = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(group).column(0)
    start = column.dictionary_page_offset or column.data_page_offset
    data[start + 20:start + column.total_compressed_size - 4] = b"\xab" * (column.total_compressed_size - 24)

def test_a_damaged_row_group_is_one_reject_and_the_others_are_read(tmp_path: Path) -> None:
    texts = [f"Paragraph {i} of a story about the harbour, long enough to be a paragraph." for i in range(9)]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": texts, "id": [f"d{i}" for i in range(9)]}), buffer, row_group_size=3)
    data = bytearray(buffer.getvalue())
    _damage_row_group(data, 1)
    path = tmp_path / "damaged.parquet"
    path.write_bytes(bytes(data))
    rejects: list[Reject] = []
    sink = RejectSink(on_reject=rejects.append)
    ids = [doc.id for doc in read_any(path, sink)]
    assert ids == ["d0", "d1", "d2", "d6", "d7", "d8"]
    [reject] = rejects
    assert (reject.position, reject.reason) == (4, "corrupt")
    assert "row group 2 of 3" in reject.detail and "rows 4-6" in reject.detail


def test_a_cut_or_false_parquet_file_is_one_reject(tmp_path: Path) -> None:
    whole = _write(tmp_path / "whole.parquet", _rows())
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(whole.read_bytes()[:-100])
    false = tmp_path / "notes.parquet"
    false.write_text("these are notes, not a table\n", encoding="utf-8")
    for path, reason in ((cut, "truncated"), (false, "corrupt")):
        rejects: list[Reject] = []
        sink = RejectSink(on_reject=rejects.append)
        assert list(read_any(path, sink)) == []
        assert [(r.position, r.reason) for r in rejects] == [(1, reason)]


def test_too_large_rows_and_text_that_is_no_utf8(tmp_path: Path) -> None:
    shard = _write(tmp_path / "sizes.parquet", {"text": [b"a" * 5000, "\u00e9" * 1500, b"ok \xff text", STORY[0]]})
    rejects: list[Reject] = []
    sink = RejectSink(on_reject=rejects.append)
    docs = list(read_any(shard, sink, max_bytes=2000))
    assert [d.id for d in docs] == ["sizes.parquet:4"]
    assert [(r.position, r.reason) for r in rejects] == [(1, "too_large"), (2, "too_large"), (3, "bad_encoding")]
    assert "3000 bytes" in rejects[1].detail  # UTF-8 bytes, not characters


def test_parquet_is_found_by_its_first_bytes_and_read_from_standard_input(
        tmp_path: Path, sieve_executable: str, shipped_model_dir: Path) -> None:
    shard = _write(tmp_path / "part-00000", _rows())  # Spark's name: no extension
    compressed = tmp_path / "rows.parquet.gz"
    compressed.write_bytes(gzip.compress(shard.read_bytes()))
    for path in (shard, compressed):
        rejects: list[Reject] = []
        sink = RejectSink(on_reject=rejects.append)
        assert [d.id for d in read_any(path, sink)] == ["a", f"{path.name}:2", "d"]
    args = [sieve_executable, "clean", "-", "--model-dir", str(shipped_model_dir)]
    piped = subprocess.run(args, input=shard.read_bytes(), capture_output=True, check=False)
    assert piped.returncode == 0, piped.stderr
    ids = [json.loads(line)["id"] for line in piped.stdout.decode().splitlines()]
    assert ids == ["a", "-:2", "d"]  # rows named by their source, as stdin's lines are
    assert b"1 rejected (bad_schema: 1)" in piped.stderr


def test_a_wrong_text_field_is_refused_before_the_run(runner: CliRunner, shipped_model_dir: Path,
                                                      tmp_path: Path) -> None:
    shard = _write(tmp_path / "redpajama.parquet", {"raw_content": ["\n\n".join(STORY)] * 3, "url": ["u"] * 3})
    result = runner.invoke(cli, ["clean", str(shard), "-o", str(tmp_path / "out"),
                                 "--model-dir", str(shipped_model_dir)])
    assert result.exit_code == 2
    assert "--text-field raw_content?" in result.output
    assert not (tmp_path / "out").exists()


def test_without_pyarrow_the_run_says_how_to_install_it(runner: CliRunner, shipped_model_dir: Path,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shard = _write(tmp_path / "rows.parquet", _rows())
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    for args in (["clean", str(shard), "-o", str(tmp_path / "out")], ["score", str(shard)]):
        result = runner.invoke(cli, [*args, "--model-dir", str(shipped_model_dir)])
        assert result.exit_code == 1, result.output
        assert "pip install 'sieve-corpus[parquet]'" in result.output
        assert "Traceback" not in result.output


def test_values_python_cannot_hold_are_written_as_text_not_lost(tmp_path: Path) -> None:
    # pandas writes timestamps in nanoseconds, which Python's datetime cannot hold: the whole
    # row group was one "corrupt" reject; a date past the year 9999 crashed the run
    shard = _write(tmp_path / "times.parquet", {
        "text": [STORY[0]] * 3,
        "ts": pa.array([1_700_000_000_123_456_789, None, 0], pa.timestamp("ns")),
        "zoned": pa.array([1_700_000_000_000_000] * 3, pa.timestamp("us", tz="Europe/Berlin")),
        "day": pa.array([10**8, 0, 19_000], pa.date32()),
        "took": pa.array([1500, 0, None], pa.duration("ms")),
        "tags": pa.array([[(1, "a")], [], None], pa.map_(pa.int32(), pa.string())),
        "meta": pa.array([{"score": float("nan"), "source": None}] * 3,
                         pa.struct([("score", pa.float64()), ("source", pa.string())])),
    })
    rejects: list[Reject] = []
    docs = list(read_any(shard, RejectSink(on_reject=rejects.append)))
    assert rejects == [] and len(docs) == 3
    first = docs[0].extra
    assert first["ts"] == "2023-11-14T22:13:20.123456789" and docs[1].extra["ts"] is None
    assert first["zoned"] == "2023-11-14T23:13:20.000000+01:00"
    assert docs[2].extra["day"] == "2022-01-08" and isinstance(first["day"], str)
    assert first["took"] == 1.5
    assert first["tags"] == {"1": "a"} and docs[1].extra["tags"] == {}  # a map is an object, empty or not
    assert first["meta"] == {"score": None, "source": None}  # metadata keeps its keys in every row
    json.dumps([d.extra for d in docs], allow_nan=False)  # all of it JSON


def test_a_row_that_cannot_be_read_is_one_reject_and_its_row_group_is_read(tmp_path: Path) -> None:
    # one string that is no UTF-8 (in any column) lost the whole row group
    url = pa.array([b"https://news.example/%d" % i for i in range(9)] + [b"https://news.example/\xff"],
                   pa.binary()).view(pa.string())
    shard = _write(tmp_path / "urls.parquet", {"text": [STORY[0]] * 10, "id": [str(i) for i in range(10)],
                                               "url": url})
    rejects: list[Reject] = []
    docs = list(read_any(shard, RejectSink(on_reject=rejects.append)))
    assert [d.id for d in docs] == [str(i) for i in range(9)]
    assert [(r.position, r.reason) for r in rejects] == [(10, "bad_encoding")]


def test_text_in_bytes_is_utf8_or_a_reject_and_a_page_in_bytes_is_decoded(runner: CliRunner, shipped_model_dir: Path,
                                                                          tmp_path: Path) -> None:
    latin = f"R\u00e9sidents. {STORY[0]}"
    page = f"<html><meta charset=windows-1252><body><p>Caf\u00e9 news. {STORY[0]} {STORY[1]}</p></body></html>"
    shard = _write(tmp_path / "bytes.parquet", {
        "id": ["blocks", "second", "page"],
        "blocks": pa.array([[latin.encode("latin-1"), latin.encode()], None, None], pa.list_(pa.binary())),
        "text": pa.array([None, None, None], pa.string()),
        "body": pa.array([None, latin.encode("latin-1"), None], pa.binary()),
        "html": pa.array([None, None, page.encode("cp1252")], pa.binary()),
    })
    rejects: list[Reject] = []
    docs = list(read_any(shard, RejectSink(on_reject=rejects.append), text_field="text,body"))
    # base64 of the bytes was the text a model read
    assert [(r.position, r.reason) for r in rejects] == [(1, "bad_encoding"), (2, "bad_encoding")]
    [page_doc] = docs
    assert page_doc.id == "page" and page_doc.blocks[0].text.startswith("Caf\u00e9 news.")


def test_parquet_read_through_jsonl_names_and_pipes(tmp_path: Path, sieve_executable: str,
                                                    shipped_model_dir: Path) -> None:
    shard = _write(tmp_path / "rows.parquet", _rows())
    named = tmp_path / "rows.jsonl.gz"  # gzip of a Parquet file under a JSON Lines name
    named.write_bytes(gzip.compress(shard.read_bytes()))
    assert [d.id for d in read_any(named, RejectSink())] == ["a", "rows.jsonl.gz:2", "d"]
    args = [sieve_executable, "score", "-", "--input-format", "jsonl", "--model-dir", str(shipped_model_dir)]
    piped = subprocess.run(args, input=shard.read_bytes(), capture_output=True, check=False)
    assert piped.returncode == 0, piped.stderr  # it was a bad_json reject for every line of its bytes
    assert [json.loads(line)["id"] for line in piped.stdout.decode().splitlines()] == ["a", "-:2", "d"]


def test_without_pyarrow_a_folder_with_parquet_stops_before_any_shard(runner: CliRunner, shipped_model_dir: Path,
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps({"text": STORY[0]}) + "\n", encoding="utf-8")
    _write(folder / "b.parquet", _rows())
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    result = runner.invoke(cli, ["clean", str(folder), "-o", str(tmp_path / "out"), "--workers", "1",
                                 "--model-dir", str(shipped_model_dir)])
    assert result.exit_code == 1 and "pip install 'sieve-corpus[parquet]'" in result.output
    assert not (tmp_path / "out").exists()  # shard a was cleaned first, then b failed


# -- Parquet output: clean --format parquet ----------------------------------------------

def _jsonl_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    records = [{"id": "a", "url": "https://news.example/a", "crawl": {"dump": "2024-10", "n": 3},
                "text": "\n\n".join([*STORY, GERMAN])},
               {"id": "b", "publisher": "Paper", "text": "\n\n".join(reversed(STORY))},
               {"id": "c", "text": "Home | News | Sport"},  # dropped: no content
               {"id": "d", "text": GERMAN}]
    (folder / "news.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (folder / "empty.jsonl").write_text("{not json\n", encoding="utf-8")  # a shard that writes no record
    return folder


def test_parquet_output_holds_the_jsonl_records_and_is_the_same_for_any_workers(
        runner: CliRunner, shipped_model_dir: Path, tmp_path: Path, sieve_executable: str) -> None:
    src = _jsonl_corpus(tmp_path / "in")
    base = ["--model-dir", str(shipped_model_dir), "--min-chars", "20"]
    jsonl = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "jsonl"), "--workers", "1", *base])
    assert jsonl.exit_code == 0, jsonl.stderr
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"pq{workers}"
        proc = subprocess.run([sieve_executable, "clean", str(src), "-o", str(out), "--format", "parquet",
                               "--workers", workers, *base], capture_output=True, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()
        outs.append(out)
    assert sorted(p.name for p in outs[0].iterdir()) == sorted(p.name for p in outs[1].iterdir())
    for name in ("news.parquet", "empty.parquet"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    table = pq.read_table(outs[0] / "news.parquet")
    assert table.schema.names == ["id", "text", "source", "added", "created", "url", "publisher", "lang", "lang_score",
                                  "script", "metadata"]
    assert pq.ParquetFile(outs[0] / "news.parquet").metadata.row_group(0).column(1).compression == "ZSTD"
    rows = table.to_pylist()
    with gzip.open(tmp_path / "jsonl" / "news.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    assert len(rows) == len(records) == 3
    for row, rec in zip(rows, records):
        assert {k: row[k] for k in ("id", "text", "source")} == {k: rec[k] for k in ("id", "text", "source")}
        assert json.loads(row["metadata"]) == rec["metadata"]  # the whole object, as JSON text
        assert all(row[k] == rec["metadata"][k] for k in ("url", "publisher", "lang", "lang_score", "script"))
        assert row["script"] == "Latn"
    assert rows[0]["url"] == "https://news.example/a" and json.loads(rows[0]["metadata"])["crawl"]["n"] == 3
    assert rows[1]["publisher"] == "Paper" and rows[2]["lang"] == "de"
    empty = pq.read_table(outs[0] / "empty.parquet")  # a shard without records is a valid, empty file
    assert empty.num_rows == 0 and empty.schema == table.schema
    report = json.loads((outs[0] / "_report.json").read_text(encoding="utf-8"))
    assert report["read"] == 5 and report["written"] == 3 and report["dropped"] == {"no_content": 1}
    # the output is an input again: Sieve reads its rows
    again = runner.invoke(cli, ["score", str(outs[0] / "news.parquet"), "--model-dir", str(shipped_model_dir)])
    assert again.exit_code == 0 and len(again.stdout.splitlines()) == 3, again.stderr


def test_parquet_output_reruns_splits_and_annotates(runner: CliRunner, shipped_model_dir: Path,
                                                     tmp_path: Path) -> None:
    src = _jsonl_corpus(tmp_path / "in") / "news.jsonl"
    out = tmp_path / "out"
    base = [str(src), "-o", str(out), "--workers", "1", "--model-dir", str(shipped_model_dir), "--min-chars", "20"]
    first = runner.invoke(cli, ["clean", *base, "--format", "parquet"])
    assert first.exit_code == 0, first.stderr
    rerun = runner.invoke(cli, ["clean", *base, "--format", "parquet"])
    assert rerun.exit_code == 0 and "(1 finished before)" in rerun.stderr
    other = runner.invoke(cli, ["clean", *base])
    assert other.exit_code == 1 and "--format was parquet, now jsonl" in other.stderr, other.stderr
    split = runner.invoke(cli, ["clean", *base, "--format", "parquet", "--split-by-language", "--overwrite"])
    assert split.exit_code == 0, split.stderr
    assert sorted(p.name for p in out.glob("*.parquet")) == ["news.de.parquet", "news.en.parquet"]
    assert {r["lang"] for r in pq.read_table(out / "news.de.parquet").to_pylist()} == {"de"}
    annotated = runner.invoke(cli, ["clean", *base, "--format", "parquet", "--annotate", "--overwrite"])
    assert annotated.exit_code == 0, annotated.stderr
    assert sorted(p.name for p in out.glob("*.parquet")) == ["news.parquet"]  # the split files went
    rows = pq.read_table(out / "news.parquet").to_pylist()
    blocks = json.loads(rows[0]["blocks"])
    assert [b["text"] for b in blocks] == [*STORY, GERMAN] and [b["kept"] for b in blocks] == [True, True, False]
    back = runner.invoke(cli, ["clean", *base, "--overwrite"])  # redone as JSONL: the Parquet file goes
    assert back.exit_code == 0 and not list(out.glob("*.parquet")) and (out / "news.jsonl.gz").is_file()


def test_parquet_output_refuses_streams_and_compression(runner: CliRunner, shipped_model_dir: Path,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _jsonl_corpus(tmp_path / "in") / "news.jsonl"
    model = ["--model-dir", str(shipped_model_dir)]
    stdin = runner.invoke(cli, ["clean", "-", "--format", "parquet", *model], input=src.read_bytes())
    assert stdin.exit_code == 2 and "cannot stream to standard output" in stdin.stderr
    squeezed = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "o"), "--format", "parquet",
                                   "--compression", "zst", *model])
    assert squeezed.exit_code == 2 and "drop --compression" in squeezed.stderr
    no_dir = runner.invoke(cli, ["clean", str(src), "--format", "parquet", *model])
    assert no_dir.exit_code == 2 and "-o OUTPUT_DIR" in no_dir.stderr
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    missing = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "o"), "--format", "parquet", *model])
    assert missing.exit_code == 1 and "--format parquet needs pyarrow" in missing.stderr, missing.stderr
    assert not (tmp_path / "o").exists()  # before any work


def test_a_parquet_output_that_fails_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from classifier import writers

    monkeypatch.setattr(writers, "PARQUET_GROUP_ROWS", 2)  # row groups of 2 rows: 3 groups for 5 records
    records = [{"id": str(i), "text": f"text {i}", "source": "s", "metadata": {"lang": "en", "lang_score": 0.5}}
               for i in range(5)]
    path = tmp_path / "x.parquet"
    with writers.output_writer(path) as w:
        for r in records:
            w.write(r)
    assert pq.ParquetFile(path).num_row_groups == 3 and pq.read_table(path).column("id").to_pylist() == list("01234")
    with pytest.raises(RuntimeError), writers.output_writer(tmp_path / "y.parquet") as w:
        for r in records:
            w.write(r)
        raise RuntimeError("stopped")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.parquet"]  # no y.parquet, no .part


def test_parquet_output_takes_ids_and_sources_that_are_numbers(runner: CliRunner, shipped_model_dir: Path,
                                                               tmp_path: Path) -> None:
    # Dolma's `source` stays at the top level as the input gave it: a number failed the shard
    src = tmp_path / "num.jsonl"
    src.write_text(json.dumps({"id": 5, "source": 7, "text": STORY[0]}) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "out"), "--format", "parquet",
                                 "--model-dir", str(shipped_model_dir), "--min-chars", "10"])
    assert result.exit_code == 0, result.stderr
    (row,) = pq.read_table(tmp_path / "out" / "num.parquet").to_pylist()
    assert row["id"] == "5" and row["source"] == "7" and row["text"] == STORY[0]


def test_parquet_output_keeps_dolma_fields_and_reads_back_as_jsonl_does(runner: CliRunner, shipped_model_dir: Path,
                                                                        tmp_path: Path) -> None:
    # Dolma's added and created were lost; Sieve's own Parquet cleaned again nested its metadata
    # as a string (metadata.metadata) where JSON lines merge it
    src = tmp_path / "dolma.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "\n\n".join(STORY), "source": "cc-2024", "added": "2024-01-01",
                               "created": "2023-12-31", "score": 7}) + "\n", encoding="utf-8")
    model = ["--model-dir", str(shipped_model_dir), "--min-chars", "20"]
    assert runner.invoke(cli, ["clean", str(src), "-o", str(tmp_path / "p1"), "--format", "parquet", *model]) \
        .exit_code == 0
    (row,) = pq.read_table(tmp_path / "p1" / "dolma.parquet").to_pylist()
    assert (row["source"], row["added"], row["created"]) == ("cc-2024", "2024-01-01", "2023-12-31")
    again = runner.invoke(cli, ["clean", str(tmp_path / "p1" / "dolma.parquet"), "-o", str(tmp_path / "j2"), *model])
    assert again.exit_code == 0, again.stderr
    with gzip.open(tmp_path / "j2" / "dolma.jsonl.gz", "rt", encoding="utf-8") as f:
        (rec,) = [json.loads(line) for line in f]
    assert rec["metadata"]["score"] == 7 and "metadata" not in rec["metadata"]
    # annotated, its blocks (JSON text) are read back as blocks; a row's null added/created is no field
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"id": "b", "text": "\n\n".join(STORY)}) + "\n", encoding="utf-8")
    for name, extra in (("dolma", ["--annotate"]), ("plain", [])):
        src_file = src if name == "dolma" else plain
        out = tmp_path / f"{name}-pq"
        assert runner.invoke(cli, ["clean", str(src_file), "-o", str(out), "--format", "parquet", *extra, *model]) \
            .exit_code == 0
        back = runner.invoke(cli, ["clean", str(out / f"{name}.parquet"), "-o", str(tmp_path / f"{name}-back"),
                                   *model])
        assert back.exit_code == 0 and "1 written" in back.stderr, back.stderr
        with gzip.open(tmp_path / f"{name}-back" / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            (rec,) = [json.loads(line) for line in f]
        assert ("added" in rec) is (name == "dolma") and rec["text"].startswith(STORY[0][:40])


def test_a_parquet_output_on_a_full_disk_says_so_and_leaves_nothing(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from classifier import writers

    class Full(io.FileIO):
        def write(self, data: bytes) -> int:  # type: ignore[override]
            if self.tell() + len(data) > 2000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)

    monkeypatch.setattr(writers, "PARQUET_GROUP_ROWS", 5)
    monkeypatch.setattr(writers, "open", lambda path, mode: Full(path, mode.replace("b", "")), raising=False)
    unraisable: list = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    records = [{"id": str(i), "text": f"text {i} " * 40, "source": "s", "metadata": {}} for i in range(40)]
    with pytest.raises(OSError) as err, writers.output_writer(tmp_path / "x.parquet") as w:
        for r in records:
            w.write(r)
    assert err.value.errno == errno.ENOSPC and err.value.filename is not None  # not Arrow's "closed file"
    import gc

    gc.collect()
    assert unraisable == [] and list(tmp_path.iterdir()) == []


def test_parquet_files_whose_names_are_not_utf8_are_read(tmp_path: Path) -> None:
    import os

    if sys.platform in ("win32", "darwin"):
        pytest.skip("file names there are Unicode")
    name = os.fsencode(tmp_path) + b"/caf\xe9.parquet"
    pq.write_table(pa.Table.from_pydict({"id": ["a"], "text": ["\n\n".join(STORY)]}), tmp_path / "plain.parquet")
    os.rename(tmp_path / "plain.parquet", name)
    sink = RejectSink()
    docs = list(read_any(os.fsdecode(name), sink))
    assert sink.total == 0 and [d.id for d in docs] == ["a"]


def test_other_commands_refuse_a_parquet_name_for_their_json_lines(runner: CliRunner, shipped_model_dir: Path,
                                                                   tmp_path: Path) -> None:
    src = _jsonl_corpus(tmp_path / "in") / "news.jsonl"
    for command in ("score", "lang"):
        result = runner.invoke(cli, [command, str(src), "-o", str(tmp_path / "x.parquet"),
                                     "--model-dir", str(shipped_model_dir)])
        assert result.exit_code == 2 and "writes JSON lines" in result.stderr, result.stderr
        assert not (tmp_path / "x.parquet").exists()


# -- a run with workers: the command itself holds no pyarrow ------------------------------

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers fork on Linux only")
@pytest.mark.parametrize(("kind", "output"), [("parquet", "jsonl"), ("jsonl", "parquet"), ("parquet", "parquet")])
def test_a_parquet_run_forks_its_workers_and_leaves_pyarrow_to_them(shipped_model_dir: Path, tmp_path: Path,
                                                                      sieve_executable: str, kind: str,
                                                                      output: str) -> None:
    # the field check (Parquet input) and the check of --format parquet imported pyarrow into
    # the command (about 60 MB, held for the whole run), and pyarrow's threads made it spawn
    # its workers: each a fresh interpreter
    psutil = pytest.importorskip("psutil")
    from conftest import started_workers
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        rows = {"id": [f"{i}-{n}" for n in range(400)], "text": ["\n\n".join(STORY)] * 400}
        if kind == "parquet":
            _write(src / f"part-{i}.parquet", rows, row_group_size=100)
        else:
            (src / f"part-{i}.jsonl").write_text("".join(json.dumps({"id": d, "text": t}) + "\n"
                                                         for d, t in zip(rows["id"], rows["text"])), encoding="utf-8")
    proc = subprocess.Popen([sieve_executable, "clean", str(src), "--workers", "2", "--model-dir",
                             str(shipped_model_dir), "-o", str(tmp_path / "out"), "--format", output],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = started_workers(psutil, proc)
        parent = psutil.Process(proc.pid)
        assert [w.cmdline() for w in workers] == [parent.cmdline()] * 2  # forked: the run's own command line
        assert not [m.path for m in parent.memory_maps() if "arrow" in Path(m.path).name]
    finally:
        proc.kill()
        proc.wait()


def test_with_workers_a_parquet_corpus_is_still_checked_before_the_run(shipped_model_dir: Path, tmp_path: Path,
                                                                       sieve_executable: str) -> None:
    # the check runs in a child process then: its error and its warning are the command's, as before
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        _write(src / f"{name}.parquet", {"raw_content": ["\n\n".join(STORY)] * 3, "url": ["u"] * 3})
    args = [sieve_executable, "clean", str(src), "--workers", "2", "--model-dir", str(shipped_model_dir)]
    wrong = subprocess.run([*args, "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2, wrong.stderr
    assert "--text-field raw_content?" in wrong.stderr and "Traceback" not in wrong.stderr
    assert not (tmp_path / "out").exists()
    named = subprocess.run([*args, "-o", str(tmp_path / "out2"), "--text-field", "raw_content", "--id-field", "doc"],
                           capture_output=True, text=True, timeout=300)
    assert named.returncode == 0, named.stderr
    assert "has 'doc' (--id-field; their fields: 'raw_content', 'url')" in named.stderr


# -- what a worker holds while reading ---------------------------------------------------

def test_batches_are_sized_by_bytes_and_read_every_row_across_row_groups(tmp_path: Path) -> None:
    # a batch was 256 rows whatever their size: 256 web pages at once in Python objects
    from classifier.parquet import BATCH_MAX_ROWS, BATCH_MIN_ROWS, _batch_rows

    big = [("\n\n".join(STORY) + f" {i}\n\n") * 100 for i in range(120)]  # about 30 KB a row
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": big, "id": [f"d{i}" for i in range(120)]}), buffer, row_group_size=40)
    data = bytearray(buffer.getvalue())
    assert _batch_rows(pq.ParquetFile(io.BytesIO(bytes(data))).metadata) == BATCH_MIN_ROWS  # 16: not 40
    short = _write(tmp_path / "short.parquet", {"text": [f"a line {i}" for i in range(3000)]})
    assert _batch_rows(pq.ParquetFile(short).metadata) == BATCH_MAX_ROWS
    whole = tmp_path / "whole.parquet"
    whole.write_bytes(bytes(data))
    assert [doc.id for doc in read_any(whole, RejectSink())] == [f"d{i}" for i in range(120)]
    # a damaged row group, batches spanning row groups (40 rows each, read 16 at a time)
    _damage_row_group(data, 1)
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(bytes(data))
    rejects: list[Reject] = []
    ids = [doc.id for doc in read_any(damaged, RejectSink(on_reject=rejects.append))]
    assert ids == [f"d{i}" for i in (*range(40), *range(80, 120))]
    [reject] = rejects
    assert (reject.position, reject.reason) == (41, "corrupt") and "rows 41-80" in reject.detail


def test_columns_of_text_are_read_without_pyarrow_compute(tmp_path: Path) -> None:
    # pyarrow.compute (about 7 MB) was imported for every file, to look for dates
    shard = _write(tmp_path / "text.parquet", {"id": ["a", "b"], "text": STORY})
    dated = _write(tmp_path / "dated.parquet", {"id": ["c"], "text": [STORY[0]], "date": [dt.date(2024, 3, 1)]})
    code = ("import sys; from classifier.readers import RejectSink, read_any; "
            "docs = list(read_any(sys.argv[1], RejectSink())); "
            "print(len(docs), 'pyarrow.compute' in sys.modules, docs[0].extra.get('date'))")
    out = [subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                          check=True).stdout.split() for path in (shard, dated)]
    assert out == [["2", "False", "None"], ["1", "True", "2024-03-01"]]

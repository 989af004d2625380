"""The `sieve` command through click's CliRunner: data on stdout, messages on stderr."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from classifier.cli import cli
from classifier.document import LABELS, Block, Document

LABEL_NAMES = {lab.value for lab in LABELS}


def _score(runner: CliRunner, model_dir: Path, *args: str, **kwargs) -> Result:
    return runner.invoke(cli, ["score", *args, "--model-dir", str(model_dir)], **kwargs)


def _records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def _input_blocks(record: dict) -> list[str]:
    from classifier.document import split_paragraphs

    if "blocks" in record:
        return [b if isinstance(b, str) else b["text"] for b in record["blocks"]]
    return split_paragraphs(record["text"])


def _no_traceback(result: Result) -> None:
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- score: the prediction records -----------------------------------------------------------


def test_score_jsonl_output_follows_the_prediction_schema(runner: CliRunner, tiny_model_dir: Path,
                                                          data_dir: Path) -> None:
    src = data_dir / "articles.jsonl"
    result = _score(runner, tiny_model_dir, str(src))
    assert result.exit_code == 0, result.stderr
    inputs = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines()]
    outputs = _records(result.stdout)
    assert [o["id"] for o in outputs] == [i["id"] for i in inputs]  # input order, ids as given
    for inp, out in zip(inputs, outputs):
        assert {"id", "lang", "lang_score", "blocks"} <= set(out)
        assert out["lang"] is None or isinstance(out["lang"], str)
        assert out["lang_score"] is None or 0.0 <= out["lang_score"] <= 1.0
        assert [b["text"] for b in out["blocks"]] == _input_blocks(inp)  # one per input block, in order
        for b in out["blocks"]:
            assert set(b) >= {"text", "label", "scores", "lang", "lang_score", "foreign", "segments"}
            assert b["label"] in LABEL_NAMES and set(b["scores"]) == LABEL_NAMES
            assert sum(b["scores"].values()) == pytest.approx(1.0, abs=1e-3)
            assert b["label"] == max(b["scores"], key=b["scores"].get)
            assert isinstance(b["foreign"], bool) and isinstance(b["segments"], list)
            assert (b["lang"] is None) == (b["lang_score"] is None)
        for key in set(inp) - {"id", "blocks", "text", "lang", "lang_score"}:
            assert out[key] == inp[key]  # pass-through fields unchanged
    assert outputs[0]["lang"] == "en"
    assert "3 documents read, 3 written, 0 rejected" in result.stderr


def test_score_keeps_document_order_across_batches_and_files(runner: CliRunner, tiny_model_dir: Path,
                                                            tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.txt"
    ids = [f"doc-{i:03d}" for i in range(150)]  # more than one batch of the pipeline
    first.write_text("".join(json.dumps({"id": i, "blocks": ["Home", f"Story number {i} is told here in a "
                                                               "sentence or two about the town."]}) + "\n"
                             for i in ids), encoding="utf-8")
    second.write_text("Menu\n\nLast document, a text file.\n", encoding="utf-8")
    result = _score(runner, tiny_model_dir, str(first), str(second))
    assert result.exit_code == 0, result.stderr
    assert [o["id"] for o in _records(result.stdout)] == ids + ["b"]


@pytest.mark.parametrize(
    ("data", "ids", "blocks"),
    [
        ('{"id": "in-1", "text": "One.\\n\\nTwo."}\n{"id": "in-2", "blocks": ["Three"]}\n', ["in-1", "in-2"], [2, 1]),
        ("A paragraph read from standard input.\n\nAnother one.\n", ["stdin"], [2]),
    ],
)
def test_score_reads_stdin(runner: CliRunner, tiny_model_dir: Path, data: str, ids: list[str],
                           blocks: list[int]) -> None:
    result = _score(runner, tiny_model_dir, "-", input=data)
    assert result.exit_code == 0, result.stderr
    out = _records(result.stdout)
    assert [o["id"] for o in out] == ids and [len(o["blocks"]) for o in out] == blocks


def test_score_output_file_and_rejects_file(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                            tmp_path: Path) -> None:
    out = tmp_path / "labelled.jsonl"
    result = _score(runner, tiny_model_dir, str(data_dir / "broken.jsonl"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # data went to the file
    assert [r["id"] for r in _records(out.read_text(encoding="utf-8"))] == ["ok"]
    rejects = _records((tmp_path / "labelled.jsonl.rejects.jsonl").read_text(encoding="utf-8"))
    assert [(r["position"], r["reason"]) for r in rejects] == [(2, "bad_json")]
    assert rejects[0]["source"].endswith("broken.jsonl") and '"bad"' in rejects[0]["raw"]
    assert "1 rejected (bad_json: 1)" in result.stderr and "broken.jsonl:2: bad_json" in result.stderr
    assert not list(tmp_path.glob("*.part"))
    # a clean rerun leaves no stale rejects file behind
    again = _score(runner, tiny_model_dir, str(data_dir / "articles.jsonl"), "-o", str(out))
    assert again.exit_code == 0
    assert len(_records(out.read_text(encoding="utf-8"))) == 3
    assert not (tmp_path / "labelled.jsonl.rejects.jsonl").exists()



@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_score_to_a_named_pipe_writes_into_it_and_leaves_no_file_beside(runner: CliRunner, tiny_model_dir: Path,
                                                                         data_dir: Path, tmp_path: Path) -> None:
    # as -o /dev/null or -o /dev/stdout: the pipe stays a pipe, no OUTPUT.rejects.jsonl beside it
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = _score(runner, tiny_model_dir, str(data_dir / "broken.jsonl"), "-o", str(fifo))
    reader.join(10)
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in _records(got[0].decode("utf-8"))] == ["ok"]
    assert "broken.jsonl:2: bad_json" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"] and not fifo.is_file()


def test_score_output_that_cannot_be_written_exits_1_with_one_line(runner: CliRunner, tiny_model_dir: Path,
                                                                    data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder\n", encoding="utf-8")
    result = _score(runner, tiny_model_dir, str(data_dir / "articles.jsonl"), "-o", str(tmp_path / "afile" / "x.jsonl"))
    assert result.exit_code == 1
    _no_traceback(result)
    # the output is named, not its rejects file
    assert f"cannot write {tmp_path / 'afile' / 'x.jsonl'}: Not a directory" in result.stderr


def test_score_failing_midway_leaves_the_previous_output(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from classifier.errors import ModelError
    from classifier.pipeline import Sieve

    real = Sieve.label_many

    def fail_after_one(self, documents, **kwargs):
        for i, doc in enumerate(real(self, documents, **kwargs)):
            if i == 1:
                raise ModelError("the model broke halfway")
            yield doc

    out = tmp_path / "labelled.jsonl"
    out.write_text("previous complete run\n", encoding="utf-8")
    monkeypatch.setattr(Sieve, "label_many", fail_after_one)
    result = _score(runner, tiny_model_dir, str(data_dir / "articles.jsonl"), "-o", str(out))
    assert result.exit_code == 1 and "the model broke halfway" in result.stderr
    _no_traceback(result)
    assert out.read_text(encoding="utf-8") == "previous complete run\n"  # never half a file under the name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labelled.jsonl"]


def test_score_writes_gzip_when_asked(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                      tmp_path: Path) -> None:
    import gzip

    out = tmp_path / "labelled.jsonl.gz"
    assert _score(runner, tiny_model_dir, str(data_dir / "articles.jsonl"), "-o", str(out)).exit_code == 0
    assert len(gzip.decompress(out.read_bytes()).splitlines()) == 3


def test_score_writes_gzip_for_an_upper_case_suffix(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "labelled.jsonl.GZ"
    assert _score(runner, tiny_model_dir, str(data_dir / "articles.jsonl"), "-o", str(out)).exit_code == 0
    assert len(gzip.decompress(out.read_bytes()).splitlines()) == 3


@pytest.mark.parametrize("suffix", [".bz2", ".xz", ".XZ", ".lzma", ".lz4", ".br", ".zip"])
@pytest.mark.parametrize("command", ["score", "lang", "align", "review", "score --rejects", "clean --rejects"])
def test_a_compression_other_than_gz_or_zst_is_a_usage_error(runner: CliRunner, tiny_model_dir: Path,
                                                               data_dir: Path, tmp_path: Path, command: str,
                                                               suffix: str) -> None:
    src = str(data_dir / "articles.jsonl")
    out = tmp_path / f"out.jsonl{suffix}"
    args = {"score": ["score", src, "-o", str(out)], "lang": ["lang", src, "--format", "jsonl", "-o", str(out)],
            "align": ["align", src, "--clean", src, "-o", str(out)], "review": ["review", src, "-o", str(out)],
            "score --rejects": ["score", src, "--rejects", str(out)],
            "clean --rejects": ["clean", "-", "--rejects", str(out)]}[command]
    result = runner.invoke(cli, [*args, "--model-dir", str(tiny_model_dir)], input="")
    assert result.exit_code == 2, result.output
    assert "name it .jsonl, .jsonl.gz or .jsonl.zst" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_file_named_after_a_site_is_no_compression(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                     tmp_path: Path) -> None:
    # `-o uol.com.br` was refused as brotli; `.br` names a compression only after a data suffix
    src = str(data_dir / "articles.jsonl")
    for name in ("uol.com.br", "news.co.sz"):
        result = _score(runner, tiny_model_dir, src, "-o", str(tmp_path / name))
        assert result.exit_code == 0, result.stderr
        assert len((tmp_path / name).read_text(encoding="utf-8").splitlines()) == 3
    result = _score(runner, tiny_model_dir, src, "-o", str(tmp_path / "uol.com.jsonl.BR"))
    assert result.exit_code == 2 and not (tmp_path / "uol.com.jsonl.BR").exists()


def test_score_is_deterministic(runner: CliRunner, tiny_model_dir: Path, data_dir: Path) -> None:
    args = (str(data_dir / "articles.jsonl"), str(data_dir / "story.txt"))
    first, second = _score(runner, tiny_model_dir, *args), _score(runner, tiny_model_dir, *args)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout_bytes == second.stdout_bytes and first.stdout_bytes


def test_score_table_format(runner: CliRunner, tiny_model_dir: Path, data_dir: Path) -> None:
    src = data_dir / "articles.jsonl"
    result = _score(runner, tiny_model_dir, str(src), "--format", "table")
    assert result.exit_code == 0, result.stderr
    sizes = [len(_input_blocks(json.loads(line))) for line in src.read_text(encoding="utf-8").splitlines()]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("harbour-1") and f"blocks={sizes[0]}" in lines[0]
    assert len(lines) == len(sizes) + sum(sizes)  # a header per document and a line per block
    assert sum(any(f" {name} " in line for name in LABEL_NAMES) for line in lines) == sum(sizes)
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])


def test_the_table_fits_the_terminal_in_columns_not_characters(runner: CliRunner, tiny_model_dir: Path,
                                                                tmp_path: Path) -> None:
    # a Chinese row, cut at the terminal's width in characters, was 119 columns wide on 80
    import unicodedata

    story = tmp_path / "zh.txt"
    chinese = "新的地铁线路星期一开通，从机场到市中心只需要二十分钟，乘客们都非常高兴，车站里挤满了人。"
    story.write_text(chinese * 3 + "\n\n"
                     + "The council voted on Tuesday to keep the ferry running through the winter months. " * 3
                     + "\n", encoding="utf-8")
    for command in (["score", str(story), "--format", "table"], ["lang", str(story), "--all"]):
        result = runner.invoke(cli, [*command, "--model-dir", str(tiny_model_dir)], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.stderr
        rows = result.stdout.splitlines()[1:]
        widths = [sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in row) for row in rows]
        assert len(rows) == 2 and all(74 <= w <= 81 for w in widths), (widths, rows)


def test_score_table_with_output_file_is_a_usage_error(runner: CliRunner, tiny_model_dir: Path,
                                                       data_dir: Path, tmp_path: Path) -> None:
    result = _score(runner, tiny_model_dir, str(data_dir / "story.txt"), "--format", "table",
                    "-o", str(tmp_path / "x.txt"))
    assert result.exit_code == 2 and "--format table" in result.stderr
    assert not (tmp_path / "x.txt").exists()


def test_score_rejects_a_huge_single_line_record(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    """A real ~50 MB one-line record against the default 10 MiB limit."""
    src = tmp_path / "huge.jsonl"
    with open(src, "wb") as f:
        f.write(b'{"id": "small", "text": "A small document that is fine."}\n')
        f.write(b'{"id": "huge", "text": "')
        chunk = b"lorem ipsum dolor " * 1024 * 64  # ~1.2 MB
        for _ in range(43):
            f.write(chunk)
        f.write(b'"}\n')
    assert src.stat().st_size > 50_000_000
    result = _score(runner, tiny_model_dir, str(src))
    assert result.exit_code == 0, result.stderr
    assert [o["id"] for o in _records(result.stdout)] == ["small"]
    assert "huge.jsonl:2: too_large" in result.stderr and "1 rejected (too_large: 1)" in result.stderr


# -- score: errors ------------------------------------------------------------------------------


def test_unknown_option_is_a_usage_error(runner: CliRunner, data_dir: Path) -> None:
    result = runner.invoke(cli, ["score", str(data_dir / "story.txt"), "--no-such-option"])
    assert result.exit_code == 2
    assert "No such option" in result.stderr and result.stdout == ""
    _no_traceback(result)


def test_missing_input_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["score", str(tmp_path / "absent.jsonl")])
    assert result.exit_code == 2 and "absent.jsonl" in result.stderr and "does not exist" in result.stderr
    _no_traceback(result)


def test_tampered_model_exits_1_with_one_line_naming_the_file(runner: CliRunner, copy_model_dir,
                                                              data_dir: Path, tmp_path: Path) -> None:
    model_dir = copy_model_dir()
    path = model_dir / "blocks.joblib"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))
    out = tmp_path / "out.jsonl"
    result = _score(runner, model_dir, str(data_dir / "story.txt"), "-o", str(out))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(path) in lines[0]
    _no_traceback(result)
    assert not out.exists() and not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("remove", ["blocks.json", "lid.json", "lid.ftz"])
def test_model_dir_missing_a_file_exits_1(runner: CliRunner, copy_model_dir, data_dir: Path, remove: str) -> None:
    model_dir = copy_model_dir()
    (model_dir / remove).unlink()
    result = _score(runner, model_dir, str(data_dir / "story.txt"))
    assert result.exit_code == 1 and remove.split(".")[0] in result.stderr
    assert result.stdout == ""
    _no_traceback(result)


def test_absent_model_dir_exits_1(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    result = _score(runner, tmp_path / "no-models", str(data_dir / "story.txt"))
    assert result.exit_code == 1 and "--model-dir" in result.stderr
    _no_traceback(result)


# -- help, version, README -----------------------------------------------------------------------


def test_every_command_has_help_with_an_example(runner: CliRunner) -> None:
    assert set(cli.commands) >= {"score", "lang", "train", "evaluate"}
    for name, command in cli.commands.items():
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        summary = command.get_short_help_str(limit=200)
        assert len(summary) > 20 and summary.split()[0] in result.stdout
        assert f"sieve {name}" in result.stdout  # a real invocation in the help
    top = runner.invoke(cli, ["-h"])
    assert top.exit_code == 0 and all(name in top.stdout for name in cli.commands)


def test_help_says_what_max_bytes_limits_which_options_exclude_each_other_and_every_exit_status(
        runner: CliRunner, repo_root: Path) -> None:
    def help_of(*command: str) -> str:
        result = runner.invoke(cli, [*command, "--help"], terminal_width=1000, max_content_width=1000)
        assert result.exit_code == 0, result.output
        return " ".join(result.stdout.split())

    # --max-bytes limits pages, WARC records and Parquet rows too, not only JSONL lines and text files
    for command in (["score"], ["clean"], ["templates", "learn"]):
        text = help_of(*command)
        assert all(kind in text for kind in ("JSONL lines", "text files", "HTML pages", "WARC records",
                                              "Parquet rows")), (command, text)
    clean = help_of("clean")
    assert "'kept'. Not with --split-by-language" in clean and "(NAME.LANG.jsonl.gz). Not with --annotate" in clean
    # the exit statuses README's table lists, interrupted (Ctrl-C) among those of 1
    top = help_of()
    assert "could not be done (missing or damaged model, unreadable input) or was interrupted (Ctrl-C)" in top
    row = next(line for line in (repo_root / "README.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("| 1 |"))
    assert "could not be done" in row and "interrupted (Ctrl-C" in row
    # clean's own list, what an operator of a long run reads: a stop by Ctrl-C or SIGTERM too
    assert "or Ctrl-C stopped it;" in clean and "143 SIGTERM stopped it" in clean and "a rerun resumes" in clean


def test_version(runner: CliRunner) -> None:
    from classifier import __version__

    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_readme_documents_every_command(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"sieve {name}" in readme, name
    assert "pip install -e '.[test]' && python -m pytest -q" in readme


def test_readme_language_sample_is_what_sieve_lang_prints(runner: CliRunner, repo_root: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's sample of `sieve lang examples/harbour.txt` (shipped models) is its real output:
    the document line whole, and each block's index, language, confidence and foreign mark."""
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```\n(harbour  main language.*?)```", readme, flags=re.S)
    assert found is not None, "README.md shows `sieve lang examples/harbour.txt`"
    sample = found.group(1)
    monkeypatch.chdir(repo_root)
    result = runner.invoke(cli, ["lang", "examples/harbour.txt"])
    assert result.exit_code == 0, result.stderr
    printed = result.stdout.splitlines()
    wanted = sample.splitlines()
    assert printed[0] == wanted[0] and len(printed) == len(wanted)
    for got, want in zip(printed[1:], wanted[1:]):
        assert got.split()[:4 if "foreign" in want else 3] == want.split()[:4 if "foreign" in want else 3]


def test_ci_script_runs_the_documented_command(repo_root: Path) -> None:
    script = repo_root / ".ci" / "run"
    text = script.read_text(encoding="utf-8")
    assert script.stat().st_mode & 0o111
    assert "pip install -e '.[test]'" in text and "python -m pytest -q" in text


# -- train and evaluate -------------------------------------------------------------------------------


def test_train_writes_model_card_and_language_model(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                    tmp_path: Path, repo_root: Path) -> None:
    src = data_dir / "train-small.jsonl"
    out = tmp_path / "trained"
    result = runner.invoke(cli, ["train", str(src), "-o", str(out), "--folds", "2", "--model-dir",
                                 str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {"blocks.joblib", "blocks.json", "lid.ftz", "lid.json"}
    card = json.loads((out / "blocks.json").read_text(encoding="utf-8"))
    assert card["sha256"] == hashlib.sha256((out / "blocks.joblib").read_bytes()).hexdigest()
    assert card["training_files"] == [{"path": str(src), "sha256": hashlib.sha256(src.read_bytes()).hexdigest()}]
    assert card["params"]["random_state"] == 0 and card["params"]["trees"] >= 1
    assert card["sieve_version"] == __import__("classifier").__version__ and card["cv_folds"] == 2
    assert set(card["cv_metrics"]) >= {"macro_f1", "per_label", "content_vs_rest"}
    assert 0.0 <= card["cv_metrics"]["macro_f1"] <= 1.0
    labelled = sum(1 for line in src.read_text(encoding="utf-8").splitlines()
                   for b in json.loads(line)["blocks"] if b.get("label"))
    assert card["training_blocks"] == labelled == card["cv_metrics"]["blocks"]
    assert (out / "lid.ftz").read_bytes() == (repo_root / "models" / "lid.ftz").read_bytes()
    assert "publisher-grouped cross-validation" in result.stdout and "macro-F1" in result.stdout
    # the folder works as a --model-dir on its own
    scored = _score(runner, out, str(data_dir / "story.txt"))
    assert scored.exit_code == 0, scored.stderr
    assert len(_records(scored.stdout)[0]["blocks"]) == 12


def test_train_leaves_blank_blocks_out_of_the_context_as_labelling_does(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    # labelling leaves blocks of no visible text out of every block's context; training
    # learned from them as context, so a model trained on such data learned contexts it
    # never sees when labelling (a review)
    src = data_dir / "train-small.jsonl"
    spaced = tmp_path / "spaced.jsonl"
    records = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines()]
    for i, rec in enumerate(records):
        blocks = []
        for j, b in enumerate(rec["blocks"]):
            blank = ["", "\u200b", " \u00ad ", "\ufeff"][(i + j) % 4]
            blocks += [b, {"text": blank, "label": "navigation"} if j % 2 else {"text": blank}]
        rec["blocks"] = blocks
    spaced.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    scored = []
    for name, data in (("plain", src), ("spaced", spaced)):
        trained = runner.invoke(cli, ["train", str(data), "-o", str(tmp_path / name), "--folds", "2",
                                      "--model-dir", str(tiny_model_dir)])
        assert trained.exit_code == 0, trained.stderr
        result = _score(runner, tmp_path / name, str(data_dir / "story.txt"))
        assert result.exit_code == 0, result.stderr
        scored.append([(b["label"], b["scores"]) for b in _records(result.stdout)[0]["blocks"]])
    assert scored[0] == scored[1]


def test_train_with_one_fold_is_a_usage_error(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["train", str(data_dir / "train-small.jsonl"), "-o", str(tmp_path / "m"),
                                 "--folds", "1"])
    assert result.exit_code == 2 and "--folds 1 cannot cross-validate" in result.stderr


def test_train_without_labels_is_a_usage_error(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    # as a text file given as labelled data is (it was exit 1, "could not run")
    result = runner.invoke(cli, ["train", str(data_dir / "broken.jsonl"), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "no labelled blocks" in result.stderr
    assert not (tmp_path / "m" / "blocks.joblib").exists()


def test_evaluate_prints_a_report(runner: CliRunner, tiny_model_dir: Path, data_dir: Path) -> None:
    result = runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "macro-F1" in out and "content vs rest" in out and "confusion" in out
    for name in LABEL_NAMES:
        assert name in out


def test_evaluate_on_the_training_file_warns_that_its_figures_are_in_sample(runner: CliRunner, tiny_model_dir: Path,
                                                                           data_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "train.jsonl"
    src.write_bytes((data_dir / "train-small.jsonl").read_bytes())
    trained = runner.invoke(cli, ["train", str(src), "-o", str(tmp_path / "m"), "--folds", "2",
                                  "--model-dir", str(tiny_model_dir)])
    assert trained.exit_code == 0, trained.stderr
    cv = json.loads((tmp_path / "m" / "blocks.json").read_text(encoding="utf-8"))["cv_metrics"]
    # the same bytes under another name: the card's sha256 finds it, in a folder too
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "again.jsonl").write_bytes(src.read_bytes())
    for given in (src, tmp_path / "copy"):
        result = runner.invoke(cli, ["evaluate", str(given), "--model-dir", str(tmp_path / "m")])
        assert result.exit_code == 0, result.stderr
        assert "is a file blocks.joblib was trained on" in result.stderr and "in-sample" in result.stderr
        assert (f"content-vs-rest {cv['content_vs_rest']['f1']:.3f}, macro-F1 {cv['macro_f1']:.3f}"
                in result.stderr)
    # the report says it too; data the model never saw: no warning
    report = tmp_path / "r.html"
    result = runner.invoke(cli, ["evaluate", str(src), "--model-dir", str(tmp_path / "m"), "--report", str(report)])
    assert result.exit_code == 0 and "in-sample" in report.read_text(encoding="utf-8")
    other = runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), "--model-dir", str(tmp_path / "m")])
    assert other.exit_code == 0 and "in-sample" not in other.stderr


def test_models_shows_and_checks_the_shipped_models(sieve_executable: str, repo_root: Path) -> None:
    import subprocess

    shipped = repo_root / "models"
    done = subprocess.run([sieve_executable, "models", "--model-dir", str(shipped)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for name in ("blocks.joblib", "html.joblib", "lid.ftz"):
        assert f"{name}" in out and hashlib.sha256((shipped / name).read_bytes()).hexdigest() in out
    assert out.count("ok, matches its card") == 3 and "adapter.joblib  publisher adapter: none" in out
    card = json.loads((shipped / "blocks.json").read_text(encoding="utf-8"))
    aeb = card["cv"]["aeb-dev"]
    assert f"aeb-dev content-vs-rest {aeb['content_vs_rest_f1']:.3f}, macro-F1 {aeb['macro_f1']:.3f}" in out
    assert "CC BY-SA 3.0" in out and "176 languages" in out


def test_models_says_when_cross_validation_scored_part_of_the_labelled_blocks() -> None:
    # folds whose training publishers held one label are not scored: the card's figure was
    # shown as the model's over 99 of 489 labelled blocks (a review)
    from classifier.cli import _card_lines

    cv = {"content_vs_rest": {"f1": 0.979}, "macro_f1": 0.7, "blocks": 99}
    partial = "\n".join(_card_lines("blocks.joblib", {"training_blocks": 489, "cv_metrics": cv, "cv_folds": 3}))
    assert "content-vs-rest 0.979, macro-F1 0.700 (over 99 of the 489 labelled blocks" in partial
    whole = "\n".join(_card_lines("blocks.joblib", {"training_blocks": 99, "cv_metrics": cv, "cv_folds": 3}))
    assert "content-vs-rest 0.979, macro-F1 0.700\n" in whole + "\n" and "over 99" not in whole


def test_models_fails_on_a_damaged_or_missing_model(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    good = runner.invoke(cli, ["models", "--model-dir", str(folder), "--json"])
    assert good.exit_code == 0, good.stderr
    listed = {m["file"]: m for m in json.loads(good.stdout)["models"]}
    assert listed["blocks.joblib"]["ok"] and not listed["html.joblib"]["present"] and listed["html.joblib"]["ok"]
    text = runner.invoke(cli, ["models", "--model-dir", str(folder)])
    assert "no cross-validated figures in its card" in text.stdout  # the tiny model was fitted without CV
    assert "web pages are labelled by the text model" in text.stdout
    with open(folder / "blocks.joblib", "ab") as f:  # changed after its card was written
        f.write(b"x")
    damaged = runner.invoke(cli, ["models", "--model-dir", str(folder)])
    assert damaged.exit_code == 1 and "blocks.joblib   text model: FAILS" in damaged.stdout
    assert "sha256" in damaged.stdout.split("FAILS", 1)[1].splitlines()[0]
    as_json = json.loads(runner.invoke(cli, ["models", "--model-dir", str(folder), "--json"]).stdout)
    assert as_json["ok"] is False
    (folder / "lid.ftz").unlink()
    (folder / "lid.json").unlink()
    missing = runner.invoke(cli, ["models", "--model-dir", str(folder)])
    assert missing.exit_code == 1 and "lid.ftz         language model: MISSING" in missing.stdout
    nowhere = runner.invoke(cli, ["models", "--model-dir", str(tmp_path / "none")])
    assert nowhere.exit_code == 1 and "no such model folder" in nowhere.stderr


@pytest.mark.parametrize(("file", "field", "value"), [("blocks.json", "training_files", 5),
                                                      ("blocks.json", "training_files", "data.jsonl"),
                                                      ("adapter.json", "publishers", 5),
                                                      ("adapter.json", "publishers", [1])])
def test_models_warns_of_a_malformed_card_field_that_a_run_accepts(runner: CliRunner, tiny_model_dir: Path,
                                                                    tmp_path: Path, file: str, field: str,
                                                                    value: object) -> None:
    # these fields only describe the model: `sieve models` failed a folder that runs load
    from importlib.metadata import version

    from classifier.cards import write_card
    from classifier.versions import ADAPTER_FORMAT

    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    adapter = folder / "adapter.joblib"
    adapter.write_bytes(b"an adapter")  # only its card is read: `sieve models` loads nothing
    write_card(adapter, {"kind": "publisher-adapter", "model_format": ADAPTER_FORMAT, "publishers": ["a.test"],
                         "sklearn_version": version("scikit-learn"), "pages": 3, "blocks": 9, "base_model": "text"})
    assert runner.invoke(cli, ["models", "--model-dir", str(folder)]).exit_code == 0
    card = json.loads((folder / file).read_text(encoding="utf-8"))
    card[field] = value
    (folder / file).write_text(json.dumps(card), encoding="utf-8")
    said = f"model card {folder / file} is malformed: its '{field}' is {json.dumps(value)}"
    shown = runner.invoke(cli, ["models", "--model-dir", str(folder)])
    _no_traceback(shown)
    assert shown.exit_code == 0 and f"warning: {said}" in shown.stdout and "FAILS" not in shown.stdout, shown.output
    as_json = runner.invoke(cli, ["models", "--model-dir", str(folder), "--json"])
    _no_traceback(as_json)
    listed = json.loads(as_json.stdout)
    notes = [m["note"] for m in listed["models"] if m["note"]]
    assert as_json.exit_code == 0 and listed["ok"] and len(notes) == 1 and notes[0].startswith(said)
    if file == "blocks.json":  # and a run loads the model, as `sieve models` now says
        adapter.unlink()  # a stand-in, not a model
        (folder / "adapter.json").unlink()
        scored = runner.invoke(cli, ["score", "--model-dir", str(folder), "-"], input="A line of text to label.\n")
        assert scored.exit_code == 0, scored.stderr


def test_models_checks_an_adapter_as_loading_does(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                  tmp_path: Path) -> None:
    from classifier.model import BLOCK_MODEL_FILE, HTML_MODEL_FILE
    from classifier.versions import BASE_MODEL_FILES

    assert BASE_MODEL_FILES == {"text": BLOCK_MODEL_FILE, "html": HTML_MODEL_FILE}  # spelt out there: no sklearn
    site = tmp_path / "site"
    adapted = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data_dir / "train-small.jsonl"),
                                  "-o", str(site)])
    assert adapted.exit_code == 0, adapted.stderr
    shown = runner.invoke(cli, ["models", "--model-dir", str(site)])
    assert shown.exit_code == 0 and "adapter.joblib  publisher adapter: ok" in shown.stdout
    # another text model copied into the folder: every run refuses the adapter, and so does the check
    other = tmp_path / "other"
    trained = runner.invoke(cli, ["train", str(data_dir / "train-small.jsonl"), "-o", str(other), "--folds", "0",
                                  "--model-dir", str(tiny_model_dir)])
    assert trained.exit_code == 0, trained.stderr
    for name in ("blocks.joblib", "blocks.json"):
        shutil.copyfile(other / name, site / name)
    refused = runner.invoke(cli, ["score", str(data_dir / "story.txt"), "--model-dir", str(site)])
    assert refused.exit_code == 1 and "was fitted on another blocks.joblib" in refused.stderr
    checked = runner.invoke(cli, ["models", "--model-dir", str(site)])
    assert checked.exit_code == 1 and "adapter.joblib  publisher adapter: FAILS" in checked.stdout
    assert "was fitted on another blocks.joblib" in checked.stdout
    card = json.loads((site / "blocks.json").read_text(encoding="utf-8"))
    card["training_documents"] = "590"  # a card edited by hand: shown as it is, no traceback
    (site / "blocks.json").write_text(json.dumps(card), encoding="utf-8")
    listed = runner.invoke(cli, ["models", "--model-dir", str(site)])
    assert listed.exception is None or isinstance(listed.exception, SystemExit)
    assert "html.joblib     HTML model: none" in listed.stdout and "trained on 590 documents" in listed.stdout


def test_an_optional_models_card_without_its_file_fails_as_a_run_does(runner: CliRunner, tiny_model_dir: Path,
                                                                       data_dir: Path, tmp_path: Path) -> None:
    # a copy of an adapted folder that left adapter.joblib behind (its card came along):
    # runs went on without the adapter and `sieve models` said "publisher adapter: none"
    site = tmp_path / "site"
    adapted = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data_dir / "train-small.jsonl"),
                                  "-o", str(site)])
    assert adapted.exit_code == 0, adapted.stderr
    (site / "adapter.joblib").unlink()
    scored = runner.invoke(cli, ["score", str(data_dir / "story.txt"), "--model-dir", str(site)])
    assert scored.exit_code == 1 and "adapter.joblib is missing" in scored.stderr
    assert "remove adapter.json to go without it" in scored.stderr
    checked = runner.invoke(cli, ["models", "--model-dir", str(site)])
    assert checked.exit_code == 1 and "adapter.joblib  publisher adapter: FAILS" in checked.stdout
    # the HTML model's card without html.joblib: pages went to the text model, unsaid
    (site / "adapter.json").unlink()
    (site / "html.json").write_text("{}", encoding="utf-8")
    page = tmp_path / "page.html"
    page.write_text("<html><body><article><p>" + "A sentence of the story, long enough to read. " * 5
                    + "</p></article></body></html>", encoding="utf-8")
    scored = runner.invoke(cli, ["score", str(page), "--model-dir", str(site)])
    assert scored.exit_code == 1 and "html.joblib is missing" in scored.stderr
    checked = runner.invoke(cli, ["models", "--model-dir", str(site)])
    assert checked.exit_code == 1 and "html.joblib     HTML model: FAILS" in checked.stdout
    (site / "html.json").unlink()  # neither: no such model, and the folder works
    assert runner.invoke(cli, ["score", str(page), "--model-dir", str(site)]).exit_code == 0
    assert runner.invoke(cli, ["models", "--model-dir", str(site)]).exit_code == 0


def test_predictions_given_as_labelled_data_are_named_as_such(runner: CliRunner, tiny_model_dir: Path,
                                                               data_dir: Path, tmp_path: Path) -> None:
    scored = runner.invoke(cli, ["score", str(data_dir / "labelled.jsonl"), "--model-dir", str(tiny_model_dir)])
    assert scored.exit_code == 0, scored.stderr
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(scored.stdout, encoding="utf-8")
    n = len(scored.stdout.splitlines())
    result = runner.invoke(cli, ["evaluate", str(predictions), "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    assert f"warning: {n} of the documents are predictions" in result.stderr
    # the gold itself is no prediction
    gold = runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), "--model-dir", str(tiny_model_dir)])
    assert gold.exit_code == 0 and "prediction" not in gold.stderr


def test_rejects_past_the_first_twenty_are_counted_not_told_one_by_one(runner: CliRunner, tiny_model_dir: Path,
                                                                        tmp_path: Path) -> None:
    # a folder of web pages given as labelled JSONL printed a reject per line of HTML
    page = tmp_path / "page.jsonl"
    page.write_text("".join(f"<p>line {i} of a page</p>\n" for i in range(60)), encoding="utf-8")
    result = runner.invoke(cli, ["evaluate", str(page), "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 3  # every record rejected: as score (since 1f9ca66)
    told = [line for line in result.stderr.splitlines() if line.startswith("sieve: rejected")]
    assert len(told) == 20 and told[-1].split(": ")[1].endswith("page.jsonl:20")
    assert "more than 20 records rejected: the others are counted, not shown" in result.stderr
    scored = runner.invoke(cli, ["score", str(page), "-o", str(tmp_path / "out.jsonl"),
                                 "--model-dir", str(tiny_model_dir)])
    assert len([line for line in scored.stderr.splitlines() if line.startswith("sieve: rejected")]) == 20
    assert f"each is in {tmp_path / 'out.jsonl.rejects.jsonl'}" in scored.stderr
    assert len((tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()) == 60
    assert "(-v shows each)" in scored.stderr
    verbose = runner.invoke(cli, ["-v", "score", str(page), "-o", str(tmp_path / "out2.jsonl"),
                                  "--model-dir", str(tiny_model_dir)])
    assert len([line for line in verbose.stderr.splitlines() if line.startswith("sieve: rejected")]) == 60


def test_evaluate_counts_the_records_it_leaves_out_and_fails_past_the_reject_share(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    # a gold file most of whose records could not be read gave figures of the rest, exit 0,
    # and --json said nothing of them (a review)
    good = (data_dir / "labelled.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    empty = json.dumps({"id": "e", "blocks": [{"text": "", "label": "content"}, {"text": " ", "label": "content"}]})
    data = tmp_path / "gold.jsonl"
    data.write_text("\n".join([*good, "{broken", empty, "[1, 2]"]) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["evaluate", str(data), "--json", "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 3, result.stderr
    assert "3 of 5 documents rejected, more than --max-reject-share 0.5" in result.stderr
    found = json.loads(result.stdout)["data"]
    assert found["documents"] == 2 and sum(found["rejected"].values()) == 3 and "bad_json" in found["rejected"]
    allowed = runner.invoke(cli, ["evaluate", str(data), "--json", "--max-reject-share", "0.7",
                                  "--model-dir", str(tiny_model_dir)])
    assert allowed.exit_code == 0 and json.loads(allowed.stdout)["data"] == found
    assert "share their id" not in allowed.stderr
    # two documents under one id: each is scored, and the warning says a scorer by id keeps one
    twice = tmp_path / "twice.jsonl"
    twice.write_text("\n".join([good[0], good[0], good[1]]) + "\n", encoding="utf-8")
    both = runner.invoke(cli, ["evaluate", str(twice), "--json", "--model-dir", str(tiny_model_dir)])
    assert both.exit_code == 0 and json.loads(both.stdout)["data"]["documents"] == 3
    assert f"2 documents share their id with another ({json.loads(good[0])['id']})" in both.stderr
    # every record rejected: the status of too many rejects, not of a run that could not start
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{broken\n[1, 2]\n", encoding="utf-8")
    none = runner.invoke(cli, ["evaluate", str(broken), "--model-dir", str(tiny_model_dir)])
    assert none.exit_code == 3 and "(every record rejected)" in none.stderr and not none.stdout
    allowed_all = runner.invoke(cli, ["evaluate", str(broken), "--max-reject-share", "1",
                                      "--model-dir", str(tiny_model_dir)])
    assert allowed_all.exit_code == 1 and "(every record rejected)" in allowed_all.stderr


def test_evaluate_json_is_consistent_with_the_data(runner: CliRunner, tiny_model_dir: Path,
                                                   data_dir: Path) -> None:
    src = data_dir / "labelled.jsonl"
    result = runner.invoke(cli, ["evaluate", str(src), "--json", "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    gold = [b["label"] for line in src.read_text(encoding="utf-8").splitlines()
            for b in json.loads(line)["blocks"] if b.get("label")]
    assert metrics["blocks"] == len(gold)
    for name in LABEL_NAMES:
        assert sum(metrics["confusion"][name].values()) == gold.count(name) == metrics["per_label"][name]["support"]
    assert 0.0 <= metrics["macro_f1"] <= 1.0
    # the model was trained on these very documents: it must fit them well
    assert metrics["accuracy"] >= 0.9


def test_evaluate_with_a_damaged_model_exits_1(runner: CliRunner, copy_model_dir, data_dir: Path) -> None:
    model_dir = copy_model_dir()
    shutil.copyfile(data_dir / "story.txt", model_dir / "blocks.joblib")
    result = runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), "--model-dir", str(model_dir)])
    assert result.exit_code == 1 and "blocks.joblib" in result.stderr
    _no_traceback(result)


def test_score_skips_a_document_that_breaks_the_model_and_goes_on(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error on one document (a bug, a pathological input) costs that
    document only: it is rejected with the error's type, the others are written."""
    from classifier.model import BlockModel

    real = BlockModel.predict_proba
    ids = [r["id"] for r in _records((data_dir / "articles.jsonl").read_text(encoding="utf-8"))]
    victim = ids[1]

    def flaky(self: BlockModel, documents: list, **kwargs: object) -> list:
        if any(d.id == victim for d in documents):
            raise RuntimeError("boom")
        return real(self, documents, **kwargs)

    monkeypatch.setattr(BlockModel, "predict_proba", flaky)
    out = tmp_path / "out.jsonl"
    result = _score(runner, tiny_model_dir, str(data_dir / "articles.jsonl"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in _records(out.read_text(encoding="utf-8"))] == [i for i in ids if i != victim]
    rejects = _records((tmp_path / "out.jsonl.rejects.jsonl").read_text(encoding="utf-8"))
    assert [r["reason"] for r in rejects] == ["internal_error:RuntimeError"]
    assert victim in rejects[0]["source"] and json.loads(rejects[0]["raw"])["id"] == victim


# -- lang: main language, foreign blocks and segments ---------------------------------------------

MIXED_STORY = (
    "The mayor opened the new library on Saturday morning. Wir haben lange auf diesen Tag gewartet und sind "
    "sehr stolz darauf. Hundreds of families queued in the rain to see the reading rooms.\n\n"
    "The building cost twelve million pounds and took three years to finish, the council said on Monday.\n\n"
    "Cet article a été publié pour la première fois sur le site de notre partenaire régional.\n"
)


@pytest.fixture
def mixed_story(tmp_path: Path) -> Path:
    path = tmp_path / "library-story.txt"
    path.write_text(MIXED_STORY, encoding="utf-8")
    return path


def test_lang_marks_foreign_blocks_and_segments(runner: CliRunner, tiny_model_dir: Path, mixed_story: Path,
                                                tmp_path: Path) -> None:
    result = runner.invoke(cli, ["lang", str(mixed_story), "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("library-story") and "main language: en" in lines[0]
    assert "foreign blocks: 1" in lines[0] and "blocks with foreign segments: 1" in lines[0]
    assert len(lines) == 3  # only the block with a segment and the foreign block
    assert "⟦de: Wir haben lange auf diesen Tag gewartet und sind sehr stolz darauf.⟧" in lines[1]
    assert lines[2].split()[:3] == ["2", "fr", lines[2].split()[2]] and "foreign" in lines[2]
    every = runner.invoke(cli, ["lang", str(mixed_story), "--all", "--model-dir", str(tiny_model_dir)])
    assert len(every.stdout.splitlines()) == 4
    # a long block with a segment: the segment whole, the text around it cut (it was printed whole)
    long_block = tmp_path / "long.jsonl"
    quote = "Wir haben lange auf diesen Tag gewartet und sind sehr stolz darauf."
    text = ("The council met again on Tuesday to talk about the harbour. " * 40 + quote + " "
            + "Then he left the room without a word to anyone there. " * 40)
    long_block.write_text(json.dumps({"id": "long", "blocks": ["Harbour news", text]}) + "\n", encoding="utf-8")
    shown = runner.invoke(cli, ["lang", str(long_block), "--model-dir", str(tiny_model_dir)])
    assert shown.exit_code == 0, shown.stderr
    (row,) = [line for line in shown.stdout.splitlines() if "⟦de:" in line]
    assert f"⟦de: {quote}⟧" in row and len(row) < 600 < len(text)
    before, after = row.split(f"⟦de: {quote}⟧")
    assert "… " in before and before.endswith("the harbour. ") and after.startswith(" Then he left") \
        and after.endswith(" …")  # cut at words


def test_lang_jsonl_agrees_with_score(runner: CliRunner, tiny_model_dir: Path, mixed_story: Path) -> None:
    lang = runner.invoke(cli, ["lang", str(mixed_story), "--format", "jsonl", "--model-dir", str(tiny_model_dir)])
    score = _score(runner, tiny_model_dir, str(mixed_story))
    assert lang.exit_code == score.exit_code == 0
    (rec,), (pred,) = _records(lang.stdout), _records(score.stdout)
    assert rec["id"] == pred["id"] == "library-story" and rec["lang"] == pred["lang"] == "en"
    assert [f["block"] for f in rec["foreign_blocks"]] == [i for i, b in enumerate(pred["blocks"]) if b["foreign"]]
    (seg,) = rec["segments"]
    block = pred["blocks"][seg["block"]]
    assert block["segments"] == [{k: seg[k] for k in ("start", "end", "lang", "score")}]
    assert block["text"][seg["start"]:seg["end"]] == seg["text"] and seg["lang"] == "de"
    assert block["lang"] == "en" and not block["foreign"]


def test_lang_text_with_output_file_is_a_usage_error(runner: CliRunner, tiny_model_dir: Path,
                                                     mixed_story: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["lang", str(mixed_story), "-o", str(tmp_path / "x"),
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 2 and not (tmp_path / "x").exists()


def _many(data_dir: Path, path: Path) -> Path:
    """Far more output than a pipe holds: the example articles 300 times."""
    records = [json.loads(line) for line in (data_dir / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(300):
            for rec in records:
                f.write(json.dumps({**rec, "id": f"{rec['id']}-{i}"}) + "\n")
    return path


def test_a_closed_standard_output_ends_quietly_with_status_141(tiny_model_dir: Path, data_dir: Path, tmp_path: Path,
                                                                sieve_executable: str) -> None:
    """`sieve score ... | head`: the reader takes a line and closes the pipe; the
    command stops at once, quietly, with 128 + SIGPIPE as coreutils do."""
    import subprocess

    from classifier.cli import EXIT_BROKEN_PIPE

    many = _many(data_dir, tmp_path / "many.jsonl")
    model = ["--model-dir", str(tiny_model_dir)]
    commands = {"score table": (["score", str(many), "--format", "table", *model], "/dev/null"),
                "clean stdin": (["clean", "-", "--min-chars", "1", *model], str(many))}
    procs = {}
    for name, (args, stdin) in commands.items():
        with open(stdin, "rb") as source:
            procs[name] = subprocess.Popen([sieve_executable, *args], stdin=source, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    for name, proc in procs.items():
        assert proc.stdout is not None and proc.stdout.readline(), name
        proc.stdout.close()
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == EXIT_BROKEN_PIPE, (name, proc.returncode, err.decode())
        assert err.decode().strip() == "", (name, err.decode())  # no traceback, no error, no summary


@pytest.mark.parametrize("command", [["score"], ["lang"], ["lang", "--format", "jsonl"],
                                     ["clean", "--format", "text", "--min-chars", "1"]])
def test_every_standard_output_path_ends_quietly_on_a_closed_pipe(command: list[str], tiny_model_dir: Path,
                                                                 data_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The same in this process (no interpreter start per command): standard output is
    a real pipe whose reader is gone."""
    import io
    import sys

    from classifier.cli import EXIT_BROKEN_PIPE

    many = _many(data_dir, tmp_path / "many.jsonl")
    read_end, write_end = os.pipe()
    os.close(read_end)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.FileIO(write_end, "w"), encoding="utf-8"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, str(many), "--model-dir", str(tiny_model_dir)], prog_name="sieve")
    assert exit_info.value.code == EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""


def test_align_ends_quietly_when_its_coverage_lines_are_no_longer_read(tiny_model_dir: Path, data_dir: Path,
                                                                      tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # `sieve align ... -o FILE | head`: the closed pipe was taken for the output file
    # ("cannot write FILE: Broken pipe", exit 1)
    import io
    import sys

    from classifier.cli import EXIT_BROKEN_PIPE

    many = _many(data_dir, tmp_path / "many.jsonl")
    records = [json.loads(line) for line in (data_dir / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    clean = tmp_path / "clean.jsonl"
    clean.write_text("".join(json.dumps({"url": r["url"], "text": "\n\n".join(
        b["text"] for b in r["blocks"] if isinstance(b, dict) and b.get("label") == "content")}) + "\n"
        for r in records if r.get("url")), encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.FileIO(write_end, "w"), encoding="utf-8"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["align", str(many), "--clean", str(clean), "-o", str(tmp_path / "labelled.jsonl"),
                  "--model-dir", str(tiny_model_dir)], prog_name="sieve")
    assert exit_info.value.code == EXIT_BROKEN_PIPE
    assert "Broken pipe" not in capsys.readouterr().err


def test_a_broken_pipe_elsewhere_is_not_taken_for_a_closed_standard_output(tiny_model_dir: Path, data_dir: Path,
                                                                          tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from classifier.pipeline import Sieve

    def broken(self: Sieve, documents: object, **kw: object) -> None:
        raise BrokenPipeError("a worker's pipe")

    monkeypatch.setattr(Sieve, "label_many", broken)
    with open(tmp_path / "out.txt", "wb") as out:  # standard output is fine: a file
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.FileIO(os.dup(out.fileno()), "w"), encoding="utf-8"))
        with pytest.raises(BrokenPipeError, match="a worker's pipe"):
            cli.main(["score", str(data_dir / "story.txt"), "--model-dir", str(tiny_model_dir)], prog_name="sieve",
                     standalone_mode=False)


# -- folders, options that would do nothing, absent labels ------------------------------------


def test_score_evaluate_and_train_take_a_folder(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copyfile(data_dir / "articles.jsonl", folder / "b.jsonl")
    shutil.copyfile(data_dir / "story.txt", folder / "sub" / "a.txt")
    (folder / "old.rejects.jsonl").write_text('{"reason": "bad_json"}\n', encoding="utf-8")  # Sieve's own: skipped
    by_files = _score(runner, tiny_model_dir, str(folder / "b.jsonl"), str(folder / "sub" / "a.txt"))
    by_folder = _score(runner, tiny_model_dir, str(folder))
    assert by_folder.exit_code == 0, by_folder.stderr
    # name order: b.jsonl, sub/a.txt; a file of a sub-folder is named by its path there, as `clean` names it
    assert by_folder.stdout == by_files.stdout.replace('{"id": "a",', '{"id": "sub/a",')
    assert len(_records(by_folder.stdout)) > 1 and '{"id": "sub/a",' in by_folder.stdout
    (folder / ".git").mkdir()
    shutil.copyfile(data_dir / "articles.jsonl", folder / ".git" / "hidden.jsonl")  # under a hidden folder: skipped
    for _ in range(2):  # the output inside the input folder is not read back on the rerun
        again = _score(runner, tiny_model_dir, str(folder), "-o", str(folder / "out.jsonl"))
        assert again.exit_code == 0, again.stderr
        assert (folder / "out.jsonl").read_text(encoding="utf-8") == by_folder.stdout
    labelled = tmp_path / "labelled"
    labelled.mkdir()
    shutil.copyfile(data_dir / "labelled.jsonl", labelled / "part.jsonl")
    ev = runner.invoke(cli, ["evaluate", str(labelled), "--json", "--model-dir", str(tiny_model_dir)])
    ev_file = runner.invoke(cli, ["evaluate", str(labelled / "part.jsonl"), "--json", "--model-dir",
                                  str(tiny_model_dir)])
    assert ev.exit_code == 0, ev.stderr
    assert json.loads(ev.stdout) == json.loads(ev_file.stdout)
    trained = runner.invoke(cli, ["train", str(labelled), "-o", str(tmp_path / "m"), "--folds", "0",
                                  "--model-dir", str(tiny_model_dir)])
    assert trained.exit_code == 0, trained.stderr
    card = json.loads((tmp_path / "m" / "blocks.json").read_text(encoding="utf-8"))
    assert [f["path"] for f in card["training_files"]] == [str(labelled / "part.jsonl")]  # files, not the folder


@pytest.mark.parametrize(("extra", "named"), [
    (["--base", "MODELS", "--folds", "3"], "--folds"),
    (["--base", "MODELS", "--model-dir", "MODELS"], "--model-dir"),
    (["--general", "DATA"], "--general"),
    (["--holdout-share", "0.5"], "--holdout-share"),
])
def test_train_refuses_an_option_that_would_do_nothing(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                        tmp_path: Path, extra: list[str], named: str) -> None:
    src = str(data_dir / "labelled.jsonl")
    args = [str(tiny_model_dir) if a == "MODELS" else src if a == "DATA" else a for a in extra]
    result = runner.invoke(cli, ["train", src, "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 2 and named in result.stderr
    assert not (tmp_path / "out").exists()


def test_train_base_refuses_to_write_into_the_base_folder(runner: CliRunner, copy_model_dir, data_dir: Path) -> None:
    base = copy_model_dir()
    before = sorted(p.name for p in base.iterdir())
    result = runner.invoke(cli, ["train", "--base", str(base), str(data_dir / "labelled.jsonl"), "-o", str(base)])
    assert result.exit_code == 2 and "--base folder" in result.stderr
    assert sorted(p.name for p in base.iterdir()) == before


def test_evaluate_report_into_a_new_folder(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                           tmp_path: Path) -> None:
    report = tmp_path / "not" / "yet" / "report.html"
    result = runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), "--report", str(report),
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # which models labelled the documents: reports of two folders can be told apart
    models = page.split('<p id="models">', 1)[1].split("</p>", 1)[0]
    n = len((data_dir / "labelled.jsonl").read_text(encoding="utf-8").splitlines())
    assert models.startswith(f"Models: {tiny_model_dir.resolve()}; blocks.joblib (")
    assert f") for {n} documents" in models
    _no_traceback(result)
    twice = runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), str(data_dir / "labelled.jsonl"),
                                "--json", "--model-dir", str(tiny_model_dir)])
    assert twice.exit_code == 0 and "labelled.jsonl is given twice" in twice.stderr
    assert json.loads(twice.stdout)["blocks"] == 2 * json.loads(
        runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), "--json", "--model-dir",
                            str(tiny_model_dir)]).stdout)["blocks"]


def test_evaluate_says_when_a_label_is_absent_from_gold_and_predictions(runner: CliRunner, tiny_model_dir: Path,
                                                                        tmp_path: Path) -> None:
    src = tmp_path / "one-label.jsonl"
    doc = {"id": "d", "blocks": [{"text": "The council voted on Tuesday to keep the harbour ferry running "
                                          "through the winter months, after a long debate.", "label": "content"}]}
    src.write_text(json.dumps(doc) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["evaluate", str(src), "--json", "--model-dir", str(tiny_model_dir)])
    m = json.loads(result.stdout)
    labels = [lab.value for lab in LABELS]
    predicted = {p for g in labels for p in labels if m["confusion"][g][p]}
    present = [c for c in labels if m["per_label"][c]["support"] or c in predicted]
    assert len(present) <= 2  # one block: its gold label and its predicted one
    assert m["macro_f1_present"] == pytest.approx(sum(m["per_label"][c]["f1"] for c in present) / len(present))
    assert m["macro_f1"] == pytest.approx(sum(m["per_label"][c]["f1"] for c in labels) / 3)
    present = m["macro_f1_present"]
    text = runner.invoke(cli, ["evaluate", str(src), "--model-dir", str(tiny_model_dir)]).stdout
    assert "macro-F1 counts its F1 as 0" in text and f"{present:.4f}" in text


def test_an_empty_folder_is_named_as_such(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    scored = runner.invoke(cli, ["score", str(empty), "--model-dir", str(tiny_model_dir)])
    assert scored.exit_code == 0 and f"the folder {empty} holds no input file" in scored.stderr
    cleaned = runner.invoke(cli, ["clean", str(empty), "-o", str(tmp_path / "out"), "--model-dir", str(tiny_model_dir)])
    assert cleaned.exit_code == 0 and f"no input file in {empty}" in cleaned.stderr
    learnt = runner.invoke(cli, ["templates", "learn", str(empty), "-o", str(tmp_path / "t.json")])
    assert learnt.exit_code == 1 and f"no input file in {empty}" in learnt.stderr  # no memory from nothing
    assert "no document read" in learnt.stderr and not (tmp_path / "t.json").exists()
    evaluated = runner.invoke(cli, ["evaluate", str(empty), "--model-dir", str(tiny_model_dir)])
    assert evaluated.exit_code == 1 and "no document read" in evaluated.stderr and "empty folder" in evaluated.stderr
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps({"id": "a", "text": "Some text."}) + "\n", encoding="utf-8")
    aligned = runner.invoke(cli, ["align", str(empty), "--clean", str(clean), "-o", str(tmp_path / "o.jsonl"),
                                  "--model-dir", str(tiny_model_dir)])
    assert aligned.exit_code == 1 and "no page was read" in aligned.stderr


def test_train_copies_the_language_model_licence(runner: CliRunner, copy_model_dir, data_dir: Path,
                                                 tmp_path: Path, repo_root: Path) -> None:
    source = copy_model_dir()
    shutil.copyfile(repo_root / "models" / "LICENSE-lid.md", source / "LICENSE-lid.md")
    out = tmp_path / "trained"
    result = runner.invoke(cli, ["train", str(data_dir / "train-small.jsonl"), "-o", str(out), "--folds", "0",
                                 "--model-dir", str(source)])
    assert result.exit_code == 0, result.stderr
    assert (out / "LICENSE-lid.md").read_bytes() == (repo_root / "models" / "LICENSE-lid.md").read_bytes()


def test_clean_text_view_refuses_annotate(runner: CliRunner, tiny_model_dir: Path, data_dir: Path) -> None:
    result = runner.invoke(cli, ["clean", "--format", "text", "--annotate", str(data_dir / "articles.jsonl"),
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 2 and "--annotate" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("command", ["score", "lang"])
def test_score_and_lang_exit_3_when_most_records_are_rejected(runner: CliRunner, tiny_model_dir: Path,
                                                              tmp_path: Path, command: str) -> None:
    src = tmp_path / "mostly-broken.jsonl"
    src.write_text('{"id": "ok", "text": "The ferry runs all winter."}\n{broken\n[1, 2]\n', encoding="utf-8")
    args = [command, str(src), "--model-dir", str(tiny_model_dir), "--format", "jsonl"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 3, result.stderr
    assert f"sieve {command}: 2 of 3 documents rejected, more than --max-reject-share 0.5" in result.stderr
    assert [r["id"] for r in _records(result.stdout)] == ["ok"]  # the run went to its end all the same
    assert runner.invoke(cli, [*args, "--max-reject-share", "0.7"]).exit_code == 0


def test_publisher_names_the_publisher_of_documents_that_name_none(runner: CliRunner, tiny_model_dir: Path,
                                                                   tmp_path: Path) -> None:
    pages = tmp_path / "site"
    pages.mkdir()
    for i in range(4):  # a site's pages saved as files: no url, no publisher
        (pages / f"page-{i}.html").write_text(
            "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
            f"<p>Story {i}: the council kept the ferry running through the winter after a long debate.</p>"
            "<footer><p>© Harbour Times. All rights reserved.</p></footer></body></html>", encoding="utf-8")
    (pages / "given.jsonl").write_text(json.dumps({"id": "g", "publisher": "own.example", "text": "A text."}) + "\n",
                                       encoding="utf-8")
    base = ["--model-dir", str(tiny_model_dir)]
    memory = tmp_path / "t.json"
    learnt = runner.invoke(cli, ["templates", "learn", str(pages), "--publisher", "harbour.example", "-o", str(memory)])
    assert learnt.exit_code == 0 and "1 publisher" not in learnt.stderr  # harbour.example and own.example
    scored = runner.invoke(cli, ["score", str(pages), "--publisher", "harbour.example", "--templates", str(memory),
                                 *base])
    assert scored.exit_code == 0, scored.stderr
    assert sorted(r.get("publisher") for r in _records(scored.stdout)) == ["harbour.example"] * 4 + ["own.example"]
    assert "the template memory applied to 5 of 5 documents" in scored.stderr
    without = runner.invoke(cli, ["score", str(pages), "--templates", str(memory), *base])
    assert "applied to 1 of 5 documents" in without.stderr  # only the record that names its publisher
    out = tmp_path / "clean"
    cleaned = runner.invoke(cli, ["clean", str(pages), "-o", str(out), "--workers", "1", "--min-chars", "0",
                                  "--publisher", "harbour.example", *base])
    assert cleaned.exit_code == 0, cleaned.stderr
    with gzip.open(out / "page-0.jsonl.gz", "rt", encoding="utf-8") as f:
        assert json.loads(f.readline())["metadata"]["publisher"] == "harbour.example"
    rerun = runner.invoke(cli, ["clean", str(pages), "-o", str(out), "--workers", "1", "--min-chars", "0", *base])
    assert rerun.exit_code == 1 and "--publisher was harbour.example, now none" in rerun.stderr


@pytest.mark.parametrize("command", [["score"], ["lang"], ["templates", "learn"]])
def test_an_output_that_is_also_an_input_is_refused_before_reading(runner: CliRunner, tiny_model_dir: Path,
                                                                    data_dir: Path, tmp_path: Path,
                                                                    command: list[str]) -> None:
    corpus = tmp_path / "corpus.jsonl"
    raw = (data_dir / "articles.jsonl").read_bytes()
    corpus.write_bytes(raw)
    extra = ["--model-dir", str(tiny_model_dir)] if command[0] != "templates" else []
    extra += ["--format", "jsonl"] if command == ["lang"] else []
    result = runner.invoke(cli, [*command, str(corpus), "-o", str(corpus), *extra])
    assert result.exit_code == 2
    assert f"{corpus} is both an input and the output: it would be written over" in result.stderr
    assert corpus.read_bytes() == raw and sorted(p.name for p in tmp_path.iterdir()) == ["corpus.jsonl"]


def test_a_blocks_own_fields_pass_through_and_gold_ones_do_not(runner: CliRunner, tiny_model_dir: Path,
                                                                tmp_path: Path) -> None:
    record = {"id": "a", "blocks": [
        {"text": "The council kept the ferry running through the winter after a long debate.", "label": "content",
         "lang": "de", "segments": [{"start": 0, "end": 3, "lang": "fr"}], "scores": [1, 0, 0],
         "tag": "p", "html_ctx": {"xpath": "/html/body/p[1]"}, "foo": 7},
        "Home | News | Sport"]}
    (tmp_path / "in.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = _score(runner, tiny_model_dir, str(tmp_path / "in.jsonl"))
    assert result.exit_code == 0, result.stderr
    first, second = _records(result.stdout)[0]["blocks"]
    assert first["tag"] == "p" and first["html_ctx"] == {"xpath": "/html/body/p[1]"} and first["foo"] == 7
    assert set(first) == {"text", "label", "scores", "lang", "lang_score", "foreign", "segments", "tag", "html_ctx",
                          "foo"}
    assert first["lang"] == "en" and first["segments"] == [] and isinstance(first["scores"], dict)  # predicted
    assert set(second) == {"text", "label", "scores", "lang", "lang_score", "foreign", "segments"}


@pytest.mark.parametrize("field", ["text", "raw_content"])
def test_the_text_field_is_not_echoed_and_other_record_fields_are(runner: CliRunner, tiny_model_dir: Path,
                                                                  tmp_path: Path, field: str) -> None:
    # the README: other fields pass through, the text the blocks were cut from does not (its blocks are its text)
    record = {"id": "a", field: "The council kept the ferry running through the winter.\n\nHome | News | Sport",
              "doc_id": 7, "meta": {"source": "cc"}, "text_note": "kept"}
    (tmp_path / "in.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    result = _score(runner, tiny_model_dir, str(tmp_path / "in.jsonl"), "--text-field", field)
    assert result.exit_code == 0, result.stderr
    (out,) = _records(result.stdout)
    assert field not in out and len(out["blocks"]) == 2
    assert out["doc_id"] == 7 and out["meta"] == {"source": "cc"} and out["text_note"] == "kept"


@pytest.mark.parametrize("command", [["score"], ["clean"]])
def test_rejects_from_standard_input_go_to_the_file_named(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path,
                                                           command: list[str]) -> None:
    # to standard output there is no OUTPUT.rejects.jsonl: the raw records were only on stderr
    data = (json.dumps({"id": "a", "text": "The council kept the ferry running through the winter."}) + "\n"
            + "{broken\n")
    rejects = tmp_path / "sub" / "rejected.jsonl"
    result = runner.invoke(cli, [*command, "-", "--rejects", str(rejects), "--model-dir", str(tiny_model_dir)],
                           input=data)
    assert result.exit_code == 0, result.stderr
    (reject,) = _records(rejects.read_text(encoding="utf-8"))
    assert reject["reason"] == "bad_json" and reject["raw"] == "{broken\n" and reject["position"] == 2
    assert f"-> {rejects}" in result.stderr
    for bad in ("-", str(tmp_path / "same.jsonl"))[: 2 if command == ["score"] else 1]:  # mixed into the output
        extra = ["-o", str(tmp_path / "same.jsonl")] if command == ["score"] else []
        mixed = runner.invoke(cli, [*command, "-", *extra, "--rejects", bad, "--model-dir", str(tiny_model_dir)],
                              input=data)
        assert mixed.exit_code == 2 and "--rejects" in mixed.stderr, mixed.stderr
    if command == ["clean"]:  # into a folder, each shard has its rejects file already
        (tmp_path / "in.jsonl").write_text(data, encoding="utf-8")
        folder = runner.invoke(cli, ["clean", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out"),
                                     "--rejects", str(rejects)])
        assert folder.exit_code == 2 and "drop --rejects" in folder.stderr


def test_lang_says_what_it_read_and_all_is_for_the_text_view(runner: CliRunner, tiny_model_dir: Path,
                                                             tmp_path: Path) -> None:
    data = tmp_path / "two.jsonl"
    data.write_text(json.dumps({"id": "a", "text": "The council kept the ferry running through the winter."})
                    + "\n{broken\n", encoding="utf-8")
    shown = runner.invoke(cli, ["lang", str(data), "--model-dir", str(tiny_model_dir)])
    assert shown.exit_code == 0, shown.stderr
    assert "sieve lang: 2 documents read, 1 written, 1 rejected (bad_json: 1)" in shown.stderr
    ignored = runner.invoke(cli, ["lang", str(data), "--format", "jsonl", "--all", "--model-dir", str(tiny_model_dir)])
    assert ignored.exit_code == 2 and "drop --all" in ignored.stderr and "sieve score" in ignored.stderr


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="file names there are Unicode, never raw bytes")
def test_a_document_that_breaks_the_model_is_rejected_even_when_named_with_bytes_not_utf8(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the reject's raw record (its id: the file's name) was encoded as UTF-8, which the
    # name's undecodable bytes cannot be: the whole run crashed
    from classifier.model import BlockModel

    def broken(self: BlockModel, documents: list, **kwargs: object) -> list:
        raise RuntimeError("boom")

    monkeypatch.setattr(BlockModel, "predict_proba", broken)
    name = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.txt")
    Path(name).write_bytes((data_dir / "story.txt").read_bytes())
    result = _score(runner, tiny_model_dir, name, "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 3, result.stderr  # its one document rejected; no crash
    (reject,) = _records((tmp_path / "out.jsonl.rejects.jsonl").read_text(encoding="utf-8"))
    assert reject["reason"] == "internal_error:RuntimeError" and json.loads(reject["raw"])["id"] == "caf\udce9"


def test_train_goes_on_when_a_fold_holds_one_label_and_groups_pages_by_their_site(
        runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    records = [json.loads(line) for line in (data_dir / "train-small.jsonl").read_text(encoding="utf-8").splitlines()]
    # a publisher whose labelled blocks are all navigation (review corrections are often so):
    # the folds trained on it alone crashed (a traceback), or refused the data as one label
    two = [r for r in records if r["publisher"] in ("northernpost.example", "coastalherald.example")]
    for r in two:
        if r["publisher"] == "coastalherald.example":
            r["blocks"] = [{**b, "label": "navigation"} if b.get("label") else b for b in r["blocks"]]
    two[0]["blocks"][0]["label"] = "nav"  # a typo: said, not silently unlabelled
    src = tmp_path / "two.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in two), encoding="utf-8")
    for folds in ("0", "2"):
        out = tmp_path / f"m{folds}"
        result = runner.invoke(cli, ["train", str(src), "-o", str(out), "--folds", folds])
        assert result.exit_code == 0, result.stderr
        assert (out / "blocks.joblib").is_file()
        assert "1 blocks have a label that is none of content, boilerplate, navigation ('nav': 1)" in result.stderr
    evaluated = runner.invoke(cli, ["evaluate", str(src), "--model-dir", str(tmp_path / "m0")])
    assert evaluated.exit_code == 0 and "('nav': 1)" in evaluated.stderr
    # pages of one site without a publisher field are one group (their url's host), not one each
    for r in records:
        if r["publisher"] == "ruralvoice.example":
            del r["publisher"]
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = runner.invoke(cli, ["train", str(src), "-o", str(tmp_path / "m3"), "--folds", "3"])
    assert result.exit_code == 0 and "cross-validating over 3 publishers" in result.stderr


def test_train_refuses_a_folder_that_holds_an_adapter(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "adapted"
    out.mkdir()
    (out / "adapter.joblib").write_bytes(b"an adapter of the model this would replace")
    result = runner.invoke(cli, ["train", str(data_dir / "train-small.jsonl"), "-o", str(out), "--folds", "0"])
    assert result.exit_code == 2 and "holds a publisher adapter" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["adapter.joblib"]


def test_train_refuses_the_shipped_folder_and_a_folder_of_other_files(runner: CliRunner, data_dir: Path,
                                                                      tmp_path: Path, shipped_model_dir: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in shipped_model_dir.iterdir()}
    # the models that come with Sieve, whatever SIEVE_MODEL_DIR says (a folder of one's own is fine)
    monkeypatch.setenv("SIEVE_MODEL_DIR", str(tmp_path))
    result = runner.invoke(cli, ["train", str(data_dir / "labelled.jsonl"), "-o", str(shipped_model_dir)])
    assert result.exit_code == 2 and "models that come with Sieve" in result.stderr and "add --base" in result.stderr
    result = runner.invoke(cli, ["train", "--base", str(tmp_path), str(data_dir / "labelled.jsonl"),
                                 "-o", str(shipped_model_dir)])
    assert result.exit_code == 2 and "models that come with Sieve" in result.stderr and "add --base" not in \
        result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in shipped_model_dir.iterdir()} == before
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.html").write_text("<p>A page.</p>")
    (pages / "Thumbs.db").write_bytes(b"")  # clutter a file browser leaves is no reason
    result = runner.invoke(cli, ["train", str(data_dir / "labelled.jsonl"), "-o", str(pages)])
    assert result.exit_code == 2 and "holds other files than models (a.html)" in result.stderr
    assert sorted(p.name for p in pages.iterdir()) == ["Thumbs.db", "a.html"]


def test_no_output_of_a_run_may_be_one_of_its_inputs(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                     tmp_path: Path) -> None:
    import shutil

    from classifier.document import Document
    from classifier.templates import TemplateMemory

    data = tmp_path / "in.jsonl"
    shutil.copyfile(data_dir / "articles.jsonl", data)
    before = data.read_bytes()
    pages = [Document.from_texts(["Home", "A story."], id=f"p{i}", url=f"https://a.example/{i}") for i in range(4)]
    memory = TemplateMemory.learn(pages, min_pages=2).save(tmp_path / "t.json")
    memory_bytes = memory.read_bytes()
    model = ["--model-dir", str(tiny_model_dir)]
    cases = [
        ["score", str(data), "--rejects", str(data), "-o", str(tmp_path / "out.jsonl"), *model],  # was deleted
        ["score", str(data), "--templates", str(memory), "-o", str(memory), *model],
        ["evaluate", str(data_dir / "labelled.jsonl"), "--templates", str(memory), "--report", str(memory), *model],
        ["templates", "merge", str(memory), "-o", str(memory)],
    ]
    for args in cases:
        result = runner.invoke(cli, args)
        assert result.exit_code == 2 and "both an input and" in result.stderr, (args, result.stderr)
        assert data.read_bytes() == before and memory.read_bytes() == memory_bytes, args
    # the default rejects file of -o X is X.rejects.jsonl: an input of that name was removed as stale
    named = tmp_path / "o.jsonl.rejects.jsonl"
    shutil.copyfile(data, named)
    result = runner.invoke(cli, ["score", str(named), "-o", str(tmp_path / "o.jsonl"), *model])
    assert result.exit_code == 2 and named.read_bytes() == before


def test_align_that_aligns_nothing_leaves_the_earlier_output(runner: CliRunner, tiny_model_dir: Path,
                                                             tmp_path: Path) -> None:
    import json as _json

    page = tmp_path / "p.html"
    page.write_text("<html><body><p>The ferry keeps running through the winter, the council said.</p></body></html>")
    clean = tmp_path / "clean.jsonl"
    clean.write_text(_json.dumps({"id": "other", "text": "Another story entirely."}) + "\n")
    out = tmp_path / "al.jsonl"
    out.write_text('{"earlier": "output"}\n')
    result = runner.invoke(cli, ["align", str(page), "--clean", str(clean), "-o", str(out),
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 1 and "no page was aligned" in result.stderr
    assert out.read_text() == '{"earlier": "output"}\n'


def test_rejects_are_never_mixed_into_the_records_on_standard_output(sieve_executable: str, tiny_model_dir: Path,
                                                                     tmp_path: Path) -> None:
    import subprocess

    data = tmp_path / "r.jsonl"
    data.write_text('{"id": "a", "text": "A story about the ferry, told at length by the islanders."}\n{broken\n')
    proc = subprocess.run([sieve_executable, "score", str(data), "--rejects", "/dev/stdout",
                           "--model-dir", str(tiny_model_dir)], capture_output=True, timeout=300, check=False)
    assert proc.returncode == 2 and b"is standard output" in proc.stderr and proc.stdout == b""


@pytest.mark.parametrize("blank", ["", "   "])
@pytest.mark.parametrize("command", ["score", "lang", "clean", "evaluate", "align", "review", "templates learn"])
def test_a_blank_publisher_is_a_usage_error(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                            tmp_path: Path, command: str, blank: str) -> None:
    # it was taken for no publisher, without a word ("$SITE" unset)
    src = str(data_dir / "labelled.jsonl")
    out = str(tmp_path / "out.jsonl")
    args = {"score": ["score", src], "lang": ["lang", src], "clean": ["clean", src, "-o", str(tmp_path / "out")],
            "evaluate": ["evaluate", src], "align": ["align", src, "--clean", src, "-o", out],
            "review": ["review", src, "-o", out], "templates learn": ["templates", "learn", src, "-o", out]}[command]
    model = [] if command == "templates learn" else ["--model-dir", str(tiny_model_dir)]
    result = runner.invoke(cli, [*args, "--publisher", blank, *model], input="q")
    assert result.exit_code == 2, result.output
    assert "--publisher" in result.stderr and "the name is blank" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_clean_to_standard_output_refuses_stdin_mixed_with_files(runner: CliRunner, tiny_model_dir: Path,
                                                                 data_dir: Path) -> None:
    result = runner.invoke(cli, ["clean", "--format", "text", "-", str(data_dir / "story.txt"),
                                 "--model-dir", str(tiny_model_dir)], input="A story.\n")
    assert result.exit_code == 2 and "cannot be given with files" in result.stderr

@pytest.mark.parametrize("output", [[], ["-o", "out"]])
def test_clean_says_stdin_cannot_be_given_with_files_with_or_without_an_output_folder(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path, output: list[str]) -> None:
    # without -o it asked for an output folder "or '-' as the input", which was given
    src = str(data_dir / "articles.jsonl")
    out = [str(tmp_path / o) if o == "out" else o for o in output]
    for inputs in ([src, "-"], ["-", src], ["-", "-"]):
        result = runner.invoke(cli, ["clean", *inputs, *out, "--model-dir", str(tiny_model_dir)],
                               input=(data_dir / "articles.jsonl").read_text(encoding="utf-8"))
        assert result.exit_code == 2, result.output
        assert "'-' (standard input) cannot be given with files" in result.stderr
        assert "give an output folder" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_evaluate_reads_standard_input_says_what_it_rejected_and_refuses_text(runner: CliRunner,
                                                                                tiny_model_dir: Path,
                                                                                data_dir: Path) -> None:
    labelled = (data_dir / "labelled.jsonl").read_text()
    piped = runner.invoke(cli, ["evaluate", "-", "--model-dir", str(tiny_model_dir)], input=labelled + "{broken\n")
    assert piped.exit_code == 0, piped.stderr
    assert "macro-F1" in piped.stdout
    n = len(labelled.splitlines())
    assert f"1 of {n + 1} records rejected (see above): the figures are of the other {n}" in piped.stderr
    text = runner.invoke(cli, ["evaluate", str(data_dir / "story.txt"), "--model-dir", str(tiny_model_dir)])
    assert text.exit_code == 2 and "is no labelled JSONL" in text.stderr


def test_standard_input_from_a_terminal_says_how_to_end_it(tiny_model_dir: Path) -> None:
    import pty
    import subprocess

    main, secondary = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "classifier", "score", "-", "--model-dir", str(tiny_model_dir)],
                                stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(main, b"The council voted to keep the winter ferry running.\n\x04")  # one Ctrl-D ends it
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:  # still waiting for a second Ctrl-D
                proc.kill()
    finally:
        os.close(main)
        os.close(secondary)
    assert proc.returncode == 0, err
    assert "reading standard input: type or paste the text, then Ctrl-D" in err
    assert json.loads(out.splitlines()[0])["blocks"][0]["text"].startswith("The council voted")


def test_a_command_gives_the_callers_sigterm_handling_back(runner: CliRunner) -> None:
    import signal

    before = signal.getsignal(signal.SIGTERM)
    assert runner.invoke(cli, ["templates", "merge", "--help"]).exit_code == 0
    assert signal.getsignal(signal.SIGTERM) is before


def test_train_reads_the_labelled_files_of_a_folder_and_leaves_notes_out(runner: CliRunner, data_dir: Path,
                                                                         tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    shutil.copyfile(data_dir / "labelled.jsonl", folder / "labelled.jsonl")
    (folder / "notes.txt").write_text("What I labelled and why.\n")
    result = runner.invoke(cli, ["train", str(folder), "-o", str(tmp_path / "m"), "--folds", "0"])
    assert result.exit_code == 0, result.stderr
    assert "1 file of the data folders is no labelled JSONL and was left out" in result.stderr
    named = runner.invoke(cli, ["train", str(folder / "notes.txt"), "-o", str(tmp_path / "m2"), "--folds", "0"])
    assert named.exit_code == 2 and "is no labelled JSONL" in named.stderr
    # a folder of pages only: what they are, not "no document read from  (an empty folder?)"
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in ("a.html", "b.html"):
        (pages / name).write_text("<html><body><p>A page to label first.</p></body></html>")
    for args in (["train", str(pages), "-o", str(tmp_path / "m3")],
                 ["train", "--base", str(tiny_model_dir), str(pages), "-o", str(tmp_path / "m4")]):
        only_pages = runner.invoke(cli, args)
        assert only_pages.exit_code == 1, only_pages.stderr
        assert "no labelled JSONL in the data: its 2 files are pages or text" in only_pages.stderr
        assert "sieve align PAGES --clean" in only_pages.stderr


def test_train_to_a_folder_that_cannot_be_made_fails_before_training(runner: CliRunner, data_dir: Path,
                                                                     tiny_model_dir: Path, tmp_path: Path) -> None:
    # it fitted and reported a whole model, then failed to write it
    (tmp_path / "file").write_text("not a folder")
    for args in (["train", str(data_dir / "labelled.jsonl"), "--folds", "2"],
                 ["train", "--base", str(tiny_model_dir), str(data_dir / "labelled.jsonl")]):
        result = runner.invoke(cli, [*args, "-o", str(tmp_path / "file" / "models")])
        assert result.exit_code == 1 and f"cannot write {tmp_path / 'file' / 'models'}" in result.stderr
        assert "F1" not in result.stdout + result.stderr  # no cross-validation, no before/after report
    # a run that fails after making its folder leaves no empty folder behind (a review)
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"id": "a", "blocks": [{"text": "Only content here, nothing else.",
                                                      "label": "content"}]}) + "\n")
    failed = runner.invoke(cli, ["train", str(one), "-o", str(tmp_path / "new" / "models"), "--folds", "0"])
    assert failed.exit_code == 1 and "two labels" in failed.stderr
    assert not (tmp_path / "new" / "models").exists()


def test_train_that_fails_writing_leaves_no_model_without_its_language_model(
        runner: CliRunner, data_dir: Path, tiny_model_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a full disk (or Ctrl-C) while the language model was copied left blocks.joblib and its
    # card alone in the folder: `sieve models` said lid.ftz MISSING, score failed (a review)
    from classifier import cli as cli_module

    def full_disk(source: Path, folder: Path) -> None:
        raise OSError(28, "No space left on device", str(folder / source.name))

    monkeypatch.setattr(cli_module, "_copy_checked", full_disk)
    args = ["train", str(data_dir / "labelled.jsonl"), "--folds", "0", "--model-dir", str(tiny_model_dir)]
    made = runner.invoke(cli, [*args, "-o", str(tmp_path / "new")])
    assert made.exit_code == 1 and "No space left on device" in made.stderr
    assert not (tmp_path / "new").exists()  # the folder it made, with what it wrote
    kept = tmp_path / "kept"
    kept.mkdir()
    failed = runner.invoke(cli, [*args, "-o", str(kept)])
    assert failed.exit_code == 1, failed.stderr
    assert kept.is_dir() and not list(kept.iterdir())  # not its to remove; no model before its language model
    # a folder the run made keeps what someone else put there meanwhile (only the run's own files go)
    def full_disk_after_a_note(source: Path, folder: Path) -> None:
        (folder / "NOTES.txt").write_text("mine")
        full_disk(source, folder)

    monkeypatch.setattr(cli_module, "_copy_checked", full_disk_after_a_note)
    noted = runner.invoke(cli, [*args, "-o", str(tmp_path / "noted")])
    assert noted.exit_code == 1 and [p.name for p in (tmp_path / "noted").iterdir()] == ["NOTES.txt"]


def test_evaluate_shows_no_figure_for_a_label_absent_from_the_data(runner: CliRunner, tiny_model_dir: Path,
                                                                   tmp_path: Path) -> None:
    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps({"id": "a", "blocks": [{"text": "Residents of the island voted on Tuesday to keep "
                                                                "the winter ferry running.", "label": "content"}]})
                    + "\n")
    result = runner.invoke(cli, ["evaluate", str(data), "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[2:5]}
    absent = [lab for lab, cells in rows.items() if cells[0] == "n/a"]
    assert absent and all(rows[lab] == ["n/a", "n/a", "n/a", "0"] for lab in absent)
    assert "over the labels present it is" in result.stdout


def test_a_model_dir_that_does_not_exist_is_named_without_asking_for_the_option_given(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    story = tmp_path / "story.txt"
    story.write_text("A paragraph of a story about the harbour and its ferry.\n", encoding="utf-8")
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(json.dumps({"id": "a", "blocks": [{"text": "A story.", "label": "content"}]}) + "\n")
    for command in (["score", str(story)], ["evaluate", str(labelled)],
                    ["clean", str(story), "-o", str(tmp_path / "o")]):
        result = runner.invoke(cli, [*command, "--model-dir", str(tmp_path / "nope")])
        assert result.exit_code == 1, (command, result.stderr)  # a missing model: exit 1, as the README says
        assert (f"model folder {tmp_path / 'nope'} not found: --model-dir (Sieve(model_dir=...)) names a folder "
                "of models") in result.stderr
        assert "pass --model-dir" not in result.stderr  # it was passed
    monkeypatch.setenv("SIEVE_MODEL_DIR", str(tmp_path / "gone"))
    from_env = runner.invoke(cli, ["score", str(story)])
    assert from_env.exit_code == 1 and "(from SIEVE_MODEL_DIR) not found" in from_env.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", [["score", "{src}"], ["clean", "-"], ["clean", "--format", "text", "{src}"],
                                  ["clean", "-", "--rejects", "/dev/full"],
                                  ["score", "{src}", "--rejects", "/dev/full"]])
def test_an_output_that_cannot_be_written_is_one_line_naming_it(sieve_executable: str, tiny_model_dir: Path,
                                                                 tmp_path: Path, args: list[str]) -> None:
    import subprocess

    # `clean -` and `clean --format text` into a full disk gave a Python traceback; a full
    # rejects file was reported as "cannot write -" though standard output was fine
    src = tmp_path / "in.jsonl"
    records = [{"id": f"d{i}", "text": "The island ferry keeps running through the winter, the council said."}
               for i in range(3)]
    src.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"id": "broken"\n', encoding="utf-8")
    to_full_rejects = "--rejects" in args
    argv = [a.replace("{src}", str(src)) for a in args] + ["--model-dir", str(tiny_model_dir)]
    argv += ["--min-chars", "10"] if args[0] == "clean" else []
    with open(src, "rb") as stdin, open(os.devnull if to_full_rejects else "/dev/full", "wb") as stdout:
        done = subprocess.run([sieve_executable, *argv], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                              text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    named = "/dev/full" if to_full_rejects else "standard output"
    assert done.stderr.strip().splitlines()[-1] == f"Error: cannot write {named}: No space left on device"


@pytest.mark.parametrize("command", [["clean", "--format", "text", "--min-chars", "10"], ["score", "--format", "table"],
                                     ["lang", "--all"]])
def test_the_views_for_people_show_control_characters_instead_of_sending_them(runner: CliRunner,
                                                                              tiny_model_dir: Path, tmp_path: Path,
                                                                              command: list[str]) -> None:
    # an OSC sequence in a scraped page set the terminal's title through `clean --format text`
    osc = "\x1b]0;owned\x07"
    src = tmp_path / "page.jsonl"
    src.write_text(json.dumps({"id": f"doc{osc}\u202e", "text": f"The island ferry keeps running{osc} through the "
                                                         "winter, the council said on Tuesday.\x9b2J"}) + "\n",
                   encoding="utf-8")
    result = runner.invoke(cli, [*command, str(src), "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    assert "\x1b]" not in result.stdout and "\x07" not in result.stdout and "\x9b" not in result.stdout
    assert "doc\\x1b]0;owned\\x07" in result.stdout
    # a right-to-left override showed the rest of its line reversed
    assert "\u202e" not in result.stdout and "owned\\x07\\u202e" in result.stdout
    if command[0] != "lang":  # (the table cuts its rows to the terminal's width)
        assert "running\\x1b]0;owned\\x07 through" in result.stdout
    if command[0] == "clean":
        assert "Tuesday.\\x9b2J" in result.stdout


def test_the_align_output_warning_counts_its_documents_in_plain_words() -> None:
    # "1 of the 1 document are `sieve align` output"
    from classifier.cli import _aligned_warning

    def docs(aligned: int, plain: int) -> list[Document]:
        return ([Document(f"a{i}", (Block("x"),), extra={"align": {"coverage": 1.0}}) for i in range(aligned)]
                + [Document(f"p{i}", (Block("x"),)) for i in range(plain)])

    said = {(a, p): (_aligned_warning(docs(a, p)) or "").split(" `sieve align`")[0] for a, p in
            ((1, 0), (2, 0), (1, 2), (2, 1))}
    assert said == {(1, 0): "the document is", (2, 0): "all 2 documents are", (1, 2): "1 of the 3 documents is",
                    (2, 1): "2 of the 3 documents are"}
    assert _aligned_warning(docs(0, 2)) is None


def test_the_report_says_when_the_labels_are_sieve_aligns(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                          tmp_path: Path) -> None:
    # the warning was on standard error only: the page shown to others gave boilerplate
    # and navigation figures that grade the model against itself without a word
    records = [json.loads(line) for line in (data_dir / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    aligned = tmp_path / "aligned.jsonl"
    aligned.write_text("".join(json.dumps({**r, "align": {"coverage": 1.0, "doubtful": False}}) + "\n"
                               for r in records), encoding="utf-8")
    report = tmp_path / "report.html"
    result = runner.invoke(cli, ["evaluate", str(aligned), "--model-dir", str(tiny_model_dir), "--report", str(report)])
    assert result.exit_code == 0, result.stderr
    assert "are `sieve align` output" in result.stderr
    page = report.read_text(encoding="utf-8")
    assert "sieve align` output" in page and "not boilerplate from navigation" in page
    plain = tmp_path / "plain.html"
    result = runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), "--model-dir", str(tiny_model_dir),
                                 "--report", str(plain)])
    assert result.exit_code == 0 and "sieve align" not in plain.read_text(encoding="utf-8")


def test_train_merges_review_corrections_with_the_pages_they_correct(runner: CliRunner, tiny_model_dir: Path,
                                                                     data_dir: Path, tmp_path: Path) -> None:
    # `train --base` merged them; `train` trained both copies, the block's old label at
    # the same weight as its correction
    records = [json.loads(line) for line in (data_dir / "train-small.jsonl").read_text(encoding="utf-8").splitlines()]
    first = records[0]
    i = next(k for k, b in enumerate(first["blocks"]) if b["label"] == "navigation")
    corrected = {**first, "reviewed": True,
                 "blocks": [{**b, "label": "boilerplate" if k == i else None} for k, b in enumerate(first["blocks"])]}
    corrections = tmp_path / "corrections.jsonl"
    corrections.write_text(json.dumps(corrected) + "\n", encoding="utf-8")
    out = tmp_path / "m"
    result = runner.invoke(cli, ["train", str(corrections), str(data_dir / "train-small.jsonl"), "-o", str(out),
                                 "--folds", "0", "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    assert "1 labelled page repeats an earlier one" in result.stderr
    assert "share their id" not in result.stderr  # merged: one document, not "each counts here"
    adapted = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(corrections),
                                  str(data_dir / "train-small.jsonl"), "-o", str(tmp_path / "adapted")])
    assert adapted.exit_code == 0, adapted.stderr
    assert "1 labelled page repeats an earlier one" in adapted.stderr and "share their id" not in adapted.stderr
    card = json.loads((out / "blocks.json").read_text(encoding="utf-8"))
    labelled = sum(b["label"] is not None for r in records for b in r["blocks"])
    assert card["training_documents"] == len(records) and card["training_blocks"] == labelled
    # without corrections, a page given twice still counts twice (a copy, said)
    copies = runner.invoke(cli, ["train", str(data_dir / "train-small.jsonl"), str(data_dir / "train-small.jsonl"),
                                 "-o", str(tmp_path / "m2"), "--folds", "0", "--model-dir", str(tiny_model_dir)])
    assert copies.exit_code == 0 and "documents repeat another's blocks exactly" in copies.stderr


# -- --id-field ----------------------------------------------------------------------------------

_ID_STORY = ("Residents of Port Aldwin voted on Tuesday to keep the island ferry running through the winter months. "
             "The council had planned to cut the service.")


def test_score_id_field_gives_the_output_ids(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "rp.jsonl"
    records = [{"doc_id": "rp-1", "text": _ID_STORY, "meta": {"source": "cc"}}, {"text": _ID_STORY},
               {"doc_id": 9, "text": _ID_STORY}, {"doc_id": True, "text": _ID_STORY}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = _score(runner, tiny_model_dir, str(path), "--id-field", "doc_id")
    assert result.exit_code == 0, result.stderr
    out = _records(result.stdout)
    assert [r["id"] for r in out] == ["rp-1", "rp.jsonl:2", 9]
    assert all("doc_id" not in r for r in out) and out[0]["meta"] == {"source": "cc"}
    assert "rp.jsonl:4: bad_schema (field 'doc_id' must be a string or integer, not bool)" in result.stderr
    # without the option, as before: named by file and line, 'doc_id' passed through
    plain = _records(_score(runner, tiny_model_dir, str(path)).stdout)
    assert [r["id"] for r in plain] == [f"rp.jsonl:{i}" for i in range(1, 5)] and plain[0]["doc_id"] == "rp-1"
    lang = runner.invoke(cli, ["lang", str(path), "--format", "jsonl", "--id-field", "doc_id", "--model-dir",
                               str(tiny_model_dir)])
    assert lang.exit_code == 0 and [r["id"] for r in _records(lang.stdout)] == ["rp-1", "rp.jsonl:2", 9]


def test_an_id_field_no_record_has_is_warned_of_before_the_run(runner: CliRunner, tiny_model_dir: Path,
                                                                tmp_path: Path) -> None:
    # a misspelt --id-field named every document by file and line without a word
    path = tmp_path / "rp.jsonl"
    path.write_text("".join(json.dumps({"doc_id": f"rp-{i}", "text": _ID_STORY}) + "\n" for i in range(3)),
                    encoding="utf-8")
    result = _score(runner, tiny_model_dir, str(path), "--id-field", "uid")
    assert result.exit_code == 0, result.stderr
    assert "no record of " in result.stderr and "has 'uid' (--id-field; their fields: 'doc_id', 'text')" \
        in result.stderr
    assert [r["id"] for r in _records(result.stdout)] == [f"rp.jsonl:{i}" for i in range(1, 4)]
    out = tmp_path / "out"
    cleaned = runner.invoke(cli, ["clean", str(path), "-o", str(out), "--id-field", "uid", "--workers", "1",
                                  "--model-dir", str(tiny_model_dir)])
    assert cleaned.exit_code == 0 and "has 'uid' (--id-field" in cleaned.stderr
    # a field the records have, and the default, are not warned of
    for args in (("--id-field", "doc_id"), ()):
        assert "--id-field;" not in _score(runner, tiny_model_dir, str(path), *args).stderr


def test_an_id_field_that_names_the_text_is_refused_before_the_run(runner: CliRunner, tiny_model_dir: Path,
                                                                    tmp_path: Path) -> None:
    # every document was named by its whole text (ids of kilobytes, one per paragraph)
    path = tmp_path / "rp.jsonl"
    path.write_text(json.dumps({"doc_id": "rp-1", "content": _ID_STORY}) + "\n", encoding="utf-8")
    result = _score(runner, tiny_model_dir, str(path), "--text-field", "content", "--id-field", "content")
    assert result.exit_code == 2 and "--id-field content names a field that holds a document's text" in result.stderr
    assert result.stdout == ""
    out = tmp_path / "out"
    cleaned = runner.invoke(cli, ["clean", str(path), "-o", str(out), "--text-field", "content", "--id-field",
                                  "html", "--workers", "1", "--model-dir", str(tiny_model_dir)])
    assert cleaned.exit_code == 2 and "--id-field html names a field" in cleaned.stderr and not out.exists()
    assert _score(runner, tiny_model_dir, str(path), "--text-field", "content", "--id-field", "doc_id").exit_code == 0


def test_score_id_field_of_parquet_rows(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "rp.parquet"
    pq.write_table(pa.table({"doc_id": ["rp-1", None], "id": ["own-1", "own-2"], "text": [_ID_STORY] * 2}), path)
    result = _score(runner, tiny_model_dir, str(path), "--id-field", "doc_id")
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in _records(result.stdout)] == ["rp-1", "rp.parquet:2"]


@pytest.mark.parametrize("command", [["score"], ["lang"], ["clean"], ["evaluate"], ["align"], ["review"], ["train"],
                                     ["templates", "learn"]])
def test_every_command_reading_records_takes_id_field(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(cli, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0 and "--text-field" in result.stdout and "--id-field" in result.stdout


def test_id_field_reaches_labelled_data_and_templates(runner: CliRunner, tiny_model_dir: Path,
                                                      tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.jsonl"
    blocks = [{"text": "Home | News | Sport", "label": "navigation"}, {"text": _ID_STORY, "label": "content"}]
    labelled.write_text("".join(json.dumps({"uid": f"u{min(i, 1)}", "url": f"https://a.example/{i}",
                                            "blocks": blocks}) + "\n" for i in range(3)), encoding="utf-8")
    evaluated = runner.invoke(cli, ["evaluate", str(labelled), "--json", "--id-field", "uid", "--model-dir",
                                    str(tiny_model_dir)])
    assert evaluated.exit_code == 0, evaluated.stderr
    assert "2 documents share their id with another (u1)" in evaluated.stderr  # the ids read from 'uid'
    memory = tmp_path / "templates.json"
    learnt = runner.invoke(cli, ["templates", "learn", str(labelled), "-o", str(memory), "--id-field", "uid"])
    assert learnt.exit_code == 0, learnt.stderr
    empty = runner.invoke(cli, ["score", str(labelled), "--id-field", "", "--model-dir", str(tiny_model_dir)])
    assert empty.exit_code == 2 and "--id-field" in empty.stderr

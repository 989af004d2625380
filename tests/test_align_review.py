"""`sieve align` (weak labels from clean text) and `sieve review` (one key per block)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from classifier.align import align_document
from classifier.cli import cli
from classifier.document import Document, Label

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
    assert "story-2: no clean text" in result.stderr
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
    dropped = runner.invoke(cli, ["align", str(pages), "--clean", str(clean), "-o", str(tmp_path / "d.jsonl"),
                                  "--drop-doubtful", "--model-dir", str(tiny_model_dir)])
    assert [json.loads(line)["id"] for line in (tmp_path / "d.jsonl").read_text().splitlines()] == ["story-0"]
    assert dropped.exit_code == 0


def test_review_takes_one_key_per_block_and_saves_labels(runner: CliRunner, tiny_model_dir: Path,
                                                         data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "corrections.jsonl"
    # c, b, skip, n, undo (takes the n back), n again, then quit
    result = runner.invoke(cli, ["review", str(data_dir / "articles.jsonl"), "-o", str(out),
                                 "--model-dir", str(tiny_model_dir)], input="cbsnunq")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("[c]ontent [b]oilerplate") == 7
    assert "3 blocks labelled" in result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    labels = [b["label"] for r in records for b in r["blocks"] if b["label"]]
    assert sorted(labels) == ["boilerplate", "content", "navigation"]
    # the shown order is least confident first: the first shown block got "c"
    first_shown = result.stdout.split("> ", 1)[1].splitlines()[0].strip()
    assert any(b["text"].split()[:3] == first_shown.split()[:3] and b["label"] == "content"
               for r in records for b in r["blocks"])

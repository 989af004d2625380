"""`sieve evaluate --report`: one self-contained HTML page, opened in a real headless browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from classifier.cli import cli
from classifier.document import Block, Document, Label, Segment
from classifier.report import render_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _docs() -> tuple[list[Document], list[Document]]:
    text = "He said it twice. Wir kommen morgen wieder und bringen alles mit, versprochen! Then he left."
    seg = Segment(18, 78, "de", 0.99)
    pred = Document(id="d<1>", publisher="example.org", lang="en", blocks=(
        Block("Home", label=Label.NAVIGATION, scores=(0.1, 0.1, 0.8), lang="en", lang_score=0.6),
        Block(text, label=Label.CONTENT, scores=(0.9, 0.05, 0.05), lang="en", lang_score=0.9, segments=(seg,)),
        Block("Publié par la rédaction.", label=Label.CONTENT, scores=(0.6, 0.3, 0.1), lang="fr", lang_score=0.9,
              foreign=True),
    ))
    gold = Document(id="d<1>", publisher="example.org", blocks=tuple(Block(b.text) for b in pred.blocks),
                    gold=({"label": "navigation"}, {"label": "content"}, {"label": "boilerplate"}))
    return [pred], [gold]


def test_report_holds_metrics_blocks_and_spans() -> None:
    pred, gold = _docs()
    page = render_report(pred, gold)
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert 'id="macro-f1"' in page and "d&lt;1&gt;" in page and "<1>" not in page.split("<body>")[1][:2000]
    assert page.count('class="block') == 3 and page.count('class="block wrong foreign"') == 1
    assert '<mark class="seg" title="de 0.99">Wir kommen morgen wieder und bringen alles mit, versprochen!</mark>' \
        in page


def test_a_publisher_without_content_has_no_content_f1_and_pages_group_by_their_site() -> None:
    # every block right, none content: its content-vs-rest F1 was shown as 0.000
    menu = Document(id="m", url="https://www.Menus.example/a", blocks=(
        Block("Home", label=Label.NAVIGATION, scores=(0.1, 0.1, 0.8)),))
    gold_menu = Document(id="m", url="https://www.Menus.example/a", blocks=(Block("Home"),),
                         gold=({"label": "navigation"},))
    other = Document(id="n", url="https://menus.example/b", blocks=(Block("News", label=Label.NAVIGATION,
                                                                          scores=(0.1, 0.1, 0.8)),))
    gold_other = Document(id="n", url="https://menus.example/b", blocks=(Block("News"),),
                          gold=({"label": "navigation"},))
    pred, gold = _docs()
    page = render_report([*pred, menu, other], [*gold, gold_menu, gold_other])
    table = page.split('id="per-publisher"')[1].split("</table>")[0]
    assert '<td class="l">menus.example</td><td>n/a</td>' in table and table.count("menus.example") == 1
    assert "(no publisher)" not in table


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_report_renders_in_a_headless_browser(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                              tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), "--model-dir", str(tiny_model_dir),
                                 "--report", str(report), "--json"])
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    profile = tmp_path / "profile"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
              "--window-size=1200,2000"]
    dom = subprocess.run([*common, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = dom.stdout
    n_blocks = sum(len(json.loads(line)["blocks"]) for line in (data_dir / "labelled.jsonl").read_text().splitlines())
    assert len(re.findall(r'<div class="block', rendered)) == n_blocks
    assert f'id="macro-f1">{metrics["macro_f1"]:.4f}<' in rendered
    assert "northernpost.example" in rendered and "<svg" in rendered
    shot = tmp_path / "report.png"
    png = subprocess.run([*common, f"--screenshot={shot}", report.as_uri()], capture_output=True, timeout=120)
    assert png.returncode == 0 and shot.stat().st_size > 20_000  # a page was drawn, not a blank one


def test_a_block_without_a_gold_label_has_a_grey_border_not_its_prediction() -> None:
    pred, gold = _docs()
    unlabelled = Document(id=gold[0].id, publisher=gold[0].publisher, blocks=gold[0].blocks,
                          gold=({"label": "navigation"}, {}, {"label": "boilerplate"}))
    page = render_report(pred, [unlabelled])
    (block,) = [b for b in page.split('<div class="block') if 'data-gold=""' in b]
    assert "border-color:#bdbdbd" in block and 'data-label="content"' in block

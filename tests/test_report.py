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
    assert ('<mark class="seg" title="de 0.99" lang="de">Wir kommen morgen wieder und bringen alles mit, '
            "versprochen!</mark>") in page


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


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (installed by .ci/run)")
def test_right_to_left_blocks_are_laid_out_right_to_left_in_a_browser(tmp_path: Path) -> None:
    # the label before each block's text ("content 0.84") made every Arabic and Hebrew block
    # left-to-right: dir="auto" takes the first strong letter (a review)
    texts = ("مرحبا بكم في موقعنا الإخباري اليومي.", "שלום לכולם, זהו המאמר שלנו היום.", "The harbour reopened.")
    pred = Document(id="rtl", lang="ar", blocks=tuple(
        Block(t, label=Label.CONTENT, scores=(0.9, 0.05, 0.05), lang=lang, lang_score=0.9)
        for t, lang in zip(texts, ("ar", "he", "en"), strict=True)))
    gold = Document(id="rtl", blocks=tuple(Block(t) for t in texts), gold=({"label": "content"},) * 3)
    # the page as written, and a script that writes down each block's direction as the browser computed it
    page = render_report([pred], [gold]).replace(
        "</body>", "<script>for (const b of document.querySelectorAll('div.block')) "
                   "b.dataset.computed = getComputedStyle(b).direction;</script></body>")
    report = tmp_path / "rtl.html"
    report.write_text(page, encoding="utf-8")
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'p'}",
                          "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert re.findall(r'data-computed="(\w+)"', dom.stdout) == ["rtl", "rtl", "ltr"]


def test_a_huge_block_is_shown_in_part_and_says_how_much_is_left_out() -> None:
    from classifier.report import MAX_BLOCK_CHARS

    text = "The council met again. " * 20_000 + "Wir kommen wieder."
    seg = Segment(len(text) - 18, len(text), "de", 0.9)  # past what is shown: not marked
    pred = Document(id="big", blocks=(Block(text, label=Label.CONTENT, scores=(0.9, 0.05, 0.05), lang="en",
                                            segments=(seg, Segment(0, 22, "fr", 0.5))),))
    gold = Document(id="big", blocks=(Block(text),), gold=({"label": "content"},))
    page = render_report([pred], [gold])
    assert len(page) < 40_000 and page.count("The council met again.") <= MAX_BLOCK_CHARS // 23 + 1
    assert f"{len(text) - MAX_BLOCK_CHARS:,} more characters" in page
    assert 'title="fr 0.50"' in page and 'title="de 0.90"' not in page and "Wir kommen" not in page


def test_a_block_without_a_gold_label_has_a_grey_border_not_its_prediction() -> None:
    pred, gold = _docs()
    unlabelled = Document(id=gold[0].id, publisher=gold[0].publisher, blocks=gold[0].blocks,
                          gold=({"label": "navigation"}, {}, {"label": "boilerplate"}))
    page = render_report(pred, [unlabelled])
    (block,) = [b for b in page.split('<div class="block') if 'data-gold=""' in b]
    assert "border-color:#bdbdbd" in block and 'data-label="content"' in block


def test_overlapping_or_unsorted_segments_show_each_character_once() -> None:
    from classifier.report import _marked_text

    text = "He said: « Nous ne reculerons pas. » Wir werden niemals aufgeben, sagte er dann."
    fr = Segment(text.index("«"), text.index("»") + 1, "fr", 0.9)
    de = Segment(text.index("»"), text.index(", sagte"), "de", None)  # shares the » with the French one
    marked = _marked_text(text, [de, fr])
    assert re.sub(r"<[^>]+>", "", marked).replace("&quot;", '"') == text
    assert 'title="de ?"' in marked
    assert re.sub(r"<[^>]+>", "", _marked_text("abcdefghij", [Segment(5, 8, "x", 1.0), Segment(0, 3, "y", 1.0),
                                                              Segment(9, 40, "z", 1.0)])) == "abcdefghij"


def test_labels_absent_from_the_data_have_no_figures_and_the_page_says_why() -> None:
    block = Block("A paragraph of the story.", label=Label.CONTENT, scores=(0.9, 0.05, 0.05))
    pred = [Document(id="c", blocks=(block,))]
    gold = [Document(id="c", blocks=(Block("A paragraph of the story."),), gold=({"label": "content"},))]
    page = render_report(pred, gold)
    table = page.split('id="per-label"')[1].split("</table>")[0]
    assert '<td class="l">navigation</td><td>n/a</td><td>n/a</td><td>n/a</td><td>0</td>' in table
    assert 'id="macro-f1-present">1.0000<' in page and "no block is or was labelled boilerplate, navigation" in page
    assert 'id="confusion"' in page  # the numbers as a table, not only as a picture


def test_a_large_evaluation_shows_what_fits_and_says_what_it_leaves_out() -> None:
    from classifier.report import left_out

    def doc(i: int, n: int, publisher: str | None) -> tuple[Document, Document]:
        blocks = tuple(Block(f"Paragraph {k} of story {i}.", label=Label.CONTENT, scores=(0.9, 0.05, 0.05))
                       for k in range(n))
        return (Document(id=f"d{i}", publisher=publisher, blocks=blocks),
                Document(id=f"d{i}", publisher=publisher, blocks=tuple(Block(b.text) for b in blocks),
                         gold=tuple({"label": "content"} for _ in blocks)))

    pairs = [doc(i, 30, f"very-long-regional-newspaper-{i}.example") for i in range(60)] + [doc(99, 5, None)]
    pred, gold = [p for p, _ in pairs], [g for _, g in pairs]
    page = render_report(pred, gold, max_documents=50, max_blocks=100)
    assert page.count('<div class="block') == 100  # 3 whole documents and 10 blocks of the 4th
    assert "20 more blocks of this document not shown" in page
    assert left_out(pred, max_documents=50, max_blocks=100) == (57, 60 * 30 + 5 - 100)
    assert "Not shown block by block: 57 more documents (1,705 blocks in all left out" in page
    assert "The 40 publishers with the most labelled blocks, of 61" in page
    chart = page.split('aria-label="F1 per publisher"')[1].split("</svg>")[0]
    names = re.findall(r'text-anchor="end">([^<]+)<', chart)
    assert len(names) == 40 and len(set(names)) == 40 and all(len(n) <= 28 for n in names)
    table = page.split('id="per-publisher"')[1].split("</table>")[0]
    assert "<i>(no publisher)</i>" in table and table.count("(no publisher)") == 1


def test_the_report_path_is_checked_before_the_scoring(runner: CliRunner, tiny_model_dir: Path, data_dir: Path,
                                                       tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    bad = runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), "--model-dir", str(tiny_model_dir),
                              "--report", str(tmp_path / "afile" / "r.html"), "--json"])
    assert bad.exit_code == 1 and "cannot write" in bad.stderr and bad.stdout == ""  # no scoring done first
    dash = runner.invoke(cli, ["evaluate", str(data_dir / "labelled.jsonl"), "--model-dir", str(tiny_model_dir),
                               "--report", "-"])
    assert dash.exit_code == 2 and not Path("-").exists()

"""Adapting to a new publisher: `sieve train --base`, the adapter, and what it leaves alone."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from classifier import Sieve
from classifier.adapt import (
    ADAPTER_FILE,
    GOLD_WEIGHT,
    PublisherAdapter,
    _fit_path_model,
    _PathPage,
    choose_blend,
    fit_adapter,
    load_adapter,
    path_matrix,
    path_tokens,
    save_adapter,
)
from classifier.cards import card_path, read_card
from classifier.cli import cli
from classifier.document import Block, Document, Label, labelled_block
from classifier.errors import ModelError
from classifier.html import html_to_blocks
from classifier.model import ModelParams, fit_block_model, save_model

# a blog platform whose German widgets look like article text to a model that never saw them
WIDGETS = [("Gefällt mir Wird geladen …", "boilerplate"),
           ("Hinterlasse einen Kommentar Antworten abbrechen", "boilerplate"),
           ("Ähnliche Beiträge", "navigation"),
           ("Bloggen auf WordPress.com. Datenschutz und Cookies: Diese Website verwendet Cookies.", "boilerplate")]
STORIES = ["Heute waren wir am See und haben den ganzen Nachmittag in der Sonne gelesen und gebadet.",
           "Das Rezept für den Apfelkuchen stammt von meiner Großmutter und gelingt jedes Mal sehr gut.",
           "Im Garten blühen jetzt die ersten Rosen, und die Tomaten brauchen jeden Abend viel Wasser.",
           "Unsere Radtour führte entlang des Flusses bis zur alten Mühle, wo wir eine Pause machten.",
           "Am Wochenende haben wir das Wohnzimmer neu gestrichen, diesmal in einem hellen Grün.",
           "Der Herbstmarkt im Dorf war gut besucht, und es gab frischen Most und warme Waffeln.",
           "Beim Wandern in den Bergen haben wir eine Gämse gesehen, ganz nah am Weg zur Hütte.",
           "Mein neues Buch über die Geschichte der Stadt ist endlich fertig und bald im Laden."]


def _blog_page(i: int) -> dict:
    story = [STORIES[i % len(STORIES)], STORIES[(i + 3) % len(STORIES)]]
    blocks = [{"text": t, "label": "content"} for t in story] + [{"text": t, "label": lab} for t, lab in WIDGETS]
    return {"id": f"blog-{i}", "url": f"https://someone{i}.wordpress.com/post", "publisher": "wordpress.com",
            "blocks": blocks}


def _docs(n: int) -> list[Document]:
    return [Document.from_dict(_blog_page(i)) for i in range(n)]


def _probs(docs: list[Document]) -> list[np.ndarray]:
    return [np.array([b.scores for b in d.blocks]) for d in docs]


def test_adapter_learns_the_platform_and_leaves_others_alone(tiny_model_dir: Path, labelled_documents: list) -> None:
    base = Sieve(tiny_model_dir, model="text")
    adapt_on, held = _docs(5), [Document.from_dict(_blog_page(i)) for i in range(5, 12)]
    adapter = fit_adapter(adapt_on, _probs(list(base.label_many(adapt_on))))
    assert adapter.publishers == {"wordpress.com"} and len(adapter.memory) == len(WIDGETS) + len(STORIES)
    before = list(base.label_many(held))
    right_before = right_after = total = 0
    for doc, p, gold in zip(before, _probs(before), held):
        adapted = adapter.adjust(doc, p)
        for b, row, g in zip(doc.blocks, adapted, gold.gold_labels):
            total += 1
            right_before += b.label is g
            right_after += int(np.argmax(row)) == [Label.CONTENT, Label.BOILERPLATE, Label.NAVIGATION].index(g)
    assert right_after == total and right_after >= right_before
    # another publisher's document: exactly the base model's probabilities
    other = next(base.label_many([labelled_documents[0]]))
    p = _probs([other])[0]
    assert adapter.adjust(other, p) is p


def test_an_adapter_is_the_same_whatever_the_order_of_its_pages(tiny_model_dir: Path, tmp_path: Path) -> None:
    # the text model's coefficients followed the order of the DATA files (up to 1.08 apart)
    base = Sieve(tiny_model_dir, model="text")
    pages = _docs(6)
    probs = _probs(list(base.label_many(pages)))
    one = save_adapter(fit_adapter(pages, probs), tmp_path / "one" / ADAPTER_FILE)
    order = [3, 5, 0, 4, 2, 1]
    other = save_adapter(fit_adapter([pages[i] for i in order], [probs[i] for i in order]),
                         tmp_path / "other" / ADAPTER_FILE)
    assert one.read_bytes() == other.read_bytes()


def _train_blog_adapter(runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> tuple[Result, Path]:
    """`sieve train --base` on 10 blog pages with --general: its result and the adapted folder."""
    data = tmp_path / "blog.jsonl"
    data.write_text("".join(json.dumps(_blog_page(i)) + "\n" for i in range(10)))
    out = tmp_path / "adapted"
    result = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data), "-o", str(out),
                                 "--general", str(data_dir / "labelled.jsonl")])
    assert result.exit_code == 0, result.stderr
    return result, out


def test_train_base_writes_an_adapted_folder_and_reports(runner: CliRunner, tiny_model_dir: Path,
                                                        data_dir: Path, tmp_path: Path) -> None:
    result, out = _train_blog_adapter(runner, tiny_model_dir, data_dir, tmp_path)
    # each blog's url names its own host: scored as bare pages they would not be "wordpress.com"
    assert "urls name other hosts (someone0.wordpress.com, someone1.wordpress.com" in result.stderr
    lines = result.stdout.splitlines()
    held = next(line for line in lines if line.startswith("held-out pages of the publisher (3: "))
    general = next(line for line in lines if line.startswith("general data (30 documents)"))
    before, after = [float(x) for x in held.split("content-vs-rest F1 ")[1].split(",")[0].split(" -> ")]
    assert after >= before and after == 1.0
    g_before, g_after = [float(x) for x in general.split("macro-F1 ")[1].split(" (")[0].split(" -> ")]
    assert g_before == g_after  # other publishers: untouched
    assert (out / ADAPTER_FILE).is_file() and (out / "adapter.json").is_file() and (out / "blocks.joblib").is_file()
    card = json.loads((out / "adapter.json").read_text())
    assert card["publishers"] == ["wordpress.com"] and card["pages"] == 10
    # the adapted folder labels the platform's widgets right, through the normal command
    page = tmp_path / "new.jsonl"
    unlabelled = _blog_page(42)
    unlabelled["blocks"] = [b["text"] for b in unlabelled["blocks"]]
    page.write_text(json.dumps(unlabelled) + "\n")
    scored = runner.invoke(cli, ["score", str(page), "--model-dir", str(out)])
    labels = [b["label"] for b in json.loads(scored.stdout)["blocks"]]
    assert labels == ["content", "content", "boilerplate", "boilerplate", "navigation", "boilerplate"]
    # evaluate says what the adapter did, and its report names it
    evaluated = runner.invoke(cli, ["evaluate", str(tmp_path / "blog.jsonl"), "--model-dir", str(out), "--report",
                                    str(tmp_path / "r.html")])
    assert evaluated.exit_code == 0, evaluated.stderr
    assert "sieve evaluate: the folder's adapter (text model; wordpress.com) adjusted 10 of 10 documents" \
        in evaluated.stderr
    assert "adapter (text model; wordpress.com) adjusted 10" in (tmp_path / "r.html").read_text(encoding="utf-8")


def _adapted_blog(runner: CliRunner, base: Path, tmp_path: Path, pages: int = 4) -> tuple[Path, Path]:
    """``pages`` blog pages (``_blog_page``) as JSONL, and the folder `sieve train --base` adapted to them."""
    data = tmp_path / "blog.jsonl"
    data.write_text("".join(json.dumps(_blog_page(i)) + "\n" for i in range(pages)))
    out = tmp_path / "adapted"
    assert runner.invoke(cli, ["train", "--base", str(base), str(data), "-o", str(out)]).exit_code == 0
    return data, out


def test_a_tampered_adapter_is_refused(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    data, out = _adapted_blog(runner, tiny_model_dir, tmp_path)
    raw = bytearray((out / ADAPTER_FILE).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (out / ADAPTER_FILE).write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="does not match its card"):
        load_adapter(out / ADAPTER_FILE)
    result = runner.invoke(cli, ["score", str(data), "--model-dir", str(out)])
    assert result.exit_code == 1 and "adapter.joblib" in result.stderr and "Traceback" not in result.stderr


def test_an_adapter_whose_card_names_other_publishers_is_refused(runner: CliRunner, tiny_model_dir: Path,
                                                                  tmp_path: Path) -> None:
    # a user added a publisher to the card: `sieve models` showed the edited list while the
    # adapter went on adjusting the pages of its own publishers only, and the new one's not at all
    data, out = _adapted_blog(runner, tiny_model_dir, tmp_path)
    card_file = card_path(out / ADAPTER_FILE)
    card = json.loads(card_file.read_text())
    fitted = card["publishers"]
    assert load_adapter(out / ADAPTER_FILE).publishers == frozenset(fitted)
    card_file.write_text(json.dumps({**card, "publishers": [*fitted, "news.example.org"]}))
    with pytest.raises(ModelError, match="news.example.org.*was the card edited"):
        load_adapter(out / ADAPTER_FILE)
    result = runner.invoke(cli, ["score", str(data), "--model-dir", str(out)])
    assert result.exit_code == 1 and "was the card edited" in result.stderr and "Traceback" not in result.stderr
    # the same publishers spelt as a URL's host (upper case, www.) are the same publishers
    card_file.write_text(json.dumps({**card, "publishers": [f"WWW.{p.upper()}" for p in fitted]}))
    assert load_adapter(out / ADAPTER_FILE).publishers == frozenset(fitted)


def test_an_adapter_refuses_a_model_it_was_not_fitted_on(runner: CliRunner, tiny_model_dir: Path,
                                                          labelled_documents: list, tmp_path: Path) -> None:
    data, out = _adapted_blog(runner, tiny_model_dir, tmp_path)
    assert runner.invoke(cli, ["score", str(data), "--model-dir", str(out)]).exit_code == 0
    # another text model put into the folder (retrained, upgraded): the adapter's blend
    # weights were chosen for the old one, so it says so instead of adjusting quietly
    params = ModelParams(n_char_features=2**12, n_word_features=2**10, trees=20, inner_folds=2, random_state=7)
    other = fit_block_model(labelled_documents, params=params)
    save_model(other, out, card={"training_files": [{"path": "tests/data/labelled.jsonl"}]})
    with pytest.raises(ModelError, match="fitted on another blocks.joblib"):
        load_adapter(out / ADAPTER_FILE, out)
    result = runner.invoke(cli, ["score", str(data), "--model-dir", str(out)])
    assert result.exit_code == 1 and "adapt again" in result.stderr and "Traceback" not in result.stderr


def _templated_page(i: int) -> Document:
    """A blog page cut from HTML: the story in div.entry-content, widgets in aside.widget."""
    story = [STORIES[i % len(STORIES)], STORIES[(i + 3) % len(STORIES)]]
    widgets = "".join(f"<li>{t}</li>" for t, _ in WIDGETS)
    html = (f'<html><body><div id="page" class="site"><article class="post-{100 + i} post">'
            f'<div class="entry-content">{"".join(f"<p>{t}</p>" for t in story)}</div></article>'
            f'<aside id="secondary" class="widget-area"><ul class="widget">{widgets}</ul></aside></div></body></html>')
    labels = ["content"] * len(story) + [lab for _, lab in WIDGETS]
    blocks = [labelled_block(b, lab) for b, lab in zip(html_to_blocks(html), labels, strict=True)]
    return Document.from_dict({"id": f"page-{i}", "url": f"https://blog{i}.wordpress.com/p",
                               "publisher": "wordpress.com", "blocks": blocks})


def test_path_tokens_name_the_steps_the_classes_and_the_last_steps() -> None:
    tokens = path_tokens("html body div.entry-content#main p")
    assert {"s:div.entry-content#main", "c:entry-content", "c:main", "e1:p", "e2:div.entry-content#main p",
            "e3:body div.entry-content#main p"} <= set(tokens)
    assert path_tokens(None) == [] and path_tokens("") == []


def test_a_path_model_learns_where_a_template_puts_the_article(tiny_model_dir: Path, tmp_path: Path) -> None:
    pages = [_templated_page(i) for i in range(6)]
    assert pages[0].blocks[0].path == "html body div.site#page article.post-0.post div.entry-content p"
    base = Sieve(tiny_model_dir, model="text")
    adapter = fit_adapter(pages, _probs(list(base.label_many(pages))))
    assert adapter.path_model is not None and 0.0 <= adapter.path_weight <= 0.9
    # texts it never saw: the path alone says which is the article and which a widget
    proba = adapter._path_proba(["html body div.site#page article.post-0.post div.entry-content p",
                                 "html body div.site#page aside.widget-area#secondary ul.widget li"])
    assert np.argmax(proba[0]) == 0 and np.argmax(proba[1]) != 0
    # a page without paths gets no path model in its blend; text pages train none
    text_only = fit_adapter(_docs(5), _probs(list(base.label_many(_docs(5)))))
    assert text_only.path_model is None and text_only.path_weight == 0.0
    # saved and loaded with its card
    save_adapter(adapter, tmp_path / ADAPTER_FILE)
    loaded = load_adapter(tmp_path / ADAPTER_FILE)
    assert loaded.path_weight == adapter.path_weight
    assert np.allclose(loaded._path_proba([pages[0].blocks[0].path]), adapter._path_proba([pages[0].blocks[0].path]))


def _path_matrix_with_scipy(paths: list, n_features: int):  # type: ignore[no-untyped-def]
    # what path_matrix computed with scikit-learn's FeatureHasher and SciPy
    import scipy.sparse as sp
    from sklearn.feature_extraction import FeatureHasher

    x = FeatureHasher(n_features, input_type="string", alternate_sign=False).transform(
        [path_tokens(p) for p in paths]).tocsr()
    x.data[:] = 1.0
    norms = np.sqrt(np.asarray(x.sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags(1.0 / norms) @ x


def test_path_rows_are_what_feature_hasher_and_scipy_made_bit_for_bit() -> None:
    # the path models were fitted on these rows, and sum their products in this order
    paths = [None, "", "html body div.entry-content#main p", "html body p p p p",  # a step repeated: one column
             "html body div.Grüße#ünï ul.menu li a", "html body div.a div.a div.a div.a section.b p",
             *[f"html body div.w{k % 7} ul li.item-{k} a" for k in range(40)]]
    for n_features in (2**4, 2**12, 2**16):  # few columns: tokens share them
        mine, expected = path_matrix(paths, n_features), _path_matrix_with_scipy(paths, n_features)
        assert mine.shape == expected.shape
        assert mine.indptr.tolist() == expected.indptr.tolist() and mine.indices.tolist() == expected.indices.tolist()
        assert mine.data.dtype == np.float64 and mine.data.tobytes() == expected.data.tobytes()
        coef = np.random.default_rng(n_features).standard_normal((n_features, 3))
        assert (mine @ coef).tobytes() == (expected @ coef).tobytes()


_PROBE = """
import json, sys
from classifier.cli import cli
try:
    cli.main(["score", sys.argv[1], "--model-dir", sys.argv[2], "-o", sys.argv[3]], standalone_mode=False)
except SystemExit as stop:
    assert not stop.code, stop.code
print(json.dumps(sorted(m for m in sys.modules if m in ("sklearn", "scipy.sparse", "sklearn.linear_model"))))
"""


def test_labelling_with_a_path_adapter_imports_neither_scikit_learn_nor_scipy_sparse(tiny_model_dir: Path,
                                                                                     tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = tmp_path / "models"
    shutil.copytree(tiny_model_dir, folder)
    for name in ("html.joblib", "html.json"):
        shutil.copyfile(Path(__file__).resolve().parent.parent / "models" / name, folder / name)
    pages = [_templated_page(i) for i in range(6)]
    base = Sieve(folder)
    adapter = fit_adapter(pages, _probs(list(base.label_many(pages))), base_model="html")
    assert adapter.path_model is not None and adapter.path_weight > 0
    save_adapter(adapter, folder / ADAPTER_FILE)
    story = "".join(f"<p>{t}</p>" for t in STORIES[:2])
    widgets = "".join(f"<li>{t}</li>" for t, _ in WIDGETS)
    html = (f'<html><body><div id="page" class="site"><article class="post-7 post"><div class="entry-content">{story}'
            f'</div></article><aside id="secondary" class="widget-area"><ul class="widget">{widgets}</ul></aside>'
            '</div></body></html>')
    source = tmp_path / "pages.jsonl"
    source.write_text(json.dumps({"id": "p7", "url": "https://blog7.wordpress.com/p", "publisher": "wordpress.com",
                                  "html": html}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    run = subprocess.run([sys.executable, "-c", _PROBE, str(source), str(folder), str(out)], capture_output=True,
                         text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []
    assert "adjusted 1 of 1" in run.stderr  # the adapter applied, its path model with it
    in_process = Sieve(folder)
    expected = next(in_process.label_many([Document.from_dict(json.loads(source.read_text(encoding="utf-8")))]))
    labelled = json.loads(out.read_text(encoding="utf-8"))
    assert [b["scores"] for b in labelled["blocks"]] == [b.to_dict()["scores"] for b in expected.blocks]


def test_an_adapter_adjusts_only_the_model_it_was_fitted_on(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    shutil.copytree(tiny_model_dir, folder)
    for name in ("html.joblib", "html.json"):  # the shipped HTML model labels the pages
        shutil.copyfile(Path(__file__).resolve().parent.parent / "models" / name, folder / name)
    pages = [_templated_page(i) for i in range(6)]
    assert all(b.dom is not None for b in pages[0].blocks)  # DOM facts read back from the labelled blocks
    base = Sieve(folder)
    assert {base.model_kind(p) for p in pages} == {"html"}
    adapter = fit_adapter(pages, _probs(list(base.label_many(pages))), base_model="html")
    save_adapter(adapter, folder / ADAPTER_FILE)
    adapted = Sieve(folder)
    seen: list[str] = []
    real = adapted.adapter.adjust

    def spy(doc: Document, probs: np.ndarray, *kind: str | None) -> np.ndarray:
        seen.append(str(doc.id))
        return real(doc, probs, *kind)

    adapted.adapter.adjust = spy
    page = _templated_page(7)
    text = Document.from_texts([b.text for b in page.blocks], id="as-text", publisher=page.publisher)  # same one
    assert adapted.model_kind(text) == "text"
    list(adapted.label_many([page, text]))
    assert seen == [str(page.id)]  # the page through the HTML model is adjusted, the text is not
    assert adapted.adapted == 1 and "adjusted 1 of 2 documents" in (adapted.adapter_note(2) or "")


def test_pages_whose_dom_facts_were_lost_are_named(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "old-align.jsonl"
    records = []
    for i in range(6):
        rec = _templated_page(i).to_dict()
        rec["blocks"] = [{"text": b.text, "label": g.value if g else None, "path": b.path}  # no "dom"
                         for b, g in zip(_templated_page(i).blocks, _templated_page(i).gold_labels)]
        records.append(rec)
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    assert "6 labelled pages have block paths but no DOM facts" in result.stderr
    assert load_adapter(tmp_path / "out" / ADAPTER_FILE).base_model == "text"


def test_sieve_train_on_labelled_pages_builds_an_html_model(runner: CliRunner, tiny_model_dir: Path,
                                                            tmp_path: Path) -> None:
    def record(doc: Document) -> dict:
        return {"id": doc.id, "url": doc.url, "publisher": doc.publisher,
                "blocks": [labelled_block(b, g.value if g else None) for b, g in zip(doc.blocks, doc.gold_labels)]}

    data = tmp_path / "pages.jsonl"
    data.write_text("".join(json.dumps(record(_templated_page(i))) + "\n" for i in range(8)))
    out = tmp_path / "site-html"
    result = runner.invoke(cli, ["train", str(data), "-o", str(out), "--folds", "0",
                                 "--model-dir", str(tiny_model_dir)])
    assert result.exit_code == 0, result.stderr
    assert "the HTML model, from 8 labelled web pages" in result.stderr
    assert {"html.joblib", "html.json", "blocks.joblib", "blocks.json", "lid.ftz"} <= {f.name for f in out.iterdir()}
    sieve = Sieve(out)
    assert sieve.html_model.params.use_dom and sieve.html_model.params.container_context
    page = _templated_page(9)
    assert sieve.model_kind(page) == "html"
    labelled = next(sieve.label_many([page]))
    assert all(b.label is not None for b in labelled.blocks)
    # pages and text together: one kind at a time
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(data.read_text() + json.dumps(_blog_page(0)) + "\n")
    refused = runner.invoke(cli, ["train", str(mixed), "-o", str(tmp_path / "x"), "--folds", "0",
                                  "--model-dir", str(tiny_model_dir)])
    assert refused.exit_code != 0 and "mixes 8 web pages" in refused.stderr


def _adapted_folder(tiny_model_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "adapted"
    shutil.copytree(tiny_model_dir, folder)
    base = Sieve(tiny_model_dir, model="text")
    save_adapter(fit_adapter(_docs(5), _probs(list(base.label_many(_docs(5))))), folder / ADAPTER_FILE)
    return folder


def test_clean_counts_the_adapted_documents_per_shard_whatever_the_workers(runner: CliRunner, tiny_model_dir: Path,
                                                                           tmp_path: Path) -> None:
    folder = _adapted_folder(tiny_model_dir, tmp_path)
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    for s in range(4):  # 3 blog pages (the adapter's publisher) and 1 other page per shard
        other = {"id": f"other-{s}", "url": "https://news.example/a", "text": STORIES[s] + "\n\n" + STORIES[s + 1]}
        lines = [json.dumps(_blog_page(10 * s + i)) for i in range(3)] + [json.dumps(other)]
        (crawl / f"part-{s}.jsonl").write_text("\n".join(lines) + "\n")
    reports = {}
    for workers in ("1", "2"):
        out = tmp_path / f"clean-{workers}"
        result = runner.invoke(cli, ["clean", str(crawl), "-o", str(out), "--model-dir", str(folder),
                                     "--workers", workers])
        assert result.exit_code == 0, result.stderr
        shards = {p.name: json.loads(p.read_text())["adapted"] for p in out.glob("part-*.report.json")}
        reports[workers] = (json.loads((out / "_report.json").read_text())["adapted"], shards)
    assert reports["1"] == reports["2"] == (12, {f"part-{s}.report.json": 3 for s in range(4)})
    # each record says whether the adapter adjusted it: its sha256 beside the block model's
    with gzip.open(tmp_path / "clean-1" / "part-0.jsonl.gz", "rt", encoding="utf-8") as f:
        models = {r["id"]: r["metadata"]["model"] for r in map(json.loads, f)}
    adapter_sha = read_card(folder / ADAPTER_FILE)["sha256"][:16]
    assert {i: m.get("adapter_sha256") for i, m in models.items()} == {
        "blog-0": adapter_sha, "blog-1": adapter_sha, "blog-2": adapter_sha}
    piped = runner.invoke(cli, ["clean", "-", "--model-dir", str(folder), "--min-chars", "1", "--keep", "content",
                                "--keep", "navigation", "--keep", "boilerplate"],
                          input=(crawl / "part-0.jsonl").read_text())
    assert piped.exit_code == 0, piped.stderr
    models = {r["id"]: r["metadata"]["model"] for r in map(json.loads, piped.stdout.splitlines())}
    assert models["other-0"].get("adapter_sha256") is None and models["blog-0"]["adapter_sha256"] == adapter_sha
    assert {m["block_model"] for m in models.values()} == {"blocks.joblib"}


def test_a_batch_labelled_again_is_not_counted_twice(tiny_model_dir: Path, tmp_path: Path, break_document) -> None:
    sieve = Sieve(_adapted_folder(tiny_model_dir, tmp_path), model="text")
    docs = [Document.from_dict(_blog_page(i)) for i in range(6)]
    break_document(sieve, "blog-3")
    failed: list[str] = []
    done = list(sieve.label_many(docs, on_error=lambda d, e: failed.append(str(d.id))))
    assert failed == ["blog-3"] and len(done) == 5
    assert sieve.adapted == 5  # the batch failed once and was labelled again one by one


def test_too_few_pages_for_a_report_are_named(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "blog.jsonl"
    data.write_text("".join(json.dumps(_blog_page(i)) + "\n" for i in range(3)))
    result = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    assert "no before/after report on the publisher's pages: 3 labelled pages (of 3) are too few" in result.stderr
    assert "adapter of the text model for wordpress.com: 3 pages" in result.stderr


def test_an_adapter_that_drops_most_of_the_text_is_named(runner: CliRunner, tiny_model_dir: Path,
                                                         data_dir: Path, tmp_path: Path) -> None:
    # pages aligned to an excerpt of each article label the rest of it non-content: an
    # adapter learned to drop 78% of a publisher's text, and its held-out figures (scored
    # against the same labels) barely moved
    pages = [json.loads(line) for line in (data_dir / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    pages = [p for p in pages if p["publisher"] == pages[0]["publisher"]]
    assert len(pages) >= 4
    good = tmp_path / "pages.jsonl"
    good.write_text("".join(json.dumps(p) + "\n" for p in pages))
    for p in pages:  # the headline and the first paragraph kept, the rest of the article called navigation
        content = [b for b in p["blocks"] if b["label"] == "content"]
        for b in content[2:]:
            b["label"] = "navigation"
    excerpts = tmp_path / "excerpts.jsonl"
    excerpts.write_text("".join(json.dumps(p) + "\n" for p in pages))
    result = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(excerpts), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    line = next(x for x in result.stderr.splitlines() if f"of the text of the {len(pages)} pages given" in x)
    before, after = (int(x.split("%")[0].split()[-1]) for x in line.split(", the adapter"))
    assert after < before / 2, line
    assert "warning: the adapter labels less than half the text the base model does content" in result.stderr
    # the pages' own labels: the adapter keeps about what the base keeps, and no warning
    fine = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(good), "-o", str(tmp_path / "out2")])
    assert fine.exit_code == 0 and f"of the text of the {len(pages)} pages given" in fine.stderr
    assert "less than half" not in fine.stderr and "over twice" not in fine.stderr


def test_an_adapter_of_one_label_says_it_only_remembers_texts(runner: CliRunner, tiny_model_dir: Path,
                                                              tmp_path: Path) -> None:
    # it said "path-model weight none (no DOM paths)" of pages that had them
    def content_only(i: int) -> dict:
        page = _blog_page(i)
        page["blocks"] = [b if b["label"] == "content" else b["text"] for b in page["blocks"]]
        return page

    data = tmp_path / "content.jsonl"
    data.write_text("".join(json.dumps(content_only(i)) + "\n" for i in range(3)))
    result = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    assert "6 labelled blocks, 6 remembered texts, no model weights (the labelled blocks are all of one label" \
        in result.stderr
    assert "no DOM paths" not in result.stderr


def test_general_data_of_the_adapted_publisher_is_named(runner: CliRunner, tiny_model_dir: Path,
                                                        tmp_path: Path) -> None:
    data = tmp_path / "blog.jsonl"
    data.write_text("".join(json.dumps(_blog_page(i)) + "\n" for i in range(6)))
    result = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data), "-o", str(tmp_path / "out"),
                                 "--general", str(data)])
    assert result.exit_code == 0, result.stderr
    assert "6 of the --general documents are of the adapted publisher(s)" in result.stderr


def test_train_base_says_what_its_figures_are_worth(runner: CliRunner, copy_model_dir, tmp_path: Path) -> None:
    """Held-out pages labelled by `sieve align` grade boilerplate against navigation by the
    base model's own labels, and general data the base model was trained on is in-sample:
    `sieve evaluate` said both, `train --base` printed the same figures without a word."""
    import hashlib

    folder = copy_model_dir()
    general = Path(__file__).parent / "data" / "labelled.jsonl"
    card = json.loads((folder / "blocks.json").read_text(encoding="utf-8"))
    card["training_files"] = [{"path": str(general), "sha256": hashlib.sha256(general.read_bytes()).hexdigest()}]
    (folder / "blocks.json").write_text(json.dumps(card), encoding="utf-8")
    data = tmp_path / "aligned.jsonl"
    data.write_text("".join(json.dumps({**_blog_page(i), "align": {"coverage": 1.0}}) + "\n" for i in range(8)))
    result = runner.invoke(cli, ["train", "--base", str(folder), str(data), "-o", str(tmp_path / "out"),
                                 "--general", str(general)])
    assert result.exit_code == 0, result.stderr
    assert "sieve train: warning: of the held-out pages, all 2 documents are `sieve align` output" \
        in result.stderr
    assert f"sieve train: warning: {general} is a file blocks.joblib was trained on" in result.stderr
    assert "these figures are in-sample" in result.stderr
    # reviewed pages are a person's labels: no caveat; and no hold-out asked for is said so
    data.write_text("".join(json.dumps({**_blog_page(i), "align": {"coverage": 1.0}, "reviewed": True}) + "\n"
                            for i in range(8)))
    again = runner.invoke(cli, ["train", "--base", str(folder), str(data), "-o", str(tmp_path / "out2")])
    assert again.exit_code == 0 and "align` output" not in again.stderr, again.stderr
    none = runner.invoke(cli, ["train", "--base", str(folder), str(data), "-o", str(tmp_path / "out3"),
                               "--holdout-share", "0"])
    assert none.exit_code == 0 and "no before/after report on the publisher's pages: none held out " \
        "(--holdout-share 0)" in none.stderr, none.stderr


def test_a_corrected_page_is_one_page_with_the_corrections_first() -> None:
    from classifier.adapt import merge_repeated_pages

    aligned = Document.from_dict(_blog_page(1))
    fix = _blog_page(1)
    fix["id"] = "review-1"
    fix["blocks"] = [{"text": b["text"], "label": None} for b in fix["blocks"]]
    fix["blocks"][2]["label"] = "content"  # the reviewer says the first widget line is content
    other = Document.from_dict(_blog_page(2))
    docs, merged = merge_repeated_pages([aligned, other, Document.from_dict(fix)])
    assert merged == 1 and [d.id for d in docs] == ["blog-1", "blog-2"]
    labels = docs[0].gold_labels
    assert labels[2] is Label.CONTENT
    assert labels[:2] == aligned.gold_labels[:2] and labels[3:] == aligned.gold_labels[3:]
    moved = _blog_page(1)
    moved["blocks"] = moved["blocks"][:-1]  # the same url with other blocks: another page
    assert merge_repeated_pages([aligned, Document.from_dict(moved)])[1] == 0


def _pathed_block(text: str, path: str) -> Block:
    """A block as `sieve align` writes it from a page: with its DOM path."""
    return Block(text, path=path)


def test_the_path_model_learns_containers_from_the_unlabelled_blocks_the_base_model_is_sure_of() -> None:
    # one labelled block per label; the sidebar's widgets unlabelled, the base model sure of them
    article, widget = "html body article div.entry-content p", "html body aside.widget-area div.textwidget p"
    footer = "html body footer.site-footer p"
    blocks = ([labelled_block(_pathed_block("A story paragraph.", article), "content"),
               labelled_block(_pathed_block("Follow us", footer), "navigation")]
              + [labelled_block(_pathed_block(f"Widget line {k}", widget), None) for k in range(6)])
    doc = Document.from_dict({"id": "p", "publisher": "x.example", "blocks": blocks})
    sure_boilerplate = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]] + [[0.02, 0.96, 0.02]] * 6)
    page = _PathPage.of(doc, sure_boilerplate, 2**12)
    without, with_pseudo = _fit_path_model([page], None), _fit_path_model([page], 0.9)
    assert without is not None and with_pseudo is not None
    assert 1 not in without.classes_  # labelled blocks only: no boilerplate to learn
    assert 1 in with_pseudo.classes_
    assert int(with_pseudo.predict(path_matrix([widget], 2**12).tocsr())[0]) == 1
    unsure = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]] + [[0.3, 0.4, 0.3]] * 6)
    unsure_model = _fit_path_model([_PathPage.of(doc, unsure, 2**12)], 0.9)
    assert unsure_model is not None and 1 not in unsure_model.classes_  # below the confidence: not used
    assert GOLD_WEIGHT > 1  # a labelled block outweighs a pseudo-labelled one


def test_choose_blend_shifts_weight_to_the_path_model_when_the_evidence_cannot_tell() -> None:
    rng = np.random.default_rng(0)
    noise = list(rng.uniform(0.0, 0.4, 30))
    losses = {(None, 0.25, 0.25): noise,                        # the best mean
              (None, 0.0, 0.5): [x + 0.01 for x in noise],       # as good within one standard error
              (None, 0.0, 0.25): [x + 0.005 for x in noise],     # less weight in all: not a candidate
              (0.9, 0.5, 0.0): [x + 0.5 for x in noise]}         # clearly worse
    best, scores = choose_blend(losses, (None, 0.9))
    assert best == (None, 0.0, 0.5)
    assert scores[(None, 0.25, 0.25)] < scores[(None, 0.0, 0.5)]
    # a clear winner stays the winner
    clear = {(None, 0.25, 0.25): noise, (None, 0.0, 0.5): [x + 1.0 for x in noise]}
    assert choose_blend(clear, (None,))[0] == (None, 0.25, 0.25)
    # text weights only (no path model): the least weight within one standard error of the best...
    text_only = {(None, w, 0.0): [x + abs(w - 0.5) / 100 for x in noise] for w in (0.0, 0.25, 0.5)}
    best, scores = choose_blend(text_only, (None,))
    assert best == (None, 0.0, 0.0) and scores[(None, 0.5, 0.0)] < scores[(None, 0.0, 0.0)]
    # ...and the best one when the others are clearly worse
    text_clear = {(None, w, 0.0): [x + abs(w - 0.5) for x in noise] for w in (0.0, 0.25, 0.5)}
    assert choose_blend(text_clear, (None,))[0] == (None, 0.5, 0.0)


def test_a_document_without_blocks_does_not_break_fitting_and_no_evidence_is_never_chosen() -> None:
    empty = Document.from_dict({"id": "e", "publisher": "x.example", "blocks": []})
    page = Document.from_dict({"id": "p", "publisher": "x.example", "blocks": [
        labelled_block(_pathed_block("A story paragraph.", "html body article p"), "content"),
        labelled_block(_pathed_block("Follow us", "html body footer p"), "navigation")]})
    adapter = fit_adapter([empty, page], [np.zeros((0, 3)), np.array([[0.8, 0.1, 0.1], [0.2, 0.1, 0.7]])],
                          base_model="html")
    assert adapter.pages == 2 and adapter.path_model is not None
    assert choose_blend({(None, 0.0, 0.0): [], (None, 0.5, 0.0): [0.3]}, (None,))[0] == (None, 0.5, 0.0)


def test_train_base_holds_out_labelled_pages_only(runner: CliRunner, tiny_model_dir: Path, tmp_path: Path) -> None:
    # with most pages unlabelled, held-out pages were drawn among them and the report
    # scored 0 labelled blocks
    pages = [_blog_page(i) for i in range(12)]
    for page in pages[4:]:
        page["blocks"] = [{"text": b["text"]} for b in page["blocks"]]
    data = tmp_path / "blog.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in pages))
    result = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    held = next(line for line in result.stdout.splitlines() if line.startswith("held-out pages of the publisher"))
    named = held.split("(", 1)[1].split(")", 1)[0]
    assert all(f"blog-{i}" not in named for i in range(4, 12)), held


def test_train_base_holds_out_pages_of_each_publisher_with_pages_left_to_fit(runner: CliRunner,
                                                                           tiny_model_dir: Path,
                                                                           tmp_path: Path) -> None:
    # pages were held out across publishers: those of a publisher with no page left to
    # fit on were scored by the base model before and after ("1.0000 -> 1.0000")
    pages = [_blog_page(i) for i in range(8)]
    for i, page in enumerate(pages):
        page["publisher"] = "big.example" if i < 4 else f"one{i}.example"
    for page in pages[6:]:  # pages that name no publisher: no adapter's, so never held out
        del page["publisher"], page["url"]
    data = tmp_path / "pages.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in pages))
    result = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data), "-o", str(tmp_path / "out"),
                                 "--holdout-share", "0.5"])
    assert result.exit_code == 0, result.stderr
    held = next(line for line in result.stdout.splitlines() if line.startswith("held-out pages of the publisher"))
    named = held.split(": ", 1)[1].split(")", 1)[0].split(", ")
    assert len(named) == 2 and all(n in {f"blog-{i}" for i in range(4)} for n in named), held
    # a platform's pages under their own host names: one page per publisher, said so
    pages = pages[:6]
    for page in pages:
        page["publisher"] = None
    data.write_text("".join(json.dumps(p) + "\n" for p in pages))
    single = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data), "-o", str(tmp_path / "out2")])
    assert single.exit_code == 0, single.stderr
    assert "6 of the 6 publishers have one labelled page each" in single.stderr
    assert "publishers' labelled pages are too few to hold some of each out" in single.stderr
    assert not any(line.startswith("held-out pages") for line in single.stdout.splitlines())


def test_review_corrections_win_whatever_the_file_order_and_url_spelling(runner: CliRunner, tiny_model_dir: Path,
                                                                        tmp_path: Path) -> None:
    """`sieve review` writes its corrections marked as reviewed: merged with `sieve
    align`'s labels of the same page (its url spelled another way, or by id without
    one), the corrections win even when their file comes first."""
    from classifier.adapt import merge_repeated_pages

    aligned = _blog_page(1)
    pages = tmp_path / "pages.jsonl"
    page = dict(aligned)
    page["url"] = page["url"].replace("https://", "http://www.") + "/"
    page["blocks"] = [{"text": b["text"]} for b in aligned["blocks"]]
    pages.write_text(json.dumps(page) + "\n")
    out = tmp_path / "corrections.jsonl.gz"
    first = runner.invoke(cli, ["review", str(pages), "-o", str(out), "--limit", "1", "--model-dir",
                                str(tiny_model_dir)], input="b")
    assert first.exit_code == 0, first.stderr
    # a second session resumes from its own gzipped output
    again = runner.invoke(cli, ["review", str(pages), "-o", str(out), "--limit", "1", "--model-dir",
                                str(tiny_model_dir)], input="q")
    assert again.exit_code == 0, again.stderr
    [fix] = [json.loads(line) for line in gzip.decompress(out.read_bytes()).decode().splitlines()]
    assert fix["reviewed"] is True
    corrected = next(i for i, b in enumerate(fix["blocks"]) if b.get("label"))
    assert fix["blocks"][corrected]["label"] == "boilerplate"
    for order in ((Document.from_dict(fix), Document.from_dict(aligned)),
                  (Document.from_dict(aligned), Document.from_dict(fix))):
        docs, merged = merge_repeated_pages(order)
        assert merged == 1 and len(docs) == 1
        labels = docs[0].gold_labels
        assert labels[corrected] is Label.BOILERPLATE
        others = Document.from_dict(aligned).gold_labels
        assert [lab for i, lab in enumerate(labels) if i != corrected] == \
            [lab for i, lab in enumerate(others) if i != corrected]
        assert docs[0].url and docs[0].publisher == Document.from_dict(aligned).publisher
    # pages without a url: by their own ids, never by ids made up from file and line
    a = {"id": "p1", "blocks": [{"text": "Home", "label": "navigation"}, {"text": "Story text.", "label": "content"}]}
    b = {"id": "p1", "reviewed": True, "blocks": [{"text": "Home", "label": "boilerplate"}, {"text": "Story text."}]}
    docs, merged = merge_repeated_pages([Document.from_dict(b), Document.from_dict(a)])
    assert merged == 1 and docs[0].gold_labels == [Label.BOILERPLATE, Label.CONTENT]
    made_up = [Document.from_dict({k: v for k, v in r.items() if k != "id"}, default_id="x.jsonl:1") for r in (a, b)]
    assert merge_repeated_pages(made_up)[1] == 0


def test_an_adapter_for_other_publishers_is_not_replaced(runner: CliRunner, tiny_model_dir: Path,
                                                         tmp_path: Path) -> None:
    blogs = tmp_path / "blogs.jsonl"
    blogs.write_text("".join(json.dumps(_blog_page(i)) + "\n" for i in range(3)))
    news = tmp_path / "news.jsonl"
    news.write_text("".join(json.dumps({**_blog_page(i), "publisher": "harbour.example",
                                        "url": f"https://harbour.example/{i}"}) + "\n" for i in range(3)))
    out = tmp_path / "adapted"
    first = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(blogs), "-o", str(out)])
    assert first.exit_code == 0, first.stderr
    card = (out / "adapter.json").read_bytes()
    other = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(news), "-o", str(out)])
    assert other.exit_code == 1
    assert f"{out} holds an adapter for wordpress.com; this run's data is of harbour.example" in other.stderr
    assert (out / "adapter.json").read_bytes() == card  # left as it was
    many = tmp_path / "many.jsonl"  # a run of many publishers' data: the first five named, the rest counted
    many.write_text("".join(json.dumps({**_blog_page(i), "publisher": f"site{i}.example",
                                        "url": f"https://site{i}.example/{i}"}) + "\n" for i in range(8)))
    crowded = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(many), "-o", str(out)])
    assert crowded.exit_code == 1
    assert ("this run's data is of site0.example, site1.example, site2.example, site3.example, site4.example "
            "and 3 more, and its adapter would replace it") in crowded.stderr
    both = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(blogs), str(news), "-o", str(out)])
    assert both.exit_code == 1 and "give the pages of every publisher in one run" in both.stderr
    redo = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(blogs), "-o", str(out)])
    assert redo.exit_code == 0, redo.stderr  # the same publishers: a redo


def test_training_an_html_model_keeps_the_folders_own_text_model(runner: CliRunner, tiny_model_dir: Path,
                                                                  data_dir: Path, tmp_path: Path) -> None:
    """A text model trained into a folder, then an HTML model into the same folder
    (without --model-dir): the folder's text model stays, not the shipped one."""
    def record(doc: Document) -> dict:
        return {"id": doc.id, "url": doc.url, "publisher": doc.publisher,
                "blocks": [labelled_block(b, g.value if g else None) for b, g in zip(doc.blocks, doc.gold_labels)]}

    out = tmp_path / "mine"
    text = runner.invoke(cli, ["train", str(data_dir / "labelled.jsonl"), "-o", str(out), "--folds", "0"])
    assert text.exit_code == 0, text.stderr
    own = (out / "blocks.joblib").read_bytes()
    pages = tmp_path / "pages.jsonl"
    pages.write_text("".join(json.dumps(record(_templated_page(i))) + "\n" for i in range(6)))
    html = runner.invoke(cli, ["train", str(pages), "-o", str(out), "--folds", "0"])
    assert html.exit_code == 0, html.stderr
    assert (out / "blocks.joblib").read_bytes() == own and (out / "html.joblib").is_file()
    Sieve(out).check_models()


def test_train_refuses_to_write_over_its_data_and_says_when_a_stream_cannot_be_hashed(
        runner: CliRunner, tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "jd"
    folder.mkdir()
    shutil.copyfile(data_dir / "labelled.jsonl", folder / "blocks.json")  # JSON Lines may be named .json
    named = runner.invoke(cli, ["train", str(folder / "blocks.json"), "-o", str(folder), "--folds", "0"])
    assert named.exit_code == 2 and "would be written over" in named.stderr
    shutil.copyfile(data_dir / "labelled.jsonl", folder / "train.json")
    other = runner.invoke(cli, ["train", str(data_dir / "labelled.jsonl"), "-o", str(folder), "--folds", "0"])
    assert other.exit_code == 2 and "holds other files than models" in other.stderr and "train.json" in other.stderr
    assert (folder / "blocks.json").read_bytes() == (data_dir / "labelled.jsonl").read_bytes()
    import subprocess
    import sys

    piped = subprocess.run(f"{sys.executable} -m classifier train <(cat {data_dir / 'labelled.jsonl'}) "
                           f"-o {tmp_path / 'm'} --folds 0", shell=True, executable="/bin/bash", capture_output=True,
                           text=True)
    assert piped.returncode == 0, piped.stderr
    card = json.loads((tmp_path / "m" / "blocks.json").read_text())
    assert card["training_files"][0]["sha256"] is None


def test_copies_of_a_document_stay_in_one_cross_validation_fold(runner: CliRunner, data_dir: Path,
                                                                tmp_path: Path) -> None:
    from classifier.model import publisher_groups

    records = [json.loads(line) for line in (data_dir / "labelled.jsonl").read_text().splitlines()]
    bare = [{k: v for k, v in r.items() if k not in ("publisher", "url")} for r in records]
    copies = [{**r, "id": f"{r['id']}-recrawl"} for r in bare]
    docs = [Document.from_dict(r) for r in bare + copies]
    groups = publisher_groups(docs)
    assert groups[:len(bare)] == groups[len(bare):] and len(set(groups)) == len(bare)
    data = tmp_path / "twice.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in bare + copies))
    result = runner.invoke(cli, ["train", str(data), "-o", str(tmp_path / "m"), "--folds", "0"])
    assert result.exit_code == 0, result.stderr
    assert f"{len(bare)} documents repeat another's blocks exactly" in result.stderr
    assert f"{2 * len(bare)} documents name no publisher and have no url" in result.stderr  # documents, not groups
    # a copy under another publisher (a mirror, an aggregator) joins its original's group, and
    # with it the other pages of the original's publisher
    named = [{**r, "publisher": f"site{i % 2}.example"} for i, r in enumerate(bare)]
    mirrored = [{**r, "id": f"{r['id']}-mirror", "publisher": "mirror.example"} for r in bare[:1]]
    groups = publisher_groups([Document.from_dict(r) for r in named + mirrored])
    assert groups[0] == groups[-1] == "mirror.example"
    assert groups[1] == "site1.example" != groups[0] and len(set(groups)) == 2


def test_train_base_reports_macro_f1_over_the_labels_present_when_one_is_missing(runner: CliRunner,
                                                                                 tiny_model_dir: Path,
                                                                                 tmp_path: Path) -> None:
    # pages whose labelled blocks are all content: macro-F1 counts the absent labels' F1 as 0
    pages = [_blog_page(i) for i in range(10)]
    for page in pages:
        page["blocks"] = [b if b.get("label") == "content" else {"text": b["text"]} for b in page["blocks"]]
    data = tmp_path / "blog.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in pages))
    result = runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(data), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    held = next(line for line in result.stdout.splitlines() if line.startswith("held-out pages of the publisher"))
    present = held.split("over the labels present, as `sieve evaluate` says, ")[1].rstrip(")")
    before, after = (float(x) for x in present.split(" -> "))
    macro_after = float(held.split("macro-F1 ")[1].split(" -> ")[1].split(" ")[0])
    assert after > macro_after  # the mean over fewer labels, none of them scored 0 for being absent


def test_evaluate_on_an_adapters_own_pages_says_they_are_in_sample_for_it(runner: CliRunner, tiny_model_dir: Path,
                                                                         tmp_path: Path) -> None:
    data, out = _adapted_blog(runner, tiny_model_dir, tmp_path, pages=6)
    result = runner.invoke(cli, ["evaluate", str(data), "--model-dir", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "is a file adapter.joblib was trained on" in result.stderr
    assert "pages of its publisher it has not seen" in result.stderr


def test_the_adapters_card_keeps_its_before_and_after_figures(runner: CliRunner, tiny_model_dir: Path,
                                                              data_dir: Path, tmp_path: Path) -> None:
    # printed once by `train --base`, then gone: `sieve models` showed no figure of an adapter
    result, out = _train_blog_adapter(runner, tiny_model_dir, data_dir, tmp_path)
    held = next(line for line in result.stdout.splitlines() if line.startswith("held-out pages of the publisher"))
    before, after = held.split("content-vs-rest F1 ")[1].split(",")[0].split(" -> ")
    card = json.loads((out / "adapter.json").read_text())
    assert card["heldout"]["documents"] == 3
    assert card["heldout"]["before"]["content_vs_rest"] == float(before)
    assert card["heldout"]["after"]["content_vs_rest"] == float(after)
    assert card["general"]["documents"] == 30
    shown = runner.invoke(cli, ["models", "--model-dir", str(out)])
    assert shown.exit_code == 0, shown.stdout
    assert f"held-out pages of the publisher (3 documents, {card['heldout']['blocks']} labelled blocks)" in shown.stdout
    assert f"content-vs-rest {float(before):.3f} -> {float(after):.3f}" in shown.stdout
    assert "--general data (30 documents" in shown.stdout
    # too few pages to hold some out: the card says there is no figure
    few = tmp_path / "few"
    three = tmp_path / "three.jsonl"
    three.write_text("".join(json.dumps(_blog_page(i)) + "\n" for i in range(3)))
    assert runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(three), "-o", str(few)]).exit_code == 0
    assert "no held-out figures in its card" in runner.invoke(cli, ["models", "--model-dir", str(few)]).stdout
    assert "base -> adapted (fitted without the held-out pages): " in shown.stdout
    # none held out: the --general figures are the written adapter's, which learned from every page (they
    # were said to be of one "fitted without the held-out pages")
    assert runner.invoke(cli, ["train", "--base", str(tiny_model_dir), str(three), "-o", str(tmp_path / "gen"),
                               "--general", str(data_dir / "labelled.jsonl")]).exit_code == 0
    shown = runner.invoke(cli, ["models", "--model-dir", str(tmp_path / "gen")]).stdout
    general = next(line for line in shown.splitlines() if "--general data (30 documents" in line)
    assert "base -> adapted (the one written): " in general and "held-out pages" not in general


def test_train_base_on_a_folder_of_no_models_says_so(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    # the error advised "pass --model-dir", no option of `train --base`
    pages = tmp_path / "pages"
    pages.mkdir()
    result = runner.invoke(cli, ["train", "--base", str(pages), str(data_dir / "train-small.jsonl"),
                                 "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "is no model folder (no blocks.joblib)" in result.stderr
    assert "--model-dir" not in result.stderr and not (tmp_path / "out").exists()


def test_a_view_without_a_label_leaves_no_nan_in_a_block_it_does_not_weigh() -> None:
    # a path model trained without navigation gives it 0; a block without a path weighs the path
    # model 0: log(0) x 0 was NaN, and so was the block's whole row
    probs = np.array([[0.6, 0.3, 0.1], [0.6, 0.3, 0.1]])
    path = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    text = np.array([[0.7, 0.3, 0.0], [0.7, 0.3, 0.0]])
    for views, weight in (((None, path, np.array([True, False]), [None, None]), 0.0),
                          ((text, path, np.array([True, False]), [None, None]), 0.25)):
        with np.errstate(all="raise"):  # no warning either
            out = PublisherAdapter._blend(views, probs, weight, 0.75)  # type: ignore[arg-type]
        assert np.isfinite(out).all() and np.allclose(out.sum(axis=1), 1.0)
        assert out[0, 2] < 1e-3  # where the path model weighs, its 0 stays (almost) 0
    assert np.allclose(PublisherAdapter._blend((None, path, np.array([True, False]), [None, None]), probs, 0.0,
                                               0.75)[1], probs[1])  # no path: the base's row


def test_a_page_merged_with_a_persons_corrections_still_carries_aligns_labels() -> None:
    # train --base said "6 of the 13 documents are `sieve align` output" when all 13 were: the 7 merged
    # with review's corrections kept align's labels on every block no one answered
    from classifier.cli import _aligned_warning

    blocks = (Block("Home | News"), Block("The council met on Tuesday."))
    aligned = Document(id="a", blocks=blocks, extra={"align": {"coverage": 1.0}},
                       gold=({"label": "navigation"}, {"label": "content"}))
    merged = Document(id="m", blocks=blocks, extra={"align": {"coverage": 1.0}, "reviewed": True},
                      gold=({"label": "boilerplate", "reviewed": True}, {"label": "content"}))
    checked = Document(id="c", blocks=blocks, extra={"align": {"coverage": 1.0}, "reviewed": True},
                       gold=({"label": "navigation"}, {"label": "content"}))  # a person checked every label
    said = _aligned_warning([aligned, merged, checked])
    assert said is not None and said.startswith("2 of the 3 documents are `sieve align` output (1 with a person's")
    assert _aligned_warning([checked]) is None


def test_a_page_merged_with_corrections_given_first_is_still_aligns_output() -> None:
    # `train --base corrections.jsonl labelled.jsonl`: the merged page kept the review record's fields,
    # without align's, and the caveat on align's labels (and align's doubt) left it out
    from classifier.adapt import merge_repeated_pages
    from classifier.cli import _aligned_warning

    blocks = (Block("Home | News"), Block("The council met on Tuesday."))
    aligned = Document(id="a", blocks=blocks, url="https://news.example/1",
                       extra={"align": {"coverage": 0.5, "doubtful": True}},
                       gold=({"label": "navigation"}, {"label": "content"}))
    reviewed = Document(id="a", blocks=blocks, url="https://news.example/1", extra={"reviewed": True},
                        gold=({"label": "boilerplate"}, {"label": None}))
    for order in ([aligned, reviewed], [reviewed, aligned]):
        (doc,), merged = merge_repeated_pages(order)
        assert merged == 1 and doc.extra["reviewed"] is True and doc.extra["align"]["doubtful"] is True
        said = _aligned_warning([doc])
        assert said is not None and said.startswith("the document is `sieve align` output (with a person's")

"""Rebuild the shipped block models (and their cards) from the labelled dev data.

    python training/make_models.py [--data-dir ../shared/data] [--out models] [--folds 5] [--models text,html]
                                   [--lid models/lid.ftz]

The language model that annotates the training blocks is ``--lid`` (default: the
repository's ``models/lid.ftz``); with ``--out`` another folder, it is copied there
with its card and licence, so the folder works as ``--model-dir`` on its own.

Text model (``models/blocks.joblib``):
1. Reads aeb-dev, traf-dev and mixed-dev (SCHEMA.md labelled documents).
2. Publisher-grouped cross-validation over all three (a publisher's documents,
   including mixed-dev's copies of its pages, are always in one fold); the
   out-of-fold predictions of the aeb and traf parts are scored with the
   project's scorer (``eval/score.py`` in the data's parent folder) and the
   figures go into the model card.
3. Trains on everything and writes models/blocks.joblib + blocks.json.

With ``--teacher`` (not the shipped model: see below) the text model learns from more
than the gold: the gold labels a few blocks of most pages (traf-dev labels its
benchmark's snippets only: 3,134 of 102,653 blocks). An HTML model trained on the same
pages (the teacher; see below) labels the rest, from the page structure the text model
cannot see: a block the gold leaves unlabelled takes the teacher's label where the
teacher gives it ``TEACHER_MIN_PROBABILITY`` or more (blocks matched by publisher and
text; mixed-dev's copies of a page get that page's labels). In cross-validation each
fold's teacher is trained on that fold's training publishers only, and only the gold is
scored. Each training document also gives a few short records made from it
(``short_copies``: labelled blocks on their own, runs of 2-4 blocks). Cross-validated on
the dev pages this is a little better (training/NOTES.md, sessions 16-17: aeb
content-vs-rest 0.870 against 0.860), but such a model reads short documents as pieces
of a page: a paragraph between a headline and a menu line, or before a copyright line,
comes out navigation or boilerplate. It is not the default.

The cross-validation also labels each held-out labelled block of 40+ characters as a
record of its own (``one_block_records`` in the card's ``cv``): dev pages are long, and
CV alone never shows how a model reads a record of one paragraph.

HTML model (``models/html.joblib``): the raw pages of aeb-dev and traf-dev (their
``html`` field) are cut into blocks by Sieve's own segmenter (``classifier.html``),
which keeps DOM facts; the gold labels are mapped onto those blocks by text. The
same publisher-grouped CV, scored on the blocks (content-vs-rest, macro-F1) and,
for the aeb pages, as article text with ``eval/score_html.py`` (token F1 against
the benchmark's articleBody, with and without the headline); then the model is
trained on all pages. Before training (in CV and for the shipped model), readers'
comments that the gold leaves unlabelled become boilerplate training examples
(``weak_comment_labels``); the scored gold is never changed.

The data is never copied into the repository; only the trained models are.
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.cards import sha256_of  # noqa: E402
from classifier.document import LABELS, Document, Label, model_text  # noqa: E402
from classifier.errors import PageError  # noqa: E402
from classifier.html import DOM_FACTS, html_to_blocks, is_caption, page_fields  # noqa: E402
from classifier.language import LanguageIdentifier  # noqa: E402
from classifier.model import (  # noqa: E402
    HTML_MODEL_FILE,
    BlockModel,
    ModelParams,
    cross_validate,
    evaluate,
    fit_block_model,
    one_block_records,
    publisher_groups,
    save_model,
)
from classifier.pipeline import LID_MODEL_FILE  # noqa: E402
from classifier.readers import RejectSink, read_jsonl  # noqa: E402

PARTS = ("aeb-dev", "traf-dev", "mixed-dev")
SCORED_PARTS = ("aeb-dev", "traf-dev")


def load_part(path: Path) -> list[Document]:
    """A part's labelled documents as the text model learns them: the block texts. (The
    DOM facts its records carry, blockseg's ``html_ctx``, make a record a page's blocks
    for Sieve; the HTML model learns them from the pages, as Sieve cuts them.)"""
    sink = RejectSink()
    docs = [replace(d, blocks=tuple(replace(b, tag=None, link_chars=0, dom=None, path=None) for b in d.blocks))
            for d in read_jsonl(path, sink)]
    if sink.total:
        raise SystemExit(f"{path}: {sink.total} unreadable records ({sink.counts})")
    return docs


def write_predictions(docs: list[Document], probs: list[np.ndarray], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for d, p in zip(docs, probs):
            blocks = [{"label": LABELS[int(np.argmax(row))].value} for row in p]
            f.write(json.dumps({"id": d.id, "blocks": blocks}) + "\n")


def score_with_scorer(scorer: Path, gold: Path, pred: Path) -> dict:
    out = subprocess.run([sys.executable, str(scorer), str(gold), str(pred), "--json"],
                         check=True, capture_output=True, text=True).stdout
    res = json.loads(out)["all"]
    return {"content_vs_rest_f1": res["content_vs_rest"]["f1"], "macro_f1": res["label"]["macro_f1"],
            "per_label_f1": {c: v["f1"] for c, v in res["label"]["per_class"].items()},
            "scored_blocks": res["label"]["scored_blocks"]}


def _read_page(path: Path) -> bytes:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def page_documents(data_dir: Path, part: str) -> list[Document]:
    """The labelled pages of one part, cut by Sieve's segmenter, gold labels mapped by text."""
    out = []
    for doc in load_part(data_dir / f"{part}.jsonl.gz"):
        rel = doc.extra.get("html")
        if not isinstance(rel, str) or not (data_dir / rel).is_file():
            continue
        found: dict[str, str] = {}
        try:
            blocks = html_to_blocks(_read_page(data_dir / rel), found=found)
        except PageError as err:  # as `sieve score` would reject it: left out, and said
            logging.warning("page %s left out: %s", rel, err)
            continue
        # by text as the models read it: Sieve keeps a <pre>'s and a <br>'s line breaks,
        # the benchmark's segmenter does not
        ours = [model_text(b.text) for b in blocks]
        theirs = [model_text(t) for t in doc.texts]
        gold: list[dict] = [{} for _ in blocks]
        if ours == theirs:
            gold = [dict(g) for g in doc.gold] if doc.gold else gold
        else:
            sm = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
            for a, b, size in sm.get_matching_blocks():
                for k in range(size):
                    if doc.gold and b + k < len(doc.gold):
                        gold[a + k] = dict(doc.gold[b + k])
        extra = {"html": rel, **page_fields(found)}  # as `sieve score` reads the page
        out.append(Document(id=doc.id, blocks=tuple(blocks), url=doc.url, publisher=doc.publisher,
                            extra=extra, gold=tuple(gold), gold_lang=doc.gold_lang))
    return out


#: A block is comment prose (a weak-label candidate) with at least this many words and
#: at most half of its characters in links: readers' comments are sentences; the
#: short lines of a comment section ("Reply", dates, "Name *") are left unlabelled.
WEAK_MIN_WORDS = 8


def weak_comment_labels(docs: list[Document]) -> tuple[list[Document], int]:
    """Training copies of ``docs`` where readers' comments left unlabelled are boilerplate.

    aeb-dev labels headlines, captions and readers' comments ``null``, so the HTML
    model never saw a comment as non-content and took them for article text (the
    largest share of its AEB false positives). A block becomes a ``boilerplate``
    training example when its gold label is null, it lies under a comment container
    (the ``cls_comment`` DOM fact), and it is prose (``WEAK_MIN_WORDS`` words, mostly
    not link text). Pages whose gold labels any comment-container block content
    (traf-dev counts some blogs' comments as content) are left alone. Only training
    uses these labels; every figure is scored on the original gold.

    Returns:
        The documents (the same objects where nothing changed) and how many blocks
        got a weak label.
    """
    comment = DOM_FACTS.index("cls_comment")
    out, added = [], 0
    for d in docs:
        labels = d.gold_labels
        under_comment = [b.dom is not None and b.dom[comment] > 0 for b in d.blocks]
        if any(c and lab is Label.CONTENT for c, lab in zip(under_comment, labels)):
            out.append(d)
            continue
        gold = [dict(d.gold[i]) if i < len(d.gold) else {} for i in range(len(d.blocks))]
        changed = 0
        for i, (b, c, lab) in enumerate(zip(d.blocks, under_comment, labels)):
            nonspace = max(len(b.text) - b.text.count(" "), 1)
            if c and lab is None and len(b.text.split()) >= WEAK_MIN_WORDS and b.link_chars <= nonspace / 2:
                gold[i]["label"] = Label.BOILERPLATE.value
                changed += 1
        out.append(replace(d, gold=tuple(gold)) if changed else d)
        added += changed
    return out, added


#: A block the gold leaves unlabelled takes the teacher's label when the teacher gives
#: it at least this probability. Publisher-grouped CV of the text model (training/NOTES.md,
#: session 16): at 0.8, aeb content-vs-rest 0.876 / 0.871 / 0.872 over 3 seeds against
#: 0.858 / 0.858 / 0.855 without a teacher; at 0.6 (seed 0) 0.852: uncertain labels mislead.
#: (``--teacher`` only: such a model reads short documents as pieces of a page.)
TEACHER_MIN_PROBABILITY = 0.8


def html_training_pages(args: argparse.Namespace, language: LanguageIdentifier
                        ) -> tuple[dict[str, list[Document]], list[Document], int]:
    """The labelled pages of aeb-dev and traf-dev cut by Sieve's segmenter (per part,
    with the gold that is scored) and their training copies (readers' comments
    weakly labelled unless --no-weak-labels), with the number of weak labels."""
    parts = {p: [language.annotate_blocks(d) for d in page_documents(args.data_dir, p)] for p in SCORED_PARTS}
    docs = [d for p in SCORED_PARTS for d in parts[p]]
    train_docs, weak = (docs, 0) if args.no_weak_labels else weak_comment_labels(docs)
    return parts, train_docs, weak


def html_params(args: argparse.Namespace) -> ModelParams:
    return ModelParams(random_state=args.seed, use_dom=True, container_context=not args.no_container_context)


def teacher_table(teacher: BlockModel, pages: list[Document]) -> dict[tuple[str, str], np.ndarray]:
    """The teacher's probabilities for each (publisher, block text as the models read
    it) of ``pages``, averaged over the blocks that share them."""
    sums: dict[tuple[str, str], list] = {}
    for group, page, probs in zip(publisher_groups(pages), pages, teacher.predict_proba(pages)):
        for block, row in zip(page.blocks, probs):
            acc = sums.setdefault((group, model_text(block.text)), [np.zeros(len(LABELS)), 0])
            acc[0] += row
            acc[1] += 1
    return {key: total / n for key, (total, n) in sums.items()}


def with_teacher_labels(docs: list[Document], groups: list[str], table: dict[tuple[str, str], np.ndarray]
                        ) -> tuple[list[Document], int]:
    """Copies of ``docs`` whose blocks without a gold label take the teacher's (at
    ``TEACHER_MIN_PROBABILITY`` or more); returns them and how many blocks were labelled."""
    out, added = [], 0
    for d, group in zip(docs, groups):
        gold = [dict(d.gold[i]) if i < len(d.gold) else {} for i in range(len(d.blocks))]
        labelled = 0
        for i, (block, lab) in enumerate(zip(d.blocks, d.gold_labels)):
            row = None if lab is not None else table.get((group, model_text(block.text)))
            if row is not None and row.max() >= TEACHER_MIN_PROBABILITY:
                gold[i]["label"] = LABELS[int(np.argmax(row))].value
                labelled += 1
        out.append(replace(d, gold=tuple(gold)) if labelled else d)
        added += labelled
    return out, added


def teach(docs: list[Document], groups: list[str], pages: list[Document], params: ModelParams
          ) -> tuple[list[Document], int]:
    """``docs`` with the labels of a teacher trained on the ``pages`` of their publishers."""
    wanted = set(groups)
    mine = [p for p, g in zip(pages, publisher_groups(pages)) if g in wanted]
    if not mine:
        return docs, 0
    teacher = fit_block_model(mine, params=params)
    return with_teacher_labels(docs, groups, teacher_table(teacher, mine))


#: With --teacher, each training document also gives short records made from it: up to
#: ``ONE_BLOCK_COPIES`` of its labelled blocks of ``ONE_BLOCK_MIN_CHARS`` or more (gold
#: or taught) as records of one block, and up to ``SHORT_RUNS`` runs of 2-4 consecutive
#: blocks holding a labelled one. The teacher's labels alone teach a model to call every
#: one-block record navigation (training/NOTES.md, sessions 16-17).
ONE_BLOCK_COPIES = 5
ONE_BLOCK_MIN_CHARS = 40
SHORT_RUNS = 5


def short_copies(docs: Sequence[Document], groups: Sequence[str], seed: int) -> tuple[list[Document], list[str]]:
    """Short records made from each document (see ``ONE_BLOCK_COPIES``), in its group;
    chosen at random per document (the same in every fold)."""
    import random

    copies, copy_groups = [], []
    for d, group in zip(docs, groups):
        rng = random.Random(f"{seed}:{d.id}")
        records = one_block_records(d, ONE_BLOCK_MIN_CHARS)
        made = rng.sample(records, min(ONE_BLOCK_COPIES, len(records)))
        n = len(d.blocks)
        for _ in range(SHORT_RUNS if n >= 3 else 0):
            size = rng.randint(2, min(4, n - 1))
            start = rng.randrange(n - size + 1)
            if any(lab is not None for lab in d.gold_labels[start:start + size]):
                gold = tuple(dict(d.gold[j]) if j < len(d.gold) else {} for j in range(start, start + size))
                made.append(replace(d, id=f"{d.id}@{start}-{start + size}", gold=gold,
                                    blocks=tuple(replace(b, label=None) for b in d.blocks[start:start + size])))
        copies += made
        copy_groups += [group] * len(made)
    return copies, copy_groups


def taught_training(docs: list[Document], groups: list[str], pages: list[Document], args: argparse.Namespace
                    ) -> tuple[list[Document], list[str], int]:
    """The text model's training documents and groups with --teacher: ``docs`` with
    the teacher's labels, then their short copies; and how many blocks were taught."""
    taught, added = teach(docs, groups, pages, html_params(args))
    copies, copy_groups = short_copies(taught, groups, args.seed)
    return taught + copies, list(groups) + copy_groups, added


def article_texts(docs: list[Document], probs: list[np.ndarray], headline: bool,
                  captions: bool = True) -> dict[str, dict[str, str]]:
    """AEB predictions: page hash -> {"articleBody": content blocks joined}; without
    ``headline``, the leading heading blocks of the article are left out; without
    ``captions``, the captions (``html.is_caption``, as ``sieve clean --no-captions``)."""
    out = {}
    for d, p in zip(docs, probs):
        content = [b for b, row in zip(d.blocks, p) if int(np.argmax(row)) == 0]
        if not headline:
            while content and content[0].tag in ("h1", "h2", "h3"):
                content = content[1:]
        if not captions:
            content = [b for b in content if not is_caption(b)]
        page = Path(str(d.extra["html"])).name.split(".")[0]
        out[page] = {"articleBody": "\n".join(b.text for b in content)}
    return out


def score_html(scorer: Path, truth: Path, pred: dict, tmp: Path) -> dict:
    path = tmp / "aeb-pred.json"
    path.write_text(json.dumps(pred), encoding="utf-8")
    res = json.loads(subprocess.run([sys.executable, str(scorer), str(truth), str(path), "--json"],
                                    check=True, capture_output=True, text=True).stdout)
    figures = next(iter(res.values())) if "f1" not in res else res  # keyed by the prediction file
    return {k: figures[k] for k in ("f1", "precision", "recall", "accuracy", "pages") if k in figures}


def train_html_model(args: argparse.Namespace, language: LanguageIdentifier) -> None:
    started = time.time()
    # training sees weak labels for unlabelled comments; `parts` keeps the gold that is scored
    parts, train_docs, weak = html_training_pages(args, language)
    docs = [d for p in SCORED_PARTS for d in parts[p]]
    params = html_params(args)
    files = [args.data_dir / f"{p}.jsonl.gz" for p in SCORED_PARTS]
    card: dict = {
        "training_files": [{"path": f"{f.parent.name}/{f.name}", "sha256": sha256_of(f)} for f in files]
        + [{"path": "html/ (the pages the files name)", "pages": len(docs)}],
        "training_documents": len(docs),
        "training_blocks": sum(lab is not None for d in docs for lab in d.gold_labels),
        "weak_label_blocks": weak,  # unlabelled comment prose trained as boilerplate (weak_comment_labels)
        "training_recipe": "training/make_models.py --models html"
        + (" --no-weak-labels" if args.no_weak_labels else "")
        + (" --no-container-context" if args.no_container_context else ""),
        "segmenter": "classifier.html.html_to_blocks",
        "language_model": {"file": args.lid.name, "sha256": sha256_of(args.lid)},
    }
    if not args.no_cv:
        _, probs = cross_validate(train_docs, params=params, folds=args.folds)  # scored below on the gold
        card["cv"] = {"folds": args.folds, "grouped_by": "publisher", "blocks": "Sieve's segmentation of the pages"}
        start = 0
        for p in SCORED_PARTS:
            n = len(parts[p])
            pdocs, pprobs = parts[p], probs[start:start + n]
            predicted = [replace(d, blocks=tuple(replace(b, label=LABELS[int(np.argmax(r))])
                                                 for b, r in zip(d.blocks, pr))) for d, pr in zip(pdocs, pprobs)]
            m = evaluate(predicted, pdocs)
            card["cv"][p] = {"content_vs_rest_f1": m["content_vs_rest"]["f1"], "macro_f1": m["macro_f1"],
                             "per_label_f1": {k: v["f1"] for k, v in m["per_label"].items()},
                             "scored_blocks": m["blocks"]}
            if p == "aeb-dev":
                scorer = args.data_dir.parent / "eval" / "score_html.py"
                truth = args.data_dir / "aeb-dev-ground-truth.json"
                if scorer.is_file() and truth.is_file():
                    with tempfile.TemporaryDirectory() as tmp:
                        for key, headline, captions in (("aeb_token_f1_with_headline", True, True),
                                                        ("aeb_token_f1_without_headline", False, True),
                                                        ("aeb_token_f1_without_headline_or_captions", False, False)):
                            res = score_html(scorer, truth, article_texts(pdocs, pprobs, headline, captions),
                                             Path(tmp))
                            card["cv"][key] = res
            logging.info("HTML CV %s: %s", p, json.dumps(card["cv"][p]))
            start += n
        logging.info("HTML CV AEB token F1: with headline %s, without %s",
                     card["cv"].get("aeb_token_f1_with_headline"), card["cv"].get("aeb_token_f1_without_headline"))
    model = fit_block_model(train_docs, params=params)
    card["training_seconds"] = round(time.time() - started, 1)
    path = save_model(model, args.out, card=card, file_name=HTML_MODEL_FILE)
    print(json.dumps(card.get("cv", {}), indent=2))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.time() - started:.0f} s")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path,
                    default=Path(os.environ.get("SIEVE_SHARED") or ROOT.parent / "shared") / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "models",
                    help="folder to write the models to (default: models/)")
    ap.add_argument("--lid", type=Path, default=ROOT / "models" / "lid.ftz",
                    help="fastText language model (with its card) that annotates the blocks (default: models/lid.ftz)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--no-cv", action="store_true", help="skip cross-validation (no metrics in the card)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-weak-labels", action="store_true",
                    help="HTML model: train without weak labels for unlabelled readers' comments")
    ap.add_argument("--no-container-context", action="store_true",
                    help="HTML model: pass 2 without the container context (features.container_context)")
    ap.add_argument("--teacher", action="store_true",
                    help="text model: also learn the HTML model's labels for the blocks the gold leaves unlabelled "
                         "(a little better CV on the dev pages; short documents read as pieces of a page)")
    ap.add_argument("--models", default="text,html", help="which models to build: text, html or both")
    return ap


def copy_language_model(lid: Path, out: Path) -> None:
    """Put the language model, its card and licence into ``out`` (unless they are there):
    a model folder holds every model ``sieve`` loads."""
    card = lid.with_suffix(".json")
    if not card.is_file():
        sys.exit(f"make_models: the language model {lid} has no card {card}; a model folder needs both")
    out.mkdir(parents=True, exist_ok=True)
    # under the names Sieve loads (lid.ftz, lid.json), whatever the source file is called
    for src, name in ((lid, LID_MODEL_FILE), (card, Path(LID_MODEL_FILE).with_suffix(".json").name),
                      (lid.with_name("LICENSE-lid.md"), "LICENSE-lid.md")):
        dst = out / name
        if src.is_file() and not (dst.exists() and dst.samefile(src)):
            shutil.copyfile(src, dst)


def main() -> None:
    args = build_parser().parse_args()
    wanted = set(args.models.split(","))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    files = [args.data_dir / f"{p}.jsonl.gz" for p in PARTS]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"training data not found: {', '.join(missing)}\n"
                         "pass --data-dir with the folder holding aeb-dev/traf-dev/mixed-dev .jsonl.gz")
    scorer = args.data_dir.parent / "eval" / "score.py"
    if not args.lid.is_file():
        raise SystemExit(f"language model not found: {args.lid}; pass --lid")
    started = time.time()
    language = LanguageIdentifier(args.lid)
    copy_language_model(args.lid, args.out)
    if "html" in wanted:
        train_html_model(args, language)
    if "text" not in wanted:
        return
    # the block model reads block languages: annotate exactly as `sieve score` does
    parts = {p: [language.annotate_blocks(d) for d in load_part(f)] for p, f in zip(PARTS, files)}
    docs = [d for p in PARTS for d in parts[p]]
    groups = publisher_groups(docs)
    params = ModelParams(random_state=args.seed)
    pages = html_training_pages(args, language)[1] if args.teacher else []
    if args.teacher and not pages:
        logging.warning("no page of %s/html found: the text model learns from the gold alone", args.data_dir)
    card: dict = {
        "training_files": [{"path": f"{f.parent.name}/{f.name}", "sha256": sha256_of(f)} for f in files],
        "training_documents": len(docs),
        "training_blocks": sum(lab is not None for d in docs for lab in d.gold_labels),
        "training_recipe": "training/make_models.py" + (" --teacher" if args.teacher else ""),
        "language_model": {"file": args.lid.name, "sha256": sha256_of(args.lid)},
    }

    def fold_training(rows: Sequence[int]) -> tuple[list[Document], list[str]]:
        # a fold's teacher knows its training publishers only
        return taught_training([docs[i] for i in rows], [groups[i] for i in rows], pages, args)[:2]

    if not args.no_cv:
        metrics, probs = cross_validate(docs, params=params, folds=args.folds, groups=groups,
                                        training=fold_training if pages else None,
                                        one_block_min_chars=ONE_BLOCK_MIN_CHARS)
        one = metrics["one_block_records"]
        card["cv"] = {"folds": args.folds, "grouped_by": "publisher", "all_parts": {
            "macro_f1": metrics["macro_f1"], "content_vs_rest_f1": metrics["content_vs_rest"]["f1"]},
            "one_block_records": {  # each held-out labelled block of 40+ characters as a record of its own
                "records": one["records"], "min_chars": one["min_chars"],
                "labelled_content": {g: round(row.get("content", 0) / max(sum(row.values()), 1), 4)
                                     for g, row in one["confusion"].items()}}}
        logging.info("CV one-block records: %s", json.dumps(card["cv"]["one_block_records"]))
        start = 0
        with tempfile.TemporaryDirectory() as tmp:
            for p in PARTS:
                n = len(parts[p])
                if p in SCORED_PARTS and scorer.is_file():
                    pred = Path(tmp) / f"{p}.pred.jsonl"
                    write_predictions(parts[p], probs[start:start + n], pred)
                    card["cv"][p] = score_with_scorer(scorer, args.data_dir / f"{p}.jsonl.gz", pred)
                    logging.info("CV %s: %s", p, json.dumps(card["cv"][p]))
                start += n
    training, training_groups, added = (taught_training(docs, groups, pages, args) if pages
                                        else (docs, groups, 0))
    if pages:
        card["teacher"] = {"model": "an HTML model of this recipe (with its options), trained on the pages of the "
                                    "training documents; in cross-validation, on those of the fold's training "
                                    "publishers", "pages": len(pages), "min_probability": TEACHER_MIN_PROBABILITY,
                           "labelled_blocks": added,
                           "short_copies": {"one_block_per_document": ONE_BLOCK_COPIES,
                                            "one_block_min_chars": ONE_BLOCK_MIN_CHARS,
                                            "runs_of_2_to_4_blocks_per_document": SHORT_RUNS,
                                            "records": len(training) - len(docs)}}
    model = fit_block_model(training, params=params, groups=training_groups)
    card["training_seconds"] = round(time.time() - started, 1)
    path = save_model(model, args.out, card=card)
    print(json.dumps(card.get("cv", {}), indent=2))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()

"""Rebuild models/blocks.joblib (and its card) from the labelled dev data.

    python training/make_models.py [--data-dir ../shared/data] [--out models] [--folds 5]

1. Reads aeb-dev, traf-dev and mixed-dev (SCHEMA.md labelled documents).
2. Publisher-grouped cross-validation over all three (a publisher's documents,
   including mixed-dev's copies of its pages, are always in one fold); the
   out-of-fold predictions of the aeb and traf parts are scored with the
   project's scorer (``eval/score.py`` in the data's parent folder) and the
   figures go into the model card.
3. Trains on everything and writes models/blocks.joblib + blocks.json.

The data is never copied into the repository; only the trained model is.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.cards import sha256_of  # noqa: E402
from classifier.document import LABELS, Document  # noqa: E402
from classifier.language import LanguageIdentifier  # noqa: E402
from classifier.model import ModelParams, cross_validate, fit_block_model, save_model  # noqa: E402
from classifier.readers import RejectSink, read_jsonl  # noqa: E402

PARTS = ("aeb-dev", "traf-dev", "mixed-dev")
SCORED_PARTS = ("aeb-dev", "traf-dev")


def load_part(path: Path) -> list[Document]:
    sink = RejectSink()
    docs = list(read_jsonl(path, sink))
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "models")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--no-cv", action="store_true", help="skip cross-validation (no metrics in the card)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    files = [args.data_dir / f"{p}.jsonl.gz" for p in PARTS]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"training data not found: {', '.join(missing)}\n"
                         "pass --data-dir with the folder holding aeb-dev/traf-dev/mixed-dev .jsonl.gz")
    scorer = args.data_dir.parent / "eval" / "score.py"
    started = time.time()
    language = LanguageIdentifier(args.out / "lid.ftz")
    # the block model reads block languages: annotate exactly as `sieve score` does
    parts = {p: [language.annotate_blocks(d) for d in load_part(f)] for p, f in zip(PARTS, files)}
    docs = [d for p in PARTS for d in parts[p]]
    params = ModelParams(random_state=args.seed)
    card: dict = {
        "training_files": [{"path": f"{f.parent.name}/{f.name}", "sha256": sha256_of(f)} for f in files],
        "training_documents": len(docs),
        "training_blocks": sum(lab is not None for d in docs for lab in d.gold_labels),
        "training_recipe": "training/make_models.py",
        "language_model": {"file": "lid.ftz", "sha256": sha256_of(args.out / "lid.ftz")},
    }
    if not args.no_cv:
        metrics, probs = cross_validate(docs, params=params, folds=args.folds)
        card["cv"] = {"folds": args.folds, "grouped_by": "publisher", "all_parts": {
            "macro_f1": metrics["macro_f1"], "content_vs_rest_f1": metrics["content_vs_rest"]["f1"]}}
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
    model = fit_block_model(docs, params=params)
    card["training_seconds"] = round(time.time() - started, 1)
    path = save_model(model, args.out, card=card)
    print(json.dumps(card.get("cv", {}), indent=2))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()

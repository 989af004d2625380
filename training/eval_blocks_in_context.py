"""How the HTML model labels block records that carry their DOM facts (``html_ctx``), on
publishers it has not seen.

    python training/eval_blocks_in_context.py [--data-dir ../shared/data] [--folds 5] [--seed 0]

aeb-dev's and traf-dev's records carry, on each block, what the benchmark's segmenter
(``data/tools/blockseg.py``) saw of the page: the owner element, five ancestors, the
landmarks above, the link share, hidden, the depth. Sieve reads them as the DOM facts of
a page's blocks (``html.blocks_in_context``), so ``sieve score`` labels such records with
the HTML model. The HTML model is trained on the pages as Sieve's own segmenter cuts them
(``make_models.py --models html``), so this is a cross-validation across the two: folds
grouped by publisher; each fold's HTML model is trained as the shipped one is, on the
pages of its training publishers, and labels the block records of its held-out
publishers, as given. The out-of-fold labels are scored with the project's scorer
(``eval/score.py``). Beside them, the text model's figures from its card (the same
records without their context, as ``eval/strip.py`` leaves them).

The data stays in ../shared/data: nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

from make_models import (  # noqa: E402
    SCORED_PARTS,
    html_params,
    html_training_pages,
    score_with_scorer,
    write_predictions,
)

from classifier.language import LanguageIdentifier  # noqa: E402
from classifier.model import BlockModel, publisher_groups  # noqa: E402
from classifier.readers import RejectSink, read_jsonl  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path,
                    default=Path(os.environ.get("SIEVE_SHARED") or ROOT.parent / "shared") / "data")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lid", type=Path, default=ROOT / "models" / "lid.ftz")
    args = ap.parse_args()
    files = [args.data_dir / f"{p}.jsonl.gz" for p in SCORED_PARTS]
    scorer = args.data_dir.parent / "eval" / "score.py"
    missing = [str(f) for f in [*files, args.data_dir / "html", scorer] if not f.exists()]
    if missing:
        raise SystemExit(f"dev data not found: {', '.join(missing)}\n"
                         "pass --data-dir with the folder holding aeb-dev/traf-dev .jsonl.gz and html/")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from sklearn.model_selection import GroupKFold

    language = LanguageIdentifier(args.lid)
    args.no_weak_labels, args.no_container_context = False, False  # the shipped HTML model's recipe
    _, pages, _ = html_training_pages(args, language)
    page_of = {d.id: d for d in pages}
    parts = {}
    for part, path in zip(SCORED_PARTS, files):
        sink = RejectSink()
        parts[part] = [language.annotate_blocks(d) for d in read_jsonl(path, sink)]
        in_context = sum(d.is_page for d in parts[part])
        print(f"{part}: {len(parts[part])} records, {in_context} with their blocks' DOM facts")
    docs = [d for p in SCORED_PARTS for d in parts[p]]
    groups = publisher_groups(docs)
    probs: list[np.ndarray] = [np.zeros((0, 3))] * len(docs)
    folds = GroupKFold(n_splits=min(args.folds, len(set(groups))))
    for k, (train, test) in enumerate(folds.split(np.arange(len(docs)), groups=groups)):
        known = [i for i in train if docs[i].id in page_of]  # a record whose page Sieve refused trains nothing
        model = BlockModel(html_params(args)).fit([page_of[docs[i].id] for i in known],
                                                  groups=[groups[i] for i in known])
        for i, p in zip(test, model.predict_proba([docs[i] for i in test])):
            probs[i] = p
        logging.info("fold %d/%d: trained on %d pages, labelled %d records", k + 1, args.folds, len(known), len(test))
    figures = {}
    start = 0
    with tempfile.TemporaryDirectory() as tmp:
        for part, path in zip(SCORED_PARTS, files):
            n = len(parts[part])
            pred = Path(tmp) / f"{part}.jsonl"
            write_predictions(parts[part], probs[start:start + n], pred)
            figures[part] = score_with_scorer(scorer, path, pred)
            start += n
    card = json.loads((ROOT / "models" / "blocks.json").read_text(encoding="utf-8")).get("cv", {})
    for part in SCORED_PARTS:
        text = card.get(part, {})
        print(f"{part}: HTML model on the blocks in context, content-vs-rest F1 "
              f"{figures[part]['content_vs_rest_f1']:.3f}, macro-F1 {figures[part]['macro_f1']:.3f} "
              f"(text model without the context, its card: {text.get('content_vs_rest_f1', float('nan')):.3f}, "
              f"{text.get('macro_f1', float('nan')):.3f})")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

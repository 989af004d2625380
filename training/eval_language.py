"""The language layer's quality figures (issue 3), in one command.

    python training/eval_language.py [--data-dir ../shared/data] [--model-dir models]

1. mixed-dev (foreign blocks and sentences spliced into real pages): the gold is
   stripped like ``eval/strip.py`` does, the documents go through ``sieve score``'s
   pipeline, and the project's scorer (``eval/score.py`` beside the data folder)
   gives segment character F1 (plain and language-aware) and foreign-block F1.
2. shortlang-dev (hand-labelled short blocks, ``id`` = ``DOC_ID#BLOCK_INDEX`` into
   aeb-dev and traf-dev): the whole aeb-dev and traf-dev documents are labelled, so
   each short block is judged in its page, as ``sieve score`` does. Accuracy over
   the blocks labelled with a language (no answer counts as wrong) and precision of
   the languages given, against fastText lid.176 top-1 on the block text alone.

Prints the figures, and with ``--json`` also as JSON. Reads the dev data (not in the
repository); stops with a clear message when it is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier import Sieve  # noqa: E402
from classifier.document import Document  # noqa: E402


def read_jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def stripped(record: dict) -> Document:
    """The record as ``eval/strip.py`` leaves it: id, url and the block texts."""
    return Document.from_dict({"id": record["id"], "url": record.get("url"),
                               "blocks": [{"text": b["text"]} for b in record["blocks"]]})


def mixed_figures(sieve: Sieve, data_dir: Path) -> dict:
    gold = data_dir / "mixed-dev.jsonl.gz"
    scorer = data_dir.parent / "eval" / "score.py"
    docs = [stripped(r) for r in read_jsonl(gold)]
    with tempfile.TemporaryDirectory() as tmp:
        pred = Path(tmp) / "pred.jsonl"
        with open(pred, "w", encoding="utf-8") as out:
            for doc in sieve.label_many(docs):
                out.write(json.dumps(doc.to_dict(), ensure_ascii=False) + "\n")
        res = json.loads(subprocess.run([sys.executable, str(scorer), str(gold), str(pred), "--json"],
                                        capture_output=True, text=True, check=True).stdout)["all"]
    return {"segment_char_f1": res["segments"]["f1"], "segment_char_f1_lang_aware": res["segments"]["lang_aware"]["f1"],
            "foreign_block_f1": res["foreign_blocks"]["f1"]}


def shortlang_figures(sieve: Sieve, data_dir: Path) -> dict:
    wanted: dict[str, dict[int, str | None]] = {}
    for r in read_jsonl(data_dir / "shortlang-dev.jsonl.gz"):
        doc_id, _, index = r["id"].rpartition("#")
        wanted.setdefault(doc_id, {})[int(index)] = r.get("lang")
    docs = [stripped(r) for part in ("aeb-dev", "traf-dev") for r in read_jsonl(data_dir / f"{part}.jsonl.gz")
            if r["id"] in wanted]
    predict = sieve.language.model.f.predict
    rows = []  # (gold, sieve's answer, fastText top-1 on the text alone)
    for doc in sieve.label_many(docs):
        for i, gold in wanted[str(doc.id)].items():
            block = doc.blocks[i]
            line = " ".join(block.text.split()) + "\n"  # plain fastText: the text as it is, on one line
            top = predict(line, 1, 0.0, "strict")[0][1].removeprefix("__label__")
            rows.append((gold, block.lang, top))
    labelled = [r for r in rows if r[0] is not None]
    given = [r for r in labelled if r[1] is not None]
    return {"blocks": len(rows), "labelled": len(labelled),
            "accuracy": sum(r[1] == r[0] for r in labelled) / len(labelled),
            "precision": sum(r[1] == r[0] for r in given) / len(given) if given else 0.0,
            "fasttext_top1_accuracy": sum(r[2] == r[0] for r in labelled) / len(labelled),
            "answered_on_null_blocks": sum(r[1] is not None for r in rows if r[0] is None)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path,
                    default=Path(os.environ.get("SIEVE_SHARED") or ROOT.parent / "shared") / "data")
    ap.add_argument("--model-dir", type=Path, default=ROOT / "models")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    needed = [args.data_dir / f for f in ("mixed-dev.jsonl.gz", "shortlang-dev.jsonl.gz", "aeb-dev.jsonl.gz",
                                          "traf-dev.jsonl.gz")] + [args.data_dir.parent / "eval" / "score.py"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        sys.exit(f"eval_language: the dev data is not here: {', '.join(missing)} (pass --data-dir)")
    sieve = Sieve(args.model_dir)
    sieve.check_models()
    figures = {"mixed-dev": mixed_figures(sieve, args.data_dir),
               "shortlang-dev": shortlang_figures(sieve, args.data_dir)}
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    m, s = figures["mixed-dev"], figures["shortlang-dev"]
    print(f"mixed-dev: segment char F1 {m['segment_char_f1']:.3f} (language-aware "
          f"{m['segment_char_f1_lang_aware']:.3f}; targets 0.90 / 0.88), foreign blocks F1 "
          f"{m['foreign_block_f1']:.3f} (target 0.98)")
    print(f"shortlang-dev ({s['labelled']} blocks with a language, of {s['blocks']}): accuracy {s['accuracy']:.3f} "
          f"against fastText top-1 {s['fasttext_top1_accuracy']:.3f} "
          f"({100 * (s['accuracy'] - s['fasttext_top1_accuracy']):+.1f} points; target +5), "
          f"precision {s['precision']:.3f} (target 0.95); a language given on "
          f"{s['answered_on_null_blocks']} of the {s['blocks'] - s['labelled']} blocks labelled null")


if __name__ == "__main__":
    main()

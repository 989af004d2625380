"""Speed and memory of Sieve's language layer against raw fastText top-1 on the same blocks.

Usage:
  python benchmarks/bench_lang.py [--data FILE.jsonl.gz ...] [--repeats 5] [--json]

Default data: the blocks of ../shared/data/aeb-dev.jsonl.gz and mixed-dev.jsonl.gz. In one
process, alternating (raw, layer, raw, layer, ...) so that background load hits both alike:

* raw:   fastText ``lid.176`` top-1 on every block, nothing else (whitespace collapsed, one
         call per block, as a user calling fastText directly would);
* layer: as ``sieve score`` runs it: per batch of documents, ``analyze_many`` over their
         blocks (sentence pieces, scripts, one fastText call per distinct piece; its cache
         emptied before each run) and ``decide`` for each block twice, without and with
         the document's language as prior.

Prints the median time of each side, blocks/s, the ratio raw/layer of the medians (>= 1:
the layer is as fast as raw fastText), the median of each round's own ratio (its two runs
are back to back) and the memory the layer adds: resident set size after running it over
all blocks and keeping its answers, minus before (fastText model loaded in both).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("SIEVE_SHARED") or REPO.parent / "shared") / "data"
DEFAULT_DATA = [SHARED_DATA / "aeb-dev.jsonl.gz", SHARED_DATA / "mixed-dev.jsonl.gz"]

sys.path.insert(0, str(REPO))
from classifier.language import LanguageIdentifier  # noqa: E402
from classifier.pipeline import BATCH_SIZE  # noqa: E402


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize() / 2**20


def load_documents(paths: list[Path]) -> list[tuple[list[str], str | None]]:
    docs = []
    for path in paths:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                docs.append(([b["text"] if isinstance(b, dict) else b for b in rec["blocks"]], rec.get("lang")))
    return docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", default=DEFAULT_DATA, help="SCHEMA.md JSONL files")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of each side [default: 5]")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    missing = [p for p in args.data if not p.exists()]
    if missing:
        sys.exit(f"bench_lang: data not found: {', '.join(map(str, missing))} (the dev data lives in "
                 "../shared/data; pass --data FILE.jsonl.gz)")
    docs = load_documents(args.data)
    texts = [t for blocks, _ in docs for t in blocks]
    lid = LanguageIdentifier(REPO / "models" / "lid.ftz")
    predict = lid.model.f.predict

    def raw() -> list:
        return [predict(" ".join(t.split()) + "\n", 1, 0.0, "strict") for t in texts]

    def layer() -> list:
        lid._cache.clear()  # every run starts cold, like a new process
        out = []
        for k in range(0, len(docs), BATCH_SIZE):  # as sieve score: batches of documents
            batch = docs[k:k + BATCH_SIZE]
            analyses = lid.analyze_many([t for blocks, _ in batch for t in blocks])
            start = 0
            for blocks, _ in batch:
                mine = analyses[start:start + len(blocks)]
                start += len(blocks)
                first = [lid.decide(a) for a in mine]
                langs = [b.lang for b in first if b.lang]
                prior = max(sorted(set(langs)), key=langs.count) if langs else None
                out.append([lid.decide(a, prior) for a in mine])
        return out

    before = rss_mb()
    kept = layer()
    added = rss_mb() - before
    del kept
    raw(), layer()  # warm up
    times: dict[str, list[float]] = {"raw": [], "layer": []}
    for _ in range(args.repeats):
        for name, fn in (("raw", raw), ("layer", layer)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    # each round's raw and layer runs are back to back: their ratio sees the same machine
    paired = statistics.median(r / la for r, la in zip(times["raw"], times["layer"], strict=True))
    figures = {
        "blocks": len(texts), "documents": len(docs), "repeats": args.repeats,
        "raw_fasttext_s": med["raw"], "layer_s": med["layer"],
        "raw_blocks_per_s": len(texts) / med["raw"], "layer_blocks_per_s": len(texts) / med["layer"],
        "speed_ratio_layer_vs_raw": med["raw"] / med["layer"],
        "speed_ratio_median_of_rounds": paired,
        "layer_added_rss_mb": added, "runs": times,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{len(texts):,} blocks of {len(docs):,} documents ({', '.join(p.name for p in args.data)}), "
          f"median of {args.repeats} runs")
    print(f"  raw fastText top-1   {med['raw']:.3f} s  {figures['raw_blocks_per_s']:>10,.0f} blocks/s")
    print(f"  Sieve language layer {med['layer']:.3f} s  {figures['layer_blocks_per_s']:>10,.0f} blocks/s")
    print(f"  speed ratio layer/raw: {figures['speed_ratio_layer_vs_raw']:.2f}x (target >= 0.7x); "
          f"median of the rounds' own ratios {paired:.2f}x")
    print(f"  memory the layer adds (RSS, answers kept): {added:.1f} MB (target <= 100 MB)")


if __name__ == "__main__":
    main()

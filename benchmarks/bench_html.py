"""Article extraction from web pages: Sieve against trafilatura on the same pages, in the same run.

Usage:
  python benchmarks/bench_html.py [--pages ../shared/data/html/aeb] [--repeats 3] [--json]

Quality: Sieve's article text (content blocks of ``sieve clean --format text``, i.e. the
HTML model on Sieve's own segmentation) for every page, scored with
../shared/eval/score_html.py against ../shared/data/aeb-dev-ground-truth.json, with the
headline (Sieve's output) and without it (leading heading blocks dropped; the benchmark's
articleBody leaves the headline out), and without the headline or captions (as ``sieve clean
--no-captions`` keeps the text: the benchmark's articleBody leaves pictures' captions out too,
while Sieve labels them content by default). trafilatura.extract (defaults) is scored the same way.
Note: the shipped HTML model was trained on these pages; the cross-validated figure (pages
of publishers not in training) is in models/html.json, written by training/make_models.py.

Speed and memory: each side runs as a child process over all pages (reading the files,
extracting, no output), alternating sieve, sieve-stream, trafilatura, floor, ... ``--repeats`` times.
``sieve`` labels one page per call (as trafilatura.extract is called); ``sieve-stream``
labels the pages as one stream of documents, in batches, as ``sieve score pages/`` and
``sieve clean`` run; both give the same labels. ``floor`` parses each page with lxml and runs
fastText once on each distinct text of Sieve's blocks of the run (cut before the clock
starts: no segmenter, no block model in the time): the least a block-level pipeline with
a language per block does, to compare with the 3x target.
Reported: median wall time excluding interpreter start-up and imports (each child times its
own loop), pages/s, the ratio (>1: Sieve is faster) and each child's peak RSS (os.wait4).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SIEVE_SHARED") or REPO.parent / "shared")  # data + reference runs
DEFAULT_PAGES = SHARED / "data" / "html" / "aeb"
TRUTH = SHARED / "data" / "aeb-dev-ground-truth.json"
SCORER = SHARED / "eval" / "score_html.py"

CHILD = r'''
import gzip, json, sys, time
from pathlib import Path
side, folder, out = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
pages = sorted(folder.glob("*.html*"))
def read(p):
    return gzip.open(p).read() if p.name.endswith(".gz") else p.read_bytes()
if side != "trafilatura":
    sys.path.insert(0, sys.argv[4])
    from classifier.errors import PageError
    from classifier.html import html_to_blocks as _cut, is_caption, page_fields
    def html_to_blocks(data, found=None):
        try:
            return _cut(data, found=found)
        except PageError:  # refused as sieve score rejects it: no article
            return []
if side.startswith("sieve"):
    from classifier import Sieve
    from classifier.clean import removable_foreign
    from classifier.document import Document, Label
    sieve = Sieve(); sieve.check_models()
    def page(data, doc_id):  # as `sieve score page.html` reads it: blocks, and the title that finds the headline
        found = {}
        blocks = html_to_blocks(data, found=found)
        return Document(id=doc_id, blocks=tuple(blocks), extra=page_fields(found))
    def article(doc):  # the kept text as `sieve clean` keeps it
        content = [b for b in doc.blocks if b.label is Label.CONTENT and not removable_foreign(b)]
        body = content
        while body and body[0].tag in ("h1", "h2", "h3"):
            body = body[1:]
        plain = [b for b in body if not is_caption(b)]  # as `sieve clean --no-captions` keeps it
        return "\n".join(b.text for b in content), "\n".join(b.text for b in body), "\n".join(b.text for b in plain)
    def extract(data, path=None):
        doc = page(data, "p")
        if not doc.blocks:
            return "", "", ""
        return article(next(sieve.label_many([doc])))
elif side == "floor":  # parse + fastText on every block: what any block pipeline with languages must do
    import fasttext
    import lxml.html
    lid = fasttext.load_model(str(Path(sys.argv[4]) / "models" / "lid.ftz")).f
    block_texts = {p.name: list(dict.fromkeys(b.text for b in html_to_blocks(read(p)))) for p in pages}  # not timed
    seen = set()  # once per distinct text of the run, as Sieve's language cache across pages
    def extract(data, page=None):
        lxml.html.fromstring(data)
        for text in block_texts.get(page.name, []) if page is not None else []:
            if text not in seen:
                seen.add(text)
                lid.predict(" ".join(text.split()) + "\n", 1, 0.0, "strict")
        return "", "", ""
else:
    import trafilatura
    def extract(data, page=None):
        text = trafilatura.extract(data) or ""
        return text, text, text
extract(read(pages[0]), pages[0])  # warm up (models loaded, caches filled)
t0 = time.perf_counter()
results = {}
if side == "sieve-stream":  # as `sieve score pages/` runs: one stream of documents, labelled in batches
    docs = (page(read(p), p.name.split(".")[0]) for p in pages)
    for doc in sieve.label_many(docs):
        results[str(doc.id)] = article(doc) if doc.blocks else ("", "", "")
else:
    for p in pages:
        results[p.name.split(".")[0]] = extract(read(p), p)
seconds = time.perf_counter() - t0
if out != "-":
    json.dump(results, open(out, "w"))
print(json.dumps({"seconds": seconds, "pages": len(pages)}))
'''


def run_child(side: str, pages: Path, out: str) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, side, str(pages), out, str(REPO)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, OMP_NUM_THREADS="1"))
    stdout = proc.stdout.read() if proc.stdout else b""
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"bench_html: {side} failed:\n{stderr.decode()[-2000:]}")
    res = json.loads(stdout.decode().strip().splitlines()[-1])
    res["peak_rss_mb"] = usage.ru_maxrss / 1024
    return res


def score(results: dict, column: int, tmp: Path) -> float:
    pred = {k: {"articleBody": v[column]} for k, v in results.items()}
    path = tmp / f"pred-{column}.json"
    path.write_text(json.dumps(pred), encoding="utf-8")
    out = subprocess.run([sys.executable, str(SCORER), str(TRUTH), str(path), "--json"], capture_output=True,
                         text=True, check=True).stdout
    res = json.loads(out)
    return float((res if "f1" in res else next(iter(res.values())))["f1"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=Path, default=DEFAULT_PAGES)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.pages.is_dir():
        sys.exit(f"bench_html: no pages in {args.pages} (the dev data lives in ../shared/data/html)")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        runs: dict[str, list[dict]] = {"sieve": [], "sieve-stream": [], "trafilatura": [], "floor": []}
        for i in range(args.repeats):
            for side in runs:
                runs[side].append(run_child(side, args.pages, str(t / f"{side}.json") if i == 0 else "-"))
        figures = {side: {"seconds": statistics.median(r["seconds"] for r in rs),
                          "pages": rs[0]["pages"],
                          "peak_rss_mb": max(r["peak_rss_mb"] for r in rs)} for side, rs in runs.items()}
        for side in runs:
            figures[side]["pages_per_s"] = figures[side]["pages"] / figures[side]["seconds"]
            if side != "floor" and TRUTH.is_file() and SCORER.is_file() and args.pages == DEFAULT_PAGES:
                results = json.loads((t / f"{side}.json").read_text())
                figures[side]["aeb_f1_with_headline"] = score(results, 0, t)
                figures[side]["aeb_f1_without_headline"] = score(results, 1, t)
                if side != "trafilatura":
                    figures[side]["aeb_f1_without_headline_or_captions"] = score(results, 2, t)
        figures["speed_ratio_sieve_vs_trafilatura"] = (figures["trafilatura"]["seconds"]
                                                       / figures["sieve"]["seconds"])
        figures["speed_ratio_sieve_stream_vs_trafilatura"] = (figures["trafilatura"]["seconds"]
                                                              / figures["sieve-stream"]["seconds"])
        figures["floor_share_of_target"] = figures["floor"]["seconds"] / (figures["trafilatura"]["seconds"] / 3)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{figures['sieve']['pages']} pages from {args.pages}, median of {args.repeats} runs (imports excluded)")
    for side in ("sieve", "sieve-stream", "trafilatura", "floor"):
        f = figures[side]
        extra = ""
        if "aeb_f1_with_headline" in f:
            extra = (f"  AEB token F1 {f['aeb_f1_with_headline']:.4f} (with headline) / "
                     f"{f['aeb_f1_without_headline']:.4f} (without)")
            if "aeb_f1_without_headline_or_captions" in f:
                extra += f" / {f['aeb_f1_without_headline_or_captions']:.4f} (without, --no-captions)"
        print(f"  {side:<13} {f['seconds']:6.2f} s  {f['pages_per_s']:6.1f} pages/s  peak RSS "
              f"{f['peak_rss_mb']:5.0f} MB{extra}")
    print(f"  speed ratio sieve vs trafilatura: {figures['speed_ratio_sieve_vs_trafilatura']:.2f}x one page per "
          f"call, {figures['speed_ratio_sieve_stream_vs_trafilatura']:.2f}x streamed (target >= 3x)")
    print(f"  floor (lxml parse + fastText per distinct block text, no segmenter or model) takes "
          f"{figures['floor_share_of_target']:.0%} of the 3x target's time")


if __name__ == "__main__":
    main()

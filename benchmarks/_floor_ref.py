"""Floor side of bench_score.py and bench_clean.py: the least that `sieve score` or
`sieve clean` must do, with no block model.

Usage:
  python benchmarks/_floor_ref.py score STRIPPED.jsonl OUT.jsonl LID_MODEL
  python benchmarks/_floor_ref.py clean CORPUS_DIR OUT_DIR LID_MODEL

What every run has to do whatever its classifier: start Python, load fastText's lid.176,
read each JSONL record, give every block a language with one fastText call (the least the
language layer can do: one call per distinct text of the whole run, on the
whitespace-collapsed text; Sieve's language layer keeps a cache across documents too, and
menus and footers repeat across a site's pages and across the benches' copies), and write
the result: for ``score`` one prediction record per
document in the SCHEMA.md shape, for ``clean`` one ``.jsonl.gz`` shard per input shard with
each document's text (all blocks: no label, no model, no scikit-learn). It reads and writes
JSON with orjson when that is installed (faster than the standard library, so the floor is
lower), else with the json module.

Prints one JSON line: seconds spent starting (imports and model load), reading, in
fastText, writing, and documents and blocks seen. The benches time the whole child from
outside like the other sides.
"""
import time

T0 = time.perf_counter()
import gzip  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import fasttext  # noqa: E402

try:
    import orjson

    def loads(line: bytes) -> dict:
        return orjson.loads(line)

    def dumps(obj: dict) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - the bench extra installs it
    def loads(line: bytes) -> dict:
        return json.loads(line)

    def dumps(obj: dict) -> bytes:
        return json.dumps(obj, ensure_ascii=False).encode()

mode, src, dst, lid = sys.argv[1:5]
model = fasttext.load_model(lid)
predict = model.f.predict
t_start = time.perf_counter() - T0
t_read = t_lang = t_write = 0.0
docs = blocks = 0


found: dict[str, tuple[str | None, float]] = {}  # every distinct text of the run: the fewest calls


def languages(texts: list[str]) -> dict[str, tuple[str | None, float]]:
    for text in texts:
        if text not in found:
            top = predict(" ".join(text.split()) + "\n", 1, 0.0, "strict")
            found[text] = (top[0][1][9:], round(top[0][0], 4)) if top else (None, 0.0)
    return found


if mode == "score":
    shards = [(Path(src), Path(dst), open)]
else:
    Path(dst).mkdir(parents=True, exist_ok=True)
    shards = [(s, Path(dst) / (s.name.split(".")[0] + ".jsonl.gz"), gzip.open)
              for s in sorted(Path(src).rglob("*.jsonl"))]
for path, out_path, opener in shards:
    with open(path, "rb") as inp, opener(out_path, "wb") as out:
        for line in inp:
            t = time.perf_counter()
            rec = loads(line)
            texts = [b["text"] if isinstance(b, dict) else b for b in rec["blocks"]]
            t_read += time.perf_counter() - t
            t = time.perf_counter()
            found = languages(texts)
            t_lang += time.perf_counter() - t
            t = time.perf_counter()
            if mode == "score":
                scores = {"content": 1.0, "boilerplate": 0.0, "navigation": 0.0}
                record = {"id": rec["id"], "url": rec.get("url"), "lang": None, "blocks": [
                    {"text": text, "label": "content", "scores": scores,
                     "lang": found[text][0], "lang_score": found[text][1]} for text in texts]}
            else:
                record = {"id": rec["id"], "text": "\n\n".join(texts),
                          "metadata": {"url": rec.get("url"), "lang": found[texts[0]][0] if texts else None}}
            out.write(dumps(record) + b"\n")
            t_write += time.perf_counter() - t
            docs += 1
            blocks += len(texts)
print(json.dumps({"documents": docs, "blocks": blocks, "start_s": round(t_start, 3), "read_s": round(t_read, 3),
                  "fasttext_s": round(t_lang, 3), "write_s": round(t_write, 3)}))

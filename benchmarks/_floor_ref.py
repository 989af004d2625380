"""Floor side of bench_score.py: the least that any `sieve score` must do, with no block model.

Usage: python benchmarks/_floor_ref.py STRIPPED.jsonl OUT.jsonl LID_MODEL

What every run of `sieve score` has to do whatever its classifier: start Python, load
fastText's lid.176, read each JSONL record, give every block a language with one fastText
call (the least the language layer can do: one call per distinct text of a document, on
the whitespace-collapsed text), and write one prediction record per document in the
SCHEMA.md shape. The label is a constant: no features, no model, no scikit-learn. It reads
and writes JSON with orjson when that is installed (faster than the standard library, so
the floor is lower), else with the json module.

Prints one JSON line: seconds spent starting (imports and model load), reading, in
fastText, writing, and documents and blocks seen. The bench times the whole child from
outside like the other sides.
"""
import time

T0 = time.perf_counter()
import json  # noqa: E402
import sys  # noqa: E402

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

src, dst, lid = sys.argv[1], sys.argv[2], sys.argv[3]
model = fasttext.load_model(lid)
predict = model.f.predict
t_start = time.perf_counter() - T0
t_read = t_lang = t_write = 0.0
docs = blocks = 0
with open(src, "rb") as inp, open(dst, "wb") as out:
    for line in inp:
        t = time.perf_counter()
        rec = loads(line)
        texts = [b["text"] for b in rec["blocks"]]
        t_read += time.perf_counter() - t
        t = time.perf_counter()
        found: dict[str, tuple[str | None, float]] = {}
        for text in texts:
            if text not in found:
                top = predict(" ".join(text.split()) + "\n", 1, 0.0, "strict")
                found[text] = (top[0][1][9:], round(top[0][0], 4)) if top else (None, 0.0)
        t_lang += time.perf_counter() - t
        t = time.perf_counter()
        out_blocks = [{"text": text, "label": "content",
                       "scores": {"content": 1.0, "boilerplate": 0.0, "navigation": 0.0},
                       "lang": found[text][0], "lang_score": found[text][1]} for text in texts]
        out.write(dumps({"id": rec["id"], "url": rec.get("url"), "lang": None, "blocks": out_blocks}) + b"\n")
        t_write += time.perf_counter() - t
        docs += 1
        blocks += len(texts)
print(json.dumps({"documents": docs, "blocks": blocks, "start_s": round(t_start, 3), "read_s": round(t_read, 3),
                  "fasttext_s": round(t_lang, 3), "write_s": round(t_write, 3)}))

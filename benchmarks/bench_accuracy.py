"""Is Sieve more accurate than jusText and trafilatura on the blocks it labels?

Usage:
  python benchmarks/bench_accuracy.py [--parts aeb-dev,traf-dev,mixed-dev] [--json]

Every side labels the same gold blocks of ../shared/data/{part}.jsonl.gz, and the project's
scorer (../shared/eval/score.py) scores each side's predictions: content-vs-rest precision,
recall and F1 over the labelled blocks, and the scorer's content F1 weighted by tokens. The
other tools tell content from the rest only, so macro-F1 over the three labels is Sieve's alone.

* ``justext``: each document's blocks as html-escaped ``<p>`` of one page (as
  ../shared/eval/ref_pipeline.py does), jusText in its language-independent mode (no stoplist);
  a block is content when jusText keeps its paragraph.
* ``justext+stoplist``: the same with the stoplist of the document's language as the gold
  record gives it (a hint the other sides do not get; jusText's usual mode; documents whose
  language jusText has no stoplist for fall back to the mode above).
* ``trafilatura``: the same ``<p>`` page through ``trafilatura.extract``; a block is content when
  its words appear, whole and in their order, in the extracted text (a block of three words or
  fewer only as a whole line of it).
* ``trafilatura-page`` (aeb-dev and traf-dev: the records name their raw page): the raw HTML
  page through ``trafilatura.extract``, blocks matched the same way. This is trafilatura as it
  is used, on pages.
* ``sieve``: ``sieve score`` on the stripped blocks (the text model). **In-sample**: the shipped
  model was trained on these very documents, so this row is for comparison with the hook only.
* ``sieve CV``: the text model's publisher-grouped cross-validated figures from its card
  (``models/blocks.json``, made by ``training/make_models.py``): each document labelled by a
  model that never saw its publisher. This is the row to compare with the tools above, which
  were never trained on these pages either. ``sieve-html CV`` is the HTML model's (pages).

Reads the dev data (not in the repository): stops with a clear message when it is absent.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SIEVE_SHARED") or REPO.parent / "shared")
DATA = SHARED / "data"
SCORER = SHARED / "eval" / "score.py"
PARTS = ("aeb-dev", "traf-dev", "mixed-dev")

#: ISO 639-1 codes of the dev data's languages -> jusText's stoplist names.
STOPLISTS = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "pl": "Polish", "ru": "Russian", "uk": "Ukrainian", "cs": "Czech", "sk": "Slovak",
    "hu": "Hungarian", "ro": "Romanian", "sv": "Swedish", "da": "Danish", "no": "Norwegian_Bokmal",
    "nb": "Norwegian_Bokmal", "fi": "Finnish", "el": "Greek", "tr": "Turkish", "id": "Indonesian",
    "ca": "Catalan", "hr": "Croatian", "sl": "Slovenian", "bg": "Bulgarian", "lt": "Lithuanian",
    "lv": "Latvian", "et": "Estonian", "vi": "Vietnamese", "ar": "Arabic", "fa": "Persian", "he": "Hebrew",
    "hi": "Hindi", "ko": "Korean", "sr": "Serbian", "ms": "Malay", "eu": "Basque", "gl": "Galician",
}
_WORDS = re.compile(r"\w+")


def sieve_command() -> list[str]:
    script = Path(sysconfig.get_path("scripts")) / "sieve"
    return [str(script)] if script.is_file() else [shutil.which("sieve") or "sieve"]


def read(part: str) -> list[dict[str, Any]]:
    with gzip.open(DATA / f"{part}.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def words(text: str) -> str:
    """The words of ``text``, lower-cased, each between spaces: a block is found in an
    extracted text when its words are, whole and in order."""
    return " " + " ".join(_WORDS.findall(text.lower())) + " "


def prediction(doc: dict[str, Any], content: list[bool]) -> dict[str, Any]:
    """A prediction record (SCHEMA.md) with a two-way label: content, or not (written as
    navigation; only content-vs-rest is read from it)."""
    return {"id": doc["id"], "blocks": [
        {"text": b["text"], "label": "content" if c else "navigation",
         "scores": {"content": 1.0 if c else 0.0, "boilerplate": 0.0, "navigation": 0.0 if c else 1.0}}
        for b, c in zip(doc["blocks"], content, strict=True)]}


def block_page(doc: dict[str, Any]) -> str:
    return "<html><body>" + "".join(f"<p>{html.escape(b['text'])}</p>" for b in doc["blocks"]) + "</body></html>"


def justext_content(doc: dict[str, Any], stoplist: bool) -> list[bool]:
    """Per block, whether jusText keeps its paragraph (paragraphs are matched to blocks
    in order by their words; a block jusText dropped as empty is not content)."""
    import justext

    name = STOPLISTS.get(str(doc.get("lang") or "")) if stoplist else None
    if name is not None:
        paragraphs = justext.justext(block_page(doc).encode("utf-8"), justext.get_stoplist(name))
    else:
        paragraphs = justext.justext(block_page(doc).encode("utf-8"), frozenset(), stopwords_low=0,
                                     stopwords_high=0)
    found = [(words(p.text), not p.is_boilerplate) for p in paragraphs]
    out, j = [], 0
    for b in doc["blocks"]:
        w = words(b["text"])
        k = next((k for k in range(j, min(j + 3, len(found))) if found[k][0] == w), None)
        if k is None:
            out.append(False)
        else:
            out.append(found[k][1])
            j = k + 1
    return out


def trafilatura_content(doc: dict[str, Any], page: str | None) -> list[bool]:
    import trafilatura

    text = trafilatura.extract(page if page is not None else block_page(doc)) or ""
    extracted = words(text)
    lines = {words(line) for line in text.splitlines()}
    # a block of three words or fewer ("News", "Home", "Page 2") must be a whole line of
    # the extracted text: found inside the article's sentences it would be credited wrongly
    return [len(w := words(b["text"])) > 2 and (w in lines if w.count(" ") <= 4 else w in extracted)
            for b in doc["blocks"]]


def raw_page(doc: dict[str, Any]) -> str | None:
    path = doc.get("html")
    if not path or not (DATA / path).is_file():
        return None
    with gzip.open(DATA / path, "rb") if path.endswith(".gz") else open(DATA / path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def score(part: str, predictions: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, str(SCORER), str(DATA / f"{part}.jsonl.gz"), str(predictions), "--json"],
                         capture_output=True, text=True, check=True)
    a = json.loads(out.stdout)["all"]
    cvr = a["content_vs_rest"]
    return {"precision": cvr["precision"], "recall": cvr["recall"], "f1": cvr["f1"],
            "token_f1": a["content_token_weighted"]["f1"], "macro_f1": a["label"]["macro_f1"],
            "blocks": sum(sum(row.values()) for row in a["label"]["confusion"].values())}


def card_cv(file: str, part: str) -> dict[str, float] | None:
    path = REPO / "models" / file
    if not path.is_file():
        return None
    cv = (json.loads(path.read_text(encoding="utf-8")).get("cv") or {}).get(part)
    if not isinstance(cv, dict):
        return None
    return {"f1": cv.get("content_vs_rest_f1"), "macro_f1": cv.get("macro_f1")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default=",".join(PARTS))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    missing = [str(DATA / f"{p}.jsonl.gz") for p in parts if not (DATA / f"{p}.jsonl.gz").is_file()]
    if missing or not SCORER.is_file():
        sys.exit(f"bench_accuracy: the dev data or the scorer is not there ({', '.join(missing) or SCORER}); "
                 "set SIEVE_SHARED to the shared folder")
    try:
        import justext  # noqa: F401
        import trafilatura  # noqa: F401
    except ImportError as err:
        sys.exit(f"bench_accuracy: {err.name} is not installed: pip install -e '.[bench]'")
    results: dict[str, dict[str, dict[str, float] | None]] = {}
    with tempfile.TemporaryDirectory(prefix="sieve-accuracy-") as tmp:
        work = Path(tmp)
        for part in parts:
            docs = read(part)
            rows: dict[str, dict[str, float] | None] = {}
            sides = {"justext": lambda d: justext_content(d, False),
                     "justext+stoplist": lambda d: justext_content(d, True),
                     "trafilatura": lambda d: trafilatura_content(d, None)}
            pages = {d["id"]: raw_page(d) for d in docs}
            if all(p is not None for p in pages.values()):
                sides["trafilatura-page"] = lambda d, found=pages: trafilatura_content(d, found[d["id"]])
            for name, content in sides.items():
                out = work / f"{part}.{name}.jsonl"
                with out.open("w", encoding="utf-8") as f:
                    for d in docs:
                        f.write(json.dumps(prediction(d, content(d)), ensure_ascii=False) + "\n")
                rows[name] = score(part, out)
            stripped = work / f"{part}.stripped.jsonl"
            with stripped.open("w", encoding="utf-8") as f:
                for d in docs:
                    f.write(json.dumps({"id": d["id"], "url": d.get("url"),
                                        "blocks": [{"text": b["text"]} for b in d["blocks"]]}, ensure_ascii=False)
                            + "\n")
            predicted = work / f"{part}.sieve.jsonl"
            subprocess.run([*sieve_command(), "-q", "score", str(stripped), "-o", str(predicted)], check=True)
            rows["sieve (in-sample)"] = score(part, predicted)
            rows["sieve CV"] = card_cv("blocks.json", part)
            rows["sieve-html CV"] = card_cv("html.json", part) if "trafilatura-page" in rows else None
            results[part] = rows
    if args.json:
        print(json.dumps(results, indent=2, sort_keys=True))
        return
    print("content-vs-rest over the gold-labelled blocks (precision / recall / F1), content F1 weighted "
          "by tokens, macro-F1 (Sieve's three labels)")
    for part, rows in results.items():
        print(f"{part}:")
        for name, m in rows.items():
            if m is None:
                continue
            if "precision" in m:
                print(f"  {name:<18} {m['precision']:.3f} / {m['recall']:.3f} / {m['f1']:.3f}   tokens "
                      f"{m['token_f1']:.3f}" + (f"   macro {m['macro_f1']:.3f}" if name.startswith("sieve") else ""))
            else:
                print(f"  {name:<18}     -   /   -   / {m['f1']:.3f}   (the card's publisher-grouped CV; "
                      f"macro {m['macro_f1']:.3f})")


if __name__ == "__main__":
    main()

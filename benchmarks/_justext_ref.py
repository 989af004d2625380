"""jusText side of bench_score.py: one child process, timed from outside (import time included).

Usage: python benchmarks/_justext_ref.py STRIPPED.jsonl
Each document's blocks become one page of <p> elements (html-escaped), run through jusText in
language-independent mode (no stoplist). Prints the number of documents and blocks it saw.
"""
import html
import json
import sys

import justext

docs = blocks = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        d = json.loads(line)
        paras = [b["text"] for b in d["blocks"]]
        page = "<html><body>" + "".join(f"<p>{html.escape(x)}</p>" for x in paras) + "</body></html>"
        justext.justext(page.encode(), frozenset(), stopwords_low=0, stopwords_high=0)
        docs += 1
        blocks += len(paras)
print(json.dumps({"documents": docs, "blocks": blocks}))

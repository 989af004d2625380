"""One self-contained HTML page that shows how a model did on labelled documents.

``write_report`` renders: per-label precision/recall/F1, the confusion matrix and
F1 per publisher as inline SVG charts, then every document block by block,
coloured by the predicted label (a border in the gold label's colour where they
differ), foreign blocks and foreign segments highlighted, and each block's
scores and language on hover. No script, no external file: the page works
offline and anywhere.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .document import LABELS, Document
from .model import evaluate
from .templates import publisher_of
from .writers import write_text_atomic

__all__ = ["render_report", "write_report"]

COLOURS = {"content": "#2e7d32", "boilerplate": "#ef8f00", "navigation": "#1565c0", "none": "#888888"}
BACKGROUNDS = {"content": "#e8f5e9", "boilerplate": "#fff3e0", "navigation": "#e3f2fd", "none": "#f5f5f5"}

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:1em 2em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#fafafa}td.l,th.l{text-align:left}
.legend span{display:inline-block;padding:.1em .6em;margin-right:.6em;border-radius:3px}
.doc{margin:1.5em 0;border:1px solid #ddd;border-radius:6px;padding:.5em 1em}
.doc h3{margin:.2em 0 .5em;font-size:1em}
.block{margin:.25em 0;padding:.25em .5em;border-left:6px solid;border-radius:2px;white-space:pre-wrap}
.block.wrong{outline:2px dashed #c62828;outline-offset:1px}
.block .meta{float:right;font-size:.75em;color:#555;margin-left:1em}
.foreign{font-style:italic}
mark.seg{background:#f8bbd0;border-radius:2px;padding:0 .1em}
.badge{font-size:.75em;background:#c2185b;color:#fff;border-radius:3px;padding:0 .3em;margin-left:.4em}
svg text{font:12px system-ui,sans-serif}
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _bar_chart(rows: list[tuple[str, float]], *, width: int = 520, title: str = "") -> str:
    """A horizontal bar chart (values 0..1) as inline SVG."""
    bar_h, gap, label_w = 18, 6, 190
    height = len(rows) * (bar_h + gap) + 24
    parts = [f'<svg role="img" aria-label="{_esc(title)}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    scale = width - label_w - 60
    for i, (name, value) in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        w = max(0.0, min(1.0, value)) * scale
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{_esc(name[:28])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#5c6bc0">'
                     f'<title>{_esc(name)}: {value:.4f}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{value:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _confusion_svg(conf: dict[str, dict[str, int]]) -> str:
    names = [lab.value for lab in LABELS]
    cell, left, top = 84, 110, 40
    peak = max((conf[g][p] for g in names for p in names), default=1) or 1
    size_w, size_h = left + cell * len(names) + 10, top + cell * len(names) + 10
    parts = [f'<svg role="img" aria-label="confusion matrix" width="{size_w}" height="{size_h}" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<text x="{left}" y="14">predicted →</text><text x="4" y="{top - 8}">gold ↓</text>']
    for j, p in enumerate(names):
        parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 8}" text-anchor="middle">{p}</text>')
    for i, g in enumerate(names):
        parts.append(f'<text x="{left - 6}" y="{top + i * cell + cell / 2 + 4}" text-anchor="end">{g}</text>')
        for j, p in enumerate(names):
            n = conf[g][p]
            shade = int(245 - 180 * n / peak)
            fill = f"rgb({shade},{shade},255)" if g != p else f"rgb({shade},255,{shade})"
            x, y = left + j * cell, top + i * cell
            parts.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                         f'<title>gold {g}, predicted {p}: {n}</title></rect>')
            parts.append(f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" text-anchor="middle">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _marked_text(text: str, segments: Sequence[Any]) -> str:
    out, pos = [], 0
    for seg in segments:
        out.append(_esc(text[pos:seg.start]))
        out.append(f'<mark class="seg" title="{_esc(seg.lang)} {seg.score or 0:.2f}">'
                   f"{_esc(text[seg.start:seg.end])}</mark>")
        pos = seg.end
    out.append(_esc(text[pos:]))
    return "".join(out)


def _document_html(pred: Document, gold: Document) -> str:
    gold_labels = gold.gold_labels
    parts = [f'<section class="doc" id="doc-{_esc(pred.id)}"><h3>{_esc(pred.id)}'
             f'{" · " + _esc(pred.publisher) if pred.publisher else ""}'
             f' · language {_esc(pred.lang or "?")}</h3>']
    for i, b in enumerate(pred.blocks):
        label = b.label.value if b.label else "none"
        g = gold_labels[i] if i < len(gold_labels) else None
        wrong = g is not None and b.label is not g
        scores = ", ".join(f"{lab.value} {s:.2f}" for lab, s in zip(LABELS, b.scores)) if b.scores else "-"
        hover = (f"predicted {label}; gold {g.value if g else 'none'}; {scores}; language {b.lang or '-'}"
                 f"{' ' + format(b.lang_score, '.2f') if b.lang_score is not None else ''}")
        classes = "block" + (" wrong" if wrong else "") + (" foreign" if b.foreign else "")
        # the left border is the gold label; a block without one has a grey border
        style = f"border-color:{COLOURS[g.value] if g else '#bdbdbd'};background:{BACKGROUNDS[label]}"
        badge = f'<span class="badge">{_esc(b.lang)}</span>' if b.foreign else ""
        conf = max(b.scores) if b.scores else 0.0
        parts.append(f'<div class="{classes}" data-label="{label}" data-gold="{g.value if g else ""}" '
                     f'title="{_esc(hover)}" style="{style}"><span class="meta">{label} {conf:.2f}</span>'
                     f"{_marked_text(b.text, b.segments)}{badge}</div>")
    parts.append("</section>")
    return "".join(parts)


def render_report(predicted: Sequence[Document], gold: Sequence[Document], *, title: str = "Sieve evaluation",
                  max_documents: int = 200) -> str:
    """The report page for ``predicted`` documents against ``gold`` (same order)."""
    m = evaluate(predicted, gold)
    by_publisher: dict[str, tuple[list[Document], list[Document]]] = defaultdict(lambda: ([], []))
    for p, g in zip(predicted, gold):
        key = publisher_of(g) or "(no publisher)"  # as templates, adapters and training read it
        by_publisher[key][0].append(p)
        by_publisher[key][1].append(g)
    pub_rows: list[tuple[str, float | None, float, int]] = []
    for pub in sorted(by_publisher):
        pm = evaluate(*by_publisher[pub])
        if pm["blocks"]:
            # no content in the gold nor predicted: content-vs-rest F1 says nothing (not 0)
            predicted_content = sum(row.get("content", 0) for row in pm["confusion"].values())
            no_content = not pm["per_label"]["content"]["support"] and not predicted_content
            pub_rows.append((pub, None if no_content else pm["content_vs_rest"]["f1"], pm["macro_f1_present"],
                             pm["blocks"]))
    names = [lab.value for lab in LABELS]
    rows = "".join(
        f'<tr><td class="l">{c}</td><td>{m["per_label"][c]["precision"]:.4f}</td>'
        f'<td>{m["per_label"][c]["recall"]:.4f}</td><td>{m["per_label"][c]["f1"]:.4f}</td>'
        f'<td>{m["per_label"][c]["support"]}</td></tr>' for c in names)
    cvr = m["content_vs_rest"]
    legend = "".join(f'<span style="background:{BACKGROUNDS[c]};border-left:6px solid {COLOURS[c]}">{c}</span>'
                     for c in names)
    shown = list(zip(predicted, gold))[:max_documents]
    docs_html = "".join(_document_html(p, g) for p, g in shown)
    more = (f"<p>{len(predicted) - len(shown)} more documents not shown.</p>"
            if len(predicted) > len(shown) else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<meta name="generator" content="sieve {__version__}"><style>{_CSS}</style></head>
<body><h1>{_esc(title)}</h1>
<p>{len(predicted)} documents, {m["blocks"]} labelled blocks. Macro-F1 <b id="macro-f1">{m["macro_f1"]:.4f}</b>,
content-vs-rest F1 <b id="content-f1">{cvr["f1"]:.4f}</b> (precision {cvr["precision"]:.4f},
recall {cvr["recall"]:.4f}), accuracy {m["accuracy"]:.4f}.</p>
<h2>Per label</h2><table id="per-label"><tr><th class="l">label</th><th>precision</th><th>recall</th>
<th>F1</th><th>support</th></tr>{rows}</table>
{_bar_chart([(c, m["per_label"][c]["f1"]) for c in names], title="F1 per label")}
<h2>Confusion matrix</h2>{_confusion_svg(m["confusion"])}
<h2>Content-vs-rest F1 per publisher</h2>
{_bar_chart([(p, f1) for p, f1, _, _ in pub_rows if f1 is not None], title="F1 per publisher")
 if any(f1 is not None for _, f1, _, _ in pub_rows) else "<p>none</p>"}
<table id="per-publisher"><tr><th class="l">publisher</th><th>content-vs-rest F1</th>
<th title="over the labels the publisher's blocks have or are given">macro-F1 (labels present)</th>
<th>blocks</th></tr>{"".join(f'<tr><td class="l">{_esc(p)}</td><td>{"n/a" if a is None else f"{a:.4f}"}</td>'
                              f'<td>{b:.4f}</td><td>{n}</td></tr>' for p, a, b, n in pub_rows)}</table>
<h2>Documents</h2><p class="legend">{legend} Background: predicted label; left border: gold label (grey: none);
dashed outline: wrong; <mark class="seg">pink</mark>: a sentence in another language; hover a block for
its scores.</p>
{docs_html}{more}
</body></html>
"""


def write_report(path: Path, predicted: Sequence[Document], gold: Sequence[Document], **kwargs: Any) -> Path:
    """Write ``render_report`` to ``path`` atomically."""
    return write_text_atomic(path, render_report(predicted, gold, **kwargs))

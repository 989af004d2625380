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

__all__ = ["MAX_BLOCKS", "MAX_DOCUMENTS", "left_out", "render_report", "write_report"]

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
.block .more{font-size:.75em;color:#555}
.foreign{font-style:italic}
mark.seg{background:#f8bbd0;border-radius:2px;padding:0 .1em}
.badge{font-size:.75em;background:#c2185b;color:#fff;border-radius:3px;padding:0 .3em;margin-left:.4em}
.block,bdi{unicode-bidi:isolate}.block{overflow-wrap:anywhere}
svg text{font:12px system-ui,sans-serif}
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _short(name: str, width: int = 28) -> str:
    """``name`` cut to ``width`` characters in the middle ("very-long-reg…per-a.example"):
    names that differ only at their end (the site) stay apart."""
    if len(name) <= width:
        return name
    head = (width - 1) // 2
    return name[:head] + "…" + name[-(width - 1 - head):]


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
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{_esc(_short(name))}</text>')
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


#: Characters of one block the page shows (the rest is counted): 200 documents of
#: half-megabyte blocks made a 100 MB page.
MAX_BLOCK_CHARS = 5_000


def _marked_text(text: str, segments: Sequence[Any], limit: int = MAX_BLOCK_CHARS) -> str:
    """``text`` with its segments marked, each character once: segments in order,
    cut to the text and to where the one before ended; past ``limit`` characters the
    text is cut and what is left out counted."""
    shown = text[:limit]
    out, pos = [], 0
    for seg in sorted(segments, key=lambda sg: (sg.start, sg.end)):
        start, end = max(seg.start, pos), min(seg.end, len(shown))
        if end <= start:
            continue
        score = "?" if seg.score is None else f"{seg.score:.2f}"
        out.append(_esc(shown[pos:start]))
        out.append(f'<mark class="seg" title="{_esc(seg.lang)} {score}" lang="{_esc(seg.lang)}">'
                   f"{_esc(shown[start:end])}</mark>")
        pos = end
    out.append(_esc(shown[pos:]))
    if len(text) > len(shown):
        out.append(f'<span class="more" dir="ltr"> … {len(text) - len(shown):,} more characters</span>')
    return "".join(out)


def _document_html(pred: Document, gold: Document, max_blocks: int | None = None) -> str:
    """One document block by block (its first ``max_blocks`` blocks, the rest counted)."""
    gold_labels = gold.gold_labels
    parts = [f'<section class="doc" id="doc-{_esc(pred.id)}"><h3><bdi>{_esc(pred.id)}</bdi>'
             f'{" · <bdi>" + _esc(pred.publisher) + "</bdi>" if pred.publisher else ""}'
             f' · language {_esc(pred.lang or "?")}</h3>']
    blocks = pred.blocks if max_blocks is None else pred.blocks[:max_blocks]
    for i, b in enumerate(blocks):
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
        conf = f"{max(b.scores):.2f}" if b.scores else "-"
        said = f" · gold {g.value}" if wrong and g is not None else ""  # not by colour alone
        lang = f' lang="{_esc(b.lang)}"' if b.lang else ""
        # dir="auto" takes the direction of the block's text: the label before it has its
        # own (else its Latin letters made every Arabic or Hebrew block left-to-right)
        parts.append(f'<div class="{classes}" data-label="{label}" data-gold="{g.value if g else ""}" dir="auto"'
                     f'{lang} title="{_esc(hover)}" style="{style}">'
                     f'<span class="meta" dir="ltr">{label} {conf}{said}</span>'
                     f"{_marked_text(b.text, b.segments)}{badge}</div>")
    if len(blocks) < len(pred.blocks):
        parts.append(f"<p>{len(pred.blocks) - len(blocks):,} more blocks of this document not shown.</p>")
    parts.append("</section>")
    return "".join(parts)


#: What one page shows at most: documents (and blocks in all), publishers in the chart
#: and rows in the publisher table. Past them the page says how many it leaves out,
#: and so does `sieve evaluate` on standard error (``left_out``).
MAX_DOCUMENTS = 200
MAX_BLOCKS = 20_000
MAX_CHART_PUBLISHERS = 40
MAX_TABLE_PUBLISHERS = 1_000


def _shown(predicted: Sequence[Document], max_documents: int, max_blocks: int) -> list[int]:
    """How many blocks of each document, in order, the page shows block by block: the
    first ``max_documents`` documents, ``max_blocks`` blocks in all (the last one cut)."""
    shown: list[int] = []
    left = max_blocks
    for d in predicted[:max_documents]:
        if left <= 0:
            break
        shown.append(min(len(d.blocks), left))
        left -= len(d.blocks)
    return shown


def left_out(predicted: Sequence[Document], *, max_documents: int = MAX_DOCUMENTS,
             max_blocks: int = MAX_BLOCKS) -> tuple[int, int]:
    """(documents, blocks) of ``predicted`` the page does not show block by block."""
    shown = _shown(predicted, max_documents, max_blocks)
    return len(predicted) - len(shown), sum(len(d.blocks) for d in predicted) - sum(shown)


def render_report(predicted: Sequence[Document], gold: Sequence[Document], *, title: str = "Sieve evaluation",
                  models: str = "", max_documents: int = MAX_DOCUMENTS, max_blocks: int = MAX_BLOCKS) -> str:
    """The report page for ``predicted`` documents against ``gold`` (same order): the
    metrics of all of them; block by block, the first ``max_documents`` documents
    and ``max_blocks`` blocks (a long document is cut), the rest counted. ``models``
    says which models labelled them (a line under the title)."""
    m = evaluate(predicted, gold)
    by_publisher: dict[str | None, tuple[list[Document], list[Document]]] = defaultdict(lambda: ([], []))
    for p, g in zip(predicted, gold):
        by_publisher[publisher_of(g)][0].append(p)  # as templates, adapters and training read it
        by_publisher[publisher_of(g)][1].append(g)
    pub_rows: list[tuple[str, float | None, float, int]] = []
    for pub in sorted(by_publisher, key=lambda k: (k is None, k or "")):
        pm = evaluate(*by_publisher[pub])
        if pm["blocks"]:
            # no content in the gold nor predicted: content-vs-rest F1 says nothing (not 0)
            predicted_content = sum(row.get("content", 0) for row in pm["confusion"].values())
            no_content = not pm["per_label"]["content"]["support"] and not predicted_content
            pub_rows.append((pub if pub is not None else "", None if no_content else pm["content_vs_rest"]["f1"],
                             pm["macro_f1_present"], pm["blocks"]))
    names = [lab.value for lab in LABELS]
    present = set(m["labels_present"])

    def cell(c: str, key: str) -> str:  # a label neither in the gold nor predicted: no figure, not 0
        return f'{m["per_label"][c][key]:.4f}' if c in present else "n/a"

    rows = "".join(
        f'<tr><td class="l">{c}</td><td>{cell(c, "precision")}</td><td>{cell(c, "recall")}</td>'
        f'<td>{cell(c, "f1")}</td><td>{m["per_label"][c]["support"]}</td></tr>' for c in names)
    absent = [c for c in names if c not in present]
    absent_note = (f' (no block is or was labelled {", ".join(absent)}: macro-F1 counts its F1 as 0, as the '
                   f'project\'s scorer does; over the labels present it is <b id="macro-f1-present">'
                   f'{m["macro_f1_present"]:.4f}</b>)' if absent else "")
    cvr = m["content_vs_rest"]
    legend = "".join(f'<span style="background:{BACKGROUNDS[c]};border-left:6px solid {COLOURS[c]}">{c}</span>'
                     for c in names)
    docs_html = "".join(_document_html(p, g, n)
                        for (p, g), n in zip(zip(predicted, gold), _shown(predicted, max_documents, max_blocks)))
    docs_out, blocks_out = left_out(predicted, max_documents=max_documents, max_blocks=max_blocks)
    more = (f"<p>Not shown block by block: {docs_out:,} more documents ({blocks_out:,} blocks in all left out; "
            "the figures above count every document).</p>" if blocks_out or docs_out else "")
    charted = sorted(((n, p, f1) for p, f1, _, n in pub_rows if f1 is not None), key=lambda r: (-r[0], r[1]))
    chart_note = (f"<p>The {MAX_CHART_PUBLISHERS} publishers with the most labelled blocks, of {len(charted)}; "
                  "every publisher is in the table.</p>" if len(charted) > MAX_CHART_PUBLISHERS else "")
    table_rows = sorted(pub_rows, key=lambda r: (-r[3], r[0]))[:MAX_TABLE_PUBLISHERS]
    table_note = (f"<p>The {MAX_TABLE_PUBLISHERS} publishers with the most labelled blocks, of {len(pub_rows)}.</p>"
                  if len(pub_rows) > MAX_TABLE_PUBLISHERS else "")
    conf_cols = names + ["none"]
    conf_table = ('<table id="confusion"><tr><th class="l">gold \\ predicted</th>'
                  + "".join(f"<th>{c}</th>" for c in conf_cols) + "</tr>"
                  + "".join(f'<tr><td class="l">{g}</td>' + "".join(f'<td>{m["confusion"][g].get(c, 0)}</td>'
                                                                  for c in conf_cols) + "</tr>" for g in names)
                  + "</table>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<meta name="generator" content="sieve {__version__}"><style>{_CSS}</style></head>
<body><h1>{_esc(title)}</h1>{f'<p id="models">{_esc(models)}</p>' if models else ""}
<p>{len(predicted)} documents, {m["blocks"]} labelled blocks. Macro-F1
<b id="macro-f1">{m["macro_f1"]:.4f}</b>{absent_note}, content-vs-rest F1 <b id="content-f1">{cvr["f1"]:.4f}</b>
(precision {cvr["precision"]:.4f}, recall {cvr["recall"]:.4f}), accuracy {m["accuracy"]:.4f}.</p>
<h2>Per label</h2><table id="per-label"><tr><th class="l">label</th><th>precision</th><th>recall</th>
<th>F1</th><th>support</th></tr>{rows}</table>
{_bar_chart([(c, m["per_label"][c]["f1"]) for c in names if c in present], title="F1 per label")}
<h2>Confusion matrix</h2>{_confusion_svg(m["confusion"])}
{conf_table}
<h2>Content-vs-rest F1 per publisher</h2>
{_bar_chart([(p or "(no publisher)", f1) for _, p, f1 in charted[:MAX_CHART_PUBLISHERS]], title="F1 per publisher")
 if charted else "<p>none</p>"}{chart_note}
<table id="per-publisher"><tr><th class="l">publisher</th><th>content-vs-rest F1</th>
<th title="over the labels the publisher's blocks have or are given">macro-F1 (labels present)</th>
<th>blocks</th></tr>{"".join(f'<tr><td class="l">{_esc(p) if p else "<i>(no publisher)</i>"}</td>'
                              f'<td>{"n/a" if a is None else f"{a:.4f}"}</td>'
                              f'<td>{b:.4f}</td><td>{n}</td></tr>' for p, a, b, n in table_rows)}</table>{table_note}
<h2>Documents</h2><p class="legend">{legend} Background: predicted label; left border: gold label (grey: none);
dashed outline: wrong (its gold label written beside the prediction); <mark class="seg">pink</mark>: a
sentence in another language; hover a block for its scores.</p>
{docs_html}{more}
</body></html>
"""


def write_report(path: Path, predicted: Sequence[Document], gold: Sequence[Document], **kwargs: Any) -> Path:
    """Write ``render_report`` to ``path`` atomically."""
    return write_text_atomic(path, render_report(predicted, gold, **kwargs))

"""The dense features and pass-2 contexts as computed before they were written into
their rows (session 30): each column block built on its own, then stacked. Kept to pin
``classifier.features``' values bit for bit (``tests/test_features_into_rows.py``)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from classifier.document import Block, model_text
from classifier.features import (
    _CONTEXT_COLS,
    _DOM_CONTEXT,
    _IDX_LOG_CHARS,
    _IDX_SENTENCE,
    ARTICLE_CONTEXT_WIDTH,
    CONTAINER_GROUPINGS,
    DOM_WINDOWS,
    FEATURES_VERSION,
    NEIGHBOUR_OFFSETS,
    PROBA_WINDOWS,
    WINDOWS,
    _decayed_mean,
    _main_run,
    _max_subarray,
    _shape_matrix,
    _window_bounds,
    _window_extreme,
    language_features,
)


def document_features_parts(blocks: tuple[Block, ...],
                            shapes: dict[tuple[str, int], list[float]] | None = None, *, dom: bool = False,
                            version: int = FEATURES_VERSION, out: np.ndarray | None = None) -> np.ndarray:
    """The dense feature matrix of a document's blocks (one row a block).

    ``shapes`` remembers ``block_shape`` by (text, link characters) across the
    documents of a batch: a site's menus and footers repeat on every page. With
    ``dom``, the blocks' DOM facts and their surroundings' are appended
    (``dom_features``; zeros for blocks that carry none). ``version``: the features
    version of the model that reads them (``block_shape``). ``out``: the rows to
    write them into (a batch's matrix: no second copy of a long page's features).
    """
    n = len(blocks)
    shape = _shape_matrix(blocks, shapes, version)
    ctx = shape[:, _CONTEXT_COLS]
    k = ctx.shape[1]
    parts = [shape]
    # neighbours: their shape, zero-padded, plus a flag for "no neighbour here"
    for off in NEIGHBOUR_OFFSETS:
        nb = np.zeros((n, k + 1))
        if off < 0:
            nb[-off:, :k] = ctx[: n + off] if n + off > 0 else 0
            nb[: min(-off, n), k] = 1.0
        else:
            nb[: max(n - off, 0), :k] = ctx[off:]
            nb[max(n - off, 0):, k] = 1.0
        parts.append(nb)
    # windows: mean and max of the surroundings (block itself excluded from the mean)
    csum = np.vstack([np.zeros((1, k)), np.cumsum(ctx, axis=0)])
    for w in WINDOWS:
        lo, hi = _window_bounds(n, w)
        count = (hi - lo - 1).clip(min=1)[:, None]
        parts.append((csum[hi] - csum[lo] - ctx) / count)
        col = _CONTEXT_COLS.index(_IDX_SENTENCE)
        parts.append((csum[hi, col] - csum[lo, col])[:, None] / (2 * w + 1))
    # position and the document as a whole
    idx = np.arange(n, dtype=np.float64)
    chars = np.expm1(shape[:, _IDX_LOG_CHARS])
    total = chars.sum() or 1.0
    before = (np.cumsum(chars) - chars) / total
    prose = chars * shape[:, _IDX_SENTENCE]
    prose_total = prose.sum()
    prose_before = (np.cumsum(prose) - prose) / prose_total if prose_total else np.zeros(n)
    start, end = _main_run(shape)
    in_run = ((idx >= start) & (idx <= end)).astype(np.float64)
    dist = np.where(idx < start, start - idx, np.where(idx > end, idx - end, 0.0))
    keys = [model_text(b.text).strip().lower() for b in blocks]
    counts = Counter(keys)
    repeats = np.array([math.log(counts[k]) for k in keys])
    max_chars = chars.max() if n else 1.0
    parts.append(language_features(blocks))
    parts.append(np.column_stack([
        idx / (n - 1) if n > 1 else np.zeros(n),
        np.log1p(idx),
        np.log1p(n - 1 - idx),
        np.full(n, math.log1p(n)),
        before,
        prose_before,
        in_run,
        np.log1p(dist),
        (idx < start).astype(np.float64),
        (idx > end).astype(np.float64),
        np.full(n, 1.0 if end >= start else 0.0),
        repeats,
        chars / max(max_chars, 1.0),
        np.full(n, math.log1p(prose_total)),
    ]))
    if dom:
        parts.append(dom_features_parts(blocks))
    if not n:
        return np.zeros((0, sum(p.shape[1] for p in parts)))
    return np.concatenate(parts, axis=1, out=out)


def dom_features_parts(blocks: tuple[Block, ...]) -> np.ndarray:
    """Each block's DOM facts (``html.DOM_FACTS``), the mean of some of them over
    windows around it, and how the block's facts differ from the page's article
    run (``in_main`` share around)."""
    from classifier.html import DOM_FACTS

    n = len(blocks)
    width = len(DOM_FACTS)
    own = np.array([b.dom if b.dom is not None and len(b.dom) == width else (0.0,) * width for b in blocks],
                   dtype=np.float64).reshape(n, width)
    cols = [DOM_FACTS.index(name) for name in _DOM_CONTEXT]
    ctx = own[:, cols]
    parts = [own]
    csum = np.vstack([np.zeros((1, len(cols))), np.cumsum(ctx, axis=0)])
    for w in DOM_WINDOWS:
        lo, hi = _window_bounds(n, w)
        count = (hi - lo).clip(min=1)[:, None]
        parts.append((csum[hi] - csum[lo]) / count)
    parts.append(np.repeat(ctx.mean(axis=0, keepdims=True) if n else np.zeros((0, len(cols))), n, axis=0))
    return np.hstack(parts)


def probability_context_parts(probs: np.ndarray) -> np.ndarray:
    """Context features of one document from its per-block probabilities (n, 3):
    the neighbours' probabilities, window means, and the window's strongest and
    weakest content probability."""
    n, k = probs.shape
    if n == 0:
        return np.zeros((0, len(NEIGHBOUR_OFFSETS) * k + len(PROBA_WINDOWS) * (k + 2)))
    parts = []
    for off in NEIGHBOUR_OFFSETS:
        nb = np.zeros((n, k))
        if off < 0 and n + off > 0:
            nb[-off:] = probs[: n + off]
        elif off > 0 and n - off > 0:
            nb[: n - off] = probs[off:]
        parts.append(nb)
    csum = np.vstack([np.zeros((1, k)), np.cumsum(probs, axis=0)])
    content = probs[:, 0]
    for w in PROBA_WINDOWS:
        lo, hi = _window_bounds(n, w)
        parts.append((csum[hi] - csum[lo] - probs) / np.maximum(hi - lo - 1, 1)[:, None])
        parts.append(np.column_stack([_window_extreme(content, w, np.max, -np.inf),
                                      _window_extreme(content, w, np.min, np.inf)]))
    return np.hstack(parts)


def container_context_parts(probs: np.ndarray, paths: Sequence[str | None]) -> np.ndarray:
    """What the other blocks of the same container say, from pass-1 probabilities
    ``probs`` (n, 3) and the blocks' DOM paths (``Block.path``).

    Two groupings: blocks with the same path (the same kind of element in the same
    kind of container: a list's items, an article's paragraphs) and blocks with the
    same parent path (everything in that container). Per grouping, the mean
    probabilities of the group's other members (NaN when it has none: the trees
    treat it as missing) and log(1 + their number). Blocks without a path get NaN
    in every column.
    """
    n, k = probs.shape
    out = np.full((n, CONTAINER_GROUPINGS * (k + 1)), np.nan)
    if n == 0:
        return out
    for g in range(CONTAINER_GROUPINGS):
        ids: dict[str, int] = {}
        group = np.full(n, -1, dtype=np.int64)
        for i, path in enumerate(paths):
            if path is None:
                continue
            key = path if g == 0 else path.rpartition(" ")[0]
            group[i] = ids.setdefault(key, len(ids))
        has = group >= 0
        if not has.any():
            continue
        sums = np.zeros((len(ids), k))
        np.add.at(sums, group[has], probs[has])
        counts = np.bincount(group[has], minlength=len(ids)).astype(np.float64)
        others = counts[group[has]] - 1
        col = g * (k + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (sums[group[has]] - probs[has]) / others[:, None]
        mean[others == 0] = np.nan
        out[has, col:col + k] = mean
        out[has, col + k] = np.log1p(others)
    return out


def article_context_parts(probs: np.ndarray, chars: np.ndarray) -> np.ndarray:
    """Where a block stands relative to the document's likely article, from pass-1
    probabilities ``probs`` (n, 3) and block lengths ``chars`` (n,).

    Per block: document-level content statistics; for two confident-content
    thresholds, the distance to the nearest confident content block before and
    after, whether the block lies between the first and last of them, and the
    share of their text and count before and after it; membership of the best run
    of content (by characters and by blocks); the length of its run of equal
    predicted labels; decayed means of the probabilities before and after; the
    length-weighted content probability around it; the content probability of the
    nearest substantial (100+ characters) block each side.
    """
    n = len(probs)
    if n == 0:
        return np.zeros((0, ARTICLE_CONTEXT_WIDTH))
    idx = np.arange(n)
    p0 = probs[:, 0]
    f: list[np.ndarray] = [
        np.full(n, p0.mean()), np.full(n, p0.max()), p0 / max(p0.max(), 1e-6),
        np.argsort(np.argsort(p0, kind="stable"), kind="stable") / max(n - 1, 1),
        np.full(n, (p0 * chars).sum() / max(chars.sum(), 1.0)), np.full(n, probs[:, 2].mean()),
    ]
    for threshold in (0.5, 0.8):
        confident = p0 > threshold
        where = np.flatnonzero(confident)
        if len(where):
            prev = np.maximum.accumulate(np.where(confident, idx, -1))
            nxt = np.minimum.accumulate(np.where(confident, idx, n)[::-1])[::-1]
            prev_x, next_x = np.concatenate(([-1], prev[:-1])), np.concatenate((nxt[1:], [n]))
            d_prev = np.where(prev_x >= 0, idx - prev_x, 999)
            d_next = np.where(next_x < n, next_x - idx, 999)
            between = ((idx >= where[0]) & (idx <= where[-1])).astype(float)
            cc = chars * confident
            total = max(cc.sum(), 1.0)
            c_before = (np.cumsum(cc) - cc) / total
            c_after = 1 - c_before - cc / total
            count = confident.sum()
            n_before = (np.cumsum(confident) - confident) / count
            n_after = 1 - n_before - confident / count
        else:
            d_prev = d_next = np.full(n, 999)
            between = c_before = c_after = n_before = n_after = np.zeros(n)
        f += [np.log1p(d_prev), np.log1p(d_next), between, c_before, c_after, n_before, n_after,
              np.full(n, np.log1p(len(where)))]
    for gain in ((p0 - 0.5) * np.minimum(chars, 1500.0) / 100.0, p0 - 0.4):
        start, end = _max_subarray(gain)
        dist = np.where(idx < start, start - idx, np.where(idx > end, idx - end, 0))
        f += [((idx >= start) & (idx <= end)).astype(float), np.log1p(dist),
              (idx < start).astype(float), (idx > end).astype(float)]
    arg = probs.argmax(axis=1)
    breaks = np.concatenate(([True], arg[1:] != arg[:-1]))
    run_id = np.cumsum(breaks) - 1
    run_len = np.bincount(run_id)[run_id]
    run_start = np.flatnonzero(breaks)[run_id]
    f += [np.log1p(run_len), (idx - run_start) / run_len]
    ends = probs[:, (0, 2)]  # content and navigation: the columns read
    for decay in (0.6, 0.85):
        fwd = _decayed_mean(ends, decay)
        bwd = _decayed_mean(ends[::-1], decay)[::-1]
        f += [fwd[:, 0], fwd[:, 1], bwd[:, 0], bwd[:, 1]]
    cs, cw = np.concatenate(([0.0], np.cumsum(chars * p0))), np.concatenate(([0.0], np.cumsum(chars)))
    for w in (3, 10):
        lo, hi = _window_bounds(n, w)
        f.append((cs[hi] - cs[lo] - chars * p0) / np.maximum(cw[hi] - cw[lo] - chars, 1.0))
    big = chars >= 100
    prev = np.concatenate(([-1], np.maximum.accumulate(np.where(big, idx, -1))[:-1]))
    nxt = np.concatenate((np.minimum.accumulate(np.where(big, idx, n)[::-1])[::-1][1:], [n]))
    f += [np.where(prev >= 0, p0[np.maximum(prev, 0)], -1.0), np.where(nxt < n, p0[np.minimum(nxt, n - 1)], -1.0),
          np.log1p(np.where(prev >= 0, idx - prev, 999)), np.log1p(np.where(nxt < n, nxt - idx, 999))]
    return np.column_stack(f)

"""Strokes to filled masks: join each volunteer's strokes into closed outlines, then fill them.

Coordinates here are plane pixels (row, column), pixel centres at integers.
"""

from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]  # r0, r1, c0, c1 (half-open)

# a stroke at least MIN_LOOP_PX long whose ends are within CLOSED_GAP_PX (or CLOSED_FRACTION of
# its length) is a closed outline by itself and is never joined to another
MIN_LOOP_PX = 10.0
CLOSED_GAP_PX = 3.0
CLOSED_FRACTION = 0.1


def arc_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def is_closed(points: np.ndarray) -> bool:
    length = arc_length(points)
    gap = float(np.linalg.norm(points[0] - points[-1]))
    return length >= MIN_LOOP_PX and gap <= max(CLOSED_GAP_PX, CLOSED_FRACTION * length)


def join_strokes(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Closed outlines from strokes: open strokes are chained greedily, longest first, each time
    to the nearest free stroke end (reversing strokes as needed) while that end is nearer than
    the chain's own gap; the remaining gap of each chain is closed by a straight line."""
    pieces = [np.asarray(s, dtype=np.float64) for s in strokes if len(s) >= 2]
    loops = [p for p in pieces if is_closed(p)]
    free = sorted((p for p in pieces if not is_closed(p)), key=arc_length, reverse=True)
    while free:
        chain = free.pop(0)
        while free:
            gap = float(np.linalg.norm(chain[0] - chain[-1]))
            joins = [(_best_join(chain, stroke), i) for i, stroke in enumerate(free)]
            (distance, joined), index = min(joins, key=lambda j: j[0][0])
            if distance >= gap:
                break
            free.pop(index)
            chain = joined
        loops.append(chain)
    return loops


def _best_join(chain: np.ndarray, stroke: np.ndarray) -> tuple[float, np.ndarray]:
    """(gap, joined chain) for the nearest of the four ways to put ``stroke`` on ``chain``."""
    options = (
        (chain[-1], stroke[0], lambda: np.vstack([chain, stroke])),
        (chain[-1], stroke[-1], lambda: np.vstack([chain, stroke[::-1]])),
        (chain[0], stroke[-1], lambda: np.vstack([stroke, chain])),
        (chain[0], stroke[0], lambda: np.vstack([stroke[::-1], chain])),
    )
    a, b, join = min(options, key=lambda o: float(np.linalg.norm(o[0] - o[1])))
    return float(np.linalg.norm(a - b)), join()


def bounding_box(loops: list[np.ndarray], shape: tuple[int, int], margin: int = 2) -> Box:
    """The pixels the outlines can touch, plus ``margin``, clipped to the plane."""
    points = np.vstack(loops)
    lo = np.floor(points.min(axis=0)).astype(int) - margin
    hi = np.ceil(points.max(axis=0)).astype(int) + margin + 1
    r0, c0 = np.maximum(lo, 0)
    r1, c1 = np.minimum(hi, shape)
    return int(r0), int(max(r1, r0)), int(c0), int(max(c1, c0))


def rasterize(loops: list[np.ndarray], box: Box) -> np.ndarray:
    """Union of the filled outlines over ``box``: a pixel is in when its centre is inside an
    outline (even-odd rule within one outline)."""
    r0, r1, c0, c1 = box
    mask = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    for loop in loops:
        if len(loop) >= 3:
            mask |= fill_polygon(loop - (r0, c0), mask.shape)
    return mask


def fill_polygon(loop: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Scanline fill of one closed outline (rows, columns): the pixels whose centre is inside.

    The pixels of ``skimage.draw.polygon`` except some whose centre lies exactly on the outline;
    vectorised over edges, ~40x faster for freehand traces of hundreds of points.
    """
    rows, cols = shape
    y0, x0 = loop[:, 0], loop[:, 1]
    y1, x1 = np.roll(y0, -1), np.roll(x0, -1)
    # an edge crosses the centre line of row r when min(y0, y1) <= r < max(y0, y1)
    lo = np.clip(np.ceil(np.minimum(y0, y1)), 0, rows).astype(np.int64)
    hi = np.clip(np.ceil(np.maximum(y0, y1)), 0, rows).astype(np.int64)
    counts = np.maximum(hi - lo, 0)
    mask = np.zeros(shape, dtype=bool)
    if not counts.sum():
        return mask
    edge = np.repeat(np.arange(len(loop)), counts)
    r = lo[edge] + np.arange(len(edge)) - np.repeat(np.cumsum(counts) - counts, counts)
    x = x0[edge] + (r - y0[edge]) * (x1[edge] - x0[edge]) / (y1[edge] - y0[edge])
    order = np.lexsort((x, r))
    r, x = r[order], x[order]
    first = np.searchsorted(r, r)  # index of each row's first crossing
    enter = (np.arange(len(r)) - first) % 2 == 0  # crossings pair up left to right
    start = np.clip(np.ceil(x[enter]), 0, cols).astype(np.int64)
    stop = np.clip(np.floor(x[~enter]) + 1, 0, cols).astype(np.int64)
    runs = np.zeros((rows, cols + 1), dtype=np.int32)
    np.add.at(runs, (r[enter], start), 1)
    np.add.at(runs, (r[~enter], stop), -1)
    mask[:] = np.cumsum(runs, axis=1)[:, :cols] > 0
    return mask

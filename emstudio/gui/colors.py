"""Colour tables of the slice views: grey contrast, class colours, instance and probability maps.

All are (256, 4) or 256-entry numpy arrays that pyqtgraph's ImageItem takes as a lookup table:
uint8 images are then drawn as an indexed QImage, without a per-pixel colour pass in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emstudio.gui.viewstate import Contrast

# fixed colours of classes 1..8 (0 = background, transparent); further classes: hashed colours
CLASS_COLOURS = (
    (0, 190, 255),  # cyan
    (255, 70, 200),  # pink
    (60, 230, 60),  # green
    (255, 200, 0),  # amber
    (255, 110, 30),  # orange
    (160, 100, 255),  # violet
    (0, 110, 255),  # blue
    (230, 40, 40),  # red
)
SELECTED_COLOUR = (255, 225, 0)  # selected objects (instances): yellow
SELECTED_FILL, SELECTED_EDGE = 129, 130  # their indices in ``instance_lut()``
# a perceptually ordered ramp (dark purple -> orange -> pale yellow) for probabilities
_RAMP = np.array(
    [(40, 11, 84), (101, 21, 110), (159, 42, 99), (212, 72, 66), (245, 125, 21), (250, 193, 39)],
    dtype=float,
)


def grey_lut(contrast: Contrast) -> tuple[tuple[float, float], np.ndarray]:
    """(levels, lut) of the image: ``levels`` stretch low..high, the 256-entry lut applies
    gamma and inversion."""
    low, high = float(contrast.low), float(contrast.high)
    if high <= low:
        high = low + 1.0
    ramp = np.linspace(0.0, 1.0, 256) ** max(contrast.gamma, 1e-3)
    if contrast.invert:
        ramp = ramp[::-1]
    return (low, high), np.round(ramp * 255).astype(np.uint8)


def grey_bytes(plane: np.ndarray, contrast: Contrast) -> np.ndarray:
    """An image plane (any type) as the grey bytes the slice views show for ``contrast``."""
    (low, high), lut = grey_lut(contrast)
    scaled = (np.asarray(plane, np.float32) - low) * np.float32(255.0 / (high - low))
    return lut[np.clip(scaled, 0, 255).astype(np.uint8)]


def class_colour(value: int) -> tuple[int, int, int]:
    """The fixed display colour of a class value (1..8 fixed, others hashed)."""
    if 1 <= value <= len(CLASS_COLOURS):
        return CLASS_COLOURS[value - 1]
    r, g, b = _hash_rgb(np.array([value], dtype=np.uint32))[0]
    return int(r), int(g), int(b)


def class_lut() -> np.ndarray:
    """(256, 4) RGBA: class 0 transparent, every other class opaque in its colour."""
    lut = np.zeros((256, 4), np.uint8)
    for value in range(1, 256):
        lut[value, :3] = class_colour(value)
        lut[value, 3] = 255
    return lut


def probability_lut(threshold: int) -> np.ndarray:
    """(256, 4) RGBA: transparent below ``threshold``, then the ramp, opaque."""
    positions = np.linspace(0, len(_RAMP) - 1, 256)
    rgb = np.stack([np.interp(positions, np.arange(len(_RAMP)), _RAMP[:, c]) for c in range(3)])
    lut = np.zeros((256, 4), np.uint8)
    lut[:, :3] = np.round(rgb.T).astype(np.uint8)
    lut[:, 3] = 255
    lut[: max(0, min(int(threshold), 256)), 3] = 0
    return lut


def instance_indices(ids: np.ndarray, outlines: bool, selected: Sequence[int] = ()) -> np.ndarray:
    """An instance plane as indices into ``instance_lut()``: 0 for background, else one of
    128 colours picked by a hash of the id (stable: an id has its colour in every view).

    With ``outlines`` only the voxels at the border of an instance are drawn. ``selected``
    objects are drawn filled in the highlight colour, their border opaque. The result is a
    uint8 image, drawn through a colour table like the labels (~20 ms for 2048 x 2048).
    """
    ids = np.asarray(ids)
    if ids.dtype != np.uint32:
        ids = ids.astype(np.uint32)
    edge = None
    if outlines or selected:
        edge = np.zeros(ids.shape, bool)
        rows = ids[1:, :] != ids[:-1, :]  # a change between a voxel and the one below it
        edge[1:, :] |= rows
        edge[:-1, :] |= rows
        cols = ids[:, 1:] != ids[:, :-1]
        edge[:, 1:] |= cols
        edge[:, :-1] |= cols
    shown = ids * edge if outlines else ids
    hashed = shown * np.uint32(0x9E3779B1)  # Fibonacci hashing: the top bits are well mixed
    index = (hashed >> np.uint32(25)).astype(np.uint8) + np.uint8(1)  # 1..128
    index *= shown != 0
    if selected:
        chosen = np.isin(ids, np.asarray(selected, np.uint32))
        index[chosen] = SELECTED_FILL
        index[chosen & edge] = SELECTED_EDGE
    return index


def instance_rgba(ids: np.ndarray, outlines: bool) -> np.ndarray:
    """The RGBA colours the slice views give ``ids`` (e.g. for meshes in the 3D view)."""
    return _INSTANCE_LUT[instance_indices(ids, outlines)]


def instance_lut() -> np.ndarray:
    """(256, 4) RGBA for ``instance_indices``: 0 transparent, 1..128 bright colours, then the
    selection's translucent fill and opaque border."""
    lut = np.zeros((256, 4), np.uint8)
    lut[1:129, :3] = _hash_rgb(np.arange(1, 129, dtype=np.uint32))
    lut[1:129, 3] = 255
    lut[SELECTED_FILL] = (*SELECTED_COLOUR, 110)
    lut[SELECTED_EDGE] = (*SELECTED_COLOUR, 255)
    return lut


def _hash_rgb(ids: np.ndarray) -> np.ndarray:
    """Bright, well-spread colours from ids (a 32-bit integer hash), shape (n, 3) uint8."""
    h = ids.astype(np.uint32) * np.uint32(0x9E3779B1)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x85EBCA77)
    h ^= h >> np.uint32(13)
    channels = [(h >> np.uint32(shift)) & np.uint32(0xFF) for shift in (0, 8, 16)]
    rgb = np.stack(channels, axis=-1).astype(np.uint16)
    return (70 + rgb * 185 // 255).astype(np.uint8)


_INSTANCE_LUT = instance_lut()

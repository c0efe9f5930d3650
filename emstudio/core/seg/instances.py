"""In-memory instance segmentation of one foreground component, and of a whole block.

Every foreground component (6-connected voxels with area > F) is flooded on its own, in its
bounding box: a watershed never crosses from one component into another, so processing each
component in its box gives the same labels as a flood of the whole volume, and the blockwise
driver (``blockwise.py``) reproduces this module's result exactly.
"""

from __future__ import annotations

import cc3d
import numpy as np
from scipy import ndimage
from skimage.segmentation import watershed

from emstudio.core.seg.params import InstanceParams

Box = tuple[slice, slice, slice]


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """6-connected components of a 3D ``mask``: uint32 labels 1..n in raster order of their
    first voxel, and n. cc3d (connected-components-3d, from the connectomics community) finds
    the components ``scipy.ndimage.label`` finds, ~3x faster: 46 instead of 155 ms for a
    64 x 512 x 512 block of mitochondria foreground."""
    mask = np.ascontiguousarray(mask, bool)  # cc3d numbers in memory order
    labels, count = cc3d.connected_components(
        mask, connectivity=6, return_N=True, out_dtype=np.uint32
    )
    return labels, int(count)


def to_uint8_threshold(probability: float) -> float:
    """A probability threshold on the stored uint8 scale (0..255)."""
    return probability * 255.0


def foreground(area: np.ndarray, params: InstanceParams) -> np.ndarray:
    return area > to_uint8_threshold(params.foreground_threshold)


def seeds(area: np.ndarray, boundary: np.ndarray, params: InstanceParams) -> np.ndarray:
    return (
        (area > to_uint8_threshold(params.area_threshold))
        & (boundary < to_uint8_threshold(params.boundary_threshold))
        & foreground(area, params)
    )


def flood_image(
    boundary: np.ndarray, mask: np.ndarray, params: InstanceParams, voxel_size: tuple
) -> np.ndarray:
    """What the watershed floods: the boundary map, or the negated distance (nm) to the
    nearest voxel outside the component (the volume's edge counts as outside)."""
    if params.flood == "boundary":
        return boundary
    padded = np.pad(mask, 1)
    distance = ndimage.distance_transform_edt(padded, sampling=voxel_size)
    return -distance[1:-1, 1:-1, 1:-1]


def segment_component(
    area: np.ndarray,
    boundary: np.ndarray,
    mask: np.ndarray,
    params: InstanceParams,
    voxel_size: tuple[float, float, float],
) -> tuple[np.ndarray, int]:
    """Objects of one foreground component, given its bounding box crops.

    ``mask`` is the component (bool, 6-connected). Returns int32 labels 1..k (0 elsewhere)
    after the size filter and, if asked, hole filling (holes take only voxels outside the
    foreground), and how many pieces the size filter left out. A component with one seed is
    one object: the flood from that seed reaches every voxel of a connected mask, so it is
    skipped (4 in 5 components of the mitochondria-like benchmark prediction; 1.5 ms each).
    """
    markers, count = label(seeds(area, boundary, params) & mask)
    if count == 0:
        return np.zeros(mask.shape, np.int32), 0
    if count == 1:
        labels = mask.astype(np.int32)
    else:
        image = flood_image(boundary, mask, params, voxel_size)
        labels = watershed(image, markers, mask=mask, connectivity=1).astype(np.int32, copy=False)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = sizes >= max(params.min_voxels(voxel_size), 1)
    keep[0] = False
    lut = np.zeros(count + 1, np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    labels = lut[labels]
    if params.fill_holes and keep.any():
        fill_holes(labels, ~foreground(area, params))
    return labels, int(np.count_nonzero(sizes[1:][~keep[1:]]))


def fill_holes(labels: np.ndarray, fillable: np.ndarray) -> None:
    """Give each object the enclosed voxels it surrounds, where ``fillable`` and still 0."""
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        holes = ndimage.binary_fill_holes(labels[box] == index)
        region = labels[box]
        region[holes & fillable[box] & (region == 0)] = index


def first_voxels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids, raster index of each id's first voxel) of the nonzero labels, ids ascending."""
    flat = labels.ravel()
    nonzero = np.flatnonzero(flat)
    ids, first = np.unique(flat[nonzero], return_index=True)
    return ids, nonzero[first]


def canonical(labels: np.ndarray) -> np.ndarray:
    """Renumber objects 1..N in raster order of their first voxel (z, then y, then x).

    The numbering depends only on the objects, so two runs that found the same objects in a
    different order write identical volumes. uint32, or uint64 beyond 2**32 - 1 objects.
    """
    ids, first = first_voxels(labels)
    dtype = np.uint32 if len(ids) < 2**32 - 1 else np.uint64
    lut = np.zeros(int(labels.max(initial=0)) + 1, dtype)
    lut[ids[np.argsort(first, kind="stable")]] = np.arange(1, len(ids) + 1, dtype=dtype)
    return lut[labels]


def segment_instances(
    area: np.ndarray,
    boundary: np.ndarray,
    params: InstanceParams,
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """Instance labels of a block held in memory (uint8 probability maps 0..255)."""
    components, _ = label(foreground(area, params))
    out = np.zeros(area.shape, np.int64)
    next_id = 1
    for index, box in enumerate(ndimage.find_objects(components), start=1):
        labels, _ = segment_component(
            area[box], boundary[box], components[box] == index, params, voxel_size
        )
        found = labels > 0
        region = out[box]
        writable = found & ((components[box] == index) | (region == 0))
        region[writable] = labels[writable] + (next_id - 1)
        next_id += int(labels.max(initial=0))
    return canonical(out)


def connected_objects(
    probability: np.ndarray,
    threshold: float,
    min_voxels: int,
) -> np.ndarray:
    """Semantic-only classes: 6-connected components of probability > threshold, size filter."""
    labels, count = label(probability > to_uint8_threshold(threshold))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = sizes >= max(min_voxels, 1)
    keep[0] = False
    dtype = np.uint32 if count < 2**32 - 1 else np.uint64
    lut = np.zeros(count + 1, dtype)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=dtype)
    return lut[labels]

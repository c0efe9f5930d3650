"""One object's surface: marching cubes on its mask, vertices (x, y, z) in nm.

The mask is padded with background, so every mesh is closed (watertight) even where the object
touches the volume's edge. Taubin smoothing (lambda/mu) barely changes the volume; decimation
uses quadric error simplification (``fast_simplification``) to a fraction of the faces.
An object larger than memory is meshed in blocks overlapping by one plane: marching cubes is
local, so both blocks produce the same vertices on the shared plane and merging them leaves no
crack.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import trimesh
from scipy import ndimage, sparse
from skimage.measure import marching_cubes

from emstudio.core.errors import EmstudioError
from emstudio.core.mesh.sections import HALO as SECTION_HALO
from emstudio.core.mesh.sections import LEVEL as SECTION_LEVEL
from emstudio.core.mesh.sections import between_sections, section_distance, section_steps
from emstudio.core.seg.components import iter_blocks
from emstudio.core.seg.instances import Box

MERGE_DIGITS = 4  # vertices closer than 1e-4 nm are one vertex
# the iso-level, a hair above 0.5: on a 0/1 mask, a cube face whose two diagonal corners alone
# are inside has its saddle at exactly 0.5, and marching cubes resolved that tie into four faces
# on one edge (1 object in 5,403 of the benchmark segmentation: not watertight, so no volume).
# Above the tie, voxels touching only along an edge are kept apart (they are not 6-connected),
# every such surface is closed and consistently wound, and vertices move by 0.001 of a voxel.
# A power of two: a crossing at index + 0.5009765625 is exact in float32 (as at 0.5), so blocks
# meshed apart still give their shared vertices the very same coordinates.
LEVEL = 0.5 + 2**-10


class MeshOptionsError(EmstudioError):
    """A meshing option is out of range."""


@dataclass(frozen=True)
class MeshOptions:
    """smooth: Taubin iterations; decimate: fraction of faces kept (1 = all);
    presmooth: Gaussian sigma (in units of the finest voxel side) applied to the mask first;
    sections: on sections much thicker than the pixels, the outline interpolated between them
    instead (``sections.py``)."""

    smooth: int = 10
    decimate: float = 1.0
    presmooth: float = 0.0
    sections: bool = False

    def __post_init__(self) -> None:
        if self.smooth < 0:
            raise MeshOptionsError("--smooth must be 0 or more iterations.")
        if not 0.0 < self.decimate <= 1.0:
            raise MeshOptionsError(
                f"--decimate is the fraction of faces kept, in (0, 1]; got {self.decimate}."
            )
        if self.presmooth < 0:
            raise MeshOptionsError("the presmoothing sigma must not be negative.")

    def to_json(self) -> dict:
        return asdict(self)

    def steps(self, voxel_size: tuple[float, float, float]) -> int:
        """Planes per section the surface is found on (1: the voxels' own)."""
        return section_steps(voxel_size) if self.sections else 1

    def halo(self, voxel_size: tuple[float, float, float]) -> tuple[int, ...]:
        """Planes of context a block needs so that its field is exact at its faces."""
        if self.steps(voxel_size) > 1:
            return SECTION_HALO
        if not self.presmooth:
            return (0, 0, 0)
        return tuple(math.ceil(4 * s) + 1 for s in self.sigmas(voxel_size))

    def sigmas(self, voxel_size: tuple[float, float, float]) -> tuple[float, ...]:
        finest = min(voxel_size)
        return tuple(self.presmooth * finest / v for v in voxel_size)


def _field(
    mask: np.ndarray, options: MeshOptions, voxel_size, sections: tuple[int, int] | None = None
) -> np.ndarray:
    """What the surface is found in, per voxel: the mask (presmoothed), or with ``sections``
    on thick sections the signed distance to each section's outline (``sections``: the
    object's first and last plane in ``mask``, when ``mask`` is a block of it)."""
    if options.steps(voxel_size) > 1:
        if sections is None:
            held = np.flatnonzero(mask.reshape(len(mask), -1).any(axis=1))
            sections = (int(held[0]), int(held[-1])) if len(held) else (0, -1)
        return section_distance(mask, voxel_size, *sections)
    field = mask.astype(np.float32)
    if options.presmooth:
        field = ndimage.gaussian_filter(field, options.sigmas(voxel_size), mode="constant")
    return field


def _surface(
    field: np.ndarray, origin, voxel_size, options: MeshOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of a ``_field`` whose [0, 0, 0] is voxel ``origin`` (at ``LEVEL``, or
    on planes interpolated between sections at ``SECTION_LEVEL``): vertices (x, y, z in nm)
    and faces. Every vertex is used, and on a 0/1 field (``binary``) none is repeated and no
    face is degenerate (no crossing falls on a grid point), so scikit-image's search for
    degenerate faces, a quarter of its time, is skipped."""
    steps = options.steps(voxel_size)
    binary = steps == 1 and not options.presmooth
    level = SECTION_LEVEL if steps > 1 else LEVEL
    if min(field.shape) < 2 or not field.min() < level < field.max():
        return np.empty((0, 3)), np.empty((0, 3), np.int64)
    spacing = (voxel_size[0] / steps, *voxel_size[1:])
    verts, faces, _, _ = marching_cubes(
        between_sections(field, steps), level, spacing=spacing, allow_degenerate=binary
    )
    verts += np.asarray(origin, np.float64) * np.asarray(voxel_size)
    return verts[:, ::-1], faces  # in x, y, z order (a mirror of z, y, x) faces point outwards


def finish(
    vertices: np.ndarray, faces: np.ndarray, options: MeshOptions, merge: bool = True
) -> tuple[trimesh.Trimesh, dict]:
    """The mesh: vertices merged (``merge``: skip only when none can repeat), smoothed,
    decimated, and every face oriented outwards (smoothing and decimation keep the consistent
    winding marching cubes produces); and its ``describe`` facts, from the same pass over the
    faces as the orientation."""
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    if mesh.is_empty:
        return mesh, describe(mesh)
    if merge:
        mesh.merge_vertices(digits_vertex=MERGE_DIGITS)
        mesh.remove_unreferenced_vertices()
    closed, oriented = edge_closure(mesh.faces)  # smoothing keeps the faces
    if options.smooth:
        trimesh.smoothing.filter_taubin(
            mesh,
            lamb=0.5,
            nu=0.53,
            iterations=options.smooth,
            laplacian_operator=neighbour_mean(mesh.faces, len(mesh.vertices), oriented),
        )
    kept_all = False
    if options.decimate < 1.0 and len(mesh.faces) > 8:
        simpler, closed = _decimated(mesh, options.decimate, closed)
        kept_all, mesh = simpler is mesh, simpler
    signed, facts = _described(mesh, closed)
    if kept_all:
        facts["kept_all_faces"] = True  # decimating would have opened the surface
    if signed < 0:  # marching cubes winds every face alike: one check orients all
        mesh.invert()  # the facts hold: they do not depend on the faces' orientation
    return mesh, facts


def _decimated(
    mesh: trimesh.Trimesh, fraction: float, closed: bool
) -> tuple[trimesh.Trimesh, bool]:
    """``mesh`` (``closed`` or not) with about ``fraction`` of its faces (quadric decimation),
    and whether that is closed; or ``mesh`` itself when decimating would open a closed surface:
    collapses can glue two parts of the surface at one point or edge, as on most unsmoothed
    (staircase) surfaces and some very coarse targets; such an object keeps all its faces."""
    simpler = mesh.simplify_quadric_decimation(face_count=max(4, round(len(mesh.faces) * fraction)))
    simpler.merge_vertices(digits_vertex=MERGE_DIGITS)  # collapses can leave two at one place:
    simpler.remove_unreferenced_vertices()  # a reader merging by position would find it open
    simpler_closed = is_closed(simpler.faces)
    if simpler_closed or not closed:
        return simpler, simpler_closed
    return mesh, closed


def neighbour_mean(faces: np.ndarray, count: int, oriented: bool = False) -> sparse.spmatrix:
    """The operator taking each vertex to the mean of its edge neighbours, built from the faces
    alone (~10x faster than trimesh's ``laplacian_calculation(equal_weight=True)``, which it
    equals on closed meshes; on open ones trimesh follows face edges one way only).
    ``oriented``: the faces cross each edge once each way (``edge_closure``), so following
    them one way finds every neighbour exactly once: the operator is the directed edges as
    they are, with no duplicates to merge or order to sort (0.24 instead of 0.83 ms for a
    mesh of 8,000 faces; products with it as fast)."""
    ring, following = _directed_edges(faces)
    if oriented:
        degree = np.maximum(np.bincount(ring, minlength=count), 1)
        weights = (1.0 / degree)[ring]
        return sparse.coo_matrix((weights, (ring, following)), shape=(count, count))
    rows = np.concatenate([ring, following])
    cols = np.concatenate([following, ring])
    adjacency = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(count, count))
    adjacency.data[:] = 1.0  # an edge seen from both of its faces is still one neighbour
    degree = np.diff(adjacency.indptr)
    adjacency.data /= np.repeat(degree, degree)
    return adjacency


def _directed_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each face's three edges as they wind: start and end vertices."""
    faces = np.asarray(faces).view(np.ndarray)
    return faces.ravel(), faces[:, [1, 2, 0]].ravel()


def _face_normals(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    """Each face's first corner (relative to the mesh's first vertex, for precision far from
    the origin) and its unnormalised normal (twice its area); the cross product written out
    (``np.cross`` on the corners took 3x as long)."""
    vertices = mesh.vertices.view(np.ndarray)
    faces = mesh.faces.view(np.ndarray)
    vertices = vertices - vertices[0]
    a = vertices[faces[:, 0]]
    u, w = vertices[faces[:, 1]] - a, vertices[faces[:, 2]] - a
    normals = np.empty_like(a)
    normals[:, 0] = u[:, 1] * w[:, 2] - u[:, 2] * w[:, 1]
    normals[:, 1] = u[:, 2] * w[:, 0] - u[:, 0] * w[:, 2]
    normals[:, 2] = u[:, 0] * w[:, 1] - u[:, 1] * w[:, 0]
    return a, normals


def _enclosed(corners: np.ndarray, normals: np.ndarray) -> float:
    """The enclosed volume (nm3) from each face's first corner and unnormalised normal,
    positive when the faces point outwards (divergence theorem; trimesh's ``volume`` computes
    the whole inertia tensor, ~10x slower)."""
    return float(np.einsum("ij,ij->", corners, normals)) / 6.0


def is_closed(faces: np.ndarray) -> bool:
    """Every edge shared by exactly two faces: trimesh's ``is_watertight``, without its
    caches and hashing (~5x faster)."""
    return edge_closure(faces)[0]


def edge_closure(faces: np.ndarray) -> tuple[bool, bool]:
    """Whether the faces are closed (``is_closed``), and oriented: closed, and crossing each
    edge once each way (consistently wound, as marching cubes winds them); from one sort."""
    if len(faces) == 0:
        return False, False
    start, end = _directed_edges(faces)
    low, high = np.minimum(start, end).astype(np.int64), np.maximum(start, end)
    # one key per undirected edge, doubled, plus 1 where this face crosses it downwards
    keys = np.sort((low * (int(high.max()) + 1) + high) * 2 + (start > end))
    if len(keys) % 2:
        return False, False
    edges = keys >> 1
    # sorted: each edge's two copies sit side by side, and differ from the next pair
    closed = bool((edges[0::2] == edges[1::2]).all() and (edges[2::2] != edges[1:-1:2]).all())
    return closed, closed and bool((keys[1::2] - keys[0::2] == 1).all())


def mesh_mask(
    mask: np.ndarray,
    origin: tuple[int, int, int],
    voxel_size: tuple[float, float, float],
    options: MeshOptions = MeshOptions(),
) -> trimesh.Trimesh:
    """The surface of ``mask`` (bool crop whose [0, 0, 0] is voxel ``origin``)."""
    return described_mask(mask, origin, voxel_size, options)[0]


def described_mask(
    mask: np.ndarray,
    origin: tuple[int, int, int],
    voxel_size: tuple[float, float, float],
    options: MeshOptions = MeshOptions(),
) -> tuple[trimesh.Trimesh, dict]:
    """``mesh_mask`` and the mesh's ``describe`` facts, computed with it."""
    pad = max(1, *options.halo(voxel_size))
    field = _field(np.pad(mask, pad), options, voxel_size)
    start = tuple(o - pad for o in origin)
    merge = bool(options.presmooth) or options.steps(voxel_size) > 1  # on a 0/1 field: none
    return finish(*_surface(field, start, voxel_size, options), options, merge=merge)


def mesh_in_blocks(
    read_mask: Callable[[Box], np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    voxel_size: tuple[float, float, float],
    options: MeshOptions,
    block: tuple[int, int, int],
) -> tuple[trimesh.Trimesh, dict]:
    """The surface of an object too large to hold at once, meshed block by block, and its
    ``describe`` facts.

    ``read_mask(box)`` returns the object's mask over any box (voxels outside the volume read
    as background). Blocks overlap by one plane so that the pieces share their seam vertices.
    """
    halo = options.halo(voxel_size)
    shape = tuple(int(h - lo_) + 2 for h, lo_ in zip(hi, lo, strict=True))
    origin = tuple(int(v) - 1 for v in lo)  # one plane of background before the object
    pieces = []
    for _, core in iter_blocks(shape, block, origin):
        region = tuple(slice(c.start - h, c.stop + 1 + h) for c, h in zip(core, halo, strict=True))
        first = int(lo[0]) - region[0].start  # the object's sections, in the block's planes
        sections = (first, first + int(hi[0] - lo[0]) - 1)
        field = _field(read_mask(region), options, voxel_size, sections)
        inner = tuple(slice(h, field.shape[a] - h) for a, h in enumerate(halo))
        vertices, faces = _surface(field[inner], [c.start for c in core], voxel_size, options)
        if len(faces):
            pieces.append(trimesh.Trimesh(vertices, faces, process=False))
    if not pieces:
        return finish(np.empty((0, 3)), np.empty((0, 3), np.int64), options)
    whole = trimesh.util.concatenate(pieces)
    return finish(whole.vertices, whole.faces, options)


def describe(mesh: trimesh.Trimesh) -> dict:
    """Volume (nm3), area (nm2), sizes and closure of a mesh, for the mesh index."""
    return _described(mesh)[1]


def _described(mesh: trimesh.Trimesh, closed: bool | None = None) -> tuple[float, dict]:
    """The signed volume and the ``describe`` facts, from one pass over the faces (whether
    they are ``closed``: worked out when not given)."""
    if mesh.is_empty:
        empty = {"volume_nm3": None, "area_nm2": 0.0, "vertices": 0, "faces": 0}
        return 0.0, {**empty, "watertight": False}
    if closed is None:
        closed = is_closed(mesh.faces)
    a, normals = _face_normals(mesh)
    signed = _enclosed(a, normals)
    return signed, {
        "volume_nm3": abs(signed) if closed else None,
        "area_nm2": float(np.sqrt(np.einsum("ij,ij->i", normals, normals)).sum() / 2.0),
        "vertices": len(mesh.vertices),
        "faces": len(mesh.faces),
        "watertight": closed,
    }

"""The fast mesh facts against trimesh's own: the Taubin neighbour operator, closure, area and
volume, on closed, open and non-manifold meshes far from the origin."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from skimage.measure import marching_cubes

from emstudio.core.mesh.surface import (
    MeshOptions,
    _surface,
    describe,
    described_mask,
    edge_closure,
    finish,
    is_closed,
    neighbour_mean,
)

FAR = np.array([25_000.0, 40_000.0, 3_000.0])  # nm: an object deep inside a large volume


def sphere() -> trimesh.Trimesh:
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=300.0)
    mesh.apply_translation(FAR)
    return mesh


def open_mesh() -> trimesh.Trimesh:
    mesh = sphere()
    return trimesh.Trimesh(mesh.vertices, mesh.faces[1:], process=False)


def fin_mesh() -> trimesh.Trimesh:
    """A closed sphere with one extra face on an existing edge: that edge has three faces."""
    mesh = sphere()
    a, b = mesh.faces[0][:2]
    vertices = np.vstack([mesh.vertices, mesh.vertices[a] + 50.0])
    faces = np.vstack([mesh.faces, [a, b, len(mesh.vertices)]])
    return trimesh.Trimesh(vertices, faces, process=False)


def test_neighbour_mean_is_trimesh_equal_weight_laplacian_on_closed_meshes():
    mesh = sphere()
    ours = neighbour_mean(mesh.faces, len(mesh.vertices)).toarray()
    theirs = trimesh.smoothing.laplacian_calculation(mesh, equal_weight=True).toarray()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_neighbour_mean_of_an_oriented_closed_mesh_follows_its_edges_one_way():
    mesh = sphere()
    assert edge_closure(mesh.faces) == (True, True)
    one_way = neighbour_mean(mesh.faces, len(mesh.vertices), oriented=True).toarray()
    both_ways = neighbour_mean(mesh.faces, len(mesh.vertices)).toarray()
    np.testing.assert_array_equal(one_way, both_ways)


def test_closure_tells_a_closed_surface_with_one_face_turned_from_an_oriented_one():
    faces = sphere().faces.copy()
    faces[5] = faces[5][::-1]
    assert edge_closure(faces) == (True, False)
    assert edge_closure(open_mesh().faces) == (False, False)
    assert edge_closure(fin_mesh().faces) == (False, False)


@pytest.mark.parametrize("make", [open_mesh, fin_mesh])
def test_neighbour_mean_averages_every_edge_neighbour_once(make):
    """trimesh's operator follows face edges one way, so on an open edge one end forgets the
    other; ours takes each vertex to the plain mean of all its neighbours."""
    mesh = make()
    ours = neighbour_mean(mesh.faces, len(mesh.vertices)).toarray()
    expected = np.zeros_like(ours)
    for vertex, neighbours in enumerate(mesh.vertex_neighbors):
        expected[vertex, neighbours] = 1.0 / len(neighbours)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("make", [sphere, open_mesh, fin_mesh])
def test_closure_area_and_volume_match_trimesh(make):
    mesh = make()
    facts = describe(mesh)
    assert facts["watertight"] == mesh.is_watertight == is_closed(mesh.faces)
    assert facts["area_nm2"] == pytest.approx(mesh.area, rel=1e-9)
    if mesh.is_watertight:
        assert facts["volume_nm3"] == pytest.approx(abs(mesh.volume), rel=1e-9)
    else:
        assert facts["volume_nm3"] is None


def test_closure_of_a_single_face_and_of_nothing():
    assert not is_closed(np.array([[0, 1, 2]]))
    assert not is_closed(np.empty((0, 3), np.int64))
    assert describe(trimesh.Trimesh())["watertight"] is False


def test_marching_cubes_of_a_0_1_field_skips_only_a_search_that_finds_nothing():
    z, y, x = np.indices((10, 24, 24))
    field = np.pad(((z - 5) * 3) ** 2 + (y - 12) ** 2 + (x - 12) ** 2 <= 60, 1).astype(np.float32)
    fast = _surface(field, (0, 0, 0), (30.0, 10.0, 10.0), MeshOptions())  # a 0/1 field
    searched = _surface(field, (0, 0, 0), (30.0, 10.0, 10.0), MeshOptions(presmooth=1.0))
    for ours, theirs in zip(fast, searched, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_finish_orients_an_inside_out_surface_and_describes_it_in_the_same_pass():
    z, y, x = np.indices((12, 30, 30))
    ball = ((z - 6) * 3) ** 2 + (y - 15) ** 2 + (x - 15) ** 2 <= 100
    field = np.pad(ball, 1).astype(np.float32)
    vertices, faces = _surface(field, (0, 0, 0), (30.0, 10.0, 10.0), MeshOptions())
    for winding in (faces, faces[:, ::-1]):  # as marching cubes gives it, and inside out
        mesh, facts = finish(vertices, winding, MeshOptions(smooth=3))
        assert mesh.volume > 0  # trimesh's signed volume: every face points outwards
        again = describe(mesh)  # the same facts (up to rounding: other first corners)
        assert facts == pytest.approx(again, rel=1e-12) and facts["watertight"]
        assert facts["volume_nm3"] == pytest.approx(mesh.volume, rel=1e-9)


def test_voxels_touching_along_an_edge_give_a_closed_surface_with_its_volume():
    # from a segmented mitochondrion: at level 0.5 exactly, marching cubes put four faces on
    # the edges where diagonal voxels touch, and the mesh had no volume
    mask = np.array(
        [
            [[1, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]],
            [[0, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 1], [1, 1, 1, 1]],
            [[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 1]],
        ],
        bool,
    )
    field = np.pad(mask, 1).astype(np.float32)
    assert not edge_closure(marching_cubes(field, 0.5)[1])[0]
    mesh, facts = described_mask(mask, (0, 0, 0), (30.0, 8.0, 8.0), MeshOptions(smooth=0))
    assert facts["watertight"] and mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume > 0 and facts["volume_nm3"] == pytest.approx(mesh.volume, rel=1e-9)

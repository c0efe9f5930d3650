"""Meshes: volume in nm against the analytic sphere, closed surfaces, blocks without cracks,
every export format with object ids kept, mesh sets registered in the project."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh
from volume_helpers import add_array

from emstudio.core.errors import DestinationError
from emstudio.core.io.base import VoxelSize
from emstudio.core.mesh.build import MeshFiles, mesh_objects, read_padded
from emstudio.core.mesh.export import load_meshes, read_index, write_meshes
from emstudio.core.mesh.formats import MeshFormatError
from emstudio.core.mesh.meshset import create_mesh_set
from emstudio.core.mesh.surface import (
    MeshOptions,
    describe,
    described_mask,
    mesh_in_blocks,
    mesh_mask,
)
from emstudio.core.project import Project

VOXEL = (40.0, 10.0, 10.0)  # anisotropic, like the demo
RADIUS = 400.0


def sphere_labels(shape=(30, 100, 100), centre_nm=(580.0, 495.0, 495.0), value=1) -> np.ndarray:
    grids = np.meshgrid(
        *[np.arange(n) * v for n, v in zip(shape, VOXEL, strict=True)], indexing="ij"
    )
    inside = sum((g - c) ** 2 for g, c in zip(grids, centre_nm, strict=True)) <= RADIUS**2
    return np.where(inside, value, 0).astype(np.uint32)


SPHERE_NM3 = 4 / 3 * math.pi * RADIUS**3


@pytest.mark.parametrize(
    "options", [MeshOptions(smooth=0), MeshOptions(), MeshOptions(decimate=0.3)]
)
def test_sphere_volume_within_two_percent_and_watertight(options):
    mesh = mesh_mask(sphere_labels() > 0, (0, 0, 0), VOXEL, options)
    info = describe(mesh)
    assert info["watertight"]
    assert abs(info["volume_nm3"] / SPHERE_NM3 - 1) < 0.02
    assert mesh.is_winding_consistent and mesh.volume > 0  # normals point outwards
    centre = mesh.bounds.mean(0)  # (x, y, z) in nm
    assert centre == pytest.approx([495.0, 495.0, 580.0], abs=5)
    if options.decimate < 1:
        full = mesh_mask(sphere_labels() > 0, (0, 0, 0), VOXEL, MeshOptions())
        assert len(mesh.faces) == pytest.approx(0.3 * len(full.faces), rel=0.05)


def test_object_at_the_volume_edge_is_closed():
    labels = sphere_labels(centre_nm=(0.0, 495.0, 495.0))
    mesh = mesh_mask(labels > 0, (0, 0, 0), VOXEL, MeshOptions(smooth=0))
    assert mesh.is_watertight and mesh.bounds[0][2] == pytest.approx(-20.0, abs=1)
    assert mesh.is_winding_consistent and mesh.volume > 0


def test_blocks_leave_no_crack():
    labels = sphere_labels()
    lo, hi = np.argwhere(labels).min(0), np.argwhere(labels).max(0) + 1
    whole = mesh_mask(labels > 0, (0, 0, 0), VOXEL, MeshOptions(smooth=0))
    pieces, facts = mesh_in_blocks(
        lambda box: read_padded(labels, box) > 0, lo, hi, VOXEL, MeshOptions(smooth=0), (7, 23, 19)
    )
    assert facts == pytest.approx(describe(pieces), rel=1e-12)
    assert pieces.is_watertight and pieces.is_winding_consistent and pieces.volume > 0
    assert len(pieces.vertices) == len(whole.vertices)
    assert abs(pieces.volume) == pytest.approx(abs(whole.volume), rel=1e-9)
    big = list(
        mesh_objects(labels, VOXEL, MeshOptions(smooth=0), crop_voxels=1000, block=(7, 23, 19))
    )
    assert big[0][1].is_watertight and abs(big[0][1].volume) == pytest.approx(abs(whole.volume))


def two_objects() -> np.ndarray:
    labels = sphere_labels(shape=(30, 100, 200))
    labels[5:15, 10:40, 150:190] = 7
    return labels


def test_worker_processes_give_the_same_meshes_in_the_same_order():
    labels = two_objects()
    labels[20:28, 60:90, 20:60] = 4  # a third object, in a block of its own
    serial = list(mesh_objects(labels, VOXEL, block=(16, 50, 50), workers=1))
    pooled = list(mesh_objects(labels, VOXEL, block=(16, 50, 50), workers=2))
    assert [m.id for m in pooled] == [m.id for m in serial] == [1, 4, 7]
    for a, b in zip(serial, pooled, strict=True):
        assert np.array_equal(a.mesh.vertices, b.mesh.vertices)
        assert np.array_equal(a.mesh.faces, b.mesh.faces)
        assert a.facts == b.facts and a.facts["watertight"]


def test_workers_write_the_same_files_as_this_process(tmp_path):
    labels = two_objects()
    here, there = tmp_path / "here", tmp_path / "there"
    for folder in (here, there):
        folder.mkdir()
    write_meshes(mesh_objects(labels, VOXEL, block=(16, 50, 50)), here, "ply", False, {})
    meshes = mesh_objects(
        labels, VOXEL, block=(16, 50, 50), workers=2, files=MeshFiles(there, "ply")
    )
    assert all(m.mesh is None for m in meshes)  # written by the workers, not sent back
    index = write_meshes(
        mesh_objects(labels, VOXEL, block=(16, 50, 50), workers=2, files=MeshFiles(there, "ply")),
        there,
        "ply",
        False,
        {},
    )
    assert index == read_index(here)
    for name in ("1.ply", "7.ply"):
        assert (there / name).read_bytes() == (here / name).read_bytes()


@pytest.mark.parametrize("fmt", ["stl", "obj", "ply", "glb"])
def test_one_file_per_object(tmp_path, fmt):
    index = write_meshes(mesh_objects(two_objects(), VOXEL), tmp_path, fmt, False, {})
    assert sorted(index["objects"]) == ["1", "7"] and index["units"] == "nm"
    loaded = load_meshes(tmp_path)
    assert sorted(loaded) == [1, 7]
    box = loaded[7]
    assert box.is_watertight
    assert abs(box.volume) == pytest.approx(10 * 30 * 40 * 4000.0, rel=0.02)
    if fmt == "glb":  # each file says its numbers are nm, as the combined scene does
        scene = trimesh.load(tmp_path / "7.glb", file_type="glb", force="scene")
        assert scene.metadata["units"] == "nm" and list(scene.geometry) == ["object_7"]


@pytest.mark.parametrize("fmt", ["glb", "ply"])
def test_combined_scene_keeps_ids(tmp_path, fmt):
    write_meshes(mesh_objects(two_objects(), VOXEL), tmp_path, fmt, True, {})
    assert (tmp_path / f"scene.{fmt}").is_file()
    loaded = load_meshes(tmp_path)
    assert sorted(loaded) == [1, 7]
    assert abs(loaded[1].volume) == pytest.approx(SPHERE_NM3, rel=0.02)
    if fmt == "glb":  # glTF's unit is the metre: the scene says its numbers are nm
        scene = trimesh.load(tmp_path / "scene.glb", file_type="glb", force="scene")
        assert scene.metadata["units"] == "nm"
    with pytest.raises(MeshFormatError, match="combined"):
        write_meshes([], tmp_path, "stl", True, {})


def test_mesh_set_in_project_and_export_folder(tmp_path):
    labels = two_objects()
    with Project.create(tmp_path / "p.emproj") as project:
        add_array(project, "seg", "segmentation", labels, VoxelSize(*VOXEL, known=True), id="s")
        out = tmp_path / "export"
        mesh_set = create_mesh_set(project, "seg", fmt="stl", out=out, ids=[7])
        assert mesh_set.count == 1 and mesh_set.segmentation_id == "s"
        assert (project.path / mesh_set.path / "7.stl").is_file()
        assert read_index(out)["objects"]["7"]["watertight"]
        assert project.catalog.mesh_set(mesh_set.name).provenance["operation"] == "mesh"
        with pytest.raises(DestinationError, match="not an empty folder"):
            create_mesh_set(project, "seg", out=out)
        with pytest.raises(DestinationError, match="inside the project"):
            create_mesh_set(project, "seg", out=project.path / "meshes" / "x")
        assert [r.name for r in project.catalog.mesh_set_records()] == [mesh_set.name]
        assert not [p for p in (project.path / "meshes").iterdir() if p.name.startswith(".tmp")]


def test_exporting_meshes_made_alike_before_copies_them_without_a_new_set(tmp_path):
    with Project.create(tmp_path / "p.emproj") as project:
        add_array(project, "seg", "segmentation", two_objects(), VoxelSize(*VOXEL, known=True))
        made = create_mesh_set(project, "seg", fmt="stl")
        exported = create_mesh_set(project, "seg", fmt="stl", out=tmp_path / "a")
        assert exported == made and (tmp_path / "a" / "7.stl").is_file()
        assert [r.name for r in project.catalog.mesh_set_records()] == [made.name]
        other = create_mesh_set(project, "seg", fmt="ply", out=tmp_path / "b")  # not made yet
        assert other != made and (tmp_path / "b" / "7.ply").is_file()
        assert len(project.catalog.mesh_set_records()) == 2


def test_a_folder_that_cannot_be_written_registers_no_mesh_set(tmp_path):
    with Project.create(tmp_path / "p.emproj") as project:
        add_array(project, "seg", "segmentation", two_objects(), VoxelSize(*VOXEL, known=True))
        out = tmp_path / ("m" * 252)  # a valid name, but its staging copy's name is too long
        with pytest.raises(DestinationError, match="cannot write the meshes"):
            create_mesh_set(project, "seg", out=out)
        assert project.catalog.mesh_set_records() == []
        meshes = project.path / "meshes"
        assert not meshes.exists() or not any(meshes.iterdir())
        assert not out.exists()


@pytest.mark.parametrize("smooth", [0, 1, 10])
def test_decimation_never_opens_a_closed_surface(smooth):
    """Decimating an unsmoothed (staircase) surface glues parts of it together in most
    objects; those keep all their faces instead, and smoothed ones are decimated closed."""
    rng = np.random.default_rng(1)
    z, y, x = np.indices((16, 70, 70))
    for _ in range(8):
        a = rng.uniform([3, 8, 6], [7, 30, 22])
        mask = ((z - 8) / a[0]) ** 2 + ((y - 35) / a[1]) ** 2 + ((x - 35) / a[2]) ** 2 <= 1
        whole = mesh_mask(mask, (0, 0, 0), VOXEL, MeshOptions(smooth=smooth))
        for fraction in (0.1, 0.3, 0.6):
            options = MeshOptions(smooth=smooth, decimate=fraction)
            mesh, facts = described_mask(mask, (0, 0, 0), VOXEL, options)
            assert describe(mesh)["watertight"]
            assert len(np.unique(mesh.vertices.round(4), axis=0)) == len(mesh.vertices)
            assert facts.get("kept_all_faces", False) == (len(mesh.faces) == len(whole.faces))
            if smooth and fraction >= 0.3:  # decimated as asked
                assert len(mesh.faces) == pytest.approx(fraction * len(whole.faces), rel=0.05)

"""`emstudio project create / import / export / info` through the real entry point."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import tifffile
import zarr
from cli_helpers import em_stack, project_state, write_imagej_stack

from emstudio.core.project import Project
from emstudio.core.volume.store import Volume


def test_create_import_info_export_round_trip(tmp_path, cli_process, imagej_tiff):
    path, data = imagej_tiff
    proj = tmp_path / "cells.emproj"
    assert cli_process("project", "create", proj, "--name", "Cells").code == 0
    res = cli_process("import", proj, path, "--name", "raw")
    assert res.code == 0, res.err
    assert "imported 'raw'" in res.out
    info = json.loads(cli_process("info", proj, "--json").out)
    (vol,) = info["volumes"]
    assert vol["shape"] == list(data.shape) and vol["dtype"] == "uint8"
    assert vol["voxel_size"] == {"zyx_nm": [40.0, 8.0, 8.0], "known": True, "origin": "imagej"}
    assert vol["provenance"]["operation"] == "import"
    assert vol["provenance"]["job_id"] == info["jobs"][0]["id"]
    assert info["jobs"][0]["status"] == "done"
    out = tmp_path / "out.tif"
    assert cli_process("export", proj, "raw", "--out", out).code == 0
    with tifffile.TiffFile(out) as tif:
        assert np.array_equal(tif.asarray(), data)
        assert tif.imagej_metadata["spacing"] == pytest.approx(40.0)
    text = cli_process("info", proj).out
    assert "raw" in text and "40 x 8 x 8 nm" in text


@pytest.mark.parametrize("suffix", [".tif", ".zarr", ".h5"])
def test_export_then_reimport_is_identical(tmp_path, cli, project, imagej_tiff, suffix):
    path, data = imagej_tiff
    assert cli("import", project, path, "--name", "raw").code == 0
    out = tmp_path / f"exported{suffix}"
    res = cli("export", project, "raw", "--out", out)
    assert res.code == 0, res.err
    assert cli("import", project, out, "--name", "again").code == 0
    with Project.open(project, mode="read") as proj:
        first, again = proj.catalog.volume("raw"), proj.catalog.volume("again")
        assert again.voxel_size.zyx == first.voxel_size.zyx == (40.0, 8.0, 8.0)
        assert again.dtype == "uint8"
        assert np.array_equal(Volume(proj.resolve(again.path)).read(0, 6), data)


def test_export_formats_carry_voxel_size_for_other_tools(tmp_path, cli, project, imagej_tiff):
    path, _ = imagej_tiff
    cli("import", project, path, "--name", "raw")
    cli("export", project, "raw", "--out", tmp_path / "x.h5")
    with h5py.File(tmp_path / "x.h5") as f:
        assert np.allclose(f["data"].attrs["element_size_um"], [0.04, 0.008, 0.008])
    cli("export", project, "raw", "--out", tmp_path / "x.zarr")
    attrs = zarr.open_group(str(tmp_path / "x.zarr"), mode="r").attrs
    scale = attrs["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"]
    assert scale == [40.0, 8.0, 8.0]
    assert attrs["multiscales"][0]["name"] == "x"  # not the temporary folder's name


def test_uint16_kept_and_voxel_override(tmp_path, cli, project):
    data = em_stack(dtype=np.uint16)
    path = tmp_path / "u16.tif"
    tifffile.imwrite(path, data)
    res = cli("import", project, path, "--name", "u16", "--voxel-size", "50,5,5")
    assert res.code == 0, res.err
    with Project.open(project, mode="read") as proj:
        record = proj.catalog.volume("u16")
        assert record.dtype == "uint16"
        assert record.voxel_size.zyx == (50.0, 5.0, 5.0) and record.voxel_size.origin == "user"
        assert np.array_equal(Volume(proj.resolve(record.path)).read(0, 6), data)


def test_unknown_voxel_size_is_said_and_recorded(tmp_path, cli, project):
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, em_stack())
    res = cli("import", project, path, "--name", "plain")
    assert res.code == 0
    assert "no voxel size" in res.err + res.out
    with Project.open(project, mode="read") as proj:
        vs = proj.catalog.volume("plain").voxel_size
        assert vs.zyx == (1.0, 1.0, 1.0) and not vs.known


def test_labels_take_the_image_voxel_size(tmp_path, cli, project, imagej_tiff):
    path, data = imagej_tiff
    cli("import", project, path, "--name", "raw")
    labels = (data > 128).astype(np.uint8)
    lpath = tmp_path / "labels.tif"
    tifffile.imwrite(lpath, labels)
    res = cli("import", project, lpath, "--name", "mask", "--kind", "labels", "--like", "raw")
    assert res.code == 0, res.err
    info = json.loads(cli("info", project, "--json").out)
    (label_set,) = info["label_sets"]
    assert label_set["voxel_size"]["zyx_nm"] == [40.0, 8.0, 8.0]
    assert label_set["image_id"] == info["volumes"][0]["id"]
    write_imagej_stack(lpath, labels, (20, 4, 4))  # it says otherwise: the image's size wins
    res = cli("import", project, lpath, "--name", "mask2", "--kind", "labels", "--like", "raw")
    assert res.code == 0 and "the labels take their image's 40 x 8 x 8 nm" in res.out + res.err
    res = cli(
        "import", project, lpath, "--name", "mask3", "--like", "raw", "--kind", "labels",
        "--voxel-size", "10,10,10",
    )  # fmt: skip
    assert res.code == 2 and "labels take the voxel size of their image 'raw'" in res.err
    with Project.open(project, mode="read") as proj:
        assert proj.catalog.volume("mask2").voxel_size.zyx == (40.0, 8.0, 8.0)
        assert not proj.catalog.has_volume_name("mask3")


def test_a_voxel_size_that_contradicts_the_file_or_physics_is_said(cli, project, imagej_tiff):
    path, _ = imagej_tiff  # the file says 40 x 8 x 8 nm
    res = cli("import", project, path, "--name", "swapped", "--voxel-size", "8,8,40")
    assert res.code == 0 and "the file says 40 x 8 x 8 nm" in res.out + res.err
    res = cli("import", project, path, "--name", "micron", "--voxel-size", "0.04,0.008,0.008")
    assert res.code == 0 and "--voxel-size is in nm" in res.out + res.err


def test_imported_labels_name_their_classes_and_can_be_trained_on(
    tmp_path, cli, project, imagej_tiff
):
    path, data = imagej_tiff
    cli("import", project, path, "--name", "raw")
    labels = np.digitize(data, [100, 160]).astype(np.uint8)  # 0, 1 and 2
    labels[:, :4] = 255  # "not labelled here": no class
    lpath = tmp_path / "labels.tif"
    tifffile.imwrite(lpath, labels)
    res = cli("import", project, lpath, "--name", "plain", "--kind", "labels", "--like", "raw")
    assert res.code == 0, res.err
    res = cli(
        "import", project, lpath, "--name", "named", "--kind", "labels", "--like", "raw",
        "--classes", "2=mitochondria,7=er",
    )  # fmt: skip
    assert res.code == 0, res.err
    with Project.open(project, mode="read") as proj:
        plain, named = (proj.catalog.volume(n).attrs["classes"] for n in ("plain", "named"))
    assert plain == {"0": "background", "1": "class 1", "2": "class 2"}
    assert named == {"0": "background", "1": "class 1", "2": "mitochondria", "7": "er"}
    res = cli(
        "train", project, "--image", "raw", "--labels", "named", "--classes", "mitochondria",
        "--out", "m", "--size", "small", "--epochs", "1", "--iterations", "2", "--batch", "2",
        "--patch", "32", "--device", "cpu",
    )  # fmt: skip
    assert res.code == 0, res.err
    for bad, message in (("2=", "VALUE=NAME"), ("0=bg", "values 1 to 254"), ("1=a,1=b", "twice")):
        res = cli("import", project, lpath, "--name", "x", "--kind", "labels", "--classes", bad)
        assert res.code == 2 and message in res.err, res.err
    res = cli("import", project, path, "--name", "x", "--classes", "1=a")
    assert res.code == 2 and "add --kind labels" in res.err


def test_slice_folder_natural_order(tmp_path, cli, project):
    data = em_stack(shape=(11, 32, 40))
    folder = tmp_path / "slices"
    folder.mkdir()
    for z in range(11):
        tifffile.imwrite(folder / f"img{z}.tif", data[z])
    assert cli("import", project, folder, "--name", "folder").code == 0
    names, _ = project_state(project)
    with Project.open(project, mode="read") as proj:
        volume = Volume(proj.resolve(proj.catalog.volume("folder").path))
        assert np.array_equal(volume.read(0, 11), data)
    assert names == ["folder"]


def test_real_em_data_imports(tmp_path, cli, project, shared_data):
    raw = shared_data / "vnc_gerhard2013" / "raw.tif"
    labels = shared_data / "vnc_gerhard2013" / "labels.tif"
    assert cli("import", project, raw, "--name", "vnc").code == 0
    res = cli(
        "import", project, labels, "--name", "vnc-labels", "--kind", "labels", "--like", "vnc"
    )
    assert res.code == 0, res.err
    with Project.open(project, mode="read") as proj:
        vnc = proj.catalog.volume("vnc")
        assert vnc.shape == (15, 1024, 1024)
        assert vnc.voxel_size.zyx == pytest.approx((50.0, 4.6, 4.6), rel=0.01)
        volume = Volume(proj.resolve(vnc.path))
        assert np.array_equal(volume.plane(0, 7), tifffile.imread(raw, key=7))
        assert volume.levels >= 2


def test_labels_of_0_and_255_are_explained_and_recoded(tmp_path, cli, project, imagej_tiff):
    path, data = imagej_tiff
    cli("import", project, path, "--name", "raw")
    res = cli("import", project, path, "--name", "oops", "--kind", "labels")  # the image again
    assert res.code == 0 and "classes: is this an image, or object ids?" in res.out + res.err
    isbi = np.where(data > 100, 255, 0).astype(np.uint8)  # 0 = membrane, 255 = the rest
    lpath = tmp_path / "isbi_labels.tif"
    tifffile.imwrite(lpath, isbi)
    res = cli("import", project, lpath, "--name", "as-is", "--kind", "labels")
    said = res.out + res.err
    share = 100 * (isbi == 255).mean()
    assert res.code == 0 and "value 255 means 'not labelled here'" in said
    assert f"it covers {share:.1f} % of the voxels" in said
    assert "these labels hold no class" in said and "--recode 0=1,255=0" in said
    res = cli(
        "import", project, lpath, "--name", "mem", "--kind", "labels",
        "--recode", "0=1,255=0", "--classes", "1=membrane",
    )  # fmt: skip
    assert res.code == 0 and "Values recoded: 0 -> 1, 255 -> 0." in res.out + res.err
    assert "hold no class" not in res.out + res.err and "no voxel holds" not in res.err
    res = cli(
        "import", project, lpath, "--name", "mem3", "--kind", "labels",
        "--recode", "0=1,255=0", "--classes", "1=membrane,3=mitochondria",
    )  # fmt: skip
    assert res.code == 0 and "no voxel holds the value of 3=mitochondria (named by --classes)" in (
        res.out + res.err
    )
    with Project.open(project, mode="read") as proj:
        record = proj.catalog.volume("mem")
        assert record.attrs["classes"] == {"0": "background", "1": "membrane"}
        stored = Volume(proj.resolve(record.path)).read(0, isbi.shape[0])
    assert np.array_equal(stored, (isbi == 0).astype(np.uint8))
    for bad, message in (
        (["--recode", "0=300"], "values of these uint8 labels are 0 to 255"),
        (["--recode", "0=1,0=2"], "each old value once"),
        (["--recode", "a=1"], "OLD=NEW items of whole numbers"),
    ):
        res = cli("import", project, lpath, "--name", "bad", "--kind", "labels", *bad)
        assert res.code == 2 and message in res.err, res.err
    res = cli("import", project, path, "--name", "bad", "--recode", "0=1")
    assert res.code == 2 and "--recode is for labels" in res.err


def test_a_segmentation_made_elsewhere_is_imported_to_mesh_and_measure(tmp_path, cli, project):
    objects = np.zeros((6, 32, 32), np.uint16)
    objects[1:4, 2:10, 2:10] = 7
    objects[2:5, 15:25, 15:25] = 300  # ids beyond 255: no "not labelled" value here
    path = write_imagej_stack(tmp_path / "objects.tif", objects)
    res = cli(
        "import", project, path, "--name", "mine", "--kind", "segmentation", "--class", "mito"
    )
    assert res.code == 0, res.err  # no image needed
    with Project.open(project, mode="read") as proj:
        record = proj.catalog.volume("mine")
        assert record.kind == "segmentation" and record.attrs["class"] == "mito"
        assert record.voxel_size.zyx == (40.0, 8.0, 8.0) and record.image_id is None
        assert np.array_equal(Volume(proj.resolve(record.path)).read(0, 6), objects)
    csv = tmp_path / "m.csv"
    assert cli("measure", project, "--segmentation", "mine", "--out", csv).code == 0
    rows = csv.read_text().splitlines()[1:]
    assert [r.split(",")[:3] for r in rows] == [["7", "mito", "192"], ["300", "mito", "300"]]
    res = cli("import", project, path, "--name", "x", "--class", "mito")
    assert res.code == 2 and "--class names a segmentation's objects" in res.err

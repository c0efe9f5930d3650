"""`emstudio segment / mesh / measure / evaluate` end to end on a small demo project."""

from __future__ import annotations

import json

import pytest

from emstudio.core.project import Project
from emstudio.core.seg.from_truth import add_truth_prediction
from emstudio.core.volume.store import Volume


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A 24 x 128 x 128 demo project with maps derived from its ground truth ("truth" set)."""
    from emstudio.cli.main import main

    path = tmp_path_factory.mktemp("demo") / "d.emproj"
    assert main(["demo", str(path), "--shape", "24,128,128"]) == 0
    with Project.open(path) as project:
        records = add_truth_prediction(project)
    assert [r.attrs["class"] for r in records] == ["mitochondria", "boundary"]
    return path


def test_segment_evaluate_mesh_measure(demo, cli, tmp_path):
    res = cli(
        "segment",
        demo,
        "--prediction",
        "truth",
        "--out",
        "mito",
        "--preset",
        "bc-watershed",
        "--min-volume",
        "1e6",
        "--block",
        "8,64,64",
    )
    assert res.code == 0, res.err
    assert "of mitochondria into 'mito' by a watershed of the area map" in res.out
    assert "no piece was under 250 voxels" in res.out  # 1e6 nm3 of 40 x 10 x 10 nm
    with Project.open(demo, mode="read") as project:
        seg = project.catalog.volume("mito")
        assert seg.attrs["left_out"] == 0 and seg.attrs["objects"] == 3
        assert seg.kind == "segmentation" and seg.dtype == "uint32"
        assert seg.attrs["preset"] == "bc-watershed" and seg.attrs["class"] == "mitochondria"
        assert seg.provenance["operation"] == "segment"
        assert seg.attrs["params"]["min_volume_nm3"] == 1e6
    everything = ("--min-volume", "1e12", "--block", "8,64,64", "--out", "none")
    res = cli("segment", demo, "--prediction", "truth", "--preset", "bc-watershed", *everything)
    assert res.code == 0, res.err
    assert "segmented 0 objects" in res.out
    assert "3 pieces under 250000000 voxels left out" in res.out
    res = cli(
        "evaluate", "--project", demo, "--pred", "mito", "--truth", "truth-mito-instances", "--json"
    )
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert report["ap75"] == 1.0 and report["n_pred"] == report["n_truth"] > 0

    out = tmp_path / "meshes"
    res = cli(
        "mesh",
        demo,
        "--segmentation",
        "mito",
        "--out",
        out,
        "--format",
        "glb",
        "--combined",
        "--decimate",
        "0.5",
    )
    assert res.code == 0, res.err
    index = json.loads((out / "index.json").read_text())
    assert index["count"] == report["n_pred"] and (out / "scene.glb").is_file()
    assert all(o["watertight"] for o in index["objects"].values())
    res = cli("mesh", demo, "--segmentation", "mito", "--out", out)
    assert res.code == 2 and "not an empty folder" in res.err
    res = cli("info", demo)  # the mesh set is listed, with what made it
    assert f"mito-meshes              {index['count']} objects of 'mito', glb" in res.out
    assert "classes: 1 = membrane, 2 = nuclear_envelope, 3 = mitochondria" in res.out  # labels

    csv = tmp_path / "m.csv"
    res = cli(
        "measure", demo, "--segmentation", "mito", "--other", "truth-mito-instances", "--out", csv
    )
    assert res.code == 0, res.err
    header, *lines = csv.read_text().splitlines()
    assert "mean_intensity" in header and "distance_to_truth_mito_instances_nm" in header
    assert len(lines) == report["n_pred"]
    assert (tmp_path / "m-summary.csv").read_text().startswith("class,count")
    res = cli("measure", demo, "--segmentation", "mito", "--out", csv)
    assert res.code == 2 and f"{csv}:" in res.err  # the file the user named, not its summary
    res = cli(
        "measure", demo, "--segmentation", "mito", "--other", "mito", "--out", tmp_path / "x.csv"
    )
    assert res.code == 2 and "every object would be 0 nm from itself" in res.err
    by_class = tmp_path / "by-class.csv"
    res = cli("measure", demo, "--segmentation", "mito", "--other", "truth-classes", "--out",
              by_class)  # fmt: skip
    assert res.code == 0, res.err  # one distance per class
    header = by_class.read_text().splitlines()[0]
    assert "distance_to_nuclear_envelope_nm" in header and "nearest_" not in header
    with Project.open(demo, mode="read") as project:
        kinds = [j.kind for j in project.catalog.jobs() if j.status == "done"]
        assert {"segment", "mesh", "measure"} <= set(kinds)


def test_semantic_evaluation_and_components(demo, cli):
    res = cli(
        "evaluate",
        "--pred",
        f"{demo}:truth-classes",
        "--truth",
        f"{demo}:truth-classes",
        "--kind",
        "semantic",
    )
    assert res.code == 0, res.err
    assert "Dice 1.0000" in res.out and "hausdorff95 0.00 px" in res.out
    res = cli(
        "evaluate", "--pred", f"{demo}:truth-mitochondria", "--truth", f"{demo}:truth-classes"
    )
    assert res.code == 0 and res.out.startswith("semantic evaluation")  # a map: by class
    assert "mitochondria (" in res.out and "AP" not in res.out
    res = cli("segment", demo, "--prediction", "truth", "--out", "cc", "--mode", "components")
    assert res.code == 0, res.err
    assert "objects" in res.out


def test_an_empty_truth_is_scored_in_words_and_valid_json(cli, tmp_path):
    import numpy as np
    import tifffile

    pred, truth = tmp_path / "pred.tif", tmp_path / "truth.tif"
    objects = np.zeros((6, 16, 16), np.uint16)
    objects[1:3, 2:6, 2:6] = 1
    tifffile.imwrite(pred, objects)
    tifffile.imwrite(truth, np.zeros_like(objects))
    res = cli("evaluate", "--pred", pred, "--truth", truth)
    assert res.code == 0, res.err
    assert "AP undefined" in res.out and "nan" not in res.out
    assert "The truth has no objects" in res.out
    res = cli("evaluate", "--pred", pred, "--truth", truth, "--json")
    report = json.loads(res.out, parse_constant=pytest.fail)  # NaN is not JSON
    assert report["ap50"] is None and report["recall50"] == 1.0 and report["fp50"] == 1
    res = cli("evaluate", "--pred", truth, "--truth", truth, "--kind", "semantic")
    assert res.code == 0 and "Neither volume has any foreground" in res.out


def test_held_out_slices_are_scored_alone(cli, tmp_path):
    import numpy as np
    import tifffile

    truth = np.zeros((6, 16, 16), np.uint8)
    truth[:, 4:12, 4:12] = 1
    pred = truth.copy()
    pred[3:, :, :] = 0  # slices 3-5 missed: the prediction is right on 0-2 and 4 only
    pred[4] = truth[4]
    for name, data in (("t.tif", truth), ("p.tif", pred)):
        tifffile.imwrite(tmp_path / name, data, photometric="minisblack")
    both = ("--pred", tmp_path / "p.tif", "--truth", tmp_path / "t.tif", "--kind", "semantic")
    whole = json.loads(cli("evaluate", *both, "--json").out)
    held_out = json.loads(cli("evaluate", *both, "--json", "--slices", "z:0-2,4").out)
    assert whole["classes"]["1"]["dice"] < 1.0 and held_out["classes"]["1"]["dice"] == 1.0
    assert held_out["slices"] == "0-2,4"
    res = cli("evaluate", *both, "--slices", "z:3,5")
    assert res.code == 0 and "on z slices 3,5 only" in res.out and "Dice 0.0000" in res.out
    res = cli("evaluate", *both, "--slices", "z:6")
    assert res.code == 2 and "z 6 is outside" in res.err


def test_an_exported_probability_map_is_scored_as_one(cli, tmp_path):
    import numpy as np
    import tifffile

    truth = np.zeros((4, 16, 16), np.uint8)
    truth[:, 4:12, 4:12] = 1
    probability = np.where(truth == 1, 200, 30).astype(np.uint8)  # as `export` writes a map
    probability[:, 4:12, 4] = 100  # a column of 0.39: outside at 0.5, inside at 0.3
    for name, data in (("t.tif", truth), ("p.tif", probability)):
        tifffile.imwrite(tmp_path / name, data, photometric="minisblack")
    both = ("--pred", tmp_path / "p.tif", "--truth", tmp_path / "t.tif", "--json")
    at_half = json.loads(cli("evaluate", *both, "--threshold", "0.5").out)
    assert at_half["kind"] == "semantic" and list(at_half["classes"]) == ["1"]
    assert at_half["classes"]["1"]["iou"] == pytest.approx(7 / 8)
    lower = json.loads(cli("evaluate", *both, "--threshold", "0.3").out)
    assert lower["classes"]["1"]["dice"] == 1.0
    res = cli("evaluate", *both, "--threshold", "1.5")
    assert res.code == 2 and "--threshold must lie between 0 and 1" in res.err
    probability[0, :3] = np.arange(48).reshape(3, 16) * 5  # many values, as a real map has
    tifffile.imwrite(tmp_path / "p.tif", probability, photometric="minisblack")
    res = cli("evaluate", "--pred", tmp_path / "p.tif", "--truth", tmp_path / "t.tif",
              "--kind", "semantic")  # fmt: skip
    assert res.code == 2 and "add --threshold 0.5" in res.err  # not 50 "classes" of Dice 0
    grey = np.zeros((4, 16, 16), np.uint8)
    grey.flat[: 16 * 16] = np.arange(256)  # 255 grey levels, against a file of one object
    tifffile.imwrite(tmp_path / "g.tif", grey, photometric="minisblack")
    res = cli("evaluate", "--pred", tmp_path / "g.tif", "--truth", tmp_path / "t.tif")
    assert res.code == 0 and "is 8-bit with 255 values, each scored as an object" in res.out


def test_a_map_against_a_file_of_object_ids_is_scored_as_one_class(demo, cli, tmp_path):
    import numpy as np
    import tifffile

    with Project.open(demo, mode="read") as project:
        record = project.catalog.volume("truth-mito-instances")
        objects = Volume(project.resolve(record.path)).read(0, record.shape[0])
    tifffile.imwrite(tmp_path / "ids.tif", objects.astype(np.uint16))
    res = cli("evaluate", "--project", demo, "--pred", "truth-mitochondria", "--truth",
              tmp_path / "ids.tif", "--json")  # fmt: skip
    report = json.loads(res.out)
    assert list(report["classes"]) == ["1"] and report["classes"]["1"]["dice"] > 0.9
    assert "names no classes: its nonzero voxels count as mitochondria" in report["note"]
    res = cli("evaluate", "--project", demo, "--pred", "truth-mitochondria", "--truth",
              tmp_path / "ids.tif", "--kind", "instance")  # fmt: skip
    assert res.code == 2 and "is a probability map, not objects: segment it first" in res.err


def test_a_map_against_a_label_set_is_scored_as_the_class_of_its_name(demo, cli):
    with Project.open(demo, mode="read") as project:
        classes = project.catalog.volume("truth-classes").attrs["classes"]
    value = next(v for v, name in classes.items() if name == "mitochondria")
    assert value != "1"  # the label set's own value, not that of the mask read from it
    both = ("--project", demo, "--pred", "truth-mitochondria", "--truth", "truth-classes")
    report = json.loads(cli("evaluate", *both, "--json").out)
    assert list(report["classes"]) == [value]
    assert report["classes"][value]["name"] == "mitochondria"
    assert report["classes"][value]["dice"] > 0.9
    assert f"class mitochondria ({value}): Dice" in cli("evaluate", *both).out
    exported = demo.parent / "mito map.tif"  # an exported map names no class
    assert cli("export", demo, "truth-mitochondria", "--out", exported).code == 0
    from_file = ("--pred", exported, "--truth", f"{demo}:truth-classes", "--threshold", "0.5")
    refused = cli("evaluate", *from_file)
    assert refused.code == 2 and "add --class NAME" in refused.err and "membrane" in refused.err
    named = json.loads(cli("evaluate", *from_file, "--class", "mitochondria", "--json").out)
    assert named["classes"] == report["classes"]


def test_clear_errors(demo, cli, tmp_path):
    res = cli("evaluate", "--project", demo, "--pred", "mitox", "--truth", "truth-classes")
    assert res.code == 2 and "neither a volume of this project (" in res.err
    assert "truth-classes" in res.err
    res = cli("segment", demo, "--prediction", "nope", "--out", "x")
    assert res.code == 2 and "No prediction set named 'nope'" in res.err
    res = cli("segment", demo, "--prediction", "truth", "--out", "y", "--area-threshold", "3")
    assert res.code == 2 and "0..1" in res.err
    res = cli("mesh", demo, "--segmentation", "em", "--out", tmp_path / "m")
    assert res.code == 2 and "segmentation" in res.err
    res = cli(
        "mesh",
        demo,
        "--segmentation",
        "truth-mito-instances",
        "--out",
        tmp_path / "n",
        "--format",
        "stl",
        "--combined",
    )
    assert res.code == 2 and "combined" in res.err
    seg = "truth-mito-instances"
    res = cli("mesh", demo, "--segmentation", seg, "--out", tmp_path / "n", "--ids", "1", "99999")
    assert res.code == 2 and f"{seg}: no object with id 99999 in this segmentation (" in res.err
    assert not (tmp_path / "n").exists()
    res = cli(
        "measure", demo, "--segmentation", "truth-mito-instances", "--out", tmp_path / "m.txt"
    )
    assert res.code == 2 and ".csv" in res.err
    res = cli("evaluate", "--pred", tmp_path / "missing.tif", "--truth", tmp_path / "x.tif")
    assert res.code == 2 and "does not exist" in res.err
    res = cli("evaluate", "--project", demo, "--pred", "em", "--truth", "truth-mito-instances")
    assert res.code == 2 and "em: is an image: compare a segmentation" in res.err


def test_errors_name_the_option_and_the_volume_kind(demo, cli, tmp_path):
    res = cli("segment", demo, "--prediction", "truth", "--out", "truth-mito-instances")
    assert res.code == 2 and "already exists" in res.err and "choose another --out" in res.err
    res = cli("mesh", demo, "--segmentation", "em", "--out", tmp_path / "m")
    assert res.code == 2 and "em: is an image;" in res.err
    seg, csv = "truth-mito-instances", tmp_path / "m.csv"
    res = cli("measure", demo, "--segmentation", seg, "--image", "truth-classes", "--out", csv)
    assert res.code == 2 and "truth-classes: is a label set, not an image" in res.err
    assert not csv.exists()


def test_sizes_of_a_volume_of_unknown_voxel_size_are_said_to_be_voxels(cli, tmp_path):
    import numpy as np
    import tifffile

    objects = np.zeros((6, 16, 16), np.uint16)
    objects[1:4, 2:8, 2:8] = 1
    tifffile.imwrite(tmp_path / "objects.tif", objects)  # no voxel size in the file
    project = tmp_path / "p.emproj"
    assert cli("project", "create", project).code == 0
    res = cli("import", project, tmp_path / "objects.tif", "--name", "seg", "--kind",
              "segmentation")  # fmt: skip
    assert res.code == 0, res.err
    said = (  # it has no image: itself to import again
        "the voxel size of 'seg' is unknown, so sizes here are in voxels (1 x 1 x 1 nm "
        "recorded), not nm: import it again with --voxel-size"
    )
    res = cli("measure", project, "--segmentation", "seg", "--out", tmp_path / "m.csv")
    assert res.code == 0 and said in res.err, res.err
    res = cli("mesh", project, "--segmentation", "seg", "--out", tmp_path / "meshes")
    assert res.code == 0 and said in res.err, res.err
    index = json.loads((tmp_path / "meshes" / "index.json").read_text())
    assert index["voxel_size_known"] is False


def test_meshes_interpolated_between_thick_sections_have_a_truer_area(cli, tmp_path):
    import numpy as np
    import tifffile

    z, y, x = np.mgrid[0:30, 0:240, 0:240]  # a ball of radius 500 nm in 50 x 5 x 5 nm voxels
    ball = (z * 50 - 750) ** 2 + (y * 5 - 600) ** 2 + (x * 5 - 600) ** 2 <= 500**2
    tifffile.imwrite(tmp_path / "ball.tif", ball.astype(np.uint16))
    project = tmp_path / "p.emproj"
    assert cli("project", "create", project).code == 0
    res = cli("import", project, tmp_path / "ball.tif", "--name", "ball", "--kind",
              "segmentation", "--voxel-size", "50,5,5")  # fmt: skip
    assert res.code == 0, res.err
    areas = {}
    for flags in ((), ("--sections",)):
        out = tmp_path / f"meshes{len(flags)}"
        assert cli("mesh", project, "--segmentation", "ball", "--out", out, *flags).code == 0
        index = json.loads((out / "index.json").read_text())
        assert index["options"]["sections"] is bool(flags)
        areas[bool(flags)] = index["objects"]["1"]["area_nm2"]
    true_area = 4 * np.pi * 500**2
    assert areas[False] > 1.12 * true_area  # the surface steps out flat between sections
    assert areas[True] == pytest.approx(true_area, rel=0.03)


def test_a_segmentation_without_objects_says_what_to_try(demo, cli):
    res = cli(
        "segment", demo, "--prediction", "truth", "--out", "no-objects", "--area-threshold", "1"
    )
    assert res.code == 0, res.err
    assert "segmented 0 objects" in res.out
    assert (
        "no object was found: no voxel of the map is above --area-threshold 1 with the " in res.err
    )
    res = cli(
        "segment", demo, "--prediction", "truth", "--out", "all-small", "--min-size", "10000000"
    )
    assert "no object is left: all 3 pieces found were under the smallest size" in res.err


def test_a_search_radius_without_other_is_said_to_be_unused(demo, cli, tmp_path):
    seg, out = "truth-mito-instances", tmp_path / "m.csv"
    res = cli("measure", demo, "--segmentation", seg, "--max-distance", "100", "--out", out)
    assert res.code == 0 and "--max-distance is the search radius for --other: unused" in res.err
    res = cli("measure", demo, "--segmentation", seg, "--out", tmp_path / "n.csv")
    assert res.code == 0 and "--max-distance" not in res.err

"""`emstudio train / predict / models / model export|import|show` end to end on a small demo
project, resuming cancelled jobs, and every bad input: exit 2, one clear message, nothing
half-registered."""

from __future__ import annotations

import errno
import re
import shutil

import numpy as np
import pytest
import tifffile
from cli_helpers import project_state
from volume_helpers import add_array

from emstudio.cli.main import build_parser, main
from emstudio.core.ml import modelfile, registry, training
from emstudio.core.ml.outputs import PredictionSet
from emstudio.core.ml.scratch import Scratch
from emstudio.core.project import Project
from emstudio.core.project.manage import delete_model
from emstudio.core.volume.store import Volume

TRAIN = ("--image", "em", "--labels", "truth-classes", "--size", "small", "--epochs", "1",
         "--iterations", "2", "--batch", "2", "--patch", "32", "--input-slices", "3",
         "--slices", "z:1,4,7,10")  # fmt: skip
PREDICT_EM = ("--image", "em", "--model", "m", "--tile", "32")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A (12, 96, 96) demo project with model "m" (membrane, mitochondria + boundary)."""
    root = tmp_path_factory.mktemp("ml-cli")
    path = root / "demo.emproj"
    assert main(["demo", str(path), "--shape", "12,96,96"]) == 0
    code = main(["train", str(path), *TRAIN, "--out", "m", "--classes",
                 "membrane,mitochondria", "--boundary", "mitochondria"])  # fmt: skip
    assert code == 0
    return path


@pytest.fixture
def project(built, tmp_path):
    shutil.copytree(built, tmp_path / "p.emproj")
    return tmp_path / "p.emproj"


def assert_refused(result, *fragments):
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)


def test_training_registers_a_described_model(project, cli) -> None:
    listing = cli("models", project)
    assert listing.code == 0 and listing.out.startswith("m ")
    assert "outputs membrane, mitochondria, boundary" in listing.out
    with Project.open(project, mode="read") as opened:
        record = opened.catalog.model("m")
        job = opened.catalog.job(record.provenance["job_id"])
    card = record.card
    assert card["classes"] == ["membrane", "mitochondria"]
    assert card["boundary"] == {"of": "mitochondria", "instances": None}
    assert card["input"]["slices"] == 3 and card["input"]["pixel_size_nm"] == 10.0
    assert card["training"]["labelled_slices"]["z"] == [1, 4, 7, 10]
    assert card["training"]["labels"] == "truth-classes" and card["parent"] is None
    assert set(card["validation"]["dice"]) == {"membrane", "mitochondria", "boundary"}
    assert (project / record.path / "weights.pt").is_file() and job.device.startswith("cpu")
    shown = cli("model", "show", project, "m")
    assert shown.code == 0 and "Validation:" in shown.out and "Trained on:" in shown.out


def test_prediction_volumes_are_registered_with_provenance(project, cli) -> None:
    res = cli("predict", project, *PREDICT_EM, "--out", "p", "--combine", "vote")
    assert res.code == 0, res.err
    with Project.open(project, mode="read") as opened:
        image = opened.catalog.volume("em")
        records = {r.name: r for r in opened.catalog.volumes("prediction")}
    assert set(records) == {"p-membrane", "p-mitochondria", "p-boundary"}
    for name, record in records.items():
        assert record.attrs["prediction_set"] == "p" and record.attrs["model"] == "m"
        assert record.attrs["class"] == name.removeprefix("p-")
        assert record.attrs["axes"] == ["xy", "xz", "yz"] and record.attrs["combine"] == "vote"
        assert record.image_id == image.id and record.dtype == "uint8"
        assert record.provenance["operation"] == "predict" and record.provenance["job_id"]
        assert {"model": "m", "id": record.attrs["model_id"]} in record.provenance["inputs"]
        volume = Volume(project / record.path)
        assert volume.shape == (12, 96, 96) and volume.read(0, 12).max() > 0
    assert not list((project / "jobs").glob("*/scratch"))  # the scratch is gone


def test_predicting_views_the_model_never_saw_is_said(project, cli, monkeypatch) -> None:
    from emstudio.core.ml import presets

    monkeypatch.setattr(presets, "model_axes", lambda card: ["xy"])  # as if trained on XY only
    res = cli("predict", project, *PREDICT_EM, "--out", "q", "--axes", "xy,yz")
    assert res.code == 0, res.err
    assert "trained on XY views only; its YZ predictions may be worse" in res.out + res.err


def test_prediction_compiles_by_default_only_where_it_pays() -> None:
    parser = build_parser()
    base = ["predict", "P", "--image", "em", "--model", "m", "--out", "p"]
    assert parser.parse_args(base).compile is None  # the job decides (large GPU jobs)
    assert parser.parse_args([*base, "--compile"]).compile is True
    assert parser.parse_args([*base, "--no-compile"]).compile is False
    with pytest.raises(SystemExit):  # argparse: "not allowed with argument --compile"
        parser.parse_args([*base, "--compile", "--no-compile"])
    assert (
        parser.parse_args(["train", "P", "--image", "em", "--labels", "l", "--out", "m"]).compile
        is False
    )


def test_prediction_predicts_in_columns_where_the_job_decides() -> None:
    parser = build_parser()
    base = ["predict", "P", "--image", "em", "--model", "m", "--out", "p"]
    assert parser.parse_args(base).columns is None  # columns on a GPU where they fit
    assert parser.parse_args([*base, "--columns"]).columns is True
    assert parser.parse_args([*base, "--no-columns"]).columns is False
    with pytest.raises(SystemExit):
        parser.parse_args([*base, "--no-columns", "--columns"])


def test_a_model_is_exported_only_to_a_new_file_outside_the_project(
    project, cli, tmp_path, monkeypatch
) -> None:
    taken = tmp_path / "taken.emmodel"
    taken.write_text("mine")
    assert_refused(cli("model", "export", project, "m", "--out", taken), "already exists")
    inside = project / "m.emmodel"
    assert_refused(cli("model", "export", project, "m", "--out", inside), "inside the project")
    assert taken.read_text() == "mine" and not inside.exists()

    def read_only(*args, **kwargs):  # what a read-only mount answers (root writes anywhere)
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / ".tmp-m.emmodel"))

    monkeypatch.setattr(modelfile.zipfile, "ZipFile", read_only)
    res = cli("model", "export", project, "m", "--out", tmp_path / "m.emmodel")
    assert_refused(res, "m.emmodel: cannot be written (Read-only file system)")


def test_the_machine_refusing_a_file_is_the_users_to_fix_not_an_internal_error(
    project, cli, tmp_path, monkeypatch
) -> None:
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/somewhere/file")

    monkeypatch.setattr(registry, "pack", full)
    res = cli("model", "export", project, "m", "--out", tmp_path / "m.emmodel")
    assert_refused(res, "emstudio: error: /somewhere/file: No space left on device.")


def test_models_move_between_projects(project, cli, tmp_path) -> None:
    out = tmp_path / "m.emmodel"
    assert cli("model", "export", project, "m", "--out", out).code == 0
    other = tmp_path / "other.emproj"
    assert cli("project", "create", other).code == 0
    assert cli("model", "import", other, out).code == 0
    assert_refused(
        cli("model", "import", other, out), "already exists in this project: choose another --name"
    )
    assert cli("model", "import", other, out, "--name", "m2").code == 0
    with Project.open(other, mode="read") as opened:
        assert [m.name for m in opened.catalog.models()] == ["m", "m2"]
        assert (
            opened.catalog.model("m2").card["weights"] == opened.catalog.model("m").card["weights"]
        )


def test_transfer_learning_records_its_parent(project, cli) -> None:
    transfer = ("--classes", "mitochondria", "--init", "m", "--freeze-encoder", "1")
    no_size = [a for a in TRAIN if a not in ("--size", "small")]  # "m" is small, not default
    res = cli("train", project, *no_size, "--out", "mito", *transfer)
    assert res.code == 0, res.err
    with Project.open(project, mode="read") as opened:
        card = opened.catalog.model("mito").card
        parent = opened.catalog.model("m")
    assert card["parent"] == {"name": "m", "id": parent.id}
    assert card["classes"] == ["mitochondria"]
    assert card["size"] == "small"
    for key in ("depth", "base_channels"):
        assert card["architecture"][key] == parent.card["architecture"][key]
    assert "tensors from the starting model (new: head)" in card["training"]["init"]


def test_transfer_learning_from_a_model_file(project, cli, tmp_path) -> None:
    no_size = [a for a in TRAIN if a not in ("--size", "small")]
    own = tmp_path / "own.emmodel"
    assert cli("model", "export", project, "m", "--out", own).code == 0
    res = cli("train", project, *no_size, "--out", "mito", "--init", own)
    assert res.code == 0, res.err
    assert f"{own}: is in the project already as model 'm'" in res.err  # not copied again
    shared = tmp_path / "from-a-colleague.emmodel"  # a model this project does not hold
    assert cli("model", "export", project, "mito", "--out", shared).code == 0
    with Project.open(project) as opened:
        trained = opened.catalog.model("mito")
        delete_model(opened, trained)
    res = cli("train", project, *no_size, "--out", "mito-again", "--init", shared)
    assert res.code == 0, res.err
    assert f"{shared}: added to the project as model 'mito'" in res.err
    with Project.open(project, mode="read") as opened:
        card = opened.catalog.model("mito-again").card
        added = opened.catalog.model("mito")
    assert card["parent"] == {"name": "mito", "id": added.id}
    assert added.card["weights"] == trained.card["weights"]
    shown = cli("model", "show", project, "mito").out
    assert f"Imported:      from {shared}" in shown  # its names are those of where it was made
    assert "Parent model:  m\n" in shown  # trained from this project's m

    missing = cli("train", project, *no_size, "--out", "x", "--init", tmp_path / "no.emmodel")
    assert missing.code == 2 and "no.emmodel: does not exist." in missing.err
    folder = tmp_path / "looks-like.emmodel"
    folder.mkdir()
    (tmp_path / "notes.txt").write_text("not a model")
    for wrong, said in (
        (folder, "is a folder"),
        (tmp_path / "notes.txt", "not a readable emstudio model file"),
    ):
        refused = cli("train", project, *no_size, "--out", "y", "--init", wrong)
        assert refused.code == 2 and said in refused.err, refused.err
    with Project.open(project, mode="read") as opened:
        assert [m.name for m in opened.catalog.models()] == ["m", "mito", "mito-again"]


def test_a_cancelled_training_resumes_from_its_checkpoint(project, cli, monkeypatch) -> None:
    saved = training.save_checkpoint

    def save_then_cancel(path, state):
        saved(path, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "save_checkpoint", save_then_cancel)
    res = cli("train", project, *TRAIN, "--out", "r", "--epochs", "2")
    assert res.code == 130
    monkeypatch.setattr(training, "save_checkpoint", saved)
    with Project.open(project, mode="read") as opened:
        job = [j for j in opened.catalog.jobs() if j.kind == "train"][-1]
        assert job.status == "cancelled" and not opened.catalog.has_model_name("r")
    cancelled_checkpoint = project / "jobs" / job.id / "checkpoint.pt"
    assert cancelled_checkpoint.is_file()
    res = cli("train", project, "--resume", job.id[:8], "--epochs", "50", "--out", "r2")
    assert res.code == 0, res.err  # under another name: "r" might have been taken meanwhile
    assert not list((project / "jobs").glob("*/checkpoint.pt"))  # the model holds what is kept
    assert "with the settings it was started with (other options given now" in res.err
    assert "are not used, but --out)" in res.err
    with Project.open(project, mode="read") as opened:
        card = opened.catalog.model("r2").card
        assert not opened.catalog.has_model_name("r")
    assert card["training"]["epochs_run"] == 2
    assert len(card["validation"]["history"]) == 2


def test_a_cancelled_prediction_resumes_without_redoing_blocks(project, cli, monkeypatch):
    original = Scratch.write
    calls = []

    def write_then_cancel(self, axis, first, block):
        original(self, axis, first, block)
        calls.append(axis)
        if axis == "xz":
            raise KeyboardInterrupt

    monkeypatch.setattr(Scratch, "write", write_then_cancel)
    args = ("predict", project, *PREDICT_EM, "--out", "q", "--memory", "1")
    assert cli(*args).code == 130
    monkeypatch.setattr(Scratch, "write", original)
    with Project.open(project, mode="read") as opened:
        job = [j for j in opened.catalog.jobs() if j.kind == "predict"][-1]
        assert not opened.catalog.volumes("prediction")
    res = cli("predict", project, "--resume", job.id)
    assert res.code == 0, res.err
    assert re.search(r"resuming: \d+ blocks? already predicted, skipped", res.err), res.err
    with Project.open(project, mode="read") as opened:
        assert opened.catalog.volume("q-membrane").provenance["params"]["resume_from"] == job.id


@pytest.fixture
def wide_project(built, cli, tmp_path):
    """An 8 x 300 x 300 demo project with model "m": at --tile 256 the fused pass cuts it into
    3 x 3 columns (one 128-voxel chunk each, a halo of 32)."""
    path, model = tmp_path / "wide.emproj", tmp_path / "m.emmodel"
    assert main(["demo", str(path), "--shape", "8,300,300"]) == 0
    assert cli("model", "export", built, "m", "--out", model).code == 0
    assert cli("model", "import", path, model).code == 0
    return path


def test_a_cancelled_column_prediction_resumes_without_redoing_columns(
    wide_project, cli, monkeypatch
):
    args = ("predict", wide_project, "--image", "em", "--model", "m", "--tile", "256", "--columns")
    whole = cli(*args, "--out", "whole")
    assert whole.code == 0, whole.err
    assert "9 columns up to 128 voxels wide" in whole.err
    original = PredictionSet.write_box
    written = []

    def write_then_cancel(self, y0, x0, combined, per_axis):
        written.append((y0, x0))
        if len(written) == 3:
            raise KeyboardInterrupt  # cancelled while the third column is being written
        original(self, y0, x0, combined, per_axis)

    monkeypatch.setattr(PredictionSet, "write_box", write_then_cancel)
    assert cli(*args, "--out", "cut").code == 130
    monkeypatch.setattr(PredictionSet, "write_box", original)
    with Project.open(wide_project, mode="read") as opened:
        job = [j for j in opened.catalog.jobs() if j.kind == "predict"][-1]
        names = {v.name for v in opened.catalog.volumes("prediction")}
        assert not {n for n in names if n.startswith("cut")}  # nothing half-registered
    res = cli("predict", wide_project, "--resume", job.id)
    assert res.code == 0, res.err
    # the second column is durable once the third is written: only the first is known to be
    assert "resuming: 1 column already predicted, skipped" in res.err
    again = cli("predict", wide_project, "--resume", job.id)
    assert again.code == 2 and "was resumed by job" in again.err and "'cut-membrane'" in again.err
    with Project.open(wide_project, mode="read") as opened:
        finished = [j for j in opened.catalog.jobs() if j.kind == "predict"][-1]
    again = cli("predict", wide_project, "--resume", finished.id)
    assert again.code == 2 and "has finished (it made 'cut-membrane'" in again.err
    with Project.open(wide_project, mode="read") as opened:
        for name in ("membrane", "mitochondria", "boundary"):
            whole_volume = Volume(opened.resolve(opened.catalog.volume(f"whole-{name}").path))
            cut_volume = Volume(opened.resolve(opened.catalog.volume(f"cut-{name}").path))
            assert whole_volume.levels == cut_volume.levels == 2
            for level in range(2):
                depth = whole_volume.level_shape(level)[0]
                assert np.array_equal(
                    cut_volume.read(0, depth, level), whole_volume.read(0, depth, level)
                )
    assert not list((wide_project / "jobs").glob("*/scratch"))


def empty_label_set(project_path) -> None:
    """A label set that names classes but has no labelled voxel."""
    with Project.open(project_path) as project:
        image = project.catalog.volume("em")
        blank = np.zeros(image.shape, np.uint8)
        add_array(
            project,
            "blank",
            "labels",
            blank,
            image.voxel_size,
            image_id=image.id,
            attrs={"classes": {"1": "membrane"}},
        )


def test_training_bad_inputs(project, cli) -> None:
    empty_label_set(project)
    before = project_state(project)
    cases = [
        (("--classes", "nucleus"), ("'nucleus' is not in the label set",)),
        (("--patch", "128"), ("smaller than the patch size 128", "--patch 96")),
        (("--device", "cuda"), ("CUDA was asked for but is not available",)),
        (("--labels", "blank", "--slices", "z:0,99"), ("outside the volume",)),
        (("--labels", "em"), ("label set 'em' is an image, not a label set",)),
        (("--init", "nope"), ("No model named 'nope'",)),
        (("--init", "m", "--input-slices", "5"), ("the starting model takes 3 slices",)),
        (("--input-slices", "4"), ("--input-slices must be odd",)),
        (("--out", "m"), ("A model named 'm' already exists",)),
    ]
    for extra, fragments in cases:
        assert_refused(cli("train", project, *TRAIN, "--out", "new", *extra), *fragments)
    frozen = cli("train", project, *TRAIN, "--out", "new", "--freeze-encoder", "1")
    assert_refused(frozen, "freezing the encoder keeps a starting model's features")
    assert "training on" not in frozen.err  # refused before the plan is told
    blank = [a if a != "truth-classes" else "blank" for a in TRAIN if a]
    blank = blank[: blank.index("--slices")]
    assert_refused(cli("train", project, *blank, "--out", "new"), "no labelled slice")
    assert project_state(project) == before
    with Project.open(project, mode="read") as opened:
        assert [m.name for m in opened.catalog.models()] == ["m"]
        jobs = len(opened.catalog.jobs())
    assert_refused(cli("train", project, *TRAIN, "--out", "new", "--init", "nope"), "nope")
    with Project.open(project, mode="read") as opened:
        assert len(opened.catalog.jobs()) == jobs  # refused before any job was made


def test_prediction_bad_inputs(project, cli, tmp_path) -> None:
    tifffile.imwrite(
        tmp_path / "coarse.tif",
        np.zeros((4, 32, 32), np.uint8),
        imagej=True,
        metadata={"axes": "ZYX"},
    )
    assert (
        cli(
            "import",
            project,
            tmp_path / "coarse.tif",
            "--name",
            "coarse",
            "--voxel-size",
            "40,200,200",
        ).code
        == 0
    )
    assert cli("predict", project, *PREDICT_EM, "--out", "p", "--axes", "xy").code == 0
    before = project_state(project)
    base = ("predict", project, "--model", "m", "--tile", "32")
    assert_refused(cli(*base, "--image", "coarse", "--out", "c"), "more than 8x apart")
    refused = cli(*base, "--image", "truth-classes", "--out", "c")
    assert_refused(refused, "is a label set, not an image")
    assert_refused(
        cli(*base, "--image", "em", "--out", "p"), "'p-membrane' already exists", "another --out"
    )
    assert_refused(cli(*base, "--image", "em", "--out", "c", "--batch", "0"), "--batch must")
    assert_refused(cli(*base, "--image", "em", "--out", "c", "--device", "cuda"), "CUDA")
    assert_refused(cli(*base, "--image", "em", "--out", "c", "--axes", "xy,zz"), "unknown axis")
    assert_refused(cli("predict", project, "--image", "em"), "give --model, --out")
    with Project.open(project, mode="read") as opened:
        folder = project / opened.catalog.model("m").path
    data = bytearray((folder / "weights.pt").read_bytes())
    data[-100] ^= 0xFF
    (folder / "weights.pt").write_bytes(bytes(data))
    assert_refused(cli(*base, "--image", "em", "--out", "c"), "corrupted")
    assert project_state(project) == before


def test_foreign_model_files_are_refused(project, cli, tmp_path) -> None:
    before = project_state(project)
    (tmp_path / "x.emmodel").write_bytes(b"PK\x03\x04 not really a zip")
    assert_refused(cli("model", "import", project, tmp_path / "x.emmodel"), "x.emmodel")
    assert_refused(cli("model", "import", project, tmp_path / "none.emmodel"), "does not exist")
    assert project_state(project) == before
    with Project.open(project, mode="read") as opened:
        assert [m.name for m in opened.catalog.models()] == ["m"]
    assert not [p for p in (project / "models").iterdir() if p.name.startswith(".tmp")]

"""Each bad input: exit code 2, one clear message naming the problem, the project unchanged."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import time

import numpy as np
import pytest
import tifffile
from cli_helpers import em_stack, project_state

from emstudio.core.project import Project, schema
from emstudio.jobs.launch import emstudio_command
from emstudio.jobs.spec import JobSpec


@pytest.fixture
def seeded(project, cli, imagej_tiff):
    """A project that already holds one image, 'raw' (6 x 64 x 80)."""
    assert cli("import", project, imagej_tiff[0], "--name", "raw").code == 0
    return project


def assert_refused(result, *fragments):
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)


def test_missing_file(tmp_path, cli, seeded):
    before = project_state(seeded)
    res = cli("import", seeded, tmp_path / "nope.tif", "--name", "x")
    assert_refused(res, "nope.tif", "does not exist")
    assert project_state(seeded) == before


def test_truncated_tiff(tmp_path, cli, seeded):
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, em_stack(shape=(20, 128, 128)))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    before = project_state(seeded)
    res = cli("import", seeded, path, "--name", "x")
    assert_refused(res, "cut.tif")
    assert project_state(seeded) == before


def test_garbage_tiff(tmp_path, cli, seeded):
    path = tmp_path / "fake.tif"
    path.write_bytes(b"this is not a tiff" * 100)
    assert_refused(cli("import", seeded, path, "--name", "x"), "fake.tif")


def test_empty_folder(tmp_path, cli, seeded):
    (tmp_path / "empty").mkdir()
    assert_refused(cli("import", seeded, tmp_path / "empty", "--name", "x"), "empty")


def test_mixed_slice_sizes(tmp_path, cli, seeded):
    folder = tmp_path / "mixed"
    folder.mkdir()
    tifffile.imwrite(folder / "s1.tif", np.zeros((32, 32), np.uint8))
    tifffile.imwrite(folder / "s2.tif", np.zeros((32, 32), np.uint8))
    tifffile.imwrite(folder / "s3.tif", np.zeros((40, 32), np.uint8))
    before = project_state(seeded)
    assert_refused(cli("import", seeded, folder, "--name", "x"), "s3.tif")
    assert project_state(seeded) == before


def test_rgb_image_is_converted_with_a_stated_rule(tmp_path, cli, project):
    rgb = np.zeros((4, 16, 16, 3), np.uint8)
    rgb[..., 0] = 100
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb, photometric="rgb")
    res = cli("import", project, path, "--name", "rgb")
    assert res.code == 0, res.err
    assert "luminance" in (res.out + res.err).lower()
    with Project.open(project, mode="read") as proj:
        record = proj.catalog.volume("rgb")
        assert record.dtype == "uint8" and "luminance" in record.attrs["conversion"].lower()


def test_rgb_labels_are_refused(tmp_path, cli, seeded):
    path = tmp_path / "rgb_labels.tif"
    tifffile.imwrite(path, np.zeros((6, 64, 80, 3), np.uint8), photometric="rgb")
    res = cli("import", seeded, path, "--name", "x", "--kind", "labels", "--like", "raw")
    assert_refused(res, "rgb_labels.tif", "RGB")


def test_float_image_is_rescaled_with_a_stated_rule(tmp_path, cli, project):
    data = np.linspace(-1.5, 2.5, 5 * 16 * 16, dtype=np.float32).reshape(5, 16, 16)
    path = tmp_path / "float.tif"
    tifffile.imwrite(path, data, photometric="minisblack")
    res = cli("import", project, path, "--name", "f")
    assert res.code == 0, res.err
    with Project.open(project, mode="read") as proj:
        record = proj.catalog.volume("f")
        assert record.dtype == "uint16"
        assert "rescale" in record.attrs["conversion"].lower()


def test_2d_image_is_refused(tmp_path, cli, project):
    path = tmp_path / "flat.tif"
    tifffile.imwrite(path, np.zeros((64, 64), np.uint8))
    assert_refused(cli("import", project, path, "--name", "x"), "flat.tif", "2D")


def test_four_slices_tifffile_took_for_colour_planes_are_explained(tmp_path, cli, project):
    path = tmp_path / "four.tif"
    tifffile.imwrite(path, np.zeros((4, 64, 64), np.uint8))  # tifffile: one RGBA image
    assert_refused(
        cli("import", project, path, "--name", "x"), "four.tif", "4 colour planes", "4 pages"
    )


def test_labels_of_the_wrong_shape(tmp_path, cli, seeded):
    path = tmp_path / "small_labels.tif"
    tifffile.imwrite(path, np.zeros((6, 64, 79), np.uint8))
    before = project_state(seeded)
    res = cli("import", seeded, path, "--name", "x", "--kind", "labels", "--like", "raw")
    assert_refused(res, "small_labels.tif", "6 x 64 x 79", "6 x 64 x 80")
    assert project_state(seeded) == before


def test_path_inside_the_project(cli, seeded):
    inside = seeded / "data"
    assert_refused(cli("import", seeded, inside, "--name", "x"), "inside the project")


def test_duplicate_name(cli, seeded, imagej_tiff):
    assert_refused(cli("import", seeded, imagej_tiff[0], "--name", "raw"), "already exists")


@pytest.mark.parametrize(
    ("value", "said"),
    [("50,abc,5", "--voxel-size"), ("nan,5,5", "--voxel-size"), ("50,inf,5", "--voxel-size"),
     ("1e30,5,5", "voxel size 1e+30, 5.0, 5.0 nm: a voxel over 1 mm is no microscope's")],
)  # fmt: skip
def test_bad_voxel_size_value(cli, seeded, imagej_tiff, value, said):
    res = cli("import", seeded, imagej_tiff[0], "--name", "y", "--voxel-size", value)
    assert_refused(res, said)


def test_a_job_spec_with_a_voxel_size_of_nan_is_refused(tmp_path, cli, seeded, imagej_tiff):
    spec = JobSpec(
        kind="import",
        project=str(seeded),
        inputs={"paths": [str(imagej_tiff[0])]},
        params={"name": "y", "voxel_size_nm": [float("nan"), 5.0, 5.0]},
    )
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec.to_json()))
    res = cli("job", "run", path)
    assert_refused(res, "three positive, finite numbers")
    assert "y" not in [v.name for v in Project.open(seeded, mode="read").catalog.volumes()]


def test_full_disk_leaves_nothing(monkeypatch, cli, seeded, imagej_tiff):
    """Simulated: the store's writes fail with ENOSPC."""
    from emstudio.core.volume import store

    def failing(self, z0, block):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.VolumeWriter, "write_slab", failing)
    before = project_state(seeded)
    res = cli("import", seeded, imagej_tiff[0], "--name", "full")
    assert_refused(res, "No space left on device")
    assert project_state(seeded) == before


def test_read_only_export_destination(tmp_path, monkeypatch, cli, seeded):
    """Simulated (root may write anywhere): the destination folder reports not writable."""
    target = tmp_path / "locked"
    target.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m: False if str(p) == str(target) else real_access(p, m)
    )
    assert_refused(cli("export", seeded, "raw", "--out", target / "x.tif"), "not writable")
    assert list(target.iterdir()) == []


def test_export_into_the_project_is_refused(cli, seeded):
    """The next writer would take the export for a leftover and delete it."""
    out = seeded / "data" / "x.zarr"
    assert_refused(cli("export", seeded, "raw", "--out", out), "inside the project folder")
    assert not out.exists()


def test_export_never_overwrites(tmp_path, cli, seeded):
    out = tmp_path / "exists.tif"
    out.write_bytes(b"precious")
    assert_refused(cli("export", seeded, "raw", "--out", out), "already exists")
    assert out.read_bytes() == b"precious"


def test_newer_schema(cli, seeded, imagej_tiff):
    db = sqlite3.connect(seeded / "project.sqlite")
    db.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    db.close()
    assert_refused(cli("info", seeded), "newer emstudio")
    assert_refused(cli("import", seeded, imagej_tiff[0], "--name", "y"), "newer emstudio")


def test_two_processes_on_one_project(cli, seeded, imagej_tiff):
    with Project.open(seeded):
        proc = subprocess.run(
            emstudio_command("import", str(seeded), str(imagej_tiff[0]), "--name", "y"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 2
    assert "open in another process" in proc.stderr and "Traceback" not in proc.stderr


def _wait_for_staging(data_dir, proc, timeout=60.0, pattern="") -> bool:
    """Wait until the import has started writing (a .tmp-* store exists under data/, holding
    ``pattern`` when given)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        for store in (p for p in data_dir.iterdir() if p.name.startswith(".tmp-")):
            if not pattern or any(store.glob(pattern)):
                return True
        time.sleep(0.01)
    return False


def _start_a_long_import(tmp_path, project) -> subprocess.Popen:
    """`emstudio import` of a 128 MB stack, in a process of its own (stderr piped)."""
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, em_stack(shape=(128, 1024, 1024)))
    return subprocess.Popen(
        emstudio_command("import", str(project), str(path), "--name", "big"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.25])
def test_kill_9_mid_import_leaves_a_consistent_project(tmp_path, seeded, delay):
    before = project_state(seeded)
    proc = _start_a_long_import(tmp_path, seeded)
    assert _wait_for_staging(seeded / "data", proc), "the import never started writing"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert any(p.name.startswith(".tmp-") for p in (seeded / "data").iterdir())
    with Project.open(seeded) as project:  # opens fine; recovery runs
        names = [v.name for v in project.catalog.volumes()]
        statuses = [j.status for j in project.catalog.jobs()]
    assert (names, sorted(p.name for p in (seeded / "data").iterdir())) == before
    assert statuses == ["done", "interrupted"]


def test_an_interrupt_after_the_job_finished_keeps_its_result(
    monkeypatch, cli, seeded, imagej_tiff
):
    from emstudio.cli.commands import data

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C just as the command reports the finished import

    monkeypatch.setattr(data, "print", interrupted, raising=False)
    res = cli("import", seeded, imagej_tiff[0], "--name", "late")
    assert res.code == 0 and "interrupted after job" in res.err and "results are kept" in res.err
    with Project.open(seeded, mode="read") as project:
        assert project.catalog.has_volume_name("late")
        assert project.catalog.jobs()[-1].status == "done"


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGHUP"])  # kill, or the terminal closed
def test_sigterm_cancels_a_command_and_cleans_up(tmp_path, seeded, stop):
    """`kill` (or `emstudio job cancel`) on `emstudio import`: cancelled, nothing left over."""
    before = project_state(seeded)
    proc = _start_a_long_import(tmp_path, seeded)
    # once its planes are being written: a signal while zarr's own thread makes the store's
    # first file may see that file made after the clean-up, for the next open to remove
    assert _wait_for_staging(seeded / "data", proc, pattern="0/0.*"), "it never wrote a plane"
    proc.send_signal(getattr(signal, stop))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "emstudio: cancelled" in err, err
    assert project_state(seeded) == before  # its staging store removed by the job itself
    with Project.open(seeded, mode="read") as project:
        assert project.catalog.jobs()[-1].status == "cancelled"


def test_an_internal_error_exits_1_and_leaves_a_report(monkeypatch, cli, seeded, imagej_tiff):
    from emstudio.core.volume import ingest

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ingest.VolumeWriter, "write_slab", broken)
    before = project_state(seeded)
    res = cli("import", seeded, imagej_tiff[0], "--name", "y")
    assert res.code == 1
    assert "internal error" in res.err and "last-crash.txt" in res.err
    from emstudio.core.paths import log_dir

    kept = sorted(log_dir().glob("crash-*.txt"))  # each crash kept, not only the last
    assert kept and "RuntimeError: a bug" in kept[-1].read_text(encoding="utf-8")
    assert project_state(seeded) == before
    with Project.open(seeded, mode="read") as project:
        assert project.catalog.jobs()[-1].status == "failed"


def test_a_reader_that_leaves_early_gets_no_internal_error(seeded):
    """``emstudio info P | head -1``: the rest of the output has nowhere to go."""
    proc = subprocess.Popen(
        emstudio_command("info", str(seeded)), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # before the command writes anything
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 141
    assert "internal error" not in err and "Traceback" not in err


def test_the_window_without_a_display_is_refused_with_a_message(tmp_path):
    """Qt would abort (SIGABRT) with a plugin dump; a screenshot is drawn offscreen instead."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    for args in (("gui", str(tmp_path / "nope.emproj")), ()):  # `emstudio` alone opens it too
        done = subprocess.run(
            emstudio_command(*args), env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2, done.stderr
        assert "no display to open the window on" in done.stderr
        assert "Traceback" not in done.stderr

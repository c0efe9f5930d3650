"""`emstudio --self-test`: the whole main path in job processes, plus one offscreen 3D frame."""

from __future__ import annotations

from emstudio.cli import selftest
from emstudio.cli.main import main


def test_self_test_passes_on_this_installation(cli_process):
    res = cli_process("--self-test", timeout=600)
    assert res.code == 0, res.err
    (summary,) = res.out.strip().splitlines()
    assert "self-test passed" in summary
    for step in ("import", "train", "predict", "segment", "mesh", "render"):
        assert step in summary
    assert " on " in summary  # names the device (CPU here, and says why)


def test_self_test_names_the_failing_step(monkeypatch, capsys):
    def broken() -> str:
        raise selftest.StepFailed("cannot import torch: ModuleNotFoundError")

    monkeypatch.setattr(selftest, "pipeline_steps", lambda work: [("imports", broken)])
    assert main(["--self-test"]) == 1
    err = capsys.readouterr().err
    assert "FAILED at 'imports'" in err and "cannot import torch" in err

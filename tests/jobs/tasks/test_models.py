"""Model export and import as jobs (what the app runs): a model moves to another project
through an .emmodel file, weights and card intact; an imported name never clobbers one taken."""

from __future__ import annotations

import pytest
import torch

from emstudio.core.errors import DestinationError
from emstudio.core.ml.card import build_card
from emstudio.core.ml.modelfile import write_model_folder
from emstudio.core.ml.registry import add_model, open_model
from emstudio.core.ml.unet import UNet2p5D, UNetConfig
from emstudio.core.project import Project
from emstudio.jobs.runner import run_job
from emstudio.jobs.spec import JobSpec


def add_tiny_model(project: Project, name: str, seed: int) -> None:
    torch.manual_seed(seed)
    config = UNetConfig(in_channels=3, out_channels=1, depth=2, base_channels=4)
    model = UNet2p5D(config).eval()
    card = build_card(
        name=name,
        size="custom",
        architecture=config.to_json(),
        inputs={"slices": 3, "pixel_size_nm": 10.0, "slice_step_nm": 40.0,
                "normalisation": {"mode": "volume"}},
        classes=["nuclear_envelope"], boundary=None, loss="bce_dice", training={},
        validation={}, parent=None, created_at="test", emstudio_version="test",
    )  # fmt: skip
    add_model(project, name, lambda folder: write_model_folder(folder, model, card), {})


def test_a_model_moves_between_projects_as_jobs(tmp_path):
    here, there = tmp_path / "here.emproj", tmp_path / "there.emproj"
    with Project.create(here) as project:
        add_tiny_model(project, "envelope", seed=0)
    with Project.create(there) as project:
        add_tiny_model(project, "envelope", seed=1)  # another model of the same name
    file = tmp_path / "shared" / "envelope.emmodel"
    file.parent.mkdir()
    export = JobSpec("model_export", str(here), {"model": "envelope"}, {"out": str(file)})
    exported = run_job(export)
    assert exported.status == "done" and exported.outputs["path"] == str(file)
    imported = run_job(JobSpec("model_import", str(there), {"file": str(file)}))
    assert imported.outputs == {"model": "envelope-2", "added": True}  # the name was taken
    with Project.open(here, mode="read") as project:
        original, _, _ = open_model(project, "envelope")
    with Project.open(there, mode="read") as project:
        copy, card, record = open_model(project, "envelope-2")
        other, _, _ = open_model(project, "envelope")
    assert card["name"] == "envelope-2" and card["classes"] == ["nuclear_envelope"]
    assert record.provenance["operation"] == "model-import"
    weights = [m.state_dict().values() for m in (original, copy, other)]
    assert all(torch.equal(a, b) for a, b in zip(weights[0], weights[1], strict=True))
    assert not all(torch.equal(a, c) for a, c in zip(weights[0], weights[2], strict=True))
    with pytest.raises(DestinationError, match="already exists"):  # never overwritten
        run_job(JobSpec.from_json({**export.to_json(), "id": "again"}))
    again = run_job(JobSpec("model_import", str(there), {"file": str(file)}))
    assert again.outputs == {"model": "envelope-2", "added": False}  # held already: not copied
    into_folder = run_job(JobSpec("model_export", str(here), {"model": "envelope"},
                                  {"out": str(tmp_path)}))  # fmt: skip
    assert into_folder.outputs["path"] == str(tmp_path / "envelope.emmodel")

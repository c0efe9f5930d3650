"""Models in a project: ``models/<id>/`` folders (written under a temporary name, renamed into
place, catalog row last), lookup by name, export to and import from ``.emmodel`` files."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emstudio.core.ml.card import CARD_FILE, MODEL_SUFFIX, WEIGHTS_FILE
from emstudio.core.ml.modelfile import load_model, pack, unpack
from emstudio.core.ml.unet import UNet2p5D
from emstudio.core.project import atomic, provenance
from emstudio.core.project.catalog import checked_name, free_name, utc_now
from emstudio.core.project.project import Project
from emstudio.core.project.records import ModelRecord


def models_dir(project: Project) -> Path:
    return project.path / "models"


def check_model_name(project: Project, name: str, option: str = "--out") -> str:
    """``name`` stripped; refused when empty, unusable or taken, naming the ``option``."""
    has = project.catalog.has_model_name
    return checked_name(name, "model", option, has, f"choose another {option}")


def add_model(
    project: Project,
    name: str,
    write: Callable[[Path], dict[str, Any]],
    prov: dict[str, Any],
    option: str = "--out",
) -> ModelRecord:
    """Run ``write(folder) -> card`` in a staging folder, move it to ``models/<id>`` and
    register it. Any failure leaves nothing behind (an abrupt kill leaves a ``.tmp-`` folder
    that the next ``Project.open`` removes)."""
    name = check_model_name(project, name, option)
    model_id = uuid.uuid4().hex
    owner = f"{project.job_id}-" if getattr(project, "job_id", None) else ""
    staging = models_dir(project) / f"{atomic.TMP_PREFIX}{owner}{model_id}"
    final = models_dir(project) / model_id
    models_dir(project).mkdir(exist_ok=True)
    try:
        staging.mkdir()
        card = write(staging)
        os.replace(staging, final)
        atomic.fsync_dir(models_dir(project))
        record = ModelRecord(
            id=model_id,
            name=name,
            path=final.relative_to(project.path).as_posix(),
            card=card,
            provenance=prov,
            created_at=utc_now(),
        )
        try:
            project.catalog.add_model(record)
        except BaseException:
            atomic.remove_tree(final)
            raise
        return record
    finally:
        atomic.remove_tree(staging)


def open_model(project: Project, name: str) -> tuple[UNet2p5D, dict[str, Any], ModelRecord]:
    """A project's model by name: (model on the CPU, card, catalog record)."""
    record = project.catalog.model(name)
    model, card = load_model(project.resolve(record.path))
    return model, card, record


def export_model(project: Project, name: str, out: Path) -> Path:
    """Write model ``name`` to the file ``out`` (``out/NAME.emmodel`` where ``out`` is a
    folder); the file written."""
    record = project.catalog.model(name)
    out = Path(out)
    if out.is_dir():
        out = out / f"{name}{MODEL_SUFFIX}"
    return pack(project.resolve(record.path), out, project.path)


def import_model_once(
    project: Project, path: Path, job_id: str | None = None
) -> tuple[ModelRecord, bool]:
    """``import_model`` under a free name, unless the project holds that model already:
    (the model, whether it was added)."""
    before = {m.id for m in project.catalog.models()}
    record = import_model(project, path, job_id=job_id, free=True)
    return record, record.id not in before


def same_model(project: Project, card: dict[str, Any]) -> ModelRecord | None:
    """The project's model with the weights of ``card`` (by their checksum), if any."""
    weights = card.get("weights", {}).get("sha256")
    return next(
        (m for m in project.catalog.models() if weights and m.card["weights"]["sha256"] == weights),
        None,
    )


def import_model(
    project: Project,
    path: Path,
    name: str | None = None,
    job_id: str | None = None,
    free: bool = False,
) -> ModelRecord:
    """Register the model of an ``.emmodel`` file (checked completely first) as ``name``, by
    default the card's; ``free``: a name taken already gets a number (``nuclei-2``), and a model
    the project holds already (the same weights) is not added again: it is returned."""
    card, data = unpack(Path(path))
    if name is None:
        name = str(card.get("name") or Path(path).stem)
        if free:
            known = same_model(project, card)
            if known is not None:
                return known
            name = free_name(project.catalog.has_model_name, name)
    card = {**card, "name": name}

    def write(folder: Path) -> dict[str, Any]:
        (folder / WEIGHTS_FILE).write_bytes(data)
        (folder / CARD_FILE).write_text(json.dumps(card, indent=2), encoding="utf-8")
        atomic.fsync_tree(folder)
        return card

    prov = provenance.record(
        "model-import",
        job_id=job_id,
        params={"name": name},
        inputs=[provenance.describe_input(path)],
    )
    return add_model(project, name, write, prov, "--name")

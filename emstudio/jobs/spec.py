"""A job spec: what to run, on which project, with which inputs and parameters (JSON)."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emstudio.core.errors import InputFileError

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # it names the job's folder: no path in it
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {  # kind -> "inputs.KEY" / "params.KEY" it needs
    "import": ("inputs.paths", "params.name"),
    "export": ("inputs.volume", "params.out"),
    "segment": ("inputs.prediction", "params.out"),
    "mesh": ("inputs.segmentation",),
    "measure": ("inputs.segmentation",),
    "crowd_import": ("params.image", "params.name"),
    "crowd_simulate": ("inputs.labels", "params.out"),
    "train": ("inputs.image", "inputs.labels"),
    "predict": ("inputs.image", "inputs.model"),
    "model_export": ("inputs.model", "params.out"),
    "model_import": ("inputs.file",),
}


@dataclass
class JobSpec:
    kind: str
    project: str
    inputs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def missing_fields(self) -> list[str]:
        """The fields this kind of job needs that the spec leaves out or empty."""
        sections = {"inputs": self.inputs, "params": self.params}
        return [
            name
            for name in REQUIRED_FIELDS.get(self.kind, ())
            if sections[name.split(".")[0]].get(name.split(".")[1]) in (None, "", [])
        ]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobSpec:
        fields = ("kind", "project", "inputs", "params", "device", "id")
        known = {k: data[k] for k in fields if k in data}
        return cls(**known)

    @classmethod
    def load(cls, path: str | Path) -> JobSpec:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputFileError(path, "does not exist") from None
        except (OSError, ValueError) as exc:
            raise InputFileError(path, f"is not a readable job spec ({exc})") from None
        if not isinstance(data, dict) or "kind" not in data or "project" not in data:
            raise InputFileError(path, "is not a job spec (needs 'kind' and 'project')")
        for key in ("inputs", "params"):
            if not isinstance(data.get(key, {}), dict):
                raise InputFileError(path, f"is not a job spec ('{key}' must be an object)")
        if not JOB_ID.fullmatch(str(data.get("id", "0"))):
            raise InputFileError(
                path, "is not a job spec ('id' must be letters, digits, '-' or '_', at most 64)"
            )
        spec = cls.from_json(data)
        missing = spec.missing_fields()
        if missing:
            raise InputFileError(
                path, f"is not a complete {spec.kind} job spec: it lacks {', '.join(missing)}"
            )
        return spec

"""Plain records of catalog rows (what a caller gets back; never a live cursor)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emstudio.core.io.base import VoxelSize

VOLUME_KINDS = ("image", "labels", "prediction", "segmentation")


@dataclass
class VolumeRecord:
    """A volume registered in the project: an OME-Zarr multiscale group under data/."""

    id: str
    name: str
    kind: str
    path: str
    shape: tuple[int, int, int]
    dtype: str
    voxel_size: VoxelSize
    chunks: tuple[int, int, int]
    levels: int
    source: str
    image_id: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    @property
    def nbytes(self) -> int:
        z, y, x = self.shape
        return z * y * x * np.dtype(self.dtype).itemsize

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "shape": json.dumps(list(self.shape)),
            "dtype": self.dtype,
            "voxel_size": json.dumps(self.voxel_size.to_json()),
            "chunks": json.dumps(list(self.chunks)),
            "levels": self.levels,
            "image_id": self.image_id,
            "source": self.source,
            "attrs": json.dumps(self.attrs),
            "provenance": json.dumps(self.provenance),
            "created_at": self.created_at,
        }

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> VolumeRecord:
        return cls(
            id=row["id"],
            name=row["name"],
            kind=row["kind"],
            path=row["path"],
            shape=tuple(json.loads(row["shape"])),
            dtype=row["dtype"],
            voxel_size=VoxelSize.from_json(json.loads(row["voxel_size"])),
            chunks=tuple(json.loads(row["chunks"])),
            levels=int(row["levels"]),
            image_id=row["image_id"],
            source=row["source"],
            attrs=json.loads(row["attrs"]),
            provenance=json.loads(row["provenance"]),
            created_at=row["created_at"],
        )

    def to_json(self) -> dict[str, Any]:
        data = self.to_row()
        for key in ("shape", "voxel_size", "chunks", "attrs", "provenance"):
            data[key] = json.loads(data[key])
        return data


@dataclass
class JobRecord:
    """One job's row: what ran, with which spec, and how it ended."""

    id: str
    kind: str
    status: str
    spec: dict[str, Any]
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    pid: int | None = None
    message: str | None = None
    outputs: dict[str, Any] | None = None
    device: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRecord:
        return cls(
            id=row["id"],
            kind=row["kind"],
            status=row["status"],
            spec=json.loads(row["spec"]),
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            pid=row["pid"],
            message=row["message"],
            outputs=json.loads(row["outputs"]) if row["outputs"] else None,
            device=row["device"],
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ModelRecord:
    """A trained model registered in the project (weights + model card under models/<id>/)."""

    id: str
    name: str
    path: str
    card: dict[str, Any]
    provenance: dict[str, Any]
    created_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ModelRecord:
        return cls(
            id=row["id"],
            name=row["name"],
            path=row["path"],
            card=json.loads(row["card"]),
            provenance=json.loads(row["provenance"]),
            created_at=row["created_at"],
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class MeshSetRecord:
    """A set of meshes (one per object, or one scene) under meshes/<id>/, with its index.json."""

    id: str
    name: str
    path: str
    segmentation_id: str | None
    format: str
    count: int
    attrs: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    def to_row(self) -> dict[str, Any]:
        row = dict(self.__dict__)
        row["attrs"] = json.dumps(self.attrs)
        row["provenance"] = json.dumps(self.provenance)
        return row

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> MeshSetRecord:
        data = dict(row)
        data["attrs"] = json.loads(data["attrs"])
        data["provenance"] = json.loads(data["provenance"])
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

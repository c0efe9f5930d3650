"""Plain records of catalog rows (what a caller gets back; never a live cursor)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from emstudio.core.io.base import VoxelSize

if TYPE_CHECKING:
    from emstudio.core.volume.store import VolumeWriter

VOLUME_KINDS = ("image", "labels", "prediction", "segmentation")
KIND_PHRASES = {  # each kind, as messages name it
    "image": "an image",
    "labels": "a label set",
    "prediction": "a prediction map",
    "segmentation": "a segmentation",
}


def _decoded(row: sqlite3.Row, *columns: str, nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """The row as a dict, with the JSON text of ``columns`` parsed (and of ``nullable`` ones,
    which may be empty: None)."""
    data = dict(row)
    for column in columns:
        data[column] = json.loads(data[column])
    for column in nullable:
        data[column] = json.loads(data[column]) if data[column] else None
    return data


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

    @classmethod
    def new(
        cls,
        name: str,
        kind: str,
        shape: tuple[int, int, int],
        dtype: str,
        voxel_size: VoxelSize,
        source: str,
        **fields: Any,
    ) -> VolumeRecord:
        """The record of a volume about to be written: a fresh id, no path yet (the project sets
        it on commit), chunks and levels unknown ((0, 0, 0) and 0: ``take_layout`` sets them).
        ``fields``: the other fields (image_id, attrs, provenance; id, chunks, levels if known)."""
        fields = {"id": uuid.uuid4().hex, "chunks": (0, 0, 0), "levels": 0, **fields}
        return cls(
            name=name,
            kind=kind,
            path="",
            shape=shape,
            dtype=dtype,
            voxel_size=voxel_size,
            source=source,
            **fields,
        )

    @classmethod
    def new_of(
        cls, image: VolumeRecord, name: str, kind: str, source: str, **fields: Any
    ) -> VolumeRecord:
        """The record of a new uint8 volume (labels, prediction) belonging to ``image``: its
        shape and voxel size; ``fields`` as for ``new``."""
        return cls.new(
            name,
            kind,
            tuple(image.shape),
            "uint8",
            image.voxel_size,
            source,
            image_id=image.id,
            **fields,
        )

    def take_layout(self, writer: VolumeWriter) -> None:
        """Chunks and number of levels of the store ``writer`` wrote."""
        self.chunks = tuple(writer.chunks)
        self.levels = len(writer.arrays)

    @property
    def kind_phrase(self) -> str:
        """ "an image", "a label set", ... for messages."""
        return KIND_PHRASES.get(self.kind, f"a {self.kind} volume")

    @property
    def size_warning(self) -> str:
        """What a person must know about sizes measured on this volume ("" when nothing): with
        its voxel size unknown, they are in voxels, though labelled nm."""
        if self.voxel_size.known:
            return ""
        again = "its image" if self.image_id and self.kind != "image" else "it"
        return (
            f"the voxel size of {self.name!r} is unknown, so sizes here are in voxels (1 x 1 x 1 "
            f"nm recorded), not nm: import {again} again with --voxel-size Z,Y,X (nm)."
        )

    @property
    def named_class(self) -> str | None:
        """The class a segmentation's objects (or a prediction's map) were given: its ``class``
        attr, else its one class; None when nobody named it."""
        if self.attrs.get("class"):
            return str(self.attrs["class"])
        classes = self.attrs.get("classes")
        if isinstance(classes, list) and len(classes) == 1:
            return str(classes[0])
        return None

    @property
    def object_class(self) -> str:
        """What a segmentation's objects are: ``named_class``, else the volume's name."""
        return self.named_class or self.name

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
        return cls(**_decoded(row, "spec", nullable=("outputs",)))

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
        return cls(**_decoded(row, "card", "provenance"))

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
        return cls(**_decoded(row, "attrs", "provenance"))

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

"""HDF5 volumes via h5py, addressed as ``file.h5`` or ``file.h5:/path/to/dataset``.

Without a dataset path (or with a group path) the one 3D dataset in the file (or group) is used:
(z, y, x), or (z, y, x, c) with c = 1, 3 or 4; leading axes of length 1 are ignored. An ilastik
``axistags`` attribute, when present, must name the axes z, y, x (and c) in this order.
Voxel size: see ``emstudio.core.io.units`` (``element_size_um``, ``resolution``/``voxel_size``/
``pixel_size``/``spacing`` + ``unit``), looked up on the dataset, then on its parent groups.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from emstudio.core.errors import InputFileError
from emstudio.core.io.base import SourceInfo, VoxelSize
from emstudio.core.io.source_base import SourceBase, require_stack
from emstudio.core.io.units import voxel_size_from_attrs

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5")
_SPLIT = re.compile(r"\.(?:h5|hdf5|hdf|he5):", re.IGNORECASE)


def split_hdf5_path(text: str | Path) -> tuple[Path, str | None]:
    """Split ``"file.h5:/a/b"`` into (Path("file.h5"), "/a/b"); no dataset part gives None."""
    text = str(text)
    matches = list(_SPLIT.finditer(text))
    if not matches:
        return Path(text), None
    # prefer the split whose file part exists (a folder name may contain ".h5:" too)
    match = next((m for m in matches if Path(text[: m.end() - 1]).is_file()), matches[-1])
    dataset = text[match.end() :]
    return Path(text[: match.end() - 1]), (dataset if dataset.strip("/") else None)


def is_hdf5_path(text: str | Path) -> bool:
    """True when ``text`` names an HDF5 file by suffix, with or without ``:/dataset``."""
    path, _ = split_hdf5_path(text)
    return path.suffix.lower() in HDF5_SUFFIXES


@dataclass(frozen=True)
class _Layout:
    """How to index a dataset to get (z, y, x[, c]): fixed leading indices, channel handling."""

    lead: int  # number of leading length-1 axes indexed with 0
    channels: int  # 1 or 3/4
    squeeze_last: bool  # trailing channel axis of length 1


def _layout(ds: h5py.Dataset) -> _Layout | str:
    """The layout of a usable volume dataset, or a reason why it is not one."""
    shape = ds.shape
    if ds.dtype.kind not in "biuf":
        return f"has {ds.dtype} values, not numbers"
    tags = _axistags(ds)
    if tags is not None and len(tags) == len(shape):
        lead = 0
        while lead < len(tags) and tags[lead] not in "zyx" and shape[lead] == 1:
            lead += 1
        rest, channels = tags[lead:], shape[-1]
        if rest == "zyx":
            return _Layout(lead, 1, False)
        if rest == "zyxc" and channels in (1, 3, 4):
            return _Layout(lead, channels, channels == 1)
        if rest == "zyxc":
            return f"has {channels} channels; only grey and RGB(A) are supported"
        return f"has axes {tags!r} {shape}; emstudio needs z, y, x (and RGB c) in this order"
    lead = 0
    while len(shape) - lead > 3 and shape[lead] == 1:
        lead += 1
    core = shape[lead:]
    if len(core) == 3:
        return _Layout(lead, 1, False)
    if len(core) == 4 and core[-1] in (1, 3, 4):
        return _Layout(lead, core[-1], core[-1] == 1)
    return f"has shape {shape}; a 3D (z, y, x) or RGB (z, y, x, c) dataset is needed"


def _axistags(ds: h5py.Dataset) -> str | None:
    raw = ds.attrs.get("axistags")
    if raw is None:
        return None
    try:
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return "".join(str(axis["key"]).lower() for axis in json.loads(text)["axes"])
    except (ValueError, KeyError, TypeError):
        return None


def _describe(ds: h5py.Dataset) -> str:
    return f"{ds.name} {tuple(ds.shape)} {ds.dtype}"


class Hdf5Source(SourceBase):
    """A 3D volume from one HDF5 dataset, read in z-slabs with h5py."""

    def __init__(self, path: str | Path, dataset: str | None = None) -> None:
        self._path = Path(path)
        try:
            self._file = h5py.File(self._path, "r")
        except (ImportError, MemoryError):
            raise
        except Exception as exc:
            raise InputFileError(self._path, f"is not a readable HDF5 file: {exc}") from exc
        try:
            self._setup(dataset)
        except BaseException:
            self._file.close()
            raise

    def _setup(self, dataset: str | None) -> None:
        ds = self._find_dataset(dataset)
        layout = _layout(ds)
        if isinstance(layout, str):
            raise InputFileError(self._path, f"dataset {ds.name} {layout}")
        self._check_filters(ds)
        core = ds.shape[layout.lead :]
        shape = (int(core[0]), int(core[1]), int(core[2]))
        require_stack(f"{self._path}:{ds.name}", shape)
        notes: list[str] = []
        self._ds, self._layout = ds, layout
        self.info = SourceInfo(
            path=f"{self._path}:{ds.name}",
            format="hdf5",
            shape=shape,
            dtype=np.dtype(ds.dtype).newbyteorder("="),
            voxel_size=self._voxel_size(ds, notes),
            channels=layout.channels,
            notes=notes,
        )

    def _find_dataset(self, dataset: str | None) -> h5py.Dataset:
        root: h5py.Group = self._file
        if dataset:
            obj = self._file.get(dataset)
            if obj is None:
                raise InputFileError(
                    self._path,
                    f"has no dataset {dataset!r}; datasets: {self._listing(self._file)}",
                )
            if isinstance(obj, h5py.Dataset):
                return obj
            if not isinstance(obj, h5py.Group):
                raise InputFileError(self._path, f"{dataset!r} is not a dataset")
            root = obj
        datasets: list[h5py.Dataset] = []
        root.visititems(
            lambda _, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None
        )
        volumes = [d for d in datasets if isinstance(_layout(d), _Layout)]
        where = f"group {root.name}" if root.name != "/" else "file"
        if len(volumes) == 1:
            return volumes[0]
        if not volumes:
            found = self._listing(root) if datasets else "none"
            raise InputFileError(
                self._path, f"has no 3D dataset in the {where}; datasets found: {found}"
            )
        names = ", ".join(_describe(d) for d in volumes)
        raise InputFileError(
            self._path,
            f"holds several 3D datasets: {names}; choose one as "
            f"{self._path.name}:{volumes[0].name}",
        )

    @staticmethod
    def _listing(group: h5py.Group, limit: int = 10) -> str:
        datasets: list[h5py.Dataset] = []
        group.visititems(lambda _, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None)
        if not datasets:
            return "none"
        shown = ", ".join(_describe(d) for d in datasets[:limit])
        return shown + (f" and {len(datasets) - limit} more" if len(datasets) > limit else "")

    def _check_filters(self, ds: h5py.Dataset) -> None:
        plist = ds.id.get_create_plist()
        missing = []
        for index in range(plist.get_nfilters()):
            code, _, _, name = plist.get_filter(index)
            if not h5py.h5z.filter_avail(code):
                label = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
                missing.append(f"{label or 'filter'} (id {code})")
        if missing:
            raise InputFileError(
                self._path,
                f"dataset {ds.name} is compressed with {', '.join(missing)}, which this "
                "installation cannot decode; re-save it uncompressed or with gzip compression",
            )

    def _voxel_size(self, ds: h5py.Dataset, notes: list[str]) -> VoxelSize:
        node: h5py.Dataset | h5py.Group | None = ds
        while node is not None:
            found = voxel_size_from_attrs(dict(node.attrs), "hdf5", notes)
            if found is not None:
                return found
            node = node.parent if node.name != "/" else None
        return VoxelSize()

    def _read(self, z0: int, z1: int) -> np.ndarray:
        index: tuple[int | slice, ...] = (0,) * self._layout.lead + (slice(z0, z1),)
        try:
            block = self._ds[index]
        except (OSError, ValueError) as exc:
            raise InputFileError(
                self.info.path, f"planes {z0}..{z1 - 1} could not be read: {exc}"
            ) from exc
        if self._layout.squeeze_last:
            block = block[..., 0]
        return np.asarray(block, dtype=self.info.dtype)

    def _close(self) -> None:
        self._file.close()

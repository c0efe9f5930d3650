"""How volume properties read for a person (project browser, dialogs)."""

from __future__ import annotations

from datetime import datetime

from emstudio.core.io.base import VoxelSize


def format_shape(shape: tuple[int, ...]) -> str:
    return " × ".join(str(n) for n in shape)


def format_voxel_size(size: VoxelSize) -> str:
    if not size.known:
        return "unknown"
    return " × ".join(f"{v:g}" for v in size.zyx)


def format_created(stamp: str) -> str:
    """An ISO timestamp (UTC) as local date and time, to the minute."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")

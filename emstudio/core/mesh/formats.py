"""The mesh file formats offered (a light module: the command line and dialogs list them)."""

from __future__ import annotations

from emstudio.core.errors import EmstudioError

FORMATS = ("stl", "obj", "ply", "glb")
COMBINED_FORMATS = ("glb", "ply")


class MeshFormatError(EmstudioError):
    """An unknown mesh format, or one that cannot hold a combined scene."""


def check_format(fmt: str, combined: bool) -> str:
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise MeshFormatError(f"unknown mesh format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    if combined and fmt not in COMBINED_FORMATS:
        raise MeshFormatError(
            f"a combined scene keeps object ids only in {' or '.join(COMBINED_FORMATS)}; "
            f"use --format glb or ply with --combined, or drop --combined for {fmt} files."
        )
    return fmt

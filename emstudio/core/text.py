"""Words for messages people read (the command line's and the app's alike)."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 object", "2 objects" ("1 mesh", "2 meshes" with ``plural``)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def size_text(nbytes: float) -> str:
    """ "512 KiB", "3.2 MiB", "1.50 GiB": a size in the unit that reads best."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if nbytes >= scale:
            return f"{nbytes / scale:.{2 if unit == 'GiB' else 1}f} {unit}"
    return f"{nbytes / 2**10:.0f} KiB"

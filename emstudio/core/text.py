"""Words for messages people read (the command line's and the app's alike)."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 object", "2 objects" ("1 mesh", "2 meshes" with ``plural``)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"

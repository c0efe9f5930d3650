"""Which class of a label set a crowd tool works with (traced, or compared with)."""

from __future__ import annotations

from emstudio.core.errors import EmstudioError
from emstudio.core.project.records import VolumeRecord


class UnknownClassError(EmstudioError):
    """A label set has no class of the given name or value."""


def pick_class(record: VolumeRecord, wanted: str | None) -> int:
    """The label value to work with: ``wanted`` as a value or a class name; by default a class
    named nucleus/nuclear..., else the first class after background."""
    classes = {int(k): str(v) for k, v in record.attrs.get("classes", {}).items()}
    if wanted:
        if wanted.strip().isdigit():
            if int(wanted) == 0:
                raise UnknownClassError("class 0 is the background: give a class to trace.")
            return int(wanted)
        for value, name in classes.items():
            if name.lower() == wanted.strip().lower():
                return value
        raise UnknownClassError(
            f"{record.name!r} has no class {wanted!r} (classes: "
            f"{', '.join(f'{k} {v}' for k, v in sorted(classes.items())) or 'none recorded'})."
        )
    for value, name in sorted(classes.items()):
        if value and name.lower().startswith("nucle"):
            return value
    return min((v for v in classes if v), default=1)

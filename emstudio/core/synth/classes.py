"""The classes of the phantom's semantic ground truth."""

from __future__ import annotations

# background: cytoplasm, nucleoplasm, vesicles; membrane: cell (plasma) membranes;
# nuclear_envelope: both envelope membranes and the lumen between them; mitochondria: filled,
# outer membrane included
BACKGROUND = 0
MEMBRANE = 1
NUCLEAR_ENVELOPE = 2
MITOCHONDRIA = 3
CLASS_NAMES: dict[int, str] = {
    BACKGROUND: "background",
    MEMBRANE: "membrane",
    NUCLEAR_ENVELOPE: "nuclear_envelope",
    MITOCHONDRIA: "mitochondria",
}

"""Deterministic EM-like phantom with ground truth (demo project, test fixture)."""

from emstudio.core.synth.phantom import (
    BACKGROUND,
    CLASS_NAMES,
    MEMBRANE,
    MITOCHONDRIA,
    NUCLEAR_ENVELOPE,
    PhantomSlab,
    PhantomSpec,
    render,
    render_slab,
)

__all__ = [
    "BACKGROUND",
    "CLASS_NAMES",
    "MEMBRANE",
    "MITOCHONDRIA",
    "NUCLEAR_ENVELOPE",
    "PhantomSlab",
    "PhantomSpec",
    "render",
    "render_slab",
]

"""A deterministic, SBF-SEM/FIB-SEM-looking synthetic volume ("phantom") with exact ground truth.

The phantom is the demo project and the test fixture of the whole pipeline. Every object is
analytic and fixed by ``PhantomSpec.create(shape, seed, voxel_size_nm)``; a voxel's value depends
only on the spec and its position, so any z-range rendered on its own (``render_slab``) is
bit-identical to the same planes of ``render``. Large phantoms are made slab by slab, with memory
proportional to the slab (plus ~50 MB of work space per worker).

Content (axis order (z, y, x), physical units nm, so it follows the voxel size):

* cells: a power (Laguerre) tessellation of random seeds in nm, built on gently warped
  coordinates: space-filling cells of mixed sizes (~1-1.6 um; nucleated cells larger) with
  slightly wavy faces; the membranes are thin dark sheets. Cells are stacked in z, so some
  membranes lie nearly parallel to the XY plane; those look like faint grey smears in an XY
  plane (as in real serial-section images) and like thin lines in XZ/YZ.
* nuclei: in the large cells only: an ellipsoid with a double envelope (two dark lines with a
  light lumen), darker granular nucleoplasm, heterochromatin under the envelope and in clumps,
  a nucleolus.
* mitochondria: capsules (short axis 16-24 px at 10 nm, >= 3 planes at 40 nm) of random
  orientation (biased towards XY) with a dark outer membrane and lamellar cristae, inside cells,
  never touching a membrane, a nucleus or each other; each is its own instance.
* vesicles: small dark-rimmed spheres with a light lumen, alone or in clusters.
* image formation: cytoplasm with smooth low-frequency shading, per-cell tone, granularity and
  ribosome-like dots; membrane profiles blurred analytically along z (section thickness); an
  in-plane PSF; signal-dependent Gaussian (Poisson-like) noise; slice-to-slice brightness
  drift; uint8, membranes dark on light cytoplasm as in (inverted) backscatter images.

Ground truth: ``semantic`` (``CLASS_NAMES``), ``mito_instances`` and ``nuclei`` (uint32, 0 = none,
ids 1..N; every id of the spec is present in ``render(spec)`` and 6-connected), ``cells`` (uint32,
the cell owning each voxel: 1 + its seed index, so not consecutive). Thin-sheet truth is tunnel
free: a band is widened by half the voxel extent along its normal, so a sheet parallel to XY
still covers whole planes and face-adjacent voxels of two cells always include a membrane voxel.
"""

from emstudio.core.synth.classes import (
    BACKGROUND,
    CLASS_NAMES,
    MEMBRANE,
    MITOCHONDRIA,
    NUCLEAR_ENVELOPE,
)
from emstudio.core.synth.rendering import render, render_slab
from emstudio.core.synth.spec import PhantomSlab, PhantomSpec

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

"""The phantom's numbers: geometry (nm) and image formation (intensity 0..1, later x255)."""

from __future__ import annotations

# --- geometry (nm) -----------------------------------------------------------------------------
PAD = 1300.0  # seeds this far outside the volume, so border cells are whole
GAMMA = 0.9  # RSA exclusion: |a - b| >= GAMMA * (R_a + R_b)
R_SMALL = (420.0, 600.0)  # nominal radius of a cell without a nucleus
R_BIG = (760.0, 860.0)  # nominal radius of a cell with a nucleus
BIG_DENSITY = 0.2  # nucleated cells per um^3 of volume (at least one)
MEM_HALF = 15.0  # half thickness of the membrane truth band (+ half the voxel extent)
REACH = 64.0  # nm: cell-boundary distances are exact below this (profiles vanish beyond)
WARP = 20.0  # nm, largest displacement per axis of the coordinates the cells are built on
TILE = 32  # in-plane tile of the cell assignment (fixed grid)
NE_OFFSET = 20.0  # the two envelope membranes lie at d = -20 and +20 nm of the ellipsoid
NE_HALF = 29.0  # half thickness of the envelope truth band (+ half the voxel extent)
NUC_AXES_XY = (360.0, 560.0)
NUC_AXIS_Z = (300.0, 480.0)
MITO_RADIUS = (80.0, 120.0)  # 16-24 px short axis at 10 nm; >= 4 planes at 40 nm
MITO_LENGTH = (200.0, 850.0)  # axis segment; long axis = length + 2 * radius
MITO_DENSITY = 8.0  # per um^3 of cytoplasm
VES_RADIUS = (22.0, 50.0)
VES_CLUSTER_DENSITY = 2.0  # clusters per um^3 of cytoplasm (each ~7 vesicles)
VES_SINGLE_DENSITY = 12.0
# keep-out margins (nm) between an object surface and a cell's power plane / a nucleus ellipsoid
MARGIN_MITO_CELL = 60.0 + WARP
MARGIN_VES_CELL = 50.0 + WARP
MARGIN_NUC_CELL = 130.0 + WARP
MARGIN_MITO_NUC = 110.0
MARGIN_VES_NUC = 80.0
POOL = 256  # random points per cell for placing objects

# --- image formation (intensity 0..1, later x255) ----------------------------------------------
CYTO = 0.70
CELL_TONE = 0.035  # +- per cell
LOWFREQ_AMP = 0.035
MEM_DARK = 0.65  # peak relative darkening of an in-plane membrane
MEM_SIGMA = 7.0  # nm, intrinsic membrane profile
Z_BLUR = 0.4  # z PSF sigma, in units of the z voxel size (section thickness)
NUCLEOPLASM = 0.60
HETEROCHROMATIN = 0.36
NUCLEOLUS = 0.34
NE_DARK = 0.42
NE_SIGMA = 5.5
MITO_MATRIX = (0.30, 0.37)
CRISTAE = 0.22
MITO_DARK = 0.32
VES_LUMEN = 0.84
VES_DARK = 0.75
GRAIN = (0.035, 0.065, 0.04)  # cytoplasm, nucleus, mitochondrion (std after filtering)
DOT_DENSITY = 5e-3  # ribosome-like dots per px of cytoplasm
DOT_PEAK = 0.12  # their darkening
PSF_PX = 1.0  # in-plane PSF sigma (px); also shapes the granularity
PLANE_GAIN = 0.02
NOISE_SHOT = 0.003
NOISE_READ = 0.002

# --- work units ---------------------------------------------------------------------------------
ROWS = 32  # row block of the random numbers; work units start on multiples of it

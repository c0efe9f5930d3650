"""Parameters of instance segmentation, and the documented presets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from emstudio.core.errors import EmstudioError

FLOODS = ("boundary", "distance")
MODES = ("auto", "watershed", "components")  # instances by flooding, or components only


class SegmentParamsError(EmstudioError):
    """A segmentation parameter is out of range or unknown."""


@dataclass(frozen=True)
class InstanceParams:
    """Thresholds are probabilities in 0..1 (compared with the stored uint8 maps / 255).

    seeds = connected components of (area > area_threshold and boundary < boundary_threshold);
    flooding from the seeds over ``flood`` ("boundary": the boundary map, "distance": the
    negated distance to the foreground's edge) restricted to area > foreground_threshold;
    objects smaller than ``min_size`` voxels (or ``min_volume_nm3``) are removed.
    """

    area_threshold: float = 0.5
    boundary_threshold: float = 0.5
    foreground_threshold: float = 0.5
    min_size: int = 0
    min_volume_nm3: float | None = None
    flood: str = "boundary"
    fill_holes: bool = False

    def __post_init__(self) -> None:
        for name in ("area_threshold", "boundary_threshold", "foreground_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SegmentParamsError(
                    f"--{name.replace('_', '-')} must lie in 0..1 (a probability), got {value}."
                )
        if self.flood not in FLOODS:
            raise SegmentParamsError(f"--flood must be one of {FLOODS}, got {self.flood!r}.")
        volume = self.min_volume_nm3
        usable = volume is None or (math.isfinite(volume) and volume >= 0)
        if self.min_size < 0 or not usable:
            raise SegmentParamsError("the minimum object size must be 0 or a positive number.")

    def min_voxels(self, voxel_size_nm: tuple[float, float, float]) -> int:
        """The size filter in voxels (``min_volume_nm3`` wins when given)."""
        if self.min_volume_nm3 is None:
            return int(self.min_size)
        return math.ceil(self.min_volume_nm3 / math.prod(voxel_size_nm))

    def with_changes(self, **changes: Any) -> InstanceParams:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Preset:
    name: str
    params: InstanceParams
    source: str


# the app's and the command line's starting point: on the demo phantom, a trained model's
# mitochondria maps gave AP-75 0.78 with it against 0.53 with bc-watershed (objects ranked by
# size), whose high foreground threshold (0.85) shrinks objects below IoU 0.75
DEFAULT_PRESET = "crick-mitoem"

PRESETS: dict[str, Preset] = {
    "crick-mitoem": Preset(
        "crick-mitoem",
        InstanceParams(
            area_threshold=0.5, boundary_threshold=0.5, foreground_threshold=0.5, min_size=1500
        ),
        "The Crick vEM mitochondria workflow (the MitoEM challenge approach): seeds where "
        "area > 0.5 and boundary < 0.5, flooded over the area > 0.5 foreground, objects below "
        "1500 voxels removed.",
    ),
    "bc-watershed": Preset(
        "bc-watershed",
        InstanceParams(
            area_threshold=0.9, boundary_threshold=0.8, foreground_threshold=0.85, min_size=128
        ),
        "PyTorch Connectomics `bc_watershed` defaults (thres1 seed 0.9, thres2 boundary 0.8, "
        "thres3 foreground 0.85, thres_small 128), the MitoEM U3D-BC baseline (Wei et al., "
        "MICCAI 2020; Lin et al., 2021). PyTC floods the negated area map; emstudio floods the "
        "boundary map by default (or the distance transform with flood='distance').",
    ),
}


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise SegmentParamsError(
            f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}."
        ) from None

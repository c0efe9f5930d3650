"""OME-NGFF 0.4 multiscales metadata (read by napari, neuroglancer, webKnossos, Fiji/MoBIE)."""

from __future__ import annotations

from typing import Any

NGFF_VERSION = "0.4"
AXES = [
    {"name": "z", "type": "space", "unit": "nanometer"},
    {"name": "y", "type": "space", "unit": "nanometer"},
    {"name": "x", "type": "space", "unit": "nanometer"},
]
UNIT_TO_NM = {
    "angstrom": 0.1,
    "nanometer": 1.0,
    "micrometer": 1000.0,
    "millimeter": 1e6,
    "meter": 1e9,
}


def multiscales(
    name: str, level_scales: list[tuple[float, float, float]], downsampling: str
) -> list[dict[str, Any]]:
    """The ``multiscales`` attribute for levels ``"0".."n-1"`` with their voxel sizes (nm)."""
    datasets = [
        {
            "path": str(i),
            "coordinateTransformations": [{"type": "scale", "scale": list(map(float, scale))}],
        }
        for i, scale in enumerate(level_scales)
    ]
    return [
        {
            "version": NGFF_VERSION,
            "name": name,
            "axes": AXES,
            "datasets": datasets,
            "type": downsampling,
        }
    ]


def level_scales(attrs: dict[str, Any]) -> list[tuple[float, float, float]]:
    """Voxel size in nm of each dataset of the first multiscale (spatial axes only, z, y, x)."""
    ms = attrs["multiscales"][0]
    axes = ms.get("axes") or AXES
    factors = [UNIT_TO_NM.get(str(a.get("unit", "nanometer")), 1.0) for a in axes]
    scales = []
    for dataset in ms["datasets"]:
        scale = [1.0] * len(axes)
        for transform in dataset.get("coordinateTransformations", []):
            if transform.get("type") == "scale":
                scale = [float(v) for v in transform["scale"]]
        nm = [s * f for s, f in zip(scale, factors, strict=False)]
        scales.append(tuple(nm[-3:]))
    return scales

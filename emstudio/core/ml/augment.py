"""Training augmentation of a batch on its device: flips/rot90, intensity (brightness,
contrast, gamma), blur, noise, and optional elastic deformation. Random numbers come from a
CPU ``torch.Generator``, so a seeded run is reproducible on any device."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    flips: bool = True
    intensity: bool = True
    blur: float = 0.25  # probability per patch
    noise: float = 0.25  # probability per patch
    elastic: bool = False

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def off(cls) -> AugmentConfig:
        return cls(flips=False, intensity=False, blur=0.0, noise=0.0, elastic=False)


Tensors = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]


def augment(
    tensors: Tensors,
    config: AugmentConfig,
    gen: torch.Generator,
    turnable: Sequence[bool] | None = None,
) -> Tensors:
    """(image (B,C,H,W), index (B,H,W), boundary (B,H,W) | None, mask (B,H,W)), augmented.

    Patches not ``turnable`` (XZ/YZ views of anisotropic data: blurred along z) are mirrored
    and turned by 180 degrees only, so z stays vertical as it is when predicting."""
    image, index, boundary, mask = tensors
    if config.flips:
        turnable = [True] * image.shape[0] if turnable is None else list(turnable)
        image, index, boundary, mask = _dihedral(image, index, boundary, mask, gen, turnable)
    if config.elastic:
        image, index, boundary, mask = _elastic(image, index, boundary, mask, gen)
    if config.intensity:
        image = _intensity(image, gen)
    if config.blur > 0:
        image = _blur(image, config.blur, gen)
    if config.noise > 0:
        image = _noise(image, config.noise, gen)
    return image, index, boundary, mask


def _uniform(gen: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def _dihedral(image, index, boundary, mask, gen, turnable: list[bool]):
    b = image.shape[0]
    square = image.shape[-1] == image.shape[-2]
    turns = torch.randint(0, 4 if square else 1, (b,), generator=gen).tolist()
    turns = [t if ok else 2 * (t % 2) for t, ok in zip(turns, turnable, strict=True)]
    flips = torch.randint(0, 2, (b,), generator=gen).tolist()

    def move(x: torch.Tensor | None, i: int) -> torch.Tensor | None:
        if x is None:
            return None
        y = torch.rot90(x[i], turns[i], dims=(-2, -1))
        return torch.flip(y, dims=(-1,)) if flips[i] else y

    def stack(x):
        return None if x is None else torch.stack([move(x, i) for i in range(b)])

    return stack(image), stack(index), stack(boundary), stack(mask)


def _intensity(image: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    b = image.shape[0]
    shape = (b, 1, 1, 1)
    contrast = _uniform(gen, b, 0.75, 1.3).view(shape).to(image)
    brightness = _uniform(gen, b, -0.25, 0.25).view(shape).to(image)
    gamma = torch.exp(_uniform(gen, b, -0.35, 0.35)).view(shape).to(image)
    low = image.amin(dim=(1, 2, 3), keepdim=True)
    high = image.amax(dim=(1, 2, 3), keepdim=True)
    span = (high - low).clamp_min(1e-3)
    image = ((image - low) / span).clamp(0, 1) ** gamma * span + low
    return image * contrast + brightness


def _gaussian_kernel(sigma: float, device) -> torch.Tensor:
    radius = max(1, round(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _blur(image: torch.Tensor, probability: float, gen: torch.Generator) -> torch.Tensor:
    b, c = image.shape[:2]
    chosen = (torch.rand(b, generator=gen) < probability).tolist()
    sigmas = _uniform(gen, b, 0.5, 1.5).tolist()
    out = []
    for i in range(b):
        x = image[i : i + 1]
        if chosen[i]:
            k = _gaussian_kernel(sigmas[i], image.device).to(image.dtype)
            pad = len(k) // 2
            x = F.conv2d(
                F.pad(x, (pad, pad, 0, 0), mode="reflect"),
                k.view(1, 1, 1, -1).repeat(c, 1, 1, 1),
                groups=c,
            )
            x = F.conv2d(
                F.pad(x, (0, 0, pad, pad), mode="reflect"),
                k.view(1, 1, -1, 1).repeat(c, 1, 1, 1),
                groups=c,
            )
        out.append(x)
    return torch.cat(out)


def _noise(image: torch.Tensor, probability: float, gen: torch.Generator) -> torch.Tensor:
    b = image.shape[0]
    chosen = (torch.rand(b, generator=gen) < probability).float()
    sigma = (_uniform(gen, b, 0.05, 0.2) * chosen).view(b, 1, 1, 1)
    noise = torch.randn(image.shape, generator=gen)
    return image + (noise * sigma).to(image)


def _elastic(image, index, boundary, mask, gen):
    """A smooth random displacement (up to ~4 % of the patch), same for image and labels."""
    b, _, h, w = image.shape
    coarse = (torch.rand((b, 2, 5, 5), generator=gen) * 2 - 1) * 0.08
    flow = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
    ys = torch.linspace(-1, 1, h)
    xs = torch.linspace(-1, 1, w)
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)  # (h, w, [x, y])
    grid = (grid.unsqueeze(0) + flow.permute(0, 2, 3, 1)).to(image.device)

    def warp(x: torch.Tensor | None, mode: str) -> torch.Tensor | None:
        if x is None:
            return None
        src = x.unsqueeze(1).float() if x.dim() == 3 else x
        out = F.grid_sample(
            src, grid.to(src.dtype), mode=mode, padding_mode="zeros", align_corners=True
        )
        return out[:, 0].to(x.dtype) if x.dim() == 3 else out

    return (
        warp(image, "bilinear"),
        warp(index, "nearest"),
        warp(boundary, "nearest"),
        warp(mask, "nearest"),
    )

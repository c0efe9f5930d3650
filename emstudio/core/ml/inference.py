"""Running a model over batches of tiles: batch norms folded into the convolutions, autocast
(bf16/fp16) and channels_last on CUDA, batch size from free GPU memory, a smaller batch after an
out-of-memory error (and a clear message when even one tile does not fit), optional flip
test-time augmentation, optional compile."""

from __future__ import annotations

from collections.abc import Callable

import torch

from emstudio.core.ml.device import autocast, free_memory, is_out_of_memory
from emstudio.core.ml.errors import DeviceError
from emstudio.core.ml.geometry import TTA_FLIPS
from emstudio.core.ml.losses import probabilities
from emstudio.core.ml.unet import UNet2p5D, folded_for_inference

CPU_BATCH_PIXELS = 2**18  # pixels per batch on the CPU (one 512 tile, four of 256)
# pixels per batch on a GPU at most: 16 tiles of 1024. Larger batches are no faster (a tile that
# size fills the GPU already), and a compiled model pads a plane group's last batch with blank
# tiles to its one batch size. With batches of up to 256 tiles, that padding made a compiled
# 517 x 2048 x 4096 job at 40 x 10 x 10 nm on an H200 slower than the plain model (9.7 against
# 6.3 s a column): a column's plane groups held 1-2 tiles a plane, a fraction of a batch
MAX_BATCH_PIXELS = 2**24
MEMORY_SHARE = 0.6  # of the free GPU memory a batch may use


def _flip(dims: tuple[int, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: x.flip(dims) if dims else x


class TileRunner:
    """Probabilities (N, outputs, H, W) float32 for tiles (N, slices, H, W) on ``device``."""

    def __init__(
        self,
        model: UNet2p5D,
        classes: int,
        loss: str,
        device: torch.device,
        *,
        batch: int | None = None,
        tta: bool = False,
        compile: bool = False,
        log: Callable[[str], None] = lambda _m: None,
    ) -> None:
        self.device = device
        self.classes = classes
        self.loss = loss
        self.tta = tta
        self.log = log
        if device.type == "cuda":  # tiles keep one shape per axis: let cuDNN pick its fastest
            torch.backends.cudnn.benchmark = True
        net = folded_for_inference(model) if isinstance(model, UNet2p5D) else model.eval()
        self.model = net.to(device).to(memory_format=torch.channels_last)
        # one static graph per tile shape: batches are padded to one size (``_padded``), and
        # the batch is sized with the plain model, so a job compiles once per view's tiles
        # instead of again for each new batch size and then for any size
        self.net = torch.compile(self.model, dynamic=False) if compile else self.model
        self.batch = batch

    def size_batch(self, tile_shape: tuple[int, int, int]) -> int:
        """A batch for tiles of ``tile_shape`` (slices, H, W): on CUDA what the free memory holds
        (measured) up to ``MAX_BATCH_PIXELS``, on a CPU ``CPU_BATCH_PIXELS``."""
        if self.batch is not None:
            return self.batch
        if self.device.type != "cuda":
            self.batch = max(1, CPU_BATCH_PIXELS // (tile_shape[1] * tile_shape[2]))
            return self.batch
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        base = torch.cuda.memory_allocated(self.device)
        self._forward(torch.zeros((2, *tile_shape), device=self.device), plain=True)
        per_tile = max((torch.cuda.max_memory_allocated(self.device) - base) / 2, 1)
        free = free_memory(self.device) or 0
        most = MAX_BATCH_PIXELS // (tile_shape[1] * tile_shape[2])
        self.batch = int(max(1, min(most, free * MEMORY_SHARE // per_tile)))
        self.log(
            f"batch of {self.batch} tiles ({per_tile / 2**20:.0f} MiB each, "
            f"{free / 2**30:.1f} GiB free)"
        )
        return self.batch

    def _forward(self, x: torch.Tensor, plain: bool = False) -> torch.Tensor:
        """Probabilities of the tiles ``x``, by the compiled model unless ``plain``."""
        x = x.contiguous(memory_format=torch.channels_last)
        net = self.model if plain else self._net
        with torch.inference_mode(), autocast(self.device):
            if not self.tta:
                return probabilities(net(x), self.classes, self.loss)
            total = None
            for dims in TTA_FLIPS:
                flip = _flip(dims)
                p = flip(probabilities(net(flip(x)), self.classes, self.loss))
                total = p if total is None else total + p
            return total / len(TTA_FLIPS)

    def _net(self, x: torch.Tensor) -> torch.Tensor:
        """The model's logits; a compiled model that fails (no compiler on this machine, an
        unsupported GPU) is dropped for the plain one, with a note in the log."""
        if self.net is self.model:
            return self.model(x)
        try:
            return self.net(x)
        except Exception as exc:  # torch.compile raises many kinds, found at the first call
            if is_out_of_memory(exc):
                raise
            self.log(
                f"torch.compile did not work on this machine ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}): running uncompiled"
            )
            self.net = self.model
            return self.model(x)

    def _padded(self, batch: torch.Tensor, size: int) -> torch.Tensor:
        """``batch`` with blank tiles up to ``size`` for a compiled model, which then sees one
        shape (a new shape compiles again); as it is for the plain one."""
        if self.net is self.model or len(batch) == size:
            return batch
        blank = batch.new_zeros((size - len(batch), *batch.shape[1:]))
        return torch.cat([batch, blank])

    def __call__(self, tiles: torch.Tensor) -> torch.Tensor:
        size = self.size_batch(tuple(tiles.shape[1:]))
        out = []
        start = 0
        while start < len(tiles):
            try:
                batch = tiles[start : start + size]
                out.append(self._forward(self._padded(batch, size))[: len(batch)])
                start += size
            except (torch.OutOfMemoryError, RuntimeError) as exc:
                if not is_out_of_memory(exc):
                    raise
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                if size == 1:
                    raise DeviceError(
                        f"{self.device}: out of memory even for a single tile of "
                        f"{tiles.shape[-2]} x {tiles.shape[-1]}: use a smaller --tile, a smaller "
                        "model, or --device cpu."
                    ) from None
                size = max(1, size // 2)
                self.batch = size
                self.log(f"out of GPU memory: continuing with batches of {size} tiles")
        return torch.cat(out)

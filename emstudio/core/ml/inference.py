"""Running a model over batches of tiles: batch norms folded into the convolutions, autocast
(bf16/fp16) and channels_last on CUDA, batch size from free GPU memory, a smaller batch after an
out-of-memory error (and a clear message when even one tile does not fit), optional flip
test-time augmentation, optional compile."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from emstudio.core.ml.device import autocast, free_memory, input_dtype, is_out_of_memory
from emstudio.core.ml.errors import DeviceError
from emstudio.core.ml.geometry import TTA_FLIPS
from emstudio.core.ml.losses import probabilities
from emstudio.core.ml.unet import UNet2p5D, folded_for_inference

CPU_BATCH_PIXELS = 2**18  # pixels per batch on the CPU (one 512 tile, four of 256)
MAX_BATCH = 256
MEMORY_SHARE = 0.6  # of the free GPU memory a batch may use


def _flip(dims: tuple[int, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: x.flip(dims) if dims else x


def marked_varying(tiles: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """``tiles`` with the sizes ``dims`` marked for torch.compile as varying."""
    for dim in dims:
        torch._dynamo.maybe_mark_dynamic(tiles, dim)
    return tiles


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
        # compiled for batches of any size (``expect_tiles``). Padding every batch to one static
        # size was slower on an H200: the padding filled partial batches of up to 256 tiles with
        # blank ones (517 x 2048 x 4096 at 40 x 10 x 10 nm: 9.7 s a column, against 4.4 s with
        # the batch size left to vary and 6.3 s plain)
        self.net = torch.compile(self.model) if compile else self.model
        self.batch = batch
        self.varying: tuple[int, ...] = (0,)  # tile sizes a compiled model takes as varying

    def expect_tiles(self, shapes: Iterable[tuple[int, int]]) -> None:
        """Tell the model the (H, W) tile shapes of the job: a compiled one takes the batch size
        and the plane sizes that differ among them as varying, and so compiles once per job.
        Else torch compiles again at the first batch of another size and at the first tile of
        another shape (about 20 s each on an H200, in a job's first column). Sizes that are the
        same in every shape stay fixed, as torch would leave them."""
        rows, cols = zip(*shapes, strict=True)
        self.varying = (0, *(d for d, sizes in ((2, rows), (3, cols)) if len(set(sizes)) > 1))

    def size_batch(self, tile_shape: tuple[int, int, int]) -> int:
        """A batch for tiles of ``tile_shape`` (slices, H, W): measured on CUDA, 256 kpx on CPU."""
        if self.batch is not None:
            return self.batch
        if self.device.type != "cuda":
            self.batch = max(1, CPU_BATCH_PIXELS // (tile_shape[1] * tile_shape[2]))
            return self.batch
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        base = torch.cuda.memory_allocated(self.device)
        # tiles of the type the job's come in: a compiled model compiles once, for them
        self._forward(
            torch.zeros((2, *tile_shape), dtype=input_dtype(self.device), device=self.device)
        )
        per_tile = max((torch.cuda.max_memory_allocated(self.device) - base) / 2, 1)
        free = free_memory(self.device) or 0
        self.batch = int(max(1, min(MAX_BATCH, free * MEMORY_SHARE // per_tile)))
        self.log(
            f"batch of {self.batch} tiles ({per_tile / 2**20:.0f} MiB each, "
            f"{free / 2**30:.1f} GiB free)"
        )
        return self.batch

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), autocast(self.device):
            if not self.tta:
                return probabilities(self._net(x), self.classes, self.loss)
            total = None
            for dims in TTA_FLIPS:
                flip = _flip(dims)
                p = flip(probabilities(self._net(flip(x)), self.classes, self.loss))
                total = p if total is None else total + p
            return total / len(TTA_FLIPS)

    def _net(self, x: torch.Tensor) -> torch.Tensor:
        """The model's logits; a compiled model that fails (no compiler on this machine, an
        unsupported GPU) is dropped for the plain one, with a note in the log."""
        if self.net is self.model:
            return self.model(x)
        try:
            return self.net(marked_varying(x, self.varying))
        except Exception as exc:  # torch.compile raises many kinds, found at the first call
            if is_out_of_memory(exc):
                raise
            self.log(
                f"torch.compile did not work on this machine ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}): running uncompiled"
            )
            self.net = self.model
            return self.model(x)

    def __call__(self, tiles: torch.Tensor) -> torch.Tensor:
        size = self.size_batch(tuple(tiles.shape[1:]))
        out = []
        start = 0
        while start < len(tiles):
            try:
                out.append(self._forward(tiles[start : start + size]))
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

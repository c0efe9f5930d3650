"""Choosing the compute device, describing it, and how fast it can go."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch

from emstudio.core.ml.errors import DeviceError

DEVICES = ("auto", "cpu", "cuda", "mps")


def select_device(requested: str = "auto") -> torch.device:
    """``auto``: CUDA if available, else MPS, else CPU. An absent device asked for by name
    is an error, not a silent fallback."""
    requested = (requested or "auto").lower()
    kind = requested.split(":", 1)[0]
    if kind not in DEVICES:
        raise DeviceError(f"unknown device {requested!r}: use auto, cpu, cuda or mps.")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        why = (
            "this emstudio's PyTorch was built without CUDA"
            if torch.version.cuda is None
            else "no NVIDIA GPU is visible (driver missing, or CUDA_VISIBLE_DEVICES hides it)"
        )
        raise DeviceError(f"CUDA was asked for but is not available: {why}. Use --device cpu.")
    if kind == "mps" and not _mps_available():
        raise DeviceError("MPS (Apple GPU) was asked for but is not available. Use --device cpu.")
    return torch.device(requested)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def describe(device: torch.device) -> str:
    """For the job record: ``cuda:0 (NVIDIA H100 80GB HBM3, 79.1 GiB)``, ``cpu (16 threads)``."""
    if device.type == "cuda":
        index = device.index or 0
        props = torch.cuda.get_device_properties(index)
        return f"cuda:{index} ({props.name}, {props.total_memory / 2**30:.1f} GiB)"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def autocast(device: torch.device, enabled: bool = True) -> AbstractContextManager:
    """bf16 (or fp16 where bf16 is unsupported) autocast on CUDA; nothing elsewhere."""
    if not enabled or device.type != "cuda":
        return nullcontext()
    return torch.autocast("cuda", dtype=input_dtype(device))


def input_dtype(device: torch.device) -> torch.dtype:
    """The type a model's inputs are prepared in: autocast's on CUDA (bf16, else fp16), which
    the model's first layer would cast them to anyway, so resampling and tiling them moves half
    the bytes; float32 elsewhere."""
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def uses_fp16(device: torch.device) -> bool:
    """True where autocast runs in fp16 (needs a gradient scaler when training)."""
    return device.type == "cuda" and not torch.cuda.is_bf16_supported()


def free_memory(device: torch.device) -> int | None:
    """Free bytes on a CUDA device (None elsewhere)."""
    if device.type != "cuda":
        return None
    free, _total = torch.cuda.mem_get_info(device)
    return int(free)


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on a GPU (for honest timings); nothing to wait for on a CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def host_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """``array`` as a CPU tensor ready to go to ``device``: in pinned memory for a GPU (a copy
    that a reading thread can make while the device computes)."""
    x = torch.from_numpy(array)
    return x.pin_memory() if device.type == "cuda" else x


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A numpy array as a tensor on ``device`` (through pinned memory to a GPU)."""
    return host_tensor(array, device).to(device, non_blocking=True)


def to_host(tensor: torch.Tensor) -> Callable[[], np.ndarray]:
    """Start copying ``tensor`` to the host; the function returned waits for the copy and gives
    it as a numpy array. From a GPU the copy runs on a stream of its own into pinned memory, so
    the device goes on with the next work meanwhile."""
    if tensor.device.type != "cuda":
        array = tensor.cpu().numpy()
        return lambda: array
    stream = _copy_stream(tensor.device)
    stream.wait_stream(torch.cuda.current_stream(tensor.device))
    host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
    with torch.cuda.stream(stream):
        host.copy_(tensor, non_blocking=True)
        tensor.record_stream(stream)  # its memory is not reused before the copy is done
        done = torch.cuda.Event()
        done.record(stream)

    def wait() -> np.ndarray:
        done.synchronize()
        return host.numpy()

    return wait


@functools.cache
def _copy_stream(device: torch.device) -> torch.cuda.Stream:
    return torch.cuda.Stream(device)

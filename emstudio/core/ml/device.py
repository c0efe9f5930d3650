"""Choosing the compute device, describing it, and how fast it can go."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

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
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


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

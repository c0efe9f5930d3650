"""Model folders on disk: ``weights.pt`` (a plain state_dict) + ``card.json``; and the portable
``.emmodel`` file (a zip of the two) that ``emstudio model export/import`` moves around.

Loading never executes code from a file: weights are read with ``torch.load(weights_only=True)``
(tensors only), checked against the sha256 recorded in the card, and must fit the architecture
the card describes exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import torch

from emstudio.core.destinations import check_new_file
from emstudio.core.errors import DestinationError
from emstudio.core.ml.card import (
    CARD_FILE,
    MODEL_SUFFIX,
    WEIGHTS_FILE,
    check_card,
    output_names,
)
from emstudio.core.ml.errors import ModelFileError
from emstudio.core.ml.losses import output_channels
from emstudio.core.ml.unet import UNet2p5D, UNetConfig, parameter_count
from emstudio.core.project.atomic import fsync_dir

MAX_MEMBER_BYTES = 2 * 2**30  # refuse absurd members of an imported file


def weights_bytes(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, buffer)
    return buffer.getvalue()


def write_model_folder(folder: Path, model: torch.nn.Module, card: dict[str, Any]) -> dict:
    """Write weights and card into ``folder`` (which must exist), durably; returns the card
    completed with the weights' checksum and size."""
    data = weights_bytes(model)
    card = {
        **card,
        "weights": {
            "file": WEIGHTS_FILE,
            "sha256": hashlib.sha256(data).hexdigest(),
            "parameters": parameter_count(model),
        },
    }
    check_card(card)
    _write_durably(folder / WEIGHTS_FILE, data)
    _write_durably(folder / CARD_FILE, json.dumps(card, indent=2).encode("utf-8"))
    fsync_dir(folder)
    return card


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def read_card(folder: Path) -> dict[str, Any]:
    path = Path(folder) / CARD_FILE
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{folder}: no {CARD_FILE}; this is not an emstudio model.") from None
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: the model card cannot be read ({exc}).") from None
    return check_card(card, str(path))


def state_from_bytes(data: bytes, card: dict[str, Any], where: str) -> dict[str, torch.Tensor]:
    """Tensors of a weights file, after checking its checksum; no code is ever run."""
    if hashlib.sha256(data).hexdigest() != card["weights"].get("sha256"):
        raise ModelFileError(
            f"{where}: the weights are corrupted (checksum differs from the card)."
        )
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of every kind: the file is not plain tensors
        raise ModelFileError(f"{where}: not a plain weights file ({type(exc).__name__}).") from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ModelFileError(f"{where}: the weights file does not hold named tensors.")
    return state


def check_channels(card: dict[str, Any], where: str) -> UNetConfig:
    """The card's architecture, which must take the card's input slices and give one output per
    class (+ background for ce_dice, + boundary): else the card describes another model."""
    try:
        config = UNetConfig.from_json(card["architecture"])
    except ModelFileError as exc:
        raise ModelFileError(f"{where}: {exc}") from None
    slices = int(card["input"]["slices"])
    outputs = output_channels(len(card["classes"]), bool(card.get("boundary")), card["loss"])
    if (config.in_channels, config.out_channels) != (slices, outputs):
        raise ModelFileError(
            f"{where}: the card does not describe these weights: its network takes "
            f"{config.in_channels} slices and gives {config.out_channels} outputs, but the card "
            f"says {slices} input slices and {outputs} outputs ({', '.join(output_names(card))})."
        )
    return config


def build_model(card: dict[str, Any], state: dict[str, torch.Tensor], where: str) -> UNet2p5D:
    model = UNet2p5D(check_channels(card, where))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelFileError(
            f"{where}: the weights do not fit the card's architecture ({first})."
        ) from None
    return model.eval()


def load_model(folder: Path) -> tuple[UNet2p5D, dict[str, Any]]:
    """The model of a folder (on the CPU, eval mode) and its card."""
    folder = Path(folder)
    card = read_card(folder)
    path = folder / WEIGHTS_FILE
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: the weights cannot be read ({exc.strerror}).") from None
    return build_model(card, state_from_bytes(data, card, str(path)), str(path)), card


def pack(folder: Path, out: Path, project_root: Path | None = None) -> Path:
    """Write ``out`` (``.emmodel``, a new file outside ``project_root``): the folder's card and
    weights in a zip file."""
    out = Path(out)
    if out.suffix.lower() != MODEL_SUFFIX:
        out = out.with_name(out.name + MODEL_SUFFIX)
    out = check_new_file(out, project_root)
    load_model(folder)  # never export a damaged model
    tmp = out.with_name(f".tmp-{out.name}")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            archive.write(Path(folder) / CARD_FILE, CARD_FILE)
            archive.write(Path(folder) / WEIGHTS_FILE, WEIGHTS_FILE)
        os.replace(tmp, out)
    except OSError as exc:
        raise DestinationError(f"{out}: cannot be written ({exc.strerror or exc}).") from None
    finally:
        with contextlib.suppress(OSError):  # a read-only folder refuses even this
            tmp.unlink(missing_ok=True)
    return out


def unpack(path: Path) -> tuple[dict[str, Any], bytes]:
    """(card, weights bytes) of an ``.emmodel`` file, fully checked (the model loads)."""
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder; give a model file (.emmodel).")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if CARD_FILE not in members or WEIGHTS_FILE not in members:
                raise ModelFileError(f"{path}: not an emstudio model file (no card or weights).")
            if any(members[m].file_size > MAX_MEMBER_BYTES for m in (CARD_FILE, WEIGHTS_FILE)):
                raise ModelFileError(f"{path}: a member is implausibly large; refused.")
            card_bytes = archive.read(CARD_FILE)
            data = archive.read(WEIGHTS_FILE)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: does not exist.") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelFileError(f"{path}: not a readable emstudio model file ({exc}).") from None
    try:
        card = json.loads(card_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the model card cannot be read ({exc}).") from None
    card = check_card(card, f"{path}")
    build_model(card, state_from_bytes(data, card, str(path)), str(path))
    return card, data

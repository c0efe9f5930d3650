"""The model card: a model's self-description (JSON), read without importing torch.

``card.json`` beside ``weights.pt`` in a model folder::

    format, format_version      "emstudio-model", 1
    name, created_at, emstudio_version, size
    architecture                UNetConfig (type, in_channels, out_channels, depth, ...)
    input                       slices, slice_step_nm, pixel_size_nm, normalisation {mode, ...}
    classes                     output class names, in output order
    boundary                    {"of": class, "instances": volume | null} or null
    loss                        "bce_dice" | "ce_dice" (fixes how outputs become probabilities)
    training                    image, labels, labelled slices, axes, parameters, epochs, device
    validation                  best epoch, Dice and IoU per output, history
    parent                      the model it started from (transfer learning) or null
    weights                     file, sha256, parameters
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from emstudio.core.ml.errors import ModelFileError
from emstudio.core.ml.labels import LabelledSlices

FORMAT = "emstudio-model"
FORMAT_VERSION = 1
WEIGHTS_FILE = "weights.pt"
CARD_FILE = "card.json"
MODEL_SUFFIX = ".emmodel"  # a model packed in one file, to move it (``modelfile.pack``)
REQUIRED = ("architecture", "input", "classes", "loss", "weights")


def check_card(card: Any, where: str = "the model card") -> dict[str, Any]:
    """The card if it is an emstudio model card this version understands; else ModelFileError."""
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ModelFileError(f"{where} is not an emstudio model card.")
    version = card.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where} has model format version {version!r}; this emstudio reads up to "
            f"{FORMAT_VERSION}. Update emstudio to use this model."
        )
    missing = [key for key in REQUIRED if key not in card]
    if missing:
        raise ModelFileError(f"{where} lacks {', '.join(missing)}.")
    inputs = card["input"]
    try:
        ok = (
            int(inputs["slices"]) >= 1
            and float(inputs["pixel_size_nm"]) > 0
            and float(inputs["slice_step_nm"]) > 0
            and inputs["normalisation"]["mode"] in ("volume", "patch")
            and isinstance(card["classes"], list)
            and len(card["classes"]) >= 1
            and card["loss"] in ("bce_dice", "ce_dice")
        )
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ModelFileError(f"{where} has an unusable input, classes or loss section.")
    return card


def output_names(card: dict[str, Any]) -> list[str]:
    """Names of the probability maps a model gives: its classes, then "boundary" if any."""
    return list(card["classes"]) + (["boundary"] if card.get("boundary") else [])


def _stem_text(stem: int) -> str:
    return f", works on {stem} x {stem} pixel cells (maps at full resolution)" if stem > 1 else ""


def project_summary(
    card: dict[str, Any], provenance: dict[str, Any], model_ids: Collection[str]
) -> list[tuple[str, str]]:
    """``summary`` of a model of a project (whose models have ``model_ids``), with where it
    came from: the file it was imported from, and a parent model that is not in this project
    (its names of images and models are those of the project it was trained in)."""
    rows = summary(card)
    parent = card.get("parent")
    if parent and parent.get("id") not in model_ids:
        elsewhere = " (a model of the project it was trained in, not of this one)"
        rows = [(k, v + elsewhere if k == "Parent model" else v) for k, v in rows]
    if provenance.get("operation") == "model-import":
        files = [i["path"] for i in provenance.get("inputs", []) if i.get("path")]
        rows.append(
            (
                "Imported",
                f"from {files[0] if files else 'a model file'}, "
                f"{_when(provenance.get('created_at'))} (the names it was trained on are those "
                "of the project it was trained in)",
            )
        )
    return rows


def summary(card: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows describing a model for a person (GUI card view, CLI listing)."""
    arch = card.get("architecture", {})
    inputs = card.get("input", {})
    training = card.get("training", {})
    validation = card.get("validation", {})
    parent = card.get("parent")
    rows = [
        ("Name", str(card.get("name", "?"))),
        ("Outputs", ", ".join(output_names(card))),
        (
            "Architecture",
            f"2.5D U-Net ({card.get('size', 'custom')}): depth {arch.get('depth')}, "
            f"{arch.get('base_channels')} base channels, "
            f"{'residual, ' if arch.get('residual') else ''}{arch.get('norm')} norm"
            + _stem_text(int(arch.get("stem", 1))),
        ),
        (
            "Input",
            f"{inputs.get('slices')} slices {inputs.get('slice_step_nm', 0):g} nm apart, "
            f"pixels of {inputs.get('pixel_size_nm', 0):g} nm, "
            f"{inputs.get('normalisation', {}).get('mode', '?')} normalisation",
        ),
        (
            "Trained on",
            f"image {training.get('image', '?')!r}, labels {training.get('labels', '?')!r}, "
            f"axes {', '.join(training.get('axes', [])) or '?'}",
        ),
        (
            "Training",
            f"{_count(training.get('epochs_run'), 'epoch')} in "
            f"{training.get('seconds', 0):.0f} s "
            f"on {training.get('device', '?')}",
        ),
    ]
    dice = validation.get("dice") or {}
    iou = validation.get("iou") or {}
    if dice:
        figures = ", ".join(
            f"{name} Dice {dice[name]:.3f} / IoU {iou.get(name, float('nan')):.3f}" for name in dice
        )
        where = validation_place(validation)
        start = validation.get("start_dice") or {}
        before = (
            "; before training, the starting model: "
            + ", ".join(f"{name} Dice {d:.3f}" for name, d in start.items())
            if start
            else ""
        )
        rows.append(
            (
                "Validation",
                f"best epoch {validation.get('best_epoch', '?')}: {figures}{where}{before}",
            )
        )
    rows.append(("Parent model", parent["name"] if parent else "none (trained from scratch)"))
    rows.append(
        (
            "Created",
            f"{_when(card.get('created_at'))} by emstudio {card.get('emstudio_version', '?')}",
        )
    )
    return rows


def validation_place(validation: dict[str, Any]) -> str:
    """ ", on patches of held-out slices z 2, 7" (or of the training slices); "" for cards
    made before this was recorded."""
    slices = validation.get("slices")
    if not slices:
        return ""
    listed = LabelledSlices.from_lists(slices).describe()
    if validation.get("held_out", True):
        return f", on patches of held-out slices {listed}"
    return (
        f", on patches of the training slices {listed} (none held out: not a score on unseen data)"
    )


def _count(number: Any, noun: str) -> str:
    """'1 epoch', '12 epochs', '? epochs'."""
    return f"{number} {noun}" if number == 1 else f"{'?' if number is None else number} {noun}s"


def _when(stamp: Any) -> str:
    """An ISO time stamp as a date and minute in the local time zone."""
    try:
        return datetime.fromisoformat(str(stamp)).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return "?"


def build_card(
    *,
    name: str,
    size: str,
    architecture: dict[str, Any],
    inputs: dict[str, Any],
    classes: list[str],
    boundary: dict[str, Any] | None,
    loss: str,
    training: dict[str, Any],
    validation: dict[str, Any],
    parent: dict[str, Any] | None,
    created_at: str,
    emstudio_version: str,
) -> dict[str, Any]:
    """A model card without its ``weights`` section (added when the weights are written)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "size": size,
        "created_at": created_at,
        "emstudio_version": emstudio_version,
        "architecture": architecture,
        "input": inputs,
        "classes": list(classes),
        "boundary": boundary,
        "loss": loss,
        "training": training,
        "validation": validation,
        "parent": parent,
    }

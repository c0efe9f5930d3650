"""Model folders and .emmodel files: round trip, and refusal of corrupted, foreign or
mismatched files without ever running code from them."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
import torch

from emstudio.core.errors import DestinationError
from emstudio.core.ml.card import CARD_FILE, WEIGHTS_FILE, check_card, project_summary, summary
from emstudio.core.ml.errors import ModelFileError
from emstudio.core.ml.modelfile import load_model, pack, unpack
from emstudio.core.ml.unet import UNet2p5D, UNetConfig


class Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def replace_weights(folder, data: bytes) -> None:
    """Put ``data`` as the weights, with a card whose checksum matches (a consistent fake)."""
    (folder / WEIGHTS_FILE).write_bytes(data)
    card = json.loads((folder / CARD_FILE).read_text())
    card["weights"]["sha256"] = hashlib.sha256(data).hexdigest()
    (folder / CARD_FILE).write_text(json.dumps(card))


def test_round_trip_gives_the_same_model(model_folder) -> None:
    folder, model, card = model_folder
    loaded, loaded_card = load_model(folder)
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert loaded_card == card and card["weights"]["parameters"] > 0
    labels = [label for label, _ in summary(card)]
    assert labels[:3] == ["Name", "Outputs", "Architecture"]


def test_a_flipped_byte_is_caught_by_the_checksum(model_folder) -> None:
    folder, *_ = model_folder
    data = bytearray((folder / WEIGHTS_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupted"):
        load_model(folder)


def test_a_pickle_with_code_is_refused_and_never_run(model_folder, tmp_path) -> None:
    folder, *_ = model_folder
    marker = tmp_path / "code-ran"
    buffer = io.BytesIO()
    torch.save({"encoder.0.conv1.weight": Payload(str(marker))}, buffer)
    replace_weights(folder, buffer.getvalue())
    with pytest.raises(ModelFileError, match="not a plain weights file"):
        load_model(folder)
    assert not marker.exists()


def test_truncated_or_garbage_weights_are_refused(model_folder) -> None:
    folder, *_ = model_folder
    replace_weights(folder, (folder / WEIGHTS_FILE).read_bytes()[:500])
    with pytest.raises(ModelFileError, match="not a plain weights file"):
        load_model(folder)
    buffer = io.BytesIO()
    torch.save([1, 2, 3], buffer)
    replace_weights(folder, buffer.getvalue())
    with pytest.raises(ModelFileError, match="named tensors"):
        load_model(folder)


def test_weights_of_another_architecture_are_refused(model_folder) -> None:
    folder, *_ = model_folder
    other = UNet2p5D(UNetConfig(in_channels=3, out_channels=2, depth=3, base_channels=4))
    buffer = io.BytesIO()
    torch.save(other.state_dict(), buffer)
    replace_weights(folder, buffer.getvalue())
    with pytest.raises(ModelFileError, match="do not fit the card"):
        load_model(folder)


def test_foreign_and_newer_cards_are_refused(model_folder) -> None:
    folder, _model, card = model_folder
    with pytest.raises(ModelFileError, match="not an emstudio model card"):
        check_card({"format": "onnx"})
    with pytest.raises(ModelFileError, match="version 99"):
        check_card({**card, "format_version": 99})
    with pytest.raises(ModelFileError, match="lacks"):
        check_card({k: v for k, v in card.items() if k != "classes"})
    with pytest.raises(ModelFileError, match="unusable input"):
        check_card({**card, "loss": "mse"})
    (folder / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelFileError, match="cannot be read"):
        load_model(folder)
    (folder / CARD_FILE).unlink()
    with pytest.raises(ModelFileError, match="not an emstudio model"):
        load_model(folder)


def test_emmodel_files_round_trip_and_refuse_impostors(model_folder, tmp_path) -> None:
    folder, _model, card = model_folder
    out = pack(folder, tmp_path / "exported")
    assert out.name == "exported.emmodel"
    loaded_card, data = unpack(out)
    assert loaded_card == card and data == (folder / WEIGHTS_FILE).read_bytes()
    (tmp_path / "plain.emmodel").write_bytes(b"hello")
    with pytest.raises(ModelFileError, match="not a readable emstudio model file"):
        unpack(tmp_path / "plain.emmodel")
    with zipfile.ZipFile(tmp_path / "other.emmodel", "w") as archive:
        archive.writestr("model.onnx", b"...")
    with pytest.raises(ModelFileError, match="no card or weights"):
        unpack(tmp_path / "other.emmodel")
    with pytest.raises(ModelFileError, match="does not exist"):
        unpack(tmp_path / "missing.emmodel")
    with pytest.raises(ModelFileError, match="is a folder; give a model file"):
        unpack(tmp_path)


@pytest.mark.parametrize(
    "change",
    [
        lambda card: card.update(classes=card["classes"][:1]),  # fewer classes than outputs
        lambda card: card["input"].update(slices=card["input"]["slices"] + 2),
        lambda card: card.update(boundary={"of": card["classes"][0], "instances": None}),
    ],
    ids=["classes", "slices", "boundary"],
)
def test_a_card_that_does_not_describe_its_weights_is_refused(model_folder, tmp_path, change):
    folder, _model, _card = model_folder
    card = json.loads((folder / CARD_FILE).read_text())
    change(card)
    (folder / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="does not describe these weights"):
        load_model(folder)
    with zipfile.ZipFile(tmp_path / "edited.emmodel", "w") as archive:
        archive.writestr(CARD_FILE, json.dumps(card))
        archive.write(folder / WEIGHTS_FILE, WEIGHTS_FILE)
    with pytest.raises(ModelFileError, match=r"edited\.emmodel: the card does not describe"):
        unpack(tmp_path / "edited.emmodel")


def test_exporting_to_a_missing_or_unwritable_place_says_so(model_folder, tmp_path) -> None:
    folder, *_ = model_folder
    with pytest.raises(DestinationError, match="folder does not exist"):
        pack(folder, tmp_path / "absent" / "m.emmodel")
    (tmp_path / "taken.emmodel").mkdir()  # a folder where the file should go
    with pytest.raises(DestinationError, match="already exists"):
        pack(folder, tmp_path / "taken.emmodel")
    (tmp_path / ".tmp-new.emmodel").mkdir()  # the temporary file cannot be made
    with pytest.raises(DestinationError, match=r"new\.emmodel: cannot be written"):
        pack(folder, tmp_path / "new.emmodel")
    assert not (tmp_path / "new.emmodel").exists()


def test_a_model_from_elsewhere_says_so(model_folder):
    _, _, card = model_folder
    card = {**card, "parent": {"name": "envelope", "id": "e1"}}
    imported = {
        "operation": "model-import",
        "inputs": [{"path": "/shared/mito.emmodel"}],
        "created_at": "2026-11-27T12:00:00+00:00",
    }
    rows = dict(project_summary(card, imported, model_ids={"m1"}))
    assert rows["Imported"].startswith("from /shared/mito.emmodel, 2026-11-2")
    assert rows["Parent model"].startswith("envelope (a model of the project it was trained in")
    rows = dict(project_summary(card, {"operation": "train"}, model_ids={"e1"}))
    assert rows["Parent model"] == "envelope" and "Imported" not in rows


def test_a_fine_tuned_models_card_shows_its_starting_models_score(model_folder):
    _, _, card = model_folder
    validation = {"best_epoch": 2, "dice": {"membrane": 0.91}, "iou": {"membrane": 0.84},
                  "start_dice": {"membrane": 0.88}}  # fmt: skip
    row = dict(summary({**card, "validation": validation}))["Validation"]
    assert row.startswith("best epoch 2: membrane Dice 0.910")
    assert row.endswith("before training, the starting model: membrane Dice 0.880")

"""The 2.5D U-Net: output shapes for each size and option, encoder parameters, config JSON."""

from __future__ import annotations

import pytest
import torch

from emstudio.core.ml import presets
from emstudio.core.ml.errors import ModelFileError
from emstudio.core.ml.unet import UNet2p5D, UNetConfig, folded_for_inference


@pytest.mark.parametrize("norm", ["batch", "group", "instance", "none"])
@pytest.mark.parametrize("residual", [True, False])
def test_output_has_one_map_per_output_at_input_size(norm, residual) -> None:
    config = UNetConfig(
        in_channels=5, out_channels=3, depth=2, base_channels=4, residual=residual, norm=norm
    )
    model = UNet2p5D(config).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 5, 32, 48))
    assert out.shape == (2, 3, 32, 48)


@pytest.mark.parametrize("size", list(presets.SIZES))
def test_presets_build_and_take_multiples_of_their_depth(size) -> None:
    preset = presets.SIZES[size]
    config = UNetConfig(
        in_channels=5,
        out_channels=2,
        depth=preset.depth,
        base_channels=preset.base_channels,
        stem=preset.stem,
    )
    assert config.multiple == preset.stem * 2**preset.depth
    model = UNet2p5D(config).eval()
    shape = (config.multiple * 2, config.multiple)
    with torch.no_grad():
        assert model(torch.zeros(1, 5, *shape)).shape == (1, 2, *shape)


def test_a_stem_runs_the_network_at_lower_resolution_and_keeps_every_output_pixel() -> None:
    torch.manual_seed(0)
    model = UNet2p5D(UNetConfig(in_channels=5, out_channels=3, depth=2, base_channels=8, stem=2))
    assert model.config.multiple == 8
    first = model.encoder[0].conv1
    assert first.in_channels == 20  # 2 x 2 pixels of 5 slices
    seen = []
    first.register_forward_hook(lambda _m, _i, out: seen.append(out.shape[-2:]))
    x = torch.randn(2, 5, 32, 48)
    with torch.no_grad():
        out = model.eval()(x)
        assert out.shape == (2, 3, 32, 48) and seen == [(16, 24)]
        # each output pixel has its own value: a one-pixel change of the input changes the
        # output at that pixel, whichever of the four positions of a 2 x 2 cell it is
        for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
            moved = x.clone()
            moved[:, :, 16 + dy, 24 + dx] += 5
            changed = (model(moved) - out).abs().sum(dim=(0, 1))
            assert changed[16 + dy, 24 + dx] > 0
    folded = folded_for_inference(model)
    with torch.no_grad():
        assert torch.allclose(folded(x), out, atol=1e-5)


def test_a_model_without_a_stem_keeps_the_tensor_names_of_earlier_files() -> None:
    names = set(UNet2p5D(UNetConfig(depth=2, base_channels=4)).state_dict())
    assert not any(n.startswith(("unfold", "fold")) for n in names)
    assert "head.weight" in names
    earlier = {k: v for k, v in UNetConfig(depth=2, base_channels=4).to_json().items()}
    del earlier["stem"]  # a card written before stems existed
    assert UNetConfig.from_json(earlier).stem == 1


def test_encoder_parameters_are_the_encoder_blocks() -> None:
    model = UNet2p5D(UNetConfig(depth=2, base_channels=4))
    names = {
        n for n, p in model.named_parameters() if any(p is q for q in model.encoder_parameters())
    }
    assert names and all(n.startswith("encoder.") for n in names)
    assert any(n.startswith("decoder.") for n, _ in model.named_parameters())


def test_config_round_trips_and_refuses_nonsense() -> None:
    config = UNetConfig(in_channels=3, out_channels=4, depth=3, base_channels=8, norm="group")
    assert UNetConfig.from_json(config.to_json()) == config
    with pytest.raises(ModelFileError):
        UNetConfig.from_json({**config.to_json(), "type": "resnet"})
    with pytest.raises(ModelFileError):
        UNetConfig.from_json({**config.to_json(), "norm": "layer"})
    with pytest.raises(ModelFileError):
        UNetConfig.from_json({"type": "unet2.5d"})
    with pytest.raises(ModelFileError):
        UNetConfig.from_json({**config.to_json(), "stem": 3})


@pytest.mark.parametrize("norm", ["batch", "group"])
def test_folded_model_computes_the_same_and_leaves_the_original(norm) -> None:
    torch.manual_seed(0)
    model = UNet2p5D(UNetConfig(in_channels=3, out_channels=2, depth=2, base_channels=4, norm=norm))
    model.train()
    with torch.no_grad():  # running statistics away from the defaults
        for _ in range(3):
            model(torch.randn(4, 3, 32, 32) * 3 + 1)
    model.eval()
    folded = folded_for_inference(model)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-5)
    norms = [m for m in folded.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert (
        not norms
        if norm == "batch"
        else not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    )
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == (norm == "batch")

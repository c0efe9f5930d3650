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
        in_channels=5, out_channels=2, depth=preset.depth, base_channels=preset.base_channels
    )
    assert config.multiple == 2**preset.depth
    model = UNet2p5D(config).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 5, config.multiple * 2, config.multiple)).shape[1] == 2


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

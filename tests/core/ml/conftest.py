"""Shared fixtures of the deep-learning tests: a small phantom, a tiny model and its card."""

from __future__ import annotations

import hashlib

import pytest
import torch
from ml_helpers import tiny_card
from torch._dynamo.utils import counters

from emstudio.core.ml.modelfile import weights_bytes, write_model_folder
from emstudio.core.ml.unet import UNet2p5D, UNetConfig
from emstudio.core.synth import PhantomSpec, render


@pytest.fixture(scope="session")
def phantom():
    """A (12, 96, 96) phantom at 40 x 10 x 10 nm: image and semantic truth."""
    slab = render(PhantomSpec.create((12, 96, 96), seed=3))
    return slab.image, slab.semantic


@pytest.fixture
def tiny_model():
    """(model, card): a random depth-2 U-Net with 3 input slices and 2 outputs."""
    torch.manual_seed(0)
    config = UNetConfig(in_channels=3, out_channels=2, depth=2, base_channels=4)
    model = UNet2p5D(config).eval()
    sha = hashlib.sha256(weights_bytes(model)).hexdigest()
    return model, {**tiny_card(config), "weights": {"file": "weights.pt", "sha256": sha}}


@pytest.fixture
def model_folder(tmp_path, tiny_model):
    model, card = tiny_model
    folder = tmp_path / "model"
    folder.mkdir()
    card = write_model_folder(folder, model, card)
    return folder, model, card


@pytest.fixture
def model(tiny_model):
    """The tiny model with realistic normalisation statistics (a few batches seen)."""
    net, card = tiny_model
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(4, 3, 32, 32))
    return net.eval(), card


@pytest.fixture
def graphs_compiled(monkeypatch):
    """torch.compile with dynamo's real tracing but the eager backend (no C compiler needed);
    gives a function counting the graphs compiled since."""
    compile_for_real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda m: compile_for_real(m, backend="eager"))
    torch._dynamo.reset()
    before = counters["stats"]["unique_graphs"]
    return lambda: counters["stats"]["unique_graphs"] - before

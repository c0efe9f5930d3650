"""Fixtures of the crowd GUI tests: a demo project with a crowd label set (built once)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from emstudio.core.crowd.importer import CrowdSource, import_crowd
from emstudio.core.crowd.simulate import SimulationOptions
from emstudio.core.crowd.simulate_labels import simulate_from_labels
from emstudio.core.project import Project
from emstudio.core.synth.demo import add_demo_volumes


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with demo.emproj, holding the crowd label set "crowd" (8 simulated volunteers,
    one adversarial, on 4 XY slices, scored against the truth too), and its export sim.csv."""
    root = tmp_path_factory.mktemp("crowd-gui")
    with Project.create(root / "demo.emproj") as project:
        add_demo_volumes(project, shape=(8, 256, 256))
        simulate_from_labels(project, "truth-classes", root / "sim.csv",
                             SimulationOptions(volunteers=8, seed=0), slices=4)  # fmt: skip
        import_crowd(project, CrowdSource(str(root / "sim.csv")), image="em", name="crowd",
                     expert="truth-classes", expert_class="nuclear_envelope")  # fmt: skip
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the crowd demo project for one test."""
    shutil.copytree(built / "demo.emproj", tmp_path / "p.emproj")
    return tmp_path / "p.emproj"

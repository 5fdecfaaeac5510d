"""Fixtures shared by every test folder; the helpers they build on are in ``tests/helpers.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import TINY_CONFIG, write_jpeg_dataset, write_micro_clip

from causalvlm.backbones import FrozenCLIP

# Class names with one, two and three words and a one-letter one, for the mediator tests.
CLASSNAMES = ["dog", "hot air balloon", "great crested grebe", "x"]


@pytest.fixture(scope="session")
def tiny_config() -> Path:
    return TINY_CONFIG


@pytest.fixture(scope="session")
def tiny_clip() -> FrozenCLIP:
    """The tiny random-init CLIP of the backbone and mediator tests."""
    torch.manual_seed(0)
    return FrozenCLIP.from_config(TINY_CONFIG)


@pytest.fixture
def classnames() -> list[str]:
    return list(CLASSNAMES)


@pytest.fixture(scope="session")
def micro_clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_micro_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="session")
def backbone(micro_clip_path: Path) -> FrozenCLIP:
    """The micro random-init CLIP (32×32 images) of the classifier, training and pipeline tests."""
    torch.manual_seed(0)
    return FrozenCLIP.from_config(micro_clip_path)


@pytest.fixture(scope="session")
def jpeg_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jpeg_dataset(tmp_path_factory.mktemp("jpegs") / "colours")


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """An empty CoOp ``$DATA`` folder."""
    root = tmp_path / "DATA"
    root.mkdir()
    return root

"""Fixtures shared by every test folder; the helpers they build on are in ``tests/helpers.py``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers import DEEP_CONFIG, TINY_CONFIG, write_jpeg_dataset, write_micro_clip

if TYPE_CHECKING:  # the backbone fixtures import torch when first used, not when tests are collected
    from causalvlm.backbones import FrozenCLIP

# Class names with one, two and three words and a one-letter one, for the mediator tests.
CLASSNAMES = ["dog", "hot air balloon", "great crested grebe", "x"]


def _random_clip(config: Path, seed: int = 0) -> FrozenCLIP:
    import torch

    from causalvlm.backbones import FrozenCLIP

    torch.manual_seed(seed)
    return FrozenCLIP.from_config(config)


@pytest.fixture(scope="session")
def tiny_config() -> Path:
    return TINY_CONFIG


@pytest.fixture(scope="session")
def tiny_clip() -> FrozenCLIP:
    """The tiny random-init CLIP of the backbone and mediator tests."""
    return _random_clip(TINY_CONFIG)


@pytest.fixture(scope="session")
def deep_clip() -> FrozenCLIP:
    """Four layers per tower and a vision width unlike the text width, so deep prompts have depths to fill."""
    return _random_clip(DEEP_CONFIG, seed=1)


@pytest.fixture
def classnames() -> list[str]:
    return list(CLASSNAMES)


@pytest.fixture(scope="session")
def micro_clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_micro_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="session")
def backbone(micro_clip_path: Path) -> FrozenCLIP:
    """The micro random-init CLIP (32×32 images) of the classifier, training and pipeline tests."""
    return _random_clip(micro_clip_path)


@pytest.fixture(scope="session")
def jpeg_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jpeg_dataset(tmp_path_factory.mktemp("jpegs") / "colours")


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    """An empty CoOp ``$DATA`` folder."""
    root = tmp_path / "DATA"
    root.mkdir()
    return root

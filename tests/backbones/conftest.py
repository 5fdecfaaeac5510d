from __future__ import annotations

from pathlib import Path

import pytest
import torch

from causalvlm.backbones import FrozenCLIP

TINY_CONFIG = Path(__file__).with_name("tiny_test_clip.json")


@pytest.fixture(scope="session")
def tiny_config() -> Path:
    return TINY_CONFIG


@pytest.fixture(scope="session")
def tiny_clip() -> FrozenCLIP:
    torch.manual_seed(0)
    return FrozenCLIP.from_config(TINY_CONFIG)


# Four layers per tower (and a vision width unlike the text width), so deep prompts have depths to fill.
DEEP_CONFIG = TINY_CONFIG.with_name("deep_test_clip.json")


@pytest.fixture(scope="session")
def deep_clip() -> FrozenCLIP:
    torch.manual_seed(1)
    return FrozenCLIP.from_config(DEEP_CONFIG)

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from causalvlm.backbones import FrozenCLIP

# The tiny random-init open_clip config shared with tests/backbones (embed 32, 2+2 layers, context 32).
TINY_CONFIG = Path(__file__).parents[1] / "backbones" / "tiny_test_clip.json"
CLASSNAMES = ["dog", "hot air balloon", "great crested grebe", "x"]


@pytest.fixture(scope="session")
def tiny_clip() -> FrozenCLIP:
    torch.manual_seed(0)
    return FrozenCLIP.from_config(TINY_CONFIG)


@pytest.fixture
def classnames() -> list[str]:
    return list(CLASSNAMES)


# Four layers per tower, vision width 48 ≠ text width 32 (shared with tests/backbones): room for deep prompts.
DEEP_CONFIG = Path(__file__).parents[1] / "backbones" / "deep_test_clip.json"


@pytest.fixture(scope="session")
def deep_clip() -> FrozenCLIP:
    torch.manual_seed(1)
    return FrozenCLIP.from_config(DEEP_CONFIG)

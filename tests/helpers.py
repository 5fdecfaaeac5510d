"""Test-only helpers shared by every test folder (importable because pytest puts ``tests/`` on sys.path
when it loads ``tests/conftest.py``). Plain numpy / PIL, so collecting the causal-core tests stays light;
``lightning_helpers`` and ``fake_mediators`` hold the torch-side helpers.

- the tiny, deep and micro random-init open_clip configs (the micro one: 32×32 images, one layer per tower);
- a small image-folder dataset of real JPEG files: 4 classes, each a colour with per-image noise, in
  ``train/`` and ``test/`` folders;
- ``replace_options``: a command line with some options replaced (run.py takes each option once).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

TESTS = Path(__file__).parent
# The tiny random-init open_clip config of the backbone and mediator tests (embed 32, 2+2 layers, context 32).
TINY_CONFIG = TESTS / "backbones" / "tiny_test_clip.json"
# Four layers per tower, vision width 48 ≠ text width 32: room for deep prompts (MaPLe, the deep-prompt path).
DEEP_CONFIG = TESTS / "backbones" / "deep_test_clip.json"
MICRO_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 24, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
CLASS_COLOURS = {
    "red_circle": (220, 40, 40),
    "green_square": (40, 200, 40),
    "blue_star": (40, 40, 220),
    "yellow_bar": (220, 220, 40),
}
BASE_CLASSES = ["blue star", "green square"]  # the first half of the sorted folder names
NEW_CLASSES = ["red circle", "yellow bar"]


def write_micro_clip(folder: Path) -> Path:
    path = folder / "micro_clip.json"
    path.write_text(json.dumps(MICRO_CLIP))
    return path


def write_jpeg_dataset(root: Path, n_train: int = 4, n_test: int = 3, size: int = 32, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for split, count in (("train", n_train), ("test", n_test)):
        for name, colour in CLASS_COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                noise = rng.integers(0, 60, (size, size, 3))
                pixels = (np.asarray(colour)[None, None] * 0.75 + noise).clip(0, 255).astype("uint8")
                Image.fromarray(pixels).save(folder / f"{index}.jpg", quality=90)
    return root


def replace_options(base: list[str], given: list[str]) -> list[str]:
    """``base`` with each option in ``given`` replacing base's own (run.py takes an option only once)."""
    names = {token for token in given if token.startswith("--")}
    kept, skipping = [], False
    for token in base:
        if token.startswith("--"):
            skipping = token in names
        if not skipping:
            kept.append(token)
    return kept + list(given)

"""Test-only helpers shared by every test folder (importable because pytest puts ``tests/`` on sys.path
when it loads ``tests/conftest.py``).

- the micro random-init open_clip config (32×32 images, one layer per tower) and a writer for it;
- a small image-folder dataset of real JPEG files: 4 classes, each a colour with per-image noise, in
  ``train/`` and ``test/`` folders;
- :class:`StopAfterEpochs`, which interrupts ``fit`` like a killed run (to test resuming);
- :func:`datamodule_from_splits`, a :class:`PromptDataModule` that reads images for training and evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
from PIL import Image

from causalvlm.data import DatasetSplits
from causalvlm.training import PromptDataModule, SeededViewsDataset

TESTS = Path(__file__).parent
# The tiny random-init open_clip config of the backbone and mediator tests (embed 32, 2+2 layers, context 32).
TINY_CONFIG = TESTS / "backbones" / "tiny_test_clip.json"
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


class StopAfterEpochs(pl.Callback):
    """Ends ``fit`` cleanly after ``epochs`` epochs, like an interrupted run (its checkpoint is saved)."""

    def __init__(self, epochs: int) -> None:
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        self.epochs = epochs

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.current_epoch + 1 >= self.epochs:
            trainer.should_stop = True


def datamodule_from_splits(
    splits: DatasetSplits,
    train_transform: Callable,
    eval_transform: Callable,
    new_splits: DatasetSplits | None = None,
    **options: Any,
) -> PromptDataModule:
    """Few-shot ``splits.train_x`` with the per-template view transform; base (and new) test images."""
    seed = options.get("seed", 1)
    val_sets = {"base": SeededViewsDataset(splits.test, eval_transform)}
    if new_splits is not None:
        val_sets["new"] = SeededViewsDataset(new_splits.test, eval_transform)
    return PromptDataModule(
        SeededViewsDataset(splits.train_x, train_transform, seed=seed), val_sets, **options
    )

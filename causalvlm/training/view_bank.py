"""A bank of pre-encoded augmented views: the frozen image tower runs once per view draw, not every epoch.

CLIP's image tower is frozen, so the feature of an augmented view depends only on the image and on the random
draw of the augmentation. :class:`ViewBank` draws K augmentations of every training image, each under a seed
fixed by the image's content and the draw index k, and encodes them once; an image in several seeds' few-shot
sets is encoded once for all of them. :class:`ViewBankDataset` then gives epoch e of run seed s the draw

    k(s, e, i) = π_{s,i}[e mod K],   π_{s,i} a permutation of 0..K−1 seeded by (s, i),

so with K ≥ the number of epochs every epoch sees a draw no earlier epoch saw — the same distribution as
augmenting afresh each epoch — and with fewer, the draws repeat every K epochs. The choice depends on
(s, e, i) only, so a resumed run reads the same views as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from causalvlm.backbones import FrozenCLIP
from causalvlm.data import Datum
from causalvlm.training.datamodule import _key, sample_seed


def image_seed(path: str) -> int:
    """A stable 62-bit integer for the image file's bytes: the same wherever the dataset folder lives."""
    with open(path, "rb") as f:
        return int.from_bytes(hashlib.sha1(f.read()).digest()[:8], "big") >> 2


def _load(datum: Datum) -> Image.Image:
    try:
        with Image.open(datum.impath) as image:
            return image.convert("RGB")
    except OSError as error:
        raise OSError(f"cannot read image {datum.impath}: {error}") from error


class ViewBank:
    """Encoded augmented views ``[K, V, D]`` per (image path, transform key), computed on first request.

    Args:
        backbone: the frozen CLIP whose image tower encodes the views.
        draws: K, the augmentation draws kept per image.
        batch_size: views encoded per forward pass.
    """

    def __init__(self, backbone: FrozenCLIP, draws: int, batch_size: int = 256) -> None:
        if int(draws) != draws or draws < 1:
            raise ValueError(f"the view bank needs at least one draw per image, got {draws!r}")
        self.backbone, self.draws, self.batch_size = backbone, int(draws), int(batch_size)
        self._store: dict[tuple[str, Hashable], Tensor] = {}
        self.encoded_images = 0  # images encoded so far (a cache hit encodes nothing)

    @torch.no_grad()
    def _encode(self, pending: list[Datum], transform: Callable, key: Hashable) -> None:
        device = self.backbone.logit_scale.device
        encoded: list[Tensor] = []
        batch: list[Tensor] = []  # [V,3,H,W] per draw, encoded whenever batch_size views are waiting

        def flush() -> None:
            views = torch.stack(batch)  # [b, V, 3, H, W]
            features = self.backbone.encode_image(views.flatten(0, 1).to(device)).float().cpu()
            encoded.append(features.view(views.shape[0], views.shape[1], -1))
            batch.clear()

        for datum in pending:
            image, seed = _load(datum), image_seed(datum.impath)
            for k in range(self.draws):
                with torch.random.fork_rng(devices=[]):
                    # the CPU generator only: torch.manual_seed also queues CUDA seeding, far slower here
                    torch.default_generator.manual_seed(sample_seed(seed, k, 0))
                    batch.append(transform(image))
                if len(batch) * batch[0].shape[0] >= self.batch_size:
                    flush()
        if batch:
            flush()
        features = torch.cat(encoded).view(len(pending), self.draws, *encoded[0].shape[1:])
        for datum, per_image in zip(pending, features, strict=True):
            self._store[(datum.impath, key)] = per_image.clone()
        self.encoded_images += len(pending)

    def get(self, data: Sequence[Datum], transform: Callable, key: Hashable) -> Tensor:
        """Features ``[N, K, V, D]`` of ``data`` under ``transform`` (PIL → ``[V,3,H,W]``).

        ``key`` names the transform (e.g. the augmentation name and V); equal keys must mean equal transforms.
        """
        if not data:
            raise ValueError("no images to put in the view bank")
        seen: set[str] = set()
        pending = []
        for d in data:
            if (d.impath, key) not in self._store and d.impath not in seen:
                seen.add(d.impath)
                pending.append(d)
        if pending:
            self._encode(pending, transform, key)
        return torch.stack([self._store[(d.impath, key)] for d in data])


class ViewBankDataset(Dataset):
    """``dataset[(i, epoch)] -> {"features": bank[i, k(seed, epoch, i)] [V,D], "labels": y_i}``."""

    def __init__(self, features: Tensor, labels: Tensor, seed: int) -> None:
        if features.dim() != 4 or features.shape[0] != labels.shape[0]:
            raise ValueError(
                f"need bank features [N,K,V,D] and N labels, got {tuple(features.shape)} and "
                f"{tuple(labels.shape)}"
            )
        self.features, self.labels, self.seed = features, labels.long(), int(seed)
        self.draws = features.shape[1]
        # π_{s,i} for every image, drawn once: the per-item lookup is then one index.
        generators = (torch.Generator().manual_seed(sample_seed(self.seed, -1, i)) for i in range(len(self)))
        self.order = torch.stack([torch.randperm(self.draws, generator=g) for g in generators])

    def __len__(self) -> int:
        return self.features.shape[0]

    def draw(self, index: int, epoch: int) -> int:
        """k(s, e, i) = π_{s,i}[e mod K] (see the module docstring)."""
        return int(self.order[index, epoch % self.draws])

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, epoch = _key(key)
        return {"features": self.features[index, self.draw(index, epoch)], "labels": self.labels[index]}


__all__ = ["ViewBank", "ViewBankDataset", "image_seed"]

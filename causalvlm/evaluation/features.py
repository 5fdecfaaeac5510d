"""Frozen image features, computed once per image list and reused by every method and seed.

CLIP is frozen and the evaluation transform is deterministic, so the features of a test split never change;
caching them turns each evaluation (and each per-epoch validation) into a text forward plus a matmul. A random
multi-view test transform (the "per-template" test-view policy) is drawn under a fixed seed, so its features
are fixed too and are cached under the transform's name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from causalvlm.backbones import FrozenCLIP
from causalvlm.data import Datum, ImageDataset


@torch.no_grad()
def encode_images(
    backbone: FrozenCLIP,
    data: Sequence[Datum],
    transform: Callable | None = None,
    batch_size: int = 64,
    num_workers: int = 0,
    seed: int | None = None,
) -> tuple[Tensor, Tensor]:
    """L2-normalised image features ``[N,D]`` (``[N,V,D]`` for a multi-view transform), labels ``[N]``.

    ``seed`` draws a random transform's views under that seed (the global RNG is left as it was).
    """
    transform = transform or backbone.preprocess
    if transform is None:
        raise ValueError("the backbone has no eval preprocess; pass transform=")
    if not data:
        raise ValueError("no images to encode")
    device = backbone.device
    loader = DataLoader(ImageDataset(data, transform), batch_size=batch_size, num_workers=num_workers)
    features, labels = [], []
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        for images, targets in loader:
            images = images.to(device)
            if images.dim() == 5:  # [B,V,3,H,W]: one feature per view
                encoded = backbone.encode_image(images.flatten(0, 1)).view(*images.shape[:2], -1)
            else:
                encoded = backbone.encode_image(images)
            features.append(encoded.float().cpu())
            labels.append(targets)
    return torch.cat(features), torch.cat(labels).long()


def data_key(data: Sequence[Datum]) -> str:
    """A digest of the image paths and labels: two equal lists share cached features."""
    digest = hashlib.sha1()
    for datum in data:
        digest.update(f"{datum.impath}\t{datum.label}\n".encode())
    return digest.hexdigest()


class FeatureCache:
    """In-memory cache of :func:`encode_images` results of one backbone, keyed by images + transform name."""

    def __init__(self, backbone: FrozenCLIP, batch_size: int = 64, num_workers: int = 0) -> None:
        self.backbone, self.batch_size, self.num_workers = backbone, batch_size, num_workers
        self._store: dict[str, tuple[Tensor, Tensor]] = {}

    def __len__(self) -> int:
        return len(self._store)

    def get(
        self,
        data: Sequence[Datum],
        transform: Callable | None = None,
        name: str = "clean",
        seed: int | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Features of ``data`` through ``transform`` (default: the backbone's eval preprocess, named
        "clean"); a different transform needs its own ``name``, and a random one a ``seed``."""
        if transform is not None and name == "clean":
            raise ValueError("give a transform other than the eval preprocess its own cache name")
        key = f"{name}:{data_key(data)}"
        if key not in self._store:
            self._store[key] = encode_images(
                self.backbone,
                data,
                transform,
                batch_size=self.batch_size,
                num_workers=self.num_workers,
                seed=seed,
            )
        return self._store[key]

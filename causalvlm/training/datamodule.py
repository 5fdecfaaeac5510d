"""Lightning data for prompt tuning: few-shot training views and the base/new evaluation sets.

Resuming from a checkpoint must replay exactly the batches an uninterrupted run would have seen. Lightning
restores the model, optimiser and epoch counter but not the global RNG, so the randomness here never reads
it: :class:`EpochSeededSampler` draws the order of epoch e from ``(seed, e)`` and yields ``(index, epoch)``
pairs, and :class:`SeededViewsDataset` augments image i of epoch e under a generator seeded by
``(seed, e, i)``. The same pairs give the same views in any worker process and after any restart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
from typing import Any, cast

import pytorch_lightning as pl
import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from causalvlm.data import Datum, ImageDataset

_PRIME = 1_000_003


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A distinct, reproducible RNG seed for one (run seed, epoch, sample) triple."""
    return ((seed * _PRIME + epoch) * _PRIME + index) % (2**63 - 1)


def _key(key: int | tuple[int, int]) -> tuple[int, int]:
    return (int(key[0]), int(key[1])) if isinstance(key, (tuple, list)) else (int(key), 0)


class EpochSeededSampler(Sampler):
    """Shuffles ``range(num_samples)`` with a generator seeded by ``(seed, epoch)``; shards across DDP ranks.

    Yields ``(index, epoch)``. Each rank takes every world_size-th index of the padded permutation, so all
    ranks see the same number of batches (padding repeats the first indices, as DistributedSampler does).
    """

    def __init__(self, num_samples: int, seed: int, shuffle: bool = True) -> None:
        if num_samples < 1:
            raise ValueError("the training set is empty; nothing to sample")
        self.num_samples, self.seed, self.shuffle = num_samples, int(seed), shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Lightning calls this at the start of every training epoch (also after a resume)."""
        self.epoch = int(epoch)

    @staticmethod
    def _world() -> tuple[int, int]:
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self._world()[1])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        rank, world = self._world()
        if self.shuffle:
            generator = torch.Generator().manual_seed(sample_seed(self.seed, self.epoch, -1))
            order = torch.randperm(self.num_samples, generator=generator).tolist()
        else:
            order = list(range(self.num_samples))
        padded = order + order[: world * math.ceil(self.num_samples / world) - self.num_samples]
        for index in padded[rank::world]:
            yield index, self.epoch


class SeededViewsDataset(Dataset):
    """``dataset[(i, epoch)] -> {"images": transform(image_i), "labels": y_i}`` with seeded randomness.

    ``transform`` is a mediator augmentation (PIL → ``[V,3,H,W]``) for training or CLIP's eval preprocess
    (PIL → ``[3,H,W]``). A plain integer key means epoch 0.
    """

    def __init__(self, data: Sequence[Datum], transform: Callable, seed: int = 0) -> None:
        self.images = ImageDataset(data, transform)
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, epoch = _key(key)
        with torch.random.fork_rng(devices=[]):
            # the CPU generator only: torch.manual_seed also queues CUDA seeding, far slower per image
            torch.default_generator.manual_seed(sample_seed(self.seed, epoch, index))
            image, label = self.images[index]
        return {"images": image, "labels": label}


class FeatureDataset(Dataset):
    """Pre-encoded frozen image features: ``dataset[i] -> {"features": f_i [V,D] or [D], "labels": y_i}``."""

    def __init__(self, features: Tensor, labels: Tensor) -> None:
        if features.shape[0] != labels.shape[0]:
            raise ValueError(f"{features.shape[0]} feature rows but {labels.shape[0]} labels")
        self.features, self.labels = features, labels.long()

    def __len__(self) -> int:
        return self.features.shape[0]

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, _ = _key(key)
        return {"features": self.features[index], "labels": self.labels[index]}


class PromptDataModule(pl.LightningDataModule):
    """Training views plus named evaluation sets (``{"base": ..., "new": ...}``, one val dataloader each).

    Build it from datasets: :class:`FeatureDataset` (cached features) or :class:`SeededViewsDataset` (images).
    The trainer must run with ``use_distributed_sampler=False``: :class:`EpochSeededSampler` shards itself.
    """

    def __init__(
        self,
        train: Dataset,
        val_sets: Mapping[str, Dataset] | None = None,
        batch_size: int = 32,
        eval_batch_size: int = 256,
        num_workers: int = 0,
        seed: int = 1,
    ) -> None:
        super().__init__()
        if _length(train) == 0:
            raise ValueError("the training set is empty")
        for name, dataset in (val_sets or {}).items():
            if _length(dataset) == 0:
                raise ValueError(f"evaluation set {name!r} is empty")
        self.train_set = train
        self.val_sets = dict(val_sets or {})
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.num_workers, self.seed = num_workers, seed

    @property
    def val_names(self) -> list[str]:
        return list(self.val_sets)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=EpochSeededSampler(_length(self.train_set), self.seed),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self) -> list[DataLoader]:
        return [
            DataLoader(dataset, batch_size=self.eval_batch_size, shuffle=False, num_workers=self.num_workers)
            for dataset in self.val_sets.values()
        ]


def _length(dataset: Dataset) -> int:
    """len() of a map-style dataset (torch types Dataset without __len__; every one used here has it)."""
    return len(cast(Sized, dataset))

"""Typed configs for prompt tuning. Defaults follow CoOp's recipe (SGD, cosine, one warm-up epoch)."""

from __future__ import annotations

from dataclasses import dataclass, field

PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed", "64-true")
# Training epochs when not given: CoOp's recipe for 16-shot base-to-new (the world demo runs as many).
DEFAULT_MAX_EPOCHS = 10


@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule."""

    lr: float = 0.002  # CoOp's SGD learning rate for the prompt context
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: int = 1  # epochs held at the constant warm-up rate before the cosine schedule takes over
    warmup_lr: float = 1e-5  # CoOp's constant warm-up learning rate

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"optim.lr must be > 0, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"optim.momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ValueError(f"optim.weight_decay must be >= 0, got {self.weight_decay}")
        if self.warmup_epochs < 0 or int(self.warmup_epochs) != self.warmup_epochs:
            raise ValueError(f"optim.warmup_epochs must be an integer >= 0, got {self.warmup_epochs}")
        if self.warmup_epochs and not self.warmup_lr > 0:
            raise ValueError(f"optim.warmup_lr must be > 0, got {self.warmup_lr}")


@dataclass
class TrainConfig:
    """One training run: epochs, batches, hardware, checkpoints and logs."""

    max_epochs: int = DEFAULT_MAX_EPOCHS  # see DEFAULT_MAX_EPOCHS
    batch_size: int = 32  # CoOp's training batch
    eval_batch_size: int = 256  # evaluation runs on cached features, so large batches are cheap
    num_workers: int = 0  # dataloader worker processes (0 = load in the main process)
    accelerator: str = "auto"  # Lightning accelerator: "cpu", "gpu", "auto"
    devices: int | str = 1  # number of devices; >1 trains with DDP
    strategy: str = "auto"  # Lightning strategy; "ddp" / "ddp_spawn" across devices
    precision: str = "auto"  # "auto" = bf16 autocast on CUDA, fp32 on CPU
    validate_every_epoch: bool = True  # evaluate base/new accuracy after each epoch (the paper's Fig. 1b)
    enable_progress_bar: bool = False
    log_every_n_steps: int = 10
    checkpoint_dir: str | None = None  # where last.ckpt goes; None disables checkpoints
    log_dir: str | None = None  # CSVLogger directory; None disables logging to disk
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self) -> None:
        if isinstance(self.optim, dict):
            self.optim = OptimConfig(**self.optim)
        for name in ("max_epochs", "batch_size", "eval_batch_size"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"train.{name} must be an integer >= 1, got {value!r}")
        if self.num_workers < 0:
            raise ValueError(f"train.num_workers must be >= 0, got {self.num_workers}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"train.precision must be one of {PRECISIONS}, got {self.precision!r}")

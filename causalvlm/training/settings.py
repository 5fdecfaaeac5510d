"""The settings of one training run: :class:`TrainConfig` (epochs, batches, hardware, checkpoints, logs) and
its optimiser part :class:`OptimConfig`.

The defaults are CoOp's recipe for 16-shot base-to-new (SGD at lr 0.002 with momentum 0.9, batches of 32,
10 epochs, one constant warm-up epoch, then cosine). A run's own recipe — the world demo's 200 epochs, a
method's published batch size — is set where that run is defined (a YAML file, a method's ``recipe``), not
here. Building either class checks types, ranges and choices (:mod:`causalvlm.validation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from causalvlm.training.loggers import check_logger
from causalvlm.validation import (
    ConfigError,
    check_fields,
    require_choice,
    require_int,
    require_number,
    shown,
)

PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed")
# Lightning's precisions that a run here cannot honour, with the reason given when one is asked for.
REFUSED_PRECISIONS = {
    "64-true": "the frozen CLIP, its cached image features and the image checks are float32, so a float64 "
    "run fails inside the first step; use '32-true' (full precision)",
}
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
# Training epochs when not given: CoOp's recipe for 16-shot base-to-new.
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
        check_fields(self)
        require_number(self.lr, "lr", above=0)
        require_number(self.momentum, "momentum", minimum=0, below=1)
        require_number(self.weight_decay, "weight_decay", minimum=0)
        require_int(self.warmup_epochs, "warmup_epochs", minimum=0)
        require_number(self.warmup_lr, "warmup_lr", above=0)


@dataclass
class TrainConfig:
    """One training run: epochs, batches, hardware, checkpoints and logs."""

    max_epochs: int = DEFAULT_MAX_EPOCHS  # see DEFAULT_MAX_EPOCHS
    batch_size: int = 32  # CoOp's training batch
    eval_batch_size: int = 256  # evaluation runs on cached features, so large batches are cheap
    num_workers: int = 0  # dataloader worker processes (0 = load in the main process)
    accelerator: str = "auto"  # Lightning accelerator: "cpu", "gpu", "auto"
    devices: int | str = 1  # number of devices (>1 trains with DDP), or "auto"
    strategy: str = "auto"  # Lightning strategy; "ddp" / "ddp_spawn" across devices
    precision: str = "auto"  # "auto" = bf16 autocast on CUDA, fp32 on CPU
    validate_every_epoch: bool = True  # base/new validation accuracy during training (the paper's Fig. 1b)
    val_every_n_epochs: int = 1  # how often that validation runs (the history gets one row each time)
    # K augmentation draws per training image, encoded once by the frozen image tower and read one per epoch
    # (training/view_bank.py); 0 augments and encodes afresh every epoch.
    view_bank: int = 0
    enable_progress_bar: bool = False
    log_every_n_steps: int = 10
    # Where a single fit (training.fit) keeps last.ckpt and its CSV logs; None: none. An experiment sets both
    # for each run (out/runs/<method>/<dataset>/seed<N>/{checkpoints,logs}) and refuses them in its settings.
    checkpoint_dir: str | None = None
    log_dir: str | None = None
    logger: str = "csv"  # csv | tensorboard | wandb (training/loggers.py); the last two when installed
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self) -> None:
        check_fields(self)
        positive = ("max_epochs", "batch_size", "eval_batch_size", "log_every_n_steps", "val_every_n_epochs")
        for name in positive:
            require_int(getattr(self, name), name, minimum=1)
        require_int(self.num_workers, "num_workers", minimum=0)
        require_int(self.view_bank, "view_bank", minimum=0)
        require_choice(self.accelerator, "accelerator", ACCELERATORS)
        if self.devices != "auto" and not (isinstance(self.devices, int) and self.devices >= 1):
            raise ConfigError("devices", f"must be an integer >= 1 or 'auto', got {shown(self.devices)}")
        if self.strategy not in strategies():
            raise ConfigError(
                "strategy",
                "must be 'auto' or a Lightning strategy name (ddp, ddp_spawn, fsdp, ...), "
                f"got {self.strategy!r}",
            )
        if self.precision in REFUSED_PRECISIONS:
            raise ConfigError(
                "precision", f"{self.precision!r} is not supported: {REFUSED_PRECISIONS[self.precision]}"
            )
        require_choice(self.precision, "precision", PRECISIONS)
        check_logger(self.logger)


def strategies() -> tuple[str, ...]:
    """Lightning's registered strategy names, plus "auto"."""
    from pytorch_lightning.strategies import StrategyRegistry

    return ("auto", *StrategyRegistry.available_strategies())


__all__ = [
    "ACCELERATORS",
    "DEFAULT_MAX_EPOCHS",
    "PRECISIONS",
    "REFUSED_PRECISIONS",
    "OptimConfig",
    "TrainConfig",
    "strategies",
]

"""The settings of one training run: :class:`TrainConfig` (epochs, batches, hardware, checkpoints, logs) and
its optimiser part :class:`OptimConfig`.

The defaults are CoOp's recipe for 16-shot base-to-new (SGD at lr 0.002 with momentum 0.9, batches of 32,
10 epochs, one constant warm-up epoch, then cosine). A run's own recipe — the world demo's 200 epochs, a
method's published batch size — is set where that run is defined (a YAML file, a method's ``recipe``), not
here. Both are strict pydantic models (:mod:`causalvlm.config_model`): types, ranges, choices and unknown
keys are checked when one is built.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from causalvlm.config_model import ConfigError, SettingsModel, shown
from causalvlm.training.loggers import check_logger

PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed")
# Lightning's precisions that a run here cannot honour, with the reason given when one is asked for.
REFUSED_PRECISIONS = {
    "64-true": "the frozen CLIP, its cached image features and the image checks are float32, so a float64 "
    "run fails inside the first step; use '32-true' (full precision)",
}
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
# Training epochs when not given: CoOp's recipe for 16-shot base-to-new.
DEFAULT_MAX_EPOCHS = 10

Positive = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]


class OptimConfig(SettingsModel):
    """Optimiser and learning-rate schedule."""

    lr: Annotated[float, Field(gt=0)] = 0.002  # CoOp's SGD learning rate for the prompt context
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.9
    weight_decay: Annotated[float, Field(ge=0)] = 5e-4
    warmup_epochs: Count = 1  # epochs held at the constant warm-up rate before the cosine schedule takes over
    warmup_lr: Annotated[float, Field(gt=0)] = 1e-5  # CoOp's constant warm-up learning rate


class TrainConfig(SettingsModel):
    """One training run: epochs, batches, hardware, checkpoints and logs."""

    max_epochs: Positive = DEFAULT_MAX_EPOCHS  # see DEFAULT_MAX_EPOCHS
    batch_size: Positive = 32  # CoOp's training batch
    eval_batch_size: Positive = 256  # evaluation runs on cached features, so large batches are cheap
    num_workers: Count = 0  # dataloader worker processes (0 = load in the main process)
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps", "tpu"] = "auto"  # Lightning accelerator
    devices: int | str = 1  # number of devices (>1 trains with DDP), or "auto"
    strategy: str = "auto"  # Lightning strategy; "ddp" / "ddp_spawn" across devices
    # "auto" = bf16 autocast on CUDA, fp32 on CPU
    precision: Literal["auto", "32-true", "bf16-mixed", "16-mixed"] = "auto"
    validate_every_epoch: bool = True  # base/new validation accuracy during training (the paper's Fig. 1b)
    val_every_n_epochs: Positive = 1  # how often that validation runs (the history gets one row each time)
    # K augmentation draws per training image, encoded once by the frozen image tower and read one per epoch
    # (training/view_bank.py); 0 augments and encodes afresh every epoch.
    view_bank: Count = 0
    enable_progress_bar: bool = False
    log_every_n_steps: Positive = 10
    # Where a single fit (training.fit) keeps last.ckpt and its CSV logs; None: none. An experiment sets both
    # for each run (out/runs/<method>/<dataset>/seed<N>/{checkpoints,logs}) and refuses them in its settings.
    checkpoint_dir: str | None = None
    log_dir: str | None = None
    logger: str = "csv"  # csv | tensorboard | wandb (training/loggers.py); the last two when installed
    optim: OptimConfig = Field(default_factory=OptimConfig)

    @field_validator("devices")
    @classmethod
    def _devices(cls, devices: int | str) -> int | str:
        if devices != "auto" and not (isinstance(devices, int) and devices >= 1):
            raise ConfigError("", f"must be an integer >= 1 or 'auto', got {shown(devices)}")
        return devices

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, strategy: str) -> str:
        if strategy not in strategies():
            raise ConfigError(
                "",
                f"must be 'auto' or a Lightning strategy name (ddp, ddp_spawn, fsdp, ...), got {strategy!r}",
            )
        return strategy

    @field_validator("precision", mode="before")
    @classmethod
    def _precision(cls, precision: Any) -> Any:
        if isinstance(precision, str) and precision in REFUSED_PRECISIONS:
            raise ConfigError("", f"{precision!r} is not supported: {REFUSED_PRECISIONS[precision]}")
        return precision

    @field_validator("logger")
    @classmethod
    def _logger(cls, logger: str) -> str:
        return check_logger(logger, key="")


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

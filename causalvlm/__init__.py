"""causalvlm: causal inference for vision-language model adaptation.

``import causalvlm`` is cheap: the torch-based parts load on first use, so the causal core
(:mod:`causalvlm.scm`, :mod:`causalvlm.estimators`) works without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "FrontDoorClassifier": "causalvlm.classifier",
    "SCM": "causalvlm.scm",
    "load_graph": "causalvlm.scm",
    "DiscreteSCM": "causalvlm.scm",
    "DiscreteFrontDoor": "causalvlm.estimators",
    "load_run": "causalvlm.experiments.saved_run",
    "open_run": "causalvlm.experiments.saved_run",
}

if TYPE_CHECKING:  # pragma: no cover
    from causalvlm.classifier import FrontDoorClassifier
    from causalvlm.estimators import DiscreteFrontDoor
    from causalvlm.experiments.saved_run import load_run, open_run
    from causalvlm.scm import SCM, DiscreteSCM, load_graph

__all__ = [
    "FrontDoorClassifier",
    "SCM",
    "load_graph",
    "DiscreteSCM",
    "DiscreteFrontDoor",
    "load_run",
    "open_run",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'causalvlm' has no attribute {name!r}")

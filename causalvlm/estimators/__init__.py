"""Estimators of interventional distributions from observational data (numpy only, never torch)."""

from __future__ import annotations

from causalvlm.estimators.base import EffectEstimator, EffectInterval, FrontDoorEstimator
from causalvlm.estimators.discrete_frontdoor import DiscreteFrontDoor, FrontDoorInterval, frontdoor_adjustment
from causalvlm.estimators.plugin import BackdoorEstimator, Counts, PluginEstimator

__all__ = [
    "BackdoorEstimator",
    "Counts",
    "DiscreteFrontDoor",
    "EffectEstimator",
    "EffectInterval",
    "FrontDoorEstimator",
    "FrontDoorInterval",
    "PluginEstimator",
    "frontdoor_adjustment",
]

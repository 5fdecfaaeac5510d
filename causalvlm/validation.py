"""Checks of single argument values of library functions: integers, finite numbers, ranges, choices, repeats.

Settings (the experiment, training, pretraining) are strict pydantic models (:mod:`causalvlm.config_model`).
What stays here checks one value handed to a library function from Python — an estimator's number of bins,
a data reader's shot count, a rho in a sweep — where a model per call would be heavier than the check and
would change the error callers catch; the errors are the same :class:`ConfigError` with the same words.

No torch and no pydantic model here: the causal core (estimators) and the data readers use these checks.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from causalvlm.config_model import ConfigError, bounds_text, shown


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def require_int(value: Any, key: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (not a bool, not 2.0) within ``[minimum, maximum]``."""
    wanted = " ".join(p for p in ("an integer", bounds_text(minimum, maximum)) if p)
    if not _is_int(value):
        raise ConfigError(key, f"must be {wanted}, got {shown(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigError(key, f"must be {wanted}, got {value!r}")
    return int(value)


def require_number(
    value: Any,
    key: str,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> float:
    """A finite real number (not a bool, not a string) within the given bounds."""
    wanted = " ".join(p for p in ("a finite number", bounds_text(minimum, maximum, above, below)) if p)
    if not _is_real(value) or not math.isfinite(value):
        raise ConfigError(key, f"must be {wanted}, got {shown(value)}")
    bad = (
        (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
        or (above is not None and not value > above)
        or (below is not None and not value < below)
    )
    if bad:
        raise ConfigError(key, f"must be {wanted}, got {value!r}")
    return float(value)


def require_choice(value: Any, key: str, choices: Iterable[Any]) -> Any:
    options = list(choices)
    if value not in options:
        raise ConfigError(key, f"must be one of {', '.join(repr(c) for c in options)}; got {value!r}")
    return value


def require_distinct(values: Sequence[Any], key: str) -> None:
    repeated = sorted({repr(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ConfigError(key, f"lists {', '.join(repeated)} more than once: {list(values)}")


__all__ = ["require_choice", "require_distinct", "require_int", "require_number"]

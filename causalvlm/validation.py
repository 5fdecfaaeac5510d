"""Checked settings: types, integers, ranges and choices, with errors that name the setting at fault.

Every config dataclass calls :func:`check_fields` first thing in ``__post_init__``; it compares each field
with its type hint and converts only what cannot change a value's meaning (an int where a float is wanted,
a mapping where a nested config dataclass is wanted, one item where a list is wanted). Everything else is a
:class:`ConfigError` naming the key, the expected type and the value: ``"false"`` is not a boolean, ``1.7``
and ``True`` are not integers, ``"fast"`` is not a number.

No torch here: the causal core (estimators) and the data readers use the integer checks too.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Union

from pydantic import BaseModel

from causalvlm.config_model import ConfigError, bounds_text, describe, shown


# ---------------------------------------------------------------------------------------------- types
def check_type(value: Any, hint: Any, key: str) -> Any:
    """``value`` if it fits ``hint`` (lossless conversions applied), else ConfigError naming ``key``."""
    fitted = _fit(value, hint, key)
    if fitted is _NO_FIT:
        raise ConfigError(key, f"expected {describe(hint)}, got {shown(value)}")
    return fitted


_NO_FIT = object()


def _fit(value: Any, hint: Any, key: str) -> Any:  # noqa: C901 (one branch per kind of hint)
    if hint is Any:
        return value
    if hint is type(None) or hint is None:
        return None if value is None else _NO_FIT
    if hint is bool:
        return value if isinstance(value, bool) else _NO_FIT
    if hint is int:
        return int(value) if _is_int(value) else _NO_FIT
    if hint is float:
        return float(value) if _is_real(value) else _NO_FIT
    if hint is str:
        return value if isinstance(value, str) else _NO_FIT
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return value if any(value == a and type(value) is type(a) for a in args) else _NO_FIT
    if origin in (Union, types.UnionType):
        for arg in args:  # the first member that fits wins; a member's own error (deeper key) is kept
            fitted = _fit(value, arg, key)
            if fitted is not _NO_FIT:
                return fitted
        return _NO_FIT
    if origin in (list, Sequence, tuple):
        item = args[0] if args else Any
        if isinstance(value, (list, tuple)):
            return [check_type(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        # One item where a list is wanted (``seeds: 1``, ``datasets: dtd``) is that one-item list.
        single = _fit(value, item, key) if not isinstance(value, (Mapping, set)) else _NO_FIT
        return _NO_FIT if single is _NO_FIT else [single]
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            return _NO_FIT
        key_hint, value_hint = args if args else (Any, Any)
        return {
            check_type(k, key_hint, f"{key} key"): check_type(v, value_hint, f"{key}.{k}")
            for k, v in value.items()
        }
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        if isinstance(value, hint):
            return value
        from_settings = getattr(hint, "from_settings", None)
        if isinstance(value, Mapping) and from_settings is not None:
            return from_settings(value, key)
        return _NO_FIT
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if isinstance(value, hint):
            return value
        if isinstance(value, Mapping):
            return from_mapping(hint, value, key)
        return _NO_FIT
    if isinstance(hint, type):
        return value if isinstance(value, hint) else _NO_FIT
    return value  # a hint this checker does not know: left to the code that uses the value


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def type_hints(obj: Any) -> dict[str, Any]:
    """Resolved type hints of a class or function (strings from ``from __future__ import annotations``)."""
    return typing.get_type_hints(obj)


def check_fields(instance: Any, skip: Iterable[str] = ()) -> None:
    """Check (and losslessly convert) every field of a dataclass instance against its type hint."""
    hints = type_hints(type(instance))
    skipped = set(skip)
    for field in dataclasses.fields(instance):
        if field.name not in skipped:
            value = check_type(getattr(instance, field.name), hints[field.name], field.name)
            object.__setattr__(instance, field.name, value)  # works for frozen dataclasses too


def from_mapping(cls: type, settings: Mapping[str, Any], key: str = "") -> Any:
    """``cls(**settings)`` for a dataclass, refusing unknown keys; errors are named under ``key``."""
    if not isinstance(settings, Mapping):
        raise ConfigError(key, f"expected {describe(cls)}, got {shown(settings)}")
    known = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(str(k) for k in settings if k not in known)
    if unknown:
        raise ConfigError(key, f"unknown setting(s) {unknown}; valid: {', '.join(known)}")
    try:
        return cls(**settings)
    except ConfigError as error:
        raise error.within(key) from None


def check_arguments(
    function: Callable[..., Any], arguments: Mapping[str, Any], key: str, exclude: Iterable[str] = ()
) -> dict[str, Any]:
    """Keyword ``arguments`` for ``function`` checked against its signature and type hints.

    Unknown or missing names and wrong types raise ConfigError under ``key`` (e.g. ``methods[0]``).
    """
    if not isinstance(arguments, Mapping):
        raise ConfigError(key, f"expected a mapping of {function.__name__} arguments, got {shown(arguments)}")
    excluded = set(exclude)
    parameters = {
        name: p
        for name, p in inspect.signature(function).parameters.items()
        if name not in excluded and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    unknown = sorted(str(k) for k in arguments if k not in parameters)
    if unknown:
        raise ConfigError(key, f"unknown key(s) {unknown}; valid: {', '.join(parameters)}")
    missing = [n for n, p in parameters.items() if p.default is p.empty and n not in arguments]
    if missing:
        raise ConfigError(key, f"missing required key(s) {missing}")
    hints = type_hints(function)
    return {
        name: check_type(value, hints.get(name, Any), f"{key}.{name}" if key else name)
        for name, value in arguments.items()
    }


# ---------------------------------------------------------------------------------------------- values
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


__all__ = [
    "ConfigError",
    "bounds_text",
    "check_arguments",
    "check_fields",
    "check_type",
    "describe",
    "from_mapping",
    "require_choice",
    "require_distinct",
    "require_int",
    "require_number",
    "shown",
]

"""Typed settings on pydantic v2: strict models that refuse unknown keys, with errors that name the key.

A :class:`SettingsModel` is a pydantic model in strict mode (``"false"`` is not a boolean, ``1.7`` and
``True`` are not integers, ``"fast"`` is not a number; an integer is accepted where a number is wanted) that
forbids unknown keys and non-finite numbers. Ranges are ``Field`` bounds (``ge``, ``gt``, ``le``, ``lt``);
rules pydantic has no word for are validators. Building one from bad settings raises :class:`ConfigError`
(a ``ValueError``), not pydantic's ``ValidationError``: :func:`config_error` turns pydantic's first error
into the key at fault (``train.optim.lr``, ``seeds[0]``), what was expected and the value given, so the
experiment's layers can add the source (a YAML file, a command-line option).

No torch here: the causal core (estimators) uses the error and its words too.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar, Union

import annotated_types
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, create_model
from pydantic.fields import FieldInfo


class ConfigError(ValueError):
    """A bad setting or argument.

    ``key`` is where it sits (``train.optim.lr``, ``methods[0].no_vsd``, ``--epochs``), ``problem`` what is
    wrong, ``source`` where it came from (a YAML file, "command line"); ``str()`` joins the three.
    """

    def __init__(self, key: str, problem: str, source: str | None = None) -> None:
        self.key, self.problem, self.source = key, problem, source
        super().__init__(": ".join(part for part in (source, key, problem) if part))

    def within(self, prefix: str) -> ConfigError:
        """The same error one level down: ``max_epochs`` inside ``train`` becomes ``train.max_epochs``."""
        if not prefix:
            return self
        key = prefix + self.key if self.key.startswith("[") else ".".join(p for p in (prefix, self.key) if p)
        return ConfigError(key, self.problem, self.source)

    def named(self, key: str | None = None, source: str | None = None) -> ConfigError:
        """The same error under another name (a command-line option) and/or with its source."""
        return ConfigError(key or self.key, self.problem, source if source is not None else self.source)


# ---------------------------------------------------------------------------------------------- words
_SINGULAR = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "null"}
_PLURAL = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}


def shown(value: Any) -> str:
    """A value as an error message shows it: its repr and, where the repr hides it, its kind."""
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", type(None): "null"}
    if isinstance(value, Mapping):
        label = "a mapping"
    elif isinstance(value, (list, tuple)):
        label = "a list"
    else:
        label = kind.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{text[:80]}{'…' if len(text) > 80 else ''} ({label})"


def describe(hint: Any) -> str:
    """What a type hint accepts, in words: ``list[int]`` → "a list of integers"."""
    if hint is Any:
        return "any value"
    if hint in _SINGULAR:
        return _SINGULAR[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return describe(args[0])
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin in (list, Sequence, tuple):
        item = _bare(args[0]) if args else Any
        return f"a list of {_PLURAL[item]}" if item in _PLURAL else f"a list (each item {describe(item)})"
    if origin in (dict, Mapping):
        return "a mapping" if not args or args[1] is Any else f"a mapping to {describe(args[1])}"
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return f"a mapping of {hint.__name__} settings"
    return getattr(hint, "__name__", str(hint))


def bounds_text(
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> str:
    """``">= 0 and < 1"`` for the given bounds."""
    shown_bounds = [(">=", minimum), (">", above), ("<=", maximum), ("<", below)]
    return " and ".join(f"{op} {_number(b)}" for op, b in shown_bounds if b is not None)


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


# ---------------------------------------------------------------------------------------------- models
STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, arbitrary_types_allowed=True)
_Model = TypeVar("_Model", bound="SettingsModel")


class SettingsModel(BaseModel):
    """A strict pydantic model that forbids unknown keys; bad settings raise :class:`ConfigError`."""

    model_config: ClassVar[ConfigDict] = STRICT
    unknown_keys: ClassVar[str] = "setting(s)"  # how an error names keys the model does not have

    def __init__(self, **settings: Any) -> None:
        try:
            super().__init__(**settings)
        except ValidationError as error:
            raise config_error(error, type(self)) from None

    @classmethod
    def from_settings(cls: type[_Model], settings: Any, key: str = "") -> _Model:
        """The model built from a mapping of settings; a bad one is a ConfigError named under ``key``."""
        if not isinstance(settings, Mapping):
            raise ConfigError(key, f"expected {describe(cls)}, got {shown(settings)}")
        try:
            return cls.model_validate(dict(settings))
        except ValidationError as error:
            raise config_error(error, cls).within(key) from None

    def settings(self) -> dict[str, Any]:
        """The settings as plain values (nested models as mappings)."""
        return self.model_dump()


_TYPE_ERRORS = ("_type", "literal_error", "int_from_float", "_parsing", "is_instance_of", "none_required")
_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number")


def config_error(error: ValidationError, model: type[BaseModel]) -> ConfigError:
    """pydantic's first error as a ConfigError naming the key, what it accepts and the value given."""
    first = error.errors(include_url=False)[0]
    kind, loc, value = first["type"], first["loc"], first.get("input")
    if kind == "extra_forbidden":
        parent = loc[:-1]
        key, hint, _ = _place(model, parent)
        extra = [e["loc"] for e in error.errors() if e["type"] == kind]
        unknown = sorted(str(place[-1]) for place in extra if place[:-1] == parent)
        fields = _fields(_bare(hint))
        word = getattr(_bare(hint), "unknown_keys", "setting(s)")
        return ConfigError(key, f"unknown {word} {unknown}; valid: {', '.join(fields or {})}")
    key, hint, metadata = _place(model, loc)
    cause = first.get("ctx", {}).get("error")
    if kind in ("value_error", "assertion_error") and isinstance(cause, Exception):
        if isinstance(cause, ConfigError):
            return cause.within(key)
        return ConfigError(key, str(cause))
    if kind == "missing":
        absent = [e["loc"] for e in error.errors() if e["type"] == kind]
        missing = [str(place[-1]) for place in absent if place[:-1] == loc[:-1]]
        return ConfigError(key.rpartition(".")[0], f"missing required key(s) {missing}")
    if kind in _BOUND_ERRORS:
        is_int = _bare(hint) is int
        wanted = " ".join(p for p in ("an integer" if is_int else "a finite number", _bounds(metadata)) if p)
        if kind == "finite_number":
            return ConfigError(key, f"must be {wanted}, got {shown(value)}")
        return ConfigError(key, f"must be {wanted}, got {value if is_int else float(value)!r}")
    if kind == "literal_error" and typing.get_origin(_bare(hint)) is Literal:
        choices = ", ".join(repr(c) for c in typing.get_args(_bare(hint)))
        return ConfigError(key, f"must be one of {choices}; got {value!r}")
    if kind.endswith(_TYPE_ERRORS) or kind in _TYPE_ERRORS:
        return ConfigError(key, f"expected {describe(hint)}, got {shown(value)}")
    return ConfigError(key, first["msg"])


def _bare(hint: Any) -> Any:
    """``Annotated[int, ...]`` → ``int``; ``int | None`` → ``int``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return _bare(args[0])
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return _bare(members[0]) if len(members) == 1 else hint
    return hint


def _bounds(metadata: Sequence[Any]) -> str:
    found: dict[str, float | None] = {"minimum": None, "maximum": None, "above": None, "below": None}
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            found["minimum"] = item.ge  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Gt):
            found["above"] = item.gt  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Le):
            found["maximum"] = item.le  # type: ignore[assignment]
        elif isinstance(item, annotated_types.Lt):
            found["below"] = item.lt  # type: ignore[assignment]
    return bounds_text(**found)


def _place(model: type[BaseModel], loc: Sequence[str | int]) -> tuple[str, Any, list[Any]]:
    """The dotted key of pydantic's ``loc``, the type hint there and that field's bound metadata.

    Union members' tags in ``loc`` (``int``, ``str``, ``function-after[...]``) are skipped.
    """
    key, metadata = "", []
    hint: Any = model
    for part in loc:
        bare, fields = _bare(hint), _fields(_bare(hint))
        if fields is not None and part in fields:
            info = fields[str(part)]
            hint = info.rebuild_annotation()
            metadata = [*info.metadata, *_constraints(info.annotation)]
            key = f"{key}.{part}" if key else str(part)
        elif isinstance(part, int):
            key, hint = f"{key}[{part}]", _item(bare)
            metadata = _constraints(hint)
        elif typing.get_origin(bare) in (dict, Mapping):
            args = typing.get_args(bare)
            key, hint, metadata = f"{key}.{part}", (args[1] if args else Any), []
    return key, hint, metadata


def _fields(hint: Any) -> dict[str, FieldInfo] | None:
    """The fields of a pydantic model or pydantic dataclass; None for any other hint."""
    return getattr(hint, "__pydantic_fields__", None) if isinstance(hint, type) else None


def _item(hint: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (list, Sequence, tuple):
        return args[0] if args else Any
    for member in args:  # a union: its list member
        if typing.get_origin(member) in (list, Sequence, tuple):
            return _item(member)
    return Any


def _constraints(hint: Any) -> list[Any]:
    """The bounds written inside a hint (``Annotated[int, Field(ge=1)] | None``), not at the field's top."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        found = _constraints(args[0])
        for item in args[1:]:
            found.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        return found
    if origin in (Union, types.UnionType):
        return [c for member in args for c in _constraints(member)]
    return []


# ---------------------------------------------------------------------------------------------- arguments
class _Arguments(BaseModel):
    # inf and nan pass the type check: the code taking the arguments judges their range (``beta >= 0``)
    model_config: ClassVar[ConfigDict] = ConfigDict(**{**STRICT, "allow_inf_nan": True})
    unknown_keys: ClassVar[str] = "key(s)"


@functools.cache
def arguments_model(function: Callable[..., Any], exclude: frozenset[str] = frozenset()) -> type[BaseModel]:
    """A strict model of ``function``'s keyword arguments (less ``exclude``), typed by its hints.

    A class's hints are its annotated attributes (what it keeps); an argument without a hint takes any value.
    """
    hints = typing.get_type_hints(function)
    fields: dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if name in exclude or parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            continue
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[name] = (hints.get(name, Any), default)
    name = getattr(function, "__name__", "function")
    return create_model(f"{name}_arguments", __base__=_Arguments, **fields)


def check_arguments(
    function: Callable[..., Any], arguments: Mapping[str, Any], key: str, exclude: Iterable[str] = ()
) -> dict[str, Any]:
    """Keyword ``arguments`` for ``function`` checked against its signature and type hints.

    Unknown or missing names and wrong types raise ConfigError under ``key`` (e.g. ``methods[0]``).
    """
    if not isinstance(arguments, Mapping):
        raise ConfigError(key, f"expected a mapping of {function.__name__} arguments, got {shown(arguments)}")
    model = arguments_model(function, frozenset(exclude))
    try:
        checked = model.model_validate(dict(arguments))
    except ValidationError as error:
        raise config_error(error, model).within(key) from None
    return {name: getattr(checked, name) for name in arguments}


# ---------------------------------------------------------------------------------------------- one value
def no_repeats(values: list[Any]) -> list[Any]:
    """A list that holds no value twice (``AfterValidator(no_repeats)``: :data:`Distinct`)."""
    repeated = sorted({repr(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"lists {', '.join(repeated)} more than once: {list(values)}")
    return values


Distinct = AfterValidator(no_repeats)  # Annotated[list[int], Distinct]: a list without repeats


def _python_number(value: Any) -> Any:
    """A numpy integer or float as the Python number it stands for (strict pydantic refuses ``np.int64``)."""
    if isinstance(value, (bool, int, float)) or not isinstance(value, numbers.Real):
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)


@functools.cache
def _value_model(hint: Any) -> type[BaseModel]:
    return create_model(
        "value", __config__=STRICT, value=(typing.Annotated[hint, BeforeValidator(_python_number)], ...)
    )


def check_value(value: Any, hint: Any, key: str) -> Any:
    """``value`` checked against a type ``hint`` by pydantic in strict mode (the rules of a
    :class:`SettingsModel` field), for one argument of a library function: ``check_value(n, Annotated[int,
    Ge(2)], "n_boot")``. Returns the value (a numpy number as a Python one); a bad one raises ConfigError
    naming ``key``. Bounds are ``annotated_types`` (``Ge``, ``Gt``, ...), so the hint can key a cache."""
    model = _value_model(hint)
    try:
        return model.model_validate({"value": value}).value  # type: ignore[attr-defined]
    except ValidationError as error:
        found = config_error(error, model)
        raise ConfigError(key + found.key.removeprefix("value"), found.problem) from None


__all__ = [
    "STRICT",
    "ConfigError",
    "Distinct",
    "SettingsModel",
    "arguments_model",
    "bounds_text",
    "check_arguments",
    "check_value",
    "config_error",
    "describe",
    "no_repeats",
    "shown",
]

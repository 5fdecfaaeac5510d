"""The results table's methods, one file each: zero-shot CLIP, CoOp, CoCoOp, MaPLe, CDC, and any added since.

Every module of this package is imported here, and each registers its :class:`Method` (and, when the method
brings its own mediator, that mediator too), so adding a method is adding a file. Methods from other
packages come in through the ``causalvlm.methods`` entry-point group (:func:`load_plugins`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil

from causalvlm.methods.base import (
    ENTRY_POINT_GROUP,
    METHOD_REGISTRY,
    Method,
    find_method,
    get_method,
    method_names,
    register_method,
)

_loaded_plugins: set[str] = set()


def _import_builtin_methods() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")


def load_plugins() -> list[str]:
    """Load the methods other packages declare under the ``causalvlm.methods`` entry-point group.

    Loading an entry point imports its module, which registers its method; an entry point that names a
    :class:`Method` object registers it here. Returns the names of the entry points loaded by this call; a
    broken plug-in raises an error naming it.
    """
    loaded = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        key = f"{entry_point.name}={entry_point.value}"
        if key in _loaded_plugins:
            continue
        try:
            target = entry_point.load()
        except Exception as error:  # a plug-in's own failure, reported with its name
            raise RuntimeError(
                f"method plug-in {entry_point.name!r} ({entry_point.value}, entry-point group "
                f"{ENTRY_POINT_GROUP!r}) failed to load: {error}"
            ) from error
        if isinstance(target, Method) and target.name not in METHOD_REGISTRY:
            register_method(target)
        _loaded_plugins.add(key)
        loaded.append(entry_point.name)
    return loaded


_import_builtin_methods()
load_plugins()

__all__ = [
    "ENTRY_POINT_GROUP",
    "METHOD_REGISTRY",
    "Method",
    "find_method",
    "get_method",
    "load_plugins",
    "method_names",
    "register_method",
]

"""Names → constructors, for the command line and YAML configs.

A :class:`Registry` maps a short name (``"vsd"``, ``"ds"``) to a factory. Libraries register their parts with
the :meth:`Registry.register` decorator; drivers call :meth:`Registry.build`. Unknown names raise an
error that lists every valid name. A part defined in a package that builds on the registry's own package
is :meth:`Registry.declare`-d by module name, so the name is known whatever was imported first.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")  # what the registry's factories build


class Registry(Generic[T]):
    """A named table of factories for one kind of part (``"mediator"``, ``"aggregator"``, ...).

    ``Registry[Mediator]`` tells a type checker what :meth:`build` returns.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._declared: dict[str, str] = {}  # name → module that registers it when imported
        self._packages: list[str] = []  # packages whose import registers more parts (see discover)

    def declare(self, name: str, module: str) -> None:
        """Make ``name`` known now; its factory is registered by ``module``, imported on first use."""
        if name in self:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._declared[name] = module

    def discover(self, package: str) -> None:
        """Import ``package`` before the first lookup or listing: the parts it defines register then.

        For parts defined in a package that builds on this registry's own (a method's mediator in
        :mod:`causalvlm.methods`), so a new file there is found without an import line anywhere else.
        """
        self._packages.append(package)

    def _import_packages(self) -> None:
        while self._packages:
            importlib.import_module(self._packages.pop(0))

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register ``factory`` under ``name``; a second registration of a name is an error."""

        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            self._declared.pop(name, None)
            return factory

        return decorator

    def get(self, name: str) -> Callable[..., T]:
        self._import_packages()
        if name in self._declared:
            module = self._declared[name]
            importlib.import_module(module)  # registers the factory, which ends the declaration
            if name in self._declared:
                raise RuntimeError(f"module {module} was to register {self.kind} {name!r} but did not")
        try:
            return self._factories[name]
        except KeyError:
            valid = ", ".join(self.names()) or "(none registered)"
            raise KeyError(f"unknown {self.kind} {name!r}; valid names: {valid}") from None

    def build(self, name: str, **kwargs: Any) -> T:
        return self.get(name)(**kwargs)

    def names(self, pattern: str = "*") -> list[str]:
        self._import_packages()
        return sorted(n for n in [*self._factories, *self._declared] if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        self._import_packages()
        return name in self._factories or name in self._declared

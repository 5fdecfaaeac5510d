"""A method as one registered object: its preset and every trait drivers, reports and plots ask about.

Like timm's ``@register_model``, a method lives in one file of :mod:`causalvlm.methods` and registers itself
there (:func:`register_method`); nothing outside that file branches on its name. Drivers read its traits:
whether it trains, whether M is its option, whether it is "ours" for the Δ column, what its loss weights are
called on the command line, which mediator option needs a ViT image tower, its published recipe, its colour.
Methods outside the package register through the entry-point group ``causalvlm.methods`` (see
docs/adding-a-method.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from causalvlm.registry import Registry

# name → a factory returning the method's one object (the registry's factories build what they hold)
METHOD_REGISTRY: Registry[Method] = Registry("method")
# Packages outside causalvlm register methods under this entry-point group (pyproject.toml:
# [project.entry-points."causalvlm.methods"] mymethod = "mypackage.mymethod"); loading the entry point must
# register the method (or return a Method, which is then registered).
ENTRY_POINT_GROUP = "causalvlm.methods"


@dataclass(frozen=True)
class Method:
    """One results-table method: a name, its preset, and its traits.

    ``preset`` holds the :class:`~causalvlm.experiments.method_specs.MethodSpec` fields the method fixes:
    ``mediator``, ``templates``, ``aggregator``, ``augmentation``, ``weights`` (loss term → weight, summed
    by the classifier as Σ_k w_k R_k), ``shared_view``, ``trains``, ``mediator_options``,
    ``aggregator_options``.
    """

    name: str
    summary: str  # one line: what the method is (docs, --help)
    preset: Mapping[str, Any]
    rank: int = 50  # order in --method's list and in the default run (the paper's columns first)
    ours: bool = False  # a row whose Δ the tables report against the strongest other method
    variable_templates: bool = False  # M is its option (mediator_options num_templates); --templates applies
    sweeps_templates: bool = False  # the compute report times it at every M in compute_templates
    # Command-line / YAML names of its loss weights: {"beta": "L_de"} makes --beta set the weight of L_de.
    weight_names: Mapping[str, str] = field(default_factory=dict)
    # The mediator option that needs a ViT image tower; on another tower it is switched off and the row is
    # labelled "<name>[text-only]" (MaPLe's and PromptSRC's vision prompts).
    vision_option: str | None = None
    # The published training recipe (max_epochs, batch_size, optim), applied by method_spec(recipe=True).
    recipe: Mapping[str, Any] = field(default_factory=dict)
    colour: str | None = None  # matplotlib colour in every figure; None → the next free one
    # spec → Lightning callbacks its training needs (PromptSRC's prompt averaging over epochs); None: none.
    callbacks: Callable[[Any], list] | None = None

    @property
    def trains(self) -> bool:
        return bool(self.preset.get("trains", True))

    @property
    def mediator(self) -> str:
        return str(self.preset["mediator"])


def register_method(method: Method) -> Method:
    """Add ``method`` to the registry under its name; a second method of the same name is an error."""
    METHOD_REGISTRY.register(method.name)(lambda: method)
    return method


def get_method(name: str) -> Method:
    """The registered method called ``name``; KeyError listing every method otherwise."""
    return METHOD_REGISTRY.build(name)


def find_method(name: str) -> Method | None:
    """The registered method called ``name``, or None (e.g. a row of an older results file)."""
    return get_method(name) if name in METHOD_REGISTRY else None


def method_names() -> tuple[str, ...]:
    """Every registered method, in rank order (the paper's columns first), then by name."""
    return tuple(sorted(METHOD_REGISTRY.names(), key=lambda name: (get_method(name).rank, name)))

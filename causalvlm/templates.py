"""Hand-crafted prompt templates t0: the one home of every template string in the library.

``DEFAULT_TEMPLATE`` is CLIP's generic prompt; ``DATASET_TEMPLATES`` holds the per-dataset t0 that CoOp
evaluates zero-shot CLIP with, and the data layer reads it for ``DatasetSplits.template`` (so the table here
is the one the pipeline uses). ``template_for("oxford_pets")`` → ``"a photo of a {}, a type of pet."``;
names are matched after lowercasing and dropping ``_``/``-``/spaces, so CoOp's class-style names
(``"OxfordPets"``) work as well. Plain Python: no torch, so the data layer can read it cheaply.
"""

from __future__ import annotations

# CLIP's generic prompt (Radford et al.), and the default t0 wherever a dataset has no template of its own
# (image folders, the generated world) or a mediator is built without one.
DEFAULT_TEMPLATE = "a photo of a {}."

# Dataset → t0. Every template has exactly one "{}" for the class name.
DATASET_TEMPLATES: dict[str, str] = {
    "oxford_pets": "a photo of a {}, a type of pet.",
    "oxford_flowers": "a photo of a {}, a type of flower.",
    "fgvc_aircraft": "a photo of a {}, a type of aircraft.",
    "dtd": "{} texture.",
    "eurosat": "a centered satellite photo of {}.",
    "stanford_cars": DEFAULT_TEMPLATE,
    "food101": "a photo of {}, a type of food.",
    "sun397": DEFAULT_TEMPLATE,
    "caltech101": DEFAULT_TEMPLATE,
    "ucf101": "a photo of a person doing {}.",
    "imagenet": DEFAULT_TEMPLATE,
    # ImageNet variants used for domain generalisation share ImageNet's classes and t0.
    "imagenet_sketch": DEFAULT_TEMPLATE,
    "imagenetv2": DEFAULT_TEMPLATE,
    "imagenet_a": DEFAULT_TEMPLATE,
    "imagenet_r": DEFAULT_TEMPLATE,
    # The world datasets with their own vocabularies (causalvlm/worlds/vocabularies.py): caption-grammar
    # phrases around the class, as CoOp's per-dataset templates are phrases around theirs.
    "colourworld": "a photo of a {} shape.",
    "textureworld": "a photo of a shape on a {} background.",
    "layoutworld": DEFAULT_TEMPLATE,  # the class is the phrase: "small shape on the left"
    "iconworld": DEFAULT_TEMPLATE,  # the class is the phrase: "red triangle"
}

# Named template *sets* for hand-crafted multi-template (prompt-ensemble) baselines.
TEMPLATE_SETS: dict[str, list[str]] = {
    # The 7-template ImageNet ensemble reported for zero-shot CLIP in the CoOp/CoCoOp code bases.
    "imagenet_ensemble": [
        "itap of a {}.",
        "a bad photo of the {}.",
        "a origami {}.",
        "a photo of the large {}.",
        "a {} in a video game.",
        "art of the {}.",
        "a photo of the small {}.",
    ],
}


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in "_- ")


_BY_KEY = {_key(name): name for name in DATASET_TEMPLATES}
# Aliases from CoOp's dataset class names whose letters differ from ours.
_BY_KEY.update(
    {"flowers102": "oxford_flowers", "describabletextures": "dtd", "imagenetsketch": "imagenet_sketch"}
)


def template_for(dataset_name: str) -> str:
    """The hand-crafted template t0 of a dataset; KeyError listing the known datasets otherwise."""
    try:
        return DATASET_TEMPLATES[_BY_KEY[_key(dataset_name)]]
    except KeyError:
        raise KeyError(
            f"no hand-crafted template for dataset {dataset_name!r}; "
            f"known datasets: {', '.join(DATASET_TEMPLATES)}"
        ) from None


def templates_named(name: str) -> list[str]:
    """A named template set, or the single t0 of a dataset; KeyError listing every valid name otherwise."""
    if name in TEMPLATE_SETS:
        return list(TEMPLATE_SETS[name])
    try:
        return [template_for(name)]
    except KeyError:
        valid = ", ".join([*TEMPLATE_SETS, *DATASET_TEMPLATES])
        raise KeyError(f"unknown template name {name!r}; valid names: {valid}") from None


def check_template(template: str) -> str:
    """``template`` if it has exactly one ``{}`` slot for the class name; ValueError naming it otherwise."""
    if not isinstance(template, str) or template.count("{}") != 1:
        raise ValueError(f"template {template!r} must contain exactly one '{{}}' for the class name")
    return template

"""The similarity probe of the paper's Fig. 1a: does CLIP align an image with its *full* description?

For image x with description d, class-only prompt c and factor phrases p_k, the probe reports

    cos(x, t) = f(x) · g(t) / (‖f(x)‖ ‖g(t)‖)   for t ∈ {d, c, p_1, …, p_K},

with f, g CLIP's image and text encoders. The paper's observation (the task misalignment CDC starts from): the
image is closer to the description that names its task-irrelevant factors too than to the class-only text.

A control pairs every image with the texts of *another* image (a seeded derangement). A cosine that stays
the same when the text belongs to another image measures the phrase, not the image: the encoder does not
read that factor.

Descriptions come from the known factors on the world (:func:`world_descriptions`) or from a CSV for real
images (:mod:`causalvlm.evaluation.probe_csv`); :func:`causalvlm.evaluation.plots.plot_similarity_probe`
draws the distributions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from causalvlm.backbones import FrozenCLIP
from causalvlm.data import DATASETS
from causalvlm.evaluation.features import encode_images
from causalvlm.worlds.captions import POSITION_WORDS, TEXTURE_WORDS
from causalvlm.worlds.factors import DRAWN_FACTORS, Factors
from causalvlm.worlds.task import TEMPLATE, load_factors
from causalvlm.worlds.zero_shot import FACTOR_PROMPTS

FULL = "full description"
CLASS_ONLY = "class only"


@dataclass(frozen=True)
class Description:
    """The texts one image is compared with."""

    full: str  # the class and every described factor, e.g. "a photo of a small red star on a ..."
    class_prompt: str  # the class alone, e.g. "a photo of a star."
    parts: Mapping[str, str] = field(default_factory=dict)  # factor name → that factor's phrase alone


@dataclass
class ProbeResult:
    """Cosines per image: ``full`` [N], ``class_only`` [N], ``parts[k]`` [N] (NaN where k is not described).

    ``mismatched`` holds the same cosines with the texts of another image (the control), keyed as
    :meth:`cosines`; None when the probe ran without it.
    """

    full: np.ndarray
    class_only: np.ndarray
    parts: dict[str, np.ndarray]
    mismatched: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.full)

    def cosines(self) -> dict[str, np.ndarray]:
        """Every distribution, in plotting order: full description, class only, then the factors."""
        return {FULL: self.full, CLASS_ONLY: self.class_only, **self.parts}

    def summary(self) -> dict:
        """Mean, std and count of each cosine, and how often the full description beats the class prompt."""
        cosine = {}
        for kind, values in self.cosines().items():
            finite = values[~np.isnan(values)]
            cosine[kind] = {
                "mean": float(finite.mean()) if finite.size else None,
                "std": float(finite.std()) if finite.size else None,
                "count": int(finite.size),
            }
            if self.mismatched is not None:
                control = self.mismatched[kind][~np.isnan(self.mismatched[kind])]
                cosine[kind]["mismatched_mean"] = float(control.mean()) if control.size else None
        return {
            "images": len(self),
            "cosine": cosine,
            "full_above_class": float(np.mean(self.full > self.class_only)),
        }


@torch.no_grad()
def encode_texts(backbone: FrozenCLIP, texts: Sequence[str], batch_size: int = 256) -> dict[str, Tensor]:
    """L2-normalised text features of each distinct text (encoded once however often it occurs)."""
    unique = list(dict.fromkeys(texts))
    features = {}
    for start in range(0, len(unique), batch_size):
        chunk = unique[start : start + batch_size]
        for text, feature in zip(chunk, backbone.encode_text(chunk).float().cpu(), strict=True):
            features[text] = feature
    return features


def control_pairing(texts: Sequence[str], seed: int) -> np.ndarray:
    """π with ``texts[π(i)] != texts[i]`` for every i: each image gets another image's text, never its own.

    A derangement of the indices is not enough when texts repeat (a CSV with duplicate rows, two images
    described alike): image i would meet its own text under another index. So the indices are grouped by
    text (groups in a seeded random order, shuffled within) and position p is paired with position
    p + g (mod N), g the size of the largest group: a shift by at least a group's length always leaves that
    group. This needs g <= N / 2; otherwise no such pairing exists and the ValueError says which text
    repeats.
    """
    n = len(texts)
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = {}
    for index in rng.permutation(n):
        groups.setdefault(texts[index], []).append(int(index))
    largest = max(groups.values(), key=len)
    if 2 * len(largest) > n:
        raise ValueError(
            f"the control pairs every image with another image's text, but {len(largest)} of the {n} images "
            f"share the text {texts[largest[0]]!r}: fewer than half may share one text (duplicate rows?)"
        )
    keys = list(groups)
    order = [groups[keys[k]] for k in rng.permutation(len(keys))]
    positions = np.array([index for group in order for index in group])
    other = np.empty(n, dtype=int)
    other[positions] = np.roll(positions, -len(largest))
    return other


@torch.no_grad()
def similarity_probe(
    backbone: FrozenCLIP,
    image_features: Tensor,
    descriptions: Sequence[Description],
    control_seed: int | None = 0,
) -> ProbeResult:
    """cos(x_i, t) for each image feature ``[N,D]`` and the texts of its description (module docstring).

    With ``control_seed`` (and N > 1) the control is computed too: image i against the description of image
    π(i), where π (:func:`control_pairing`) never gives an image a description equal to its own.
    """
    if image_features.dim() != 2 or image_features.shape[0] != len(descriptions) or not descriptions:
        raise ValueError(
            f"need one description per image feature, got {len(descriptions)} descriptions for features "
            f"of shape {tuple(image_features.shape)}"
        )
    factors = list(dict.fromkeys(k for d in descriptions for k in d.parts))
    texts = [t for d in descriptions for t in (d.full, d.class_prompt, *d.parts.values())]
    text = encode_texts(backbone, texts)
    # Both sides are unit vectors, so the dot product is the cosine; normalising again guards callers that
    # pass unnormalised image features.
    x = torch.nn.functional.normalize(image_features.float().cpu(), dim=-1)

    def cos(column: Sequence[str | None]) -> np.ndarray:
        return np.array([float("nan") if t is None else float(x[i] @ text[t]) for i, t in enumerate(column)])

    def probe(paired: Sequence[Description]) -> ProbeResult:
        return ProbeResult(
            full=cos([d.full for d in paired]),
            class_only=cos([d.class_prompt for d in paired]),
            parts={k: cos([d.parts.get(k) for d in paired]) for k in factors},
        )

    result = probe(descriptions)
    if control_seed is not None and len(descriptions) > 1:
        other = control_pairing([d.full for d in descriptions], control_seed)
        result.mismatched = probe([descriptions[j] for j in other]).cosines()
    return result


@torch.no_grad()
def encode_pil(backbone: FrozenCLIP, images: Sequence[Image.Image], batch_size: int = 256) -> Tensor:
    """Image features ``[N,D]`` through the backbone's eval preprocessing (as the pipeline encodes tests)."""
    if backbone.preprocess is None:
        raise ValueError("the backbone has no eval preprocess")
    device = backbone.device
    out = []
    for start in range(0, len(images), batch_size):
        batch = torch.stack(
            [backbone.preprocess(im.convert("RGB")) for im in images[start : start + batch_size]]
        )
        out.append(backbone.encode_image(batch.to(device)).float().cpu())
    return torch.cat(out)


# --------------------------------------------------------------------------- the world
def world_description(factors: Factors, template: str = TEMPLATE) -> Description:
    """The texts of one world image, from its known factors and the caption grammar of the pre-training.

    Full: "a photo of a <size> <colour> <shape> on a <texture> <background colour> background <position>.",
    naming only the factors the image's style draws (``DRAWN_FACTORS``: a silhouette has no colour, no
    background colour and no texture, so its description is "a photo of a <size> <shape> <position>.");
    class only: the task's template ("a photo of a <shape>."); parts: each drawn task-irrelevant factor's
    zero-shot prompt (``causalvlm.worlds.zero_shot.FACTOR_PROMPTS``), e.g. "a photo of a red shape.".
    """
    words = factors.names()
    drawn = DRAWN_FACTORS[factors.style]
    said = {k: (v if k in drawn else "") for k, v in words.items()}
    background = ""
    if said["background_colour"] or said["texture"]:
        texture = TEXTURE_WORDS[words["texture"]] if said["texture"] else ""
        background = f"on a {texture} {said['background_colour']} background"
    position = POSITION_WORDS[words["position"]] if said["position"] else ""
    full = " ".join(
        w
        for w in ("a photo of a", said["size"], said["object_colour"], words["shape"], background, position)
        if w
    )
    full = " ".join(full.split()) + "."
    parts = {
        name: prompt(words[name])
        for name, prompt in FACTOR_PROMPTS.items()
        if name != "shape" and name in drawn
    }
    return Description(full=full, class_prompt=template.format(words["shape"]), parts=parts)


def world_descriptions(factors: Sequence[Factors], template: str = TEMPLATE) -> list[Description]:
    return [world_description(f, template) for f in factors]


def probe_world_task(backbone: FrozenCLIP, root: str | Path, max_images: int | None = None) -> ProbeResult:
    """The probe on the test images of the ShapeWorld task under ``root`` (as written by ``make_task``).

    ``max_images`` keeps an evenly spaced subset (the test split is ordered by class).
    """
    root = Path(root).expanduser().resolve()
    test = DATASETS.build("shapeworld", root=str(root), num_shots=1, seed=1).test
    if max_images is not None and max_images < len(test):
        test = [test[i] for i in np.linspace(0, len(test) - 1, max_images).round().astype(int)]
    known = load_factors(root)
    missing = [d.impath for d in test if d.impath not in known]
    if missing:
        raise ValueError(f"{root}: no factors recorded for {len(missing)} test image(s), e.g. {missing[0]}")
    features, _ = encode_images(backbone, test)
    return similarity_probe(backbone, features, world_descriptions([known[d.impath] for d in test]))

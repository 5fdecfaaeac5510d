"""Domain shifts of a world task that are maps of its factors: the same draws, one factor intervened on.

A shift is applied to every image a task draws (:func:`causalvlm.worlds.task.make_task` with ``shift=``):
the generator state, and so every other factor of every image, stays what the unshifted task draws, so a
shifted task with the same seed is its source task with one factor set by an intervention, image for image.
Two of the world's cross-domain targets (:mod:`causalvlm.worlds.domains`) are such maps; the other two
are plain task settings (another seed, ``style: sketch``).

* ``renditions`` (≈ ImageNet-R): do(style): each image is drawn in one of the styles that are neither the
  source's nor ``sketch`` (the Sketch target has that one), cycled by the image's index in its split, so
  every class gets every style in turn.
* ``hard`` (≈ ImageNet-A): do(rotation) out of the training support: a rotation θ ∈ [−r, r] of the source
  becomes sign(θ)·(lo + (hi − lo)·|θ|/r), a monotone map onto |θ| ∈ [lo, hi] = [90°, 180°], angles the task's
  training images (|θ| ≤ r = 20° by default) never show; with r = 0 the sign comes from the noise seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from causalvlm.worlds.factors import RENDER_STYLES, Factors, WorldOptions

SKETCH_STYLE = "sketch"  # the Sketch target's style; the renditions leave it to that target
# The hard target's rotations, |θ| in [90°, 180°]: far outside the tasks' ±20°. Chosen on validation images by
# examples/cdc/choose_domain_shifts.py: of the bands [30, 90], [45, 135], [90, 180], the one whose zero-shot
# accuracy as a share of the source's is closest to CLIP's ImageNet-A / ImageNet share (0.716); every band was
# harder than that (shares 0.21, 0.27, 0.36 on the silhouette source), so this is the mildest of them.
HARD_ROTATION_DEG = (90.0, 180.0)


def rendition_styles(source_style: str) -> tuple[str, ...]:
    """The styles of the renditions of a task drawn in ``source_style``: any but it and the sketch."""
    return tuple(s for s in RENDER_STYLES if s not in (source_style, SKETCH_STYLE))


def renditions(factors: Sequence[Factors], options: WorldOptions) -> list[Factors]:
    """do(style): image i drawn in ``rendition_styles(options.style)[i mod k]``."""
    styles = rendition_styles(options.style)
    return [replace(f, style=styles[i % len(styles)]) for i, f in enumerate(factors)]


def hard_rotations(factors: Sequence[Factors], options: WorldOptions) -> list[Factors]:
    """do(rotation): θ → sign(θ)·(lo + (hi − lo)·|θ|/r), r = ``options.rotation_range``, [lo, hi] =
    :data:`HARD_ROTATION_DEG`."""
    low, high = HARD_ROTATION_DEG
    r = options.rotation_range
    shifted = []
    for f in factors:
        sign = (1.0 if f.rotation >= 0 else -1.0) if r > 0 else (1.0 if f.noise_seed % 2 else -1.0)
        fraction = abs(f.rotation) / r if r > 0 else 0.5
        shifted.append(replace(f, rotation=sign * (low + (high - low) * fraction)))
    return shifted


FACTOR_SHIFTS: dict[str, Callable[[Sequence[Factors], WorldOptions], list[Factors]]] = {
    "renditions": renditions,
    "hard": hard_rotations,
}


def check_shift(shift: str | None) -> None:
    """ValueError naming ``shift`` when it is not a :data:`FACTOR_SHIFTS` name (None: no shift)."""
    if shift is not None and shift not in FACTOR_SHIFTS:
        raise ValueError(f"shift must be one of {', '.join(FACTOR_SHIFTS)}, got {shift!r}")


def shift_factors(shift: str | None, factors: Sequence[Factors], options: WorldOptions) -> list[Factors]:
    """``factors`` under the named shift (unchanged for None)."""
    check_shift(shift)
    return list(factors) if shift is None else FACTOR_SHIFTS[shift](factors, options)


__all__ = [
    "FACTOR_SHIFTS",
    "HARD_ROTATION_DEG",
    "check_shift",
    "hard_rotations",
    "rendition_styles",
    "renditions",
    "shift_factors",
]

"""The world option ``style`` draws the same factors another way, and each style draws what it says."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from causalvlm.worlds import RENDER_STYLES, WorldOptions, render, sample_factors
from causalvlm.worlds.factors import COLOUR_RGB, OBJECT_COLOURS


def _factors(style: str, n: int = 6):
    rng = np.random.default_rng(3)
    return sample_factors(rng, np.arange(n), options=WorldOptions(noise_max=0.0, style=style))


def test_every_style_is_deterministic_and_differs_from_filled():
    filled = [render(f) for f in _factors("filled")]
    for style in RENDER_STYLES[1:]:
        images = [render(f) for f in _factors(style)]
        assert all(np.array_equal(a, render(f)) for a, f in zip(images, _factors(style), strict=True))
        assert all(not np.array_equal(a, b) for a, b in zip(images, filled, strict=True)), style


def test_styles_keep_the_factors_and_change_only_the_drawing():
    for style in RENDER_STYLES:
        drawn = _factors(style)
        assert [replace(f, style="filled") for f in drawn] == _factors("filled")
        assert {f.style for f in drawn} == {style}


@pytest.mark.parametrize("style", ["sketch", "silhouette"])
def test_sketch_and_silhouette_have_no_colour(style):
    for f in _factors(style):
        image = render(f).astype(int)
        assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2])


def test_outline_is_a_thin_rim_in_the_object_colour_on_white():
    for f_outline in _factors("outline"):
        image = render(f_outline).astype(int)
        paper = (image == 255).all(-1)
        assert paper.mean() > 0.7  # mostly white paper
        ink = ~paper & (np.abs(image - 255).sum(-1) > 60)
        colour = np.array(COLOUR_RGB[OBJECT_COLOURS[f_outline.object_colour]])
        assert ink.sum() > 20
        assert np.abs(image[ink].mean(0) - colour).max() < 80  # the rim is drawn in the object's colour


def test_unknown_style_is_refused_naming_it():
    with pytest.raises(ValueError, match="style must be one of .*'crayon'"):
        WorldOptions(style="crayon")


def test_a_spurious_cue_the_style_does_not_draw_is_refused_before_anything_is_written(tmp_path):
    from causalvlm.worlds import make_task, task_parameters

    with pytest.raises(ValueError, match="spurious_factor object_colour is not drawn in style silhouette"):
        make_task(tmp_path, rho=0.5, style="silhouette")
    assert not any(tmp_path.iterdir())
    task_parameters(rho=0.5, style="silhouette", spurious_factor="position")  # a drawn factor is fine
    task_parameters(rho=0.0, style="silhouette")  # no cue at ρ = 0

"""Caption grammar: only true factors, fits the context; the shipped world graph."""

from __future__ import annotations

import networkx as nx
import numpy as np
import open_clip
import pytest

from causalvlm.scm import load_graph
from causalvlm.worlds import SHAPE_NAMES, caption, register_tiny_clip, sample_factors
from causalvlm.worlds.captions import (
    DATASET_NAMES,
    POSITION_WORDS,
    TEXTURE_WORDS,
    CaptionConfig,
    dataset_name_rate,
)
from causalvlm.worlds.factors import COLOUR_NAMES, FACTOR_NAMES, SIZES
from causalvlm.worlds.world_graph import shapeworld_scm


def _captioned(n: int = 600):
    rng = np.random.default_rng(4)
    factors = sample_factors(rng, rng.integers(len(SHAPE_NAMES), size=n))
    return factors, [caption(f, rng) for f in factors]


def test_captions_name_only_the_true_shape_and_colour():
    factors, captions = _captioned()
    for f, text in zip(factors, captions, strict=True):
        words = f.names()
        object_words = text.split(" on ")[0].split()  # the object phrase, before any background
        named_shapes = [s for s in SHAPE_NAMES if s in object_words]
        named_colours = [c for c in COLOUR_NAMES if c in object_words]
        assert named_shapes in ([], [words["shape"]]), (text, words)
        assert named_colours in ([], [words["object_colour"]]), (text, words)


def test_captions_mention_varying_subsets_of_factors():
    factors, captions = _captioned()
    shape_rate = np.mean([f.names()["shape"] in t for f, t in zip(factors, captions, strict=True)])
    assert 0.6 < shape_rate < 0.95  # shape named often, but not always
    assert any(t.startswith("something ") for t in captions)
    assert any(any(w in t for w in TEXTURE_WORDS.values()) for t in captions)
    assert any(any(w in t for w in POSITION_WORDS.values()) for t in captions)
    assert any(any(f" {s} " in t for s in SIZES) for t in captions)
    assert len(set(captions)) > len(captions) // 2


def test_every_caption_fits_the_context_length():
    register_tiny_clip()
    tokenizer = open_clip.get_tokenizer("causalvlm-tiny")
    _, captions = _captioned(300)
    tokens = tokenizer(captions)
    assert (tokens == 49407).sum(dim=1).eq(1).all()  # the end-of-text token survives (no truncation)


def test_shipped_graph_is_the_one_built_from_the_factors():
    shipped, built = load_graph("shapeworld"), shapeworld_scm()
    assert set(shipped.graph.nodes) == set(built.graph.nodes)
    assert set(shipped.graph.edges) == set(built.graph.edges)
    assert set(shipped.latents) == set(FACTOR_NAMES)
    assert set(shipped.graph.predecessors("X")) == set(FACTOR_NAMES)
    assert nx.is_directed_acyclic_graph(shipped.graph)


def test_shape_focused_batches_name_the_shape_alone():
    from causalvlm.worlds.captions import OPENERS
    from causalvlm.worlds.corpus import CaptionedBatches, render_images

    corpus = render_images(40, seed=0)
    batches = CaptionedBatches(corpus, batch_size=8, seed=1, shape_batch_fraction=1.0)
    for _ in range(3):
        _, texts = batches.next()
        for text in texts:
            rest = next(text[len(o) :] for o in sorted(OPENERS, key=len, reverse=True) if text.startswith(o))
            article, shape = rest.split(" ")
            assert article in ("a", "an") and shape in SHAPE_NAMES, text


def test_shape_batch_fraction_out_of_range_is_rejected():
    import pytest

    from causalvlm.worlds.corpus import CaptionedBatches, render_images

    with pytest.raises(ValueError, match="shape_batch_fraction"):
        CaptionedBatches(render_images(4, seed=0), batch_size=2, seed=0, shape_batch_fraction=1.5)


def test_dataset_names_appear_at_their_rates():
    rng = np.random.default_rng(0)
    config = CaptionConfig(p_shape=1.0, p_dataset_name=0.4)
    rates = [dataset_name_rate(s, 0.4) for s in range(len(SHAPE_NAMES))]
    assert min(rates) == 0.0 and max(rates) == pytest.approx(0.4)
    half = len(SHAPE_NAMES) // 2
    assert abs(np.mean(rates[:half]) - np.mean(rates[half:])) < 0.05  # base and new get the same spread
    for shape in (int(np.argmax(rates)), int(np.argmin(rates))):
        factors = sample_factors(rng, np.full(400, shape))
        share = np.mean([DATASET_NAMES[SHAPE_NAMES[shape]] in caption(f, rng, config) for f in factors])
        assert abs(share - rates[shape]) < 0.07, (SHAPE_NAMES[shape], share, rates[shape])


def test_dataset_names_are_distinct_and_never_a_caption_word_alone():
    names = list(DATASET_NAMES.values())
    assert sorted(DATASET_NAMES) == sorted(SHAPE_NAMES) and len(set(names)) == len(names)
    assert not set(names) & set(SHAPE_NAMES)

"""What the run's figures show: labels, ranges, colours and counts a reader needs without the docs."""

from __future__ import annotations

import torch
from matplotlib.colors import to_hex

from causalvlm.evaluation.plots import (
    accuracy_per_epoch_figure,
    method_colours,
    plot_template_accuracy,
    reliability_figure,
    template_accuracy_figure,
)
from causalvlm.evaluation.report import _first_seed_note


def test_template_bars_are_labelled_and_the_y_range_shows_the_gap():
    figure = template_accuracy_figure({"cdc\nworld/base": ([91.0, 90.5, 88.0, 90.0], 94.0)})
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["S1", "S2", "S3", "S4", "fused"]
    low, high = axes.get_ylim()
    assert 80.0 < low < 88.0 and 94.0 < high < 100.0  # the 88-vs-94 gap fills the panel
    assert [t.get_text() for t in axes.texts] == ["91.0", "90.5", "88.0", "90.0", "94.0"]
    assert axes.get_title() == "cdc · world/base"


def test_each_template_panel_has_its_own_range():
    figure = template_accuracy_figure({"cdc\nbase": ([88.0, 91.0], 94.0), "cdc\nnew": ([70.0, 71.0], 75.0)})
    (base_low, base_high), (new_low, new_high) = (a.get_ylim() for a in figure.axes[:2])
    assert base_low > 80.0 and new_high < 80.0


def test_template_figure_without_multi_template_methods_says_so(tmp_path):
    assert plot_template_accuracy({}, tmp_path / "t.png").stat().st_size > 0
    assert "more than one template" in template_accuracy_figure({}).axes[0].texts[0].get_text()


def test_accuracy_per_epoch_one_colour_per_method_base_solid_new_dashed():
    flat = [{"epoch": float(e), "base_acc": 80.0, "new_acc": 70.0} for e in range(3)]
    histories = {"zeroshot": [flat[0]], "coop": flat, "cdc": flat}  # all three lines coincide
    axes = accuracy_per_epoch_figure(histories, seeds="seed 1").axes[0]
    by_label = {line.get_label(): line for line in axes.get_lines()}
    colours = {}
    for label, line in by_label.items():
        method, set_name = label.split()[:2]
        colours.setdefault(method, set()).add(to_hex(line.get_color()))
        assert line.get_linestyle() == ("-" if set_name == "base" else "--"), label
    assert all(len(c) == 1 for c in colours.values())  # one colour per method...
    assert len({c for cs in colours.values() for c in cs}) == 3  # ...and different methods differ
    # coinciding lines stay visible: each later method is drawn thinner on top of the earlier ones
    widths = [by_label[f"{m} base"].get_linewidth() for m in ("coop", "cdc")]
    assert widths[0] > widths[1]
    assert by_label["zeroshot base (no training)"].get_linewidth() > widths[0]
    assert "seed 1" in axes.get_title()


def test_method_colours_follow_the_family_and_never_repeat():
    colours = method_colours(["zeroshot", "coop", "cdc", "cdc[M=8]", "maple"])
    assert colours["cdc"] == "tab:red" and colours["coop"] == "tab:blue"
    assert len(set(colours.values())) == 5


def test_reliability_names_its_seed_and_shows_bin_counts():
    torch.manual_seed(0)
    probs = torch.softmax(3 * torch.randn(200, 5), dim=-1)
    labels = torch.randint(0, 5, (200,))
    curves = {"cdc (world/base)": (probs, labels)}
    figure = reliability_figure(curves, n_bins=10, seeds="seed 2 (first of 2, 3)")
    assert "seed 2 (first of 2, 3)" in figure._suptitle.get_text()
    top, bottom = figure.axes
    assert "N = 200" in top.get_title()
    counts = [patch.get_height() for patch in bottom.patches]
    assert len(counts) == 10 and sum(counts) == 200
    assert sorted(int(t.get_text()) for t in bottom.texts) == sorted(int(c) for c in counts if c > 0)


def test_first_seed_note_reads_the_configured_order():
    payload = {"config": {"seeds": [3, 1, 2]}, "seeds": [1, 2, 3]}  # the run's order, not the sorted one
    assert _first_seed_note(payload) == "seed 3 (first of 3, 1, 2)"
    assert _first_seed_note({"seeds": [5]}) == "seed 5"
    assert _first_seed_note({}) == ""

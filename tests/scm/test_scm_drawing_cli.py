"""Figure output, the `python -m causalvlm.scm` command and the causal-core demo."""

from __future__ import annotations

import re

import pytest

from causalvlm.estimators import demo as scm_demo
from causalvlm.scm import draw_scm, load_graph
from causalvlm.scm.__main__ import main as scm_main
from causalvlm.scm.drawing import layered_positions


def test_layers_put_causes_above_effects():
    scm = load_graph("backdoor_example")
    pos = layered_positions(scm)
    for u, v in scm.graph.edges:
        assert pos[u][1] > pos[v][1], (u, v)


def test_png_and_svg_are_written_with_dashed_latents(tmp_path):
    scm = load_graph("smoking_tar_cancer")
    draw_scm(scm, tmp_path / "g.png", highlight=["Tar"])
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    draw_scm(scm, tmp_path / "g.svg")
    svg = (tmp_path / "g.svg").read_text()
    assert "stroke-dasharray" in svg  # the latent Genotype and its edges are dashed
    no_latents = load_graph("backdoor_example")
    draw_scm(no_latents, tmp_path / "plain.svg")
    assert "stroke-dasharray" not in (tmp_path / "plain.svg").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "g.svg", "plain.svg"]


def test_bad_figure_inputs(tmp_path):
    scm = load_graph("bow")
    with pytest.raises(ValueError, match="must end in one of"):
        draw_scm(scm, tmp_path / "g.jpeg")
    with pytest.raises(ValueError, match="unknown highlighted node 'Q'"):
        draw_scm(scm, tmp_path / "g.png", highlight=["Q"])
    assert not list(tmp_path.iterdir())


def test_cli_prints_identification_and_writes_figure(tmp_path, capsys):
    out = tmp_path / "fig.svg"
    assert (
        scm_main(["smoking_tar_cancer", "--treatment", "Smoking", "--outcome", "Cancer", "--out", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert "identification: frontdoor" in text
    assert "Smoking - Genotype - Cancer  (open without adjustment)" in text
    assert "minimal front-door sets: {Tar}" in text
    assert out.is_file()


def test_cli_reports_bad_query_without_writing(tmp_path, capsys):
    out = tmp_path / "fig.png"
    assert scm_main(["bow", "--treatment", "U", "--outcome", "Y", "--out", str(out)]) == 2
    assert "treatment 'U' is latent" in capsys.readouterr().err
    assert not out.exists()


def test_demo_estimate_is_close_to_truth(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert scm_demo.main(["--rows", "50000", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    exact, front, naive = (
        float(v)
        for v in re.search(r"risk difference: exact (\S+), front-door (\S+), naive (\S+)", text).groups()
    )
    assert abs(front - exact) < 4 / 50000**0.5 * 2  # a difference of two rows, each within 4/sqrt(N)
    assert abs(naive - exact) > 0.1  # confounding the demo is there to show
    assert out.is_file()

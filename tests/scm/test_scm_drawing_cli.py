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


def test_symbols_are_set_as_math_and_latent_nodes_are_explained():
    from causalvlm.scm.drawing import node_label

    scm = load_graph("cdc_frontdoor")
    assert node_label(scm, "G_i_hat") == r"$\hat{G}_i$"  # drawn as Ĝ_i, not "G_i_hat"
    assert node_label(scm, "X") == "$X$"
    assert node_label(load_graph("smoking_tar_cancer"), "Genotype") == "Genotype"
    axes = draw_scm(scm, highlight=["S"], highlight_label="mediator").axes[0]
    drawn = {t.get_text() for t in axes.texts}
    assert {r"$\hat{G}_i$", "$X$", "$S$", "$Y$"} <= drawn and "G_i_hat" not in drawn
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert legend == ["observed variable", "mediator", "latent (unobserved)", "edge from a latent variable"]
    plain = draw_scm(load_graph("backdoor_example")).axes[0]
    assert [t.get_text() for t in plain.get_legend().get_texts()] == ["observed variable"]


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


def test_cli_without_out_prints_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert scm_main(["cdc_frontdoor", "--treatment", "X", "--outcome", "Y"]) == 0
    text = capsys.readouterr().out
    assert "minimal front-door sets: {S}" in text
    assert "figure:" not in text
    assert list(tmp_path.iterdir()) == []


def _cli_error(argv, capsys) -> str:
    assert scm_main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing printed before the error: the check comes first
    return captured.err


def test_cli_unknown_graph_lists_the_shipped_names(capsys):
    err = _cli_error(["no_such_graph", "--treatment", "X", "--outcome", "Y"], capsys)
    assert "no graph named 'no_such_graph'" in err
    assert "cdc_frontdoor" in err and "smoking_tar_cancer" in err


def test_cli_folder_or_binary_file_as_graph_is_named(tmp_path, capsys):
    err = _cli_error([str(tmp_path) + "/", "--treatment", "X", "--outcome", "Y"], capsys)
    assert f"graph path {tmp_path} is a folder" in err
    binary = tmp_path / "weights.gml"
    binary.write_bytes(bytes(range(256)) * 4)
    err = _cli_error([str(binary), "--treatment", "X", "--outcome", "Y"], capsys)
    assert f"{binary}: malformed GML" in err


def test_cli_bad_figure_paths_fail_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    query = ["cdc_frontdoor", "--treatment", "X", "--outcome", "Y", "--out"]
    err = _cli_error([*query, str(blocker / "fig.png")], capsys)
    assert f"{blocker} is a file, not a folder" in err
    err = _cli_error([*query, str(tmp_path / "fig.jpeg")], capsys)
    assert "fig.jpeg must end in one of" in err
    err = _cli_error([*query, str(tmp_path)], capsys)
    assert f"figure path {tmp_path} is a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_cli_creates_missing_folders_for_the_figure(tmp_path, capsys):
    out = tmp_path / "new" / "deeper" / "fig.png"
    assert scm_main(["bow", "--treatment", "X", "--outcome", "Y", "--out", str(out)]) == 0
    assert out.is_file() and f"figure: {out}" in capsys.readouterr().out


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

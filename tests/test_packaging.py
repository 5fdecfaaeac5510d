"""Packaging facts: the licence text, the typing marker, the citation and the version written once."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import causalvlm

REPO = Path(__file__).parents[1]


def test_the_version_is_written_once_and_the_citation_agrees():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert re.search(r'^dynamic = \["version"\]', pyproject, re.M)
    assert 'version = {attr = "causalvlm.__version__"}' in pyproject
    assert not re.search(r"^version\s*=", pyproject.split("[tool.")[0], re.M)  # not in [project]
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert str(citation["version"]) == causalvlm.__version__
    assert f"## {causalvlm.__version__}" in (REPO / "CHANGELOG.md").read_text()


def test_the_citation_names_the_cdc_paper():
    paper = yaml.safe_load((REPO / "CITATION.cff").read_text())["preferred-citation"]
    assert paper["title"].startswith("Rethinking Misalignment in Vision-Language Model Adaptation")
    assert [a["family-names"] for a in paper["authors"]] == ["Zhang", "Li", "Liu", "Qiang"]
    assert paper["year"] == 2024


def test_licence_text_and_typing_marker_ship():
    assert "MIT License" in (REPO / "LICENSE").read_text()
    assert (Path(causalvlm.__file__).parent / "py.typed").is_file()
    assert '"py.typed"' in (REPO / "pyproject.toml").read_text()  # package data: it goes into the wheel

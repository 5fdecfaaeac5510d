"""The README's tour runs as written: its python block is extracted from README.md and executed."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_code() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## A tour", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert match, "README.md's tour has no ```python block"
    return match.group(1)


def test_readme_tour_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing it needs comes from the working folder
    namespace: dict = {"__name__": "readme_tour"}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(tour_code(), str(README), "exec"), namespace)
    printed = output.getvalue()
    assert "P(Y | do(X)) = sum_{S} P(S | X) sum_{X'} P(Y | X', S) P(X')" in printed  # as its comment says
    probs, labels = namespace["probs"], namespace["labels"]
    assert tuple(probs.shape) == (len(labels), 3)
    assert abs(float(probs.sum(dim=1).mean()) - 1.0) < 1e-5
    claimed_true = re.findall(r"^(\S.*?)\s+# True$", tour_code(), flags=re.MULTILINE)
    assert claimed_true and all(eval(expr, namespace) is True for expr in claimed_true)
    assert list(tmp_path.iterdir()) == []

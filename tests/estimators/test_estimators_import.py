"""The causal core must import without torch (and without matplotlib until something is drawn)."""

from __future__ import annotations

import subprocess
import sys


def test_scm_and_estimators_do_not_import_torch():
    code = (
        "import sys, causalvlm.scm, causalvlm.estimators, causalvlm.estimators.demo; "
        "print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]

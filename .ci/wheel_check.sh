#!/usr/bin/env bash
# Wheel check: build causalvlm's wheel, install it (not editable) into a fresh virtual environment pinned by
# constraints.txt, and use it from a folder outside the checkout, so that nothing of the repository is on
# sys.path: the causal-core demo, a graph query, and the installed `causalvlm` command: a one-epoch CDC run on
# ShapeWorld with the shipped tiny CLIP (`causalvlm run`), then its trained prompts scored again without
# training (`causalvlm eval --run`), which must reproduce the run's own accuracies.
#
#     .ci/wheel_check.sh            # or: make wheel-check
#
# Everything is written under one temporary folder, removed at the end (KEEP=1 keeps it and prints its path).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/causalvlm-wheel.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then
  trap 'echo "kept $work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
step() { printf '== [%4ss] %s\n' "$SECONDS" "$1"; }
fail() { echo "wheel check failed: $*" >&2; exit 1; }

step "copy the checkout's files (tracked and not ignored) to $work/src"
# Building from a copy keeps the checkout clean and keeps a stale build/ folder out of the wheel.
mkdir "$work/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
  while IFS= read -r -d '' f; do
    if [ -e "$repo/$f" ] || [ -L "$repo/$f" ]; then printf '%s\0' "$f"; fi
  done |
  (cd "$repo" && tar --null -T - -cf -) | tar -xf - -C "$work/src"

step "fresh virtual environment $work/venv"
"$PYTHON" -m venv "$work/venv"
py="$work/venv/bin/python"

step "build the wheel"
"$py" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/src"
wheel="$(ls "$work"/dist/causalvlm-*.whl)"
# Every file git tracks under causalvlm/ (modules, graphs, checkpoint, JSON) must be in the wheel.
git -C "$repo" ls-files causalvlm >"$work/tracked.txt"
"$py" - "$wheel" "$work/tracked.txt" "$work/src" <<'EOF' || fail "the wheel lacks files of the package"
import os, sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
tracked = [p for p in open(sys.argv[2]).read().splitlines() if os.path.isfile(os.path.join(sys.argv[3], p))]
missing = [path for path in tracked if path not in names]
print(f"{sys.argv[1].rsplit('/', 1)[-1]}: {len(names)} files; tracked under causalvlm/, missing: {missing or 'none'}")
needed = ["causalvlm/graphs/cdc_frontdoor.gml", "causalvlm/py.typed", "causalvlm/worlds/checkpoints/tiny_clip_vit.pt"]
size = os.path.getsize(sys.argv[1]) / 2**20
print(f"  wheel size {size:.1f} MiB (at most 20: both tiny CLIPs ship in it)")
licence = [n for n in names if n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE")]
entry = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
print(f"  licence text: {licence or 'missing'}; entry points: {entry or 'missing'}")
sys.exit(1 if missing or any(n not in names for n in needed) or not licence or not entry or size > 20 else 0)
EOF

step "install the wheel with pip install -c constraints.txt"
"$py" -m pip install --quiet -c "$repo/constraints.txt" "$wheel"

outside="$work/outside"  # the working folder of every command below; it must stay empty
mkdir "$outside"
cd "$outside"
unset PYTHONPATH

step "causalvlm is imported from the wheel, with its data files"
"$py" - "$repo" "$work/venv" <<'EOF' || fail "causalvlm was not imported from the installed wheel"
import sys
from pathlib import Path

import causalvlm
from causalvlm.scm import graph_dirs
from causalvlm.worlds import TINY_CLIP_CHECKPOINT, TINY_CLIP_CONFIG, TINY_CLIP_VIT_CHECKPOINT, TINY_CLIP_VIT_CONFIG

repo, venv = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
for path in (Path(causalvlm.__file__), graph_dirs()[-1], TINY_CLIP_CHECKPOINT, TINY_CLIP_CONFIG, TINY_CLIP_VIT_CHECKPOINT, TINY_CLIP_VIT_CONFIG):
    path = path.resolve()
    print(f"  {path}")
    assert venv in path.parents and repo not in path.parents, path
    assert path.exists(), path
import importlib.util
print(f"  scipy installed: {importlib.util.find_spec('scipy') is not None} (causalvlm does not need it)")
EOF

# The demo driver moves out of the causal core (causalvlm.scm.demo → causalvlm.estimators.demo, issue 11);
# run whichever the installed package has, so this check holds on either side of that move.
demo="$("$py" -c 'import importlib.util as u
print(next(m for m in ("causalvlm.estimators.demo", "causalvlm.scm.demo") if u.find_spec(m)))')"
step "causal-core demo: python -m $demo"
"$py" -m "$demo" --rows 20000 --out "$work/figures/demo.png"
[ -s "$work/figures/demo.png" ] || fail "the demo wrote no figure"

step "graph query: python -m causalvlm.scm cdc_frontdoor --treatment X --outcome Y (prints only)"
"$py" -m causalvlm.scm cdc_frontdoor --treatment X --outcome Y | tee "$work/query.txt"
grep -q "minimal front-door sets: {S}" "$work/query.txt" || fail "the graph query did not find {S}"
"$py" -m causalvlm.scm smoking_tar_cancer --treatment Smoking --outcome Cancer --out "$work/figures/stc.svg" >/dev/null
[ -s "$work/figures/stc.svg" ] || fail "the graph query wrote no figure at --out"

step "causalvlm run: one-epoch CDC run on ShapeWorld with the shipped tiny CLIP (the installed command)"
cat >"$work/one_epoch.yaml" <<'EOF'
world: {n_test_per_class: 4}
compute_templates: [1]
train: {batch_size: 16}
EOF
cli="$work/venv/bin/causalvlm"
[ -x "$cli" ] || fail "the wheel installed no causalvlm command"
"$cli" run --config "$work/one_epoch.yaml" --data-root "$work/data" --out "$work/run" \
  --method cdc --seeds 1 --epochs 1 --shots 2 >"$work/run.log" || { cat "$work/run.log"; fail "the run failed"; }
tail -n 3 "$work/run.log"
[ -s "$work/run/results.json" ] || fail "the run wrote no results.json"
"$py" - "$work/run/results.json" <<'EOF' || fail "results.json does not name the shipped checkpoint"
import json, sys
from causalvlm.worlds import TINY_CLIP_CHECKPOINT
payload = json.load(open(sys.argv[1]))
assert payload["config"]["pretrained"] == str(TINY_CLIP_CHECKPOINT), payload["config"]["pretrained"]
print(f"  cdc on shapeworld: HM {payload['results']['cdc']['shapeworld']['hm']['mean']:.1f}")
EOF

step "causalvlm eval --run: the trained prompts scored again, without training"
"$cli" eval --run "$work/run" --out "$work/eval.json" >"$work/eval.log" || { cat "$work/eval.log"; fail "eval failed"; }
cat "$work/eval.log"
"$py" - "$work/run/results.json" "$work/eval.json" <<'EOF' || fail "causalvlm eval does not reproduce the run"
import json, sys
reported = json.load(open(sys.argv[1]))["results"]["cdc"]["shapeworld"]
scores = json.load(open(sys.argv[2]))["runs"]
(rows,) = scores.values()
for half in ("base", "new"):
    again, then = rows[f"shapeworld/{half}"]["accuracy"], reported[half]["values"][0]
    print(f"  {half}: eval {again:.4f}, run {then:.4f}")
    assert again == then, (half, again, then)
EOF

step "nothing was written to the working folder"
left="$(ls -A "$outside")"
[ -z "$left" ] || fail "files appeared in the working folder: $left"

step "wheel check passed"

"""``causalvlm <command> [options]``: dispatch to a sub-command's ``main(argv)``.

The sub-command modules are imported only when chosen, so ``causalvlm scm`` never loads torch.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import causalvlm

# command → (module with main(argv), one line of help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("causalvlm.commands.run", "train and test methods under a protocol; writes results and figures"),
    "eval": ("causalvlm.commands.evaluate", "score a finished run's prompts on its own or other data"),
    "bench": ("causalvlm.commands.bench", "the paper's three tables on the world (base2new, cross-*, all)"),
    "sweep-rho": ("causalvlm.commands.sweep_rho", "the run at several strengths ρ of the world's colour cue"),
    "pretrain": ("causalvlm.worlds.pretrain", "pre-train the tiny CLIP on the generated world's images"),
    "distill": ("causalvlm.worlds.distill", "distil the tiny CLIP's ResNet image tower into a ViT one"),
    "scm": ("causalvlm.scm.__main__", "query a causal graph: back-door/front-door sets, identification"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {about}" for name, (_, about) in COMMANDS.items()]
    return (
        "usage: causalvlm <command> [options]    (causalvlm <command> --help for its options)\n\n"
        "commands:\n" + "\n".join(lines)
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"causalvlm {causalvlm.__version__}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        valid = ", ".join(COMMANDS)
        print(f"{usage()}\n\nerror: unknown command {command!r}; valid commands: {valid}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    status = module.main(rest)
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())

"""The ``causalvlm`` command (installed with the wheel): one way in for every job.

    causalvlm run        train and test methods under a protocol (causalvlm.commands.run)
    causalvlm eval       score the prompts of a finished run, without training (causalvlm.commands.evaluate)
    causalvlm sweep-rho  the run at several strengths ρ of the colour cue (causalvlm.commands.sweep_rho)
    causalvlm pretrain   pre-train the tiny CLIP on the world's images (causalvlm.worlds.pretrain)
    causalvlm distill    the ViT tiny CLIP, distilled from the ResNet one (causalvlm.worlds.distill)
    causalvlm scm        query a causal graph: back-door / front-door sets, identification (causalvlm.scm)

``python -m causalvlm ...`` is the same command. Each sub-command's module has ``main(argv) -> int``.
"""

from __future__ import annotations

from causalvlm.commands.main import COMMANDS, main

__all__ = ["COMMANDS", "main"]

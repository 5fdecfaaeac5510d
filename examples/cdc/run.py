"""CDC experiments: zero-shot CLIP, CoOp, CoCoOp, MaPLe and CDC under the paper's protocols.

A thin wrapper over the installed command ``causalvlm run`` (:mod:`causalvlm.commands.run`), kept so that
``python examples/cdc/run.py [options]`` works from a checkout; the options are the same.

    python examples/cdc/run.py                                   # ShapeWorld + tiny CLIP: zeroshot, coop, cdc
    python examples/cdc/run.py --method zeroshot coop cocoop maple cdc   # the paper's five columns
    python examples/cdc/run.py --config examples/cdc/configs/base2new.yaml --data-root $DATA
"""

import sys

from causalvlm.commands.run import main

if __name__ == "__main__":
    sys.exit(main())

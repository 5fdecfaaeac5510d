"""The paper's three tables on the world: ``python examples/cdc/bench.py [TABLE ...|all]``.

A thin wrapper over the installed command ``causalvlm bench`` (:mod:`causalvlm.commands.bench`), kept so that
it runs from a checkout; the options are the same.
"""

import sys

from causalvlm.commands.bench import main

if __name__ == "__main__":
    sys.exit(main())

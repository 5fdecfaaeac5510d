"""Sweep the strength ρ of the spurious colour cue in the world's training data.

A thin wrapper over the installed command ``causalvlm sweep-rho`` (:mod:`causalvlm.commands.sweep_rho`),
kept so that ``python examples/cdc/sweep_rho.py [options]`` works from a checkout; the options are the same.
"""

import sys

from causalvlm.commands.sweep_rho import main

if __name__ == "__main__":
    sys.exit(main())

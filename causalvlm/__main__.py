"""``python -m causalvlm <command> ...``: the ``causalvlm`` command (see :mod:`causalvlm.commands`)."""

import sys

from causalvlm.commands.main import main

sys.exit(main())

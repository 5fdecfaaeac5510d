"""Run bookkeeping: run folders, run identity (fingerprints), the output-folder lock, checkpoints.

This room knows files and fingerprints, not training or experiments: nothing here imports
:mod:`causalvlm.training` or :mod:`causalvlm.experiments`.
"""

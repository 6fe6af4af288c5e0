"""Searching: the Optuna side of nnexp (samplers, pruners, studies)."""

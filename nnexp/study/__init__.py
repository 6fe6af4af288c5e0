"""A study's invocation: the runner (open the stores, reconcile, start the workers, wait,
summarise), one trial (``objective``), samplers and pruners, progress, invocation numbers
and the plots.
"""

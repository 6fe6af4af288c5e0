"""After a process died: who ran a trial and whether that process still lives (``workers``),
and ``doctor``, which finds the records a dead process left open and closes them with what
happened (every invocation runs the same step before its trials).
"""

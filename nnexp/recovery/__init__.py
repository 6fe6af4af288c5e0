"""After a process died: ``doctor`` finds the records it left open and closes them with
what happened (every invocation runs the same reconcile step first).
"""

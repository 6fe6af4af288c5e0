"""One configuration trained outside a study: ``nnexp train`` (``train``) and ``nnexp
reproduce`` (``reproduce``).
"""

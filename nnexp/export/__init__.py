"""Export: a study's best configurations as train-ready run files (``configs``; the format
is read and written in ``nnexp.config.run``)."""

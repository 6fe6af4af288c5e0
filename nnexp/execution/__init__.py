"""Where trials run: local worker processes (``pool``), tasks on a Dask cluster
(``dask_workers``), Ctrl-C and SIGTERM (``interrupt``). It is handed the study's worker
function and imports nothing of ``nnexp.study``.
"""

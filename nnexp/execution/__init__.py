"""Where trials run: local worker processes (``pool``), tasks on a Dask cluster
(``dask_workers``), Ctrl-C and SIGTERM (``interrupt``), and who runs what (``workers``:
process identity and liveness).
"""

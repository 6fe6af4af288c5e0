"""The two stores: Optuna's study storage (``study_storage``), MLflow's tracking store
(``tracking_store``), the queries every command shares (``queries``: a study and its runs),
what a person names after a search (``recorded``: a run id, a model URI) and the journal's
file lock (``locking``). A store that stops answering is ``nnexp.outage`` (the writers use it
too); what both stores need of Optuna's and MLflow's private API is ``nnexp.library_internals``.
"""

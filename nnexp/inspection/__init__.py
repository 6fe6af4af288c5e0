"""After the search: the studies of a storage and one in detail (``studies``), the trials
table (``tables``), runs side by side (``compare``), the MLflow UI (``ui``).
"""

"""Predictions from a trained model: raw rows of the original table through the model's own
preparation (``predict``), and the ``mlflow.pyfunc`` model (``pyfunc``).
"""

"""Trained models: the model directory every model is saved in and loaded from, and its
registration as an MLflow model (``models``); predictions for raw rows of the original table
through the model's own preparation (``predict``); the ``mlflow.pyfunc`` model (``pyfunc``).
"""

"""Tracking: every trial an MLflow run, nested under one parent run per study invocation."""

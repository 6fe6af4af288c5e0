"""Export: what leaves nnexp for other tools. ``pyfunc``: the ``mlflow.pyfunc`` model that
serves a trained model from a DataFrame. (Run files, the train-ready YAML of one trial, are
read and written in ``nnexp.config.run``.)"""

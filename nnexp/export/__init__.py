"""Export: trials back out as train-ready files and tables."""

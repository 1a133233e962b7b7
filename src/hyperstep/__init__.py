"""hyperstep: hyperparameter-optimization tasks over the steps of a valohai.yaml project."""

__version__ = "0.1.0"

__all__ = ["__version__"]

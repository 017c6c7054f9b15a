"""Roll a new model image onto a SageMaker asynchronous inference endpoint, only when something changed."""

__version__ = "1.0.0"

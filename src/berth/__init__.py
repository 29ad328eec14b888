"""berth: turn a machine-learning model into a production inference service, and keep it running.

The top-level package stays import-light: torch, transformers and onnxruntime load only in a worker.
"""

__version__ = "0.1.0"

"""The REST API's shared vocabulary: the data types `/api/v1` accepts and returns.

The control plane serves them, and `berth.Client` and the CLI read them, all from `berth.api.types`;
this package imports nothing of the control plane, so a client needs only pydantic.
"""

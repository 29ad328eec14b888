"""The control plane's HTTP surface: thin FastAPI routers over `ControlPlane`'s services."""

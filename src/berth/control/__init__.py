"""The control plane: one process that keeps deployments running and serves berth's REST API.

`registry` (SQLAlchemy + Alembic) is the source of truth for what should run; `supervisor` spawns,
watches, restarts and adopts worker processes; `deployer` drives a deployment through its stages and
publishes them on the `bus`; `api/` is a thin FastAPI layer over those services. Nothing here
imports torch: models live only in worker processes.
"""

"""The per-deployment server: one model, adaptive batching, and the predict, V2 and OpenAI protocols.

`python -m berth.worker SPEC` runs `boot.run_worker`; `app.create_app` builds the ASGI app over a
`service.ModelService`, which owns the `batcher.Batcher` and the single model thread.
"""

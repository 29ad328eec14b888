"""A uvicorn server that exits 0 after a clean, signal-initiated shutdown (worker and control plane)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import uvicorn


class GracefulServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # NOTE: uvicorn re-raises SIGTERM once it has shut down, so a process that drained cleanly
        # would still die by the signal (exit -15) and skip its own clean-up; it should exit 0.
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)

"""The peer: LitServe serving the same all-MiniLM-L6-v2, batching on, configured as its docs suggest.

Runs in the benchmark's own venv (.venv-bench, see scripts/bench-env.sh), never the project's.
`python benchmarks/litserve_server.py --port 8123` → POST /predict {"text": "..."} → [384 floats];
ready when GET /health answers 200.
"""

from __future__ import annotations

import argparse
from typing import Any

import litserve as ls

from corpus import SENTENCES, minilm_path


class MiniLMAPI(ls.LitAPI):
    """setup, decode_request, batch, predict, unbatch, encode_response: the LitAPI contract."""

    def setup(self, device: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(minilm_path(), device=device)
        # LitServe calls setup and then predict from the same thread of its inference process, so
        # warming up here gives it the same advantage the berth worker and the raw baseline get.
        self.model.encode(list(SENTENCES), batch_size=len(SENTENCES))

    # No annotation on `request` nor on encode_response's result, on purpose: LitServe turns them into
    # FastAPI parameter and response types (a query parameter, a validated response model), while
    # unannotated it takes its default and fastest path, `await request.json()` and the value as is.
    def decode_request(self, request, **kwargs: Any) -> str:  # type: ignore[no-untyped-def]
        return str(request["text"])

    def batch(self, inputs: list[str]) -> list[str]:
        return inputs

    def predict(self, x: list[str], **kwargs: Any) -> Any:
        return self.model.encode(x, batch_size=len(x), show_progress_bar=False)

    def unbatch(self, output: Any) -> list[Any]:
        return list(output)

    def encode_response(self, output: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        return output.tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--batch-timeout", type=float, default=0.01, help="seconds")
    args = parser.parse_args()
    api = MiniLMAPI(max_batch_size=args.max_batch_size, batch_timeout=args.batch_timeout)
    server = ls.LitServer(api, accelerator="cpu", devices=1, workers_per_device=1, timeout=30)
    # generate_client_file=False: LitServe would otherwise drop a client.py into the working directory.
    server.run(host="127.0.0.1", port=args.port, log_level="warning", generate_client_file=False)


if __name__ == "__main__":
    main()

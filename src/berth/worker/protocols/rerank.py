"""`POST /v1/rerank`: the Cohere- and Jina-compatible rerank route, for text-ranking (cross-encoder) models.

The request is one rerank: `{"model"?, "query", "documents": [str | {"text": str, ...}], "top_n"?,
"return_documents"? (default false)}`. It goes through the batcher as one `/predict` item, so it shares
batches with `/predict` and other reranks. The answer carries both services' fields where they do not
clash: `{"id", "model", "results": [{"index", "relevance_score", "document"?: {"text", ...}}], "meta":
{"billed_units": {"search_units": 1}}, "usage": {"total_tokens"}}`, best first. Any other task's
deployment answers 422 naming the task it serves, as the OpenAI routes do.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from berth.asgi import read_body
from berth.errors import NotFound, UnsupportedModel
from berth.spec import Task
from berth.worker.http import Guard, json_response, parse_body
from berth.worker.service import ModelService


class RerankDocument(BaseModel):
    """A document as an object: its `text` is ranked, and every field comes back with it (Cohere v1)."""

    model_config = ConfigDict(extra="allow")

    text: str


class RerankRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    query: str
    # NOTE: no min_length: the runtime's "rerank needs at least one document" is the clearer 422.
    documents: list[str | RerankDocument]
    top_n: int | None = Field(default=None, ge=1)
    return_documents: bool = False


def rerank_routes(service: ModelService, guard: Guard) -> list[Route]:
    limit = service.spec.limits.max_request_bytes

    async def rerank(request: Request) -> Response:
        if service.runtime.task is not Task.TEXT_RANKING:
            raise UnsupportedModel(
                f"this deployment serves {service.task}; /v1/rerank needs a {Task.TEXT_RANKING} model"
            )
        body = parse_body(await read_body(request, limit), RerankRequest)
        if body.model is not None and body.model != service.name:
            raise NotFound(
                f"no model {body.model!r} here; this worker serves {service.name!r}: set model to it"
            )
        texts = [d if isinstance(d, str) else d.text for d in body.documents]
        [item] = service.check_inputs([{"query": body.query, "documents": texts}], "body", indexed=False)
        # NOTE: only top_n reaches the runtime: requests without one share the batches of /predict's
        # (the batcher groups by params), and the documents are added here from the request.
        params = {"top_n": body.top_n} if body.top_n is not None else {}
        [ranked] = await service.predict([item], params)
        results = []
        for entry in ranked:
            result: dict[str, Any] = {"index": entry["index"], "relevance_score": entry["score"]}
            if body.return_documents:
                document = body.documents[entry["index"]]
                result["document"] = (
                    {"text": document} if isinstance(document, str) else document.model_dump()
                )
            results.append(result)
        count = service.runtime.count_tokens
        query_tokens = count(body.query)
        tokens = sum(query_tokens + count(text) for text in texts)
        return json_response(
            {
                "id": str(uuid.uuid4()),
                "model": service.name,
                "results": results,
                "meta": {"billed_units": {"search_units": 1}},
                "usage": {"total_tokens": tokens},
            }
        )

    return [Route("/v1/rerank", guard("rerank", rerank), methods=["POST"])]

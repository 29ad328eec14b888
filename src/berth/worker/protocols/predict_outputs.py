"""How `/predict` answers: JSON by default, or one binary output's raw bytes when the client asks.

A binary output (a `Blob`: bytes and a media type) is `{"data": base64, "media_type"}` inside the
JSON answer. The raw bytes come back instead, with that media type as `Content-Type`, when the
request has `?format=raw`, or an `Accept` that prefers a non-JSON type (`Accept: model/gltf-binary`,
`image/*`) over JSON. Raw needs exactly one input whose output is a `Blob` of an accepted type; when
that is not so and the client accepts no JSON either, the answer is a 406 saying what it could have.

NOTE: the raw answer is a `Response` over the predictor's own bytes object: no base64, no JSON and
no copy between the model and the socket. Only the JSON form copies (base64 grows it by a third).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import Response

from berth.errors import InvalidInput, NotAcceptable
from berth.runtimes.base import Blob

JSON = "application/json"
_PLAIN_ACCEPT = frozenset({"*/*", JSON})  # what almost every client sends: JSON, nothing to parse


@dataclass(frozen=True)
class RawWanted:
    """The media ranges the client would take raw bytes in, best first, and whether JSON would do."""

    ranges: tuple[str, ...]
    json_ok: bool
    asked: str  # the request's words, for a 406


def negotiate(accept: str | None, query_string: bytes) -> RawWanted | None:
    """None to answer JSON; else what raw answer the client asked for (`Accept`, `?format=raw`)."""
    if not query_string and (accept is None or accept in _PLAIN_ACCEPT):
        return None
    wanted_format = _format(query_string)
    if wanted_format == "json":
        return None
    ranges = _ranges(accept) if accept else [("*/*", 1.0)]
    json_q = max((q for media, q in ranges if matches(media, JSON)), default=0.0)
    if wanted_format == "raw":
        asked = f"?format=raw with Accept: {accept}" if accept else "?format=raw"
        return RawWanted(tuple(media for media, _ in ranges), json_ok=False, asked=asked)
    specific = [(media, q) for media, q in ranges if media != "*/*" and not matches(media, JSON)]
    if specific and specific[0][1] > json_q:
        return RawWanted(tuple(media for media, _ in specific), json_ok=json_q > 0, asked=f"Accept: {accept}")
    if json_q > 0:
        return None
    raise NotAcceptable(
        f"Accept: {accept!r} names no type this route answers; it answers {JSON}, or a binary output's "
        "own media type (e.g. Accept: image/png)"
    )


def raw_response(result: list[Any], wanted: RawWanted, headers: dict[str, str]) -> Response | None:
    """The one binary output's bytes as they are; None to answer JSON instead (the client takes it)."""
    blob = result[0] if len(result) == 1 else None
    if isinstance(blob, Blob) and any(matches(media, blob.media_type) for media in wanted.ranges):
        return Response(blob.data, media_type=blob.media_type, headers=headers)
    if wanted.json_ok:
        return None
    if isinstance(blob, Blob):
        could = f"{blob.media_type} or {JSON}"
    elif len(result) == 1:
        could = f"{JSON} only (the model's output is not binary)"
    else:
        could = f"{JSON} only (a raw answer is one binary output: send one input)"
    raise NotAcceptable(f"the answer can be {could}; the request asked for {wanted.asked}")


def matches(media_range: str, media_type: str) -> bool:
    """Whether `media_type` (e.g. image/png) is in `media_range` (image/png, image/*, */*)."""
    if media_range in ("*/*", media_type):
        return True
    kind, _, subtype = media_range.partition("/")
    return subtype == "*" and media_type.startswith(kind + "/")


def _ranges(accept: str) -> list[tuple[str, float]]:
    """Accept's media ranges with their q (those with q=0 dropped), the most wanted first."""
    ranges = []
    for position, part in enumerate(accept.split(",")):
        media, *options = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranges.append((media.lower(), quality, position))
    ranges.sort(key=lambda entry: (-entry[1], entry[2]))  # NOTE: stable: equal q keep the client's order
    return [(media, quality) for media, quality, _ in ranges]


def _format(query_string: bytes) -> str | None:
    values = parse_qs(query_string.decode("latin-1")).get("format")
    if not values:
        return None
    if values[-1] not in ("raw", "json"):
        raise InvalidInput(f"query parameter format: must be raw or json, got {values[-1]!r}")
    return values[-1]

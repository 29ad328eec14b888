"""One error vocabulary for berth.

Every error a user can meet is a `BerthError` subclass carrying its HTTP status, a short machine
code and a CLI exit code. Code below the transports raises these; the worker and control plane map
them to `{"error": {"code", "message"}}` in one place, and the CLI maps them to one line and an
exit code. Messages are one sentence of what went wrong and what to do, safe to show a client.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar


class BerthError(Exception):
    """Base of every berth error: a message that is safe to show, and how to report it."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidSpec(BerthError):
    """The deployment spec or a request body does not validate."""

    status_code = 422
    code = "invalid_spec"
    exit_code = 2


class InvalidInput(BerthError):
    """An inference request is malformed or has the wrong input types."""

    status_code = 422
    code = "invalid_input"
    exit_code = 2


class MalformedRequest(BerthError):
    """A request body cannot be split into its parts: a V2 binary body whose lengths do not add up."""

    status_code = 400
    code = "bad_request"
    exit_code = 2


class Unauthorized(BerthError):
    status_code = 401
    code = "unauthorized"
    exit_code = 2


class NotFound(BerthError):
    status_code = 404
    code = "not_found"
    exit_code = 3


class ModelNotFound(NotFound):
    """The model source names nothing that exists (hub repo, folder, file or class)."""

    code = "model_not_found"


class Conflict(BerthError):
    status_code = 409
    code = "conflict"
    exit_code = 4


class PortUnavailable(Conflict):
    code = "port_unavailable"


class PolicyRefused(BerthError):
    """The model needs something berth refuses by default (remote code, pickle weights)."""

    status_code = 422
    code = "refused_by_policy"
    exit_code = 2


class UnsupportedModel(BerthError):
    """berth cannot serve this model with the chosen task/runtime."""

    status_code = 422
    code = "unsupported_model"
    exit_code = 2


class RequirementsUnmet(BerthError):
    """The spec's `requirements:` are not installed in the workers' Python, or installing them failed."""

    status_code = 422
    code = "requirements_unmet"
    exit_code = 2


class ModelTooLarge(BerthError):
    """Preflight: the model exceeds a limit, the free disk, or the device memory."""

    status_code = 422
    code = "model_too_large"
    exit_code = 5


class PayloadTooLarge(BerthError):
    status_code = 413
    code = "payload_too_large"
    exit_code = 2


class NotAcceptable(BerthError):
    """The client's `Accept` names no media type this model's answer can be sent as."""

    status_code = 406
    code = "not_acceptable"
    exit_code = 2


class UnsupportedMediaType(BerthError):
    """A request body's `Content-Type` is none the route reads."""

    status_code = 415
    code = "unsupported_media_type"
    exit_code = 2


class QueueFull(BerthError):
    status_code = 503
    code = "queue_full"
    exit_code = 6


class NotReady(BerthError):
    status_code = 503
    code = "not_ready"
    exit_code = 6


class DownloadFailed(BerthError):
    """The model hub could not be reached or broke off; the cache keeps what is complete."""

    status_code = 502
    code = "download_failed"
    exit_code = 6


class RequestTimeout(BerthError):
    status_code = 504
    code = "timeout"
    exit_code = 7


class ModelError(BerthError):
    """The model raised while predicting; the full trace is in the log, not in this message."""

    status_code = 500
    code = "model_error"
    exit_code = 1


class ControlPlaneUnavailable(BerthError):
    """Nothing answers at the control plane's URL (not started, wrong BERTH_URL, or it went away)."""

    status_code = 503
    code = "control_plane_unavailable"
    exit_code = 6

    @classmethod
    def at(cls, url: str) -> ControlPlaneUnavailable:
        return cls(f"no berth control plane answers at {url}; start one with `berth up -d`")


# A worker exits with its error's `exit_code`; the supervisor reads the exit code back through this map.
# NOTE: an exit code names a family (2 is anything wrong with the spec or its input), so each maps back
# to the error a worker exiting with it is reported as. 1, and any code not here, reads as ModelError.
EXIT_ERRORS: dict[int, type[BerthError]] = {
    InvalidSpec.exit_code: InvalidSpec,
    ModelNotFound.exit_code: ModelNotFound,
    PortUnavailable.exit_code: PortUnavailable,
    ModelTooLarge.exit_code: ModelTooLarge,
    DownloadFailed.exit_code: DownloadFailed,
    RequestTimeout.exit_code: RequestTimeout,
}
# A worker forked from the template writes `@berth-exit {"code": N}` as its last log line, since only
# its parent could wait() for the status and it has none that is listening (see berth.worker.template).
EXIT_PREFIX = "@berth-exit "


def error_for_exit(exit_code: int | None) -> type[BerthError]:
    """The error a worker that exited with `exit_code` (None: unknown) died of.

    >>> error_for_exit(ModelNotFound.exit_code).__name__
    'ModelNotFound'
    """
    return EXIT_ERRORS.get(exit_code, ModelError) if exit_code is not None else ModelError


def _error_classes() -> tuple[dict[str, type[BerthError]], dict[int, type[BerthError]]]:
    """Every BerthError subclass by its code, and the most general one per status code."""
    by_code: dict[str, type[BerthError]] = {}
    by_status: dict[int, type[BerthError]] = {}
    pending: list[type[BerthError]] = [BerthError]
    while pending:  # breadth first, so a status maps to its most general class (404 → NotFound)
        cls = pending.pop(0)
        by_code.setdefault(cls.code, cls)
        if cls is not BerthError:
            by_status.setdefault(cls.status_code, cls)
        pending.extend(cls.__subclasses__())
    # NOTE: a 503 with no code we know most often means "not ready yet" (a starting server, a proxy).
    by_status[NotReady.status_code] = NotReady
    return by_code, by_status


def error_for(code: str | None, status: int, message: str) -> BerthError:
    """The BerthError an error body stands for: by its code, else by its status, else the base.

    >>> type(error_for("model_not_found", 404, "no such model")).__name__
    'ModelNotFound'
    """
    by_code, by_status = _error_classes()
    cls = by_code.get(code or "") or by_status.get(status) or BerthError
    return cls(message)


def error_from_body(status: int, body: bytes) -> BerthError:
    """The BerthError a failed HTTP answer stands for, from `{"error": {"code", "message"}}` or not."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return error_for(error.get("code"), status, str(error["message"]))
    detail = data.get("detail") if isinstance(data, dict) else None
    message = detail if isinstance(detail, str) else f"the control plane answered {status}"
    return error_for(None, status, message)

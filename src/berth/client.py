"""berth's Python client: every control-plane operation over its REST and WebSocket API.

The CLI, notebooks and tests all drive berth through `Client`. It imports httpx and the pydantic API
shapes only (never FastAPI, SQLAlchemy or torch), so the CLI starts fast; the WebSocket library
loads only when a deployment is followed.

>>> with Client() as berth:                                       # doctest: +SKIP
...     berth.deploy("sentence-transformers/all-MiniLM-L6-v2")
...     berth.predict("all-minilm-l6-v2", "I love this product!")
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from berth.api.types import (
    CachedModel,
    DeploymentPublic,
    DeploymentState,
    EventMessage,
    EventRecord,
    PreflightPublic,
    PullDoneLine,
    PullProgressLine,
    PullRequest,
    StateMessage,
)
from berth.errors import (
    BerthError,
    ControlPlaneUnavailable,
    InvalidInput,
    InvalidSpec,
    NotFound,
    RequestTimeout,
    Unauthorized,
    error_for,
    error_from_body,
)
from berth.sourcekind import absolute_source, default_name
from berth.spec import describe_validation_error
from berth.uploads import OCTET_STREAM, Files, multipart_files

if TYPE_CHECKING:
    from berth.api.types import SystemInfo
    from berth.spec import DeploymentSpec

Message: TypeAlias = EventMessage | StateMessage
SpecLike: TypeAlias = "DeploymentSpec | Mapping[str, Any] | str | os.PathLike[str]"

API = "/api/v1"
SPEC_SUFFIXES = (".yaml", ".yml", ".json")
_ENDED = (DeploymentState.FAILED, DeploymentState.STOPPED)  # a deploy that ends so did not succeed
# Close codes the control plane uses on `WS /api/v1/ws/{name}` (4000 + the HTTP status it means).
_WS_NOT_FOUND, _WS_UNAUTHORIZED = 4404, 4401


def derive_name(source: str) -> str:
    """A DNS-1123 deployment name from a model source (`berth.sourcekind.default_name`'s one rule).

    >>> derive_name("sentence-transformers/all-MiniLM-L6-v2")
    'all-minilm-l6-v2'
    >>> derive_name("examples.predictors:WordCounter")
    'wordcounter'
    """
    return default_name(source)


def build_spec(spec_or_model: SpecLike, *, name: str | None = None, **overrides: Any) -> DeploymentSpec:
    """A validated spec from a spec, a mapping, a YAML/JSON spec file or a model source string.

    `overrides` set top-level spec fields (`replicas=2`, `device="cpu"`); `revision` and `file` set
    `model.revision` and `model.file`; None values are ignored, so CLI options can be passed through unset.

    >>> build_spec("sentence-transformers/all-MiniLM-L6-v2", replicas=2).name
    'all-minilm-l6-v2'
    """
    # NOTE: imported here, not at the top: the spec (and YAML) cost ~35 ms that `berth ls` never needs
    from berth.spec import DeploymentSpec, load_spec, parse_spec

    if isinstance(spec_or_model, DeploymentSpec):
        data = spec_or_model.model_dump(mode="json")
    elif isinstance(spec_or_model, Mapping):
        data = copy.deepcopy(dict(spec_or_model))
    else:
        text = os.fspath(spec_or_model)
        if text.lower().endswith(SPEC_SUFFIXES):
            data = load_spec(text).model_dump(mode="json")
        else:
            data = {"model": {"source": absolute_source(text)}}
    for field in ("revision", "file"):  # the model block's fields
        value = overrides.pop(field, None)
        if value is not None:
            data["model"] = {**(data.get("model") or {}), field: value}
    data.update({key: value for key, value in overrides.items() if value is not None})
    if name is not None:
        data["name"] = name
    elif "name" not in data and isinstance(data.get("model"), Mapping):
        data["name"] = derive_name(str(data["model"].get("source", "")))
    return parse_spec(data)


def error_from_response(response: httpx.Response) -> BerthError:
    """Turn a failed response, `{"error": {"code", "message"}}` or not, into a BerthError."""
    return error_from_body(response.status_code, response.content)


def request_body(inputs: Any) -> Any:
    """`/inference`'s body: text → {"text": ...}, a list → {"inputs": [...]}, a mapping as is."""
    if isinstance(inputs, str):
        return {"text": inputs}
    if isinstance(inputs, list | tuple):
        return {"inputs": list(inputs)}
    return inputs


class RawAnswer(NamedTuple):
    """A binary answer as the model made it: its bytes and their media type (e.g. `model/gltf-binary`)."""

    data: bytes
    media_type: str


def _failure(name: str, message: StateMessage, code: str | None) -> BerthError:
    # NOTE: the failing error's code gives it its class and exit code (ModelNotFound → 3, ...).
    reason = message.last_error or f"deployment {name!r} ended {message.state.value} before it was ready"
    return error_for(code, 500, reason) if code else BerthError(reason)


def parse_message(raw: str | bytes) -> Message:
    """One WebSocket message as its typed shape."""
    data = json.loads(raw)
    if data.get("type") == "state":
        return StateMessage.model_validate(data)
    return EventMessage.model_validate(data)


class Client:
    """A connection to one berth control plane.

    `url` defaults to `BERTH_URL`, else the local settings' host and port; `api_key` to
    `BERTH_API_KEY` (from the environment or `.env`). Use it as a context manager, or call `close()`.

    >>> with Client("http://127.0.0.1:8000") as berth:           # doctest: +SKIP
    ...     [d.name for d in berth.deployments()]
    ['minilm']
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = url or os.environ.get("BERTH_URL")
        if url is None or api_key is None:
            from berth.settings import get_settings  # NOTE: pydantic-settings only when needed

            settings = get_settings()
            from berth.net import local_url

            url = url or local_url(settings.host, settings.port)
            if api_key is None and settings.api_key is not None:
                api_key = settings.api_key.get_secret_value()
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # NOTE: every request goes to a path under `url` and redirects are not followed, so a plain
        # http:// URL never meets TLS; skipping the CA bundle then saves ~30 ms of every CLI command.
        # `transport` lets tests answer in-process (httpx.MockTransport) instead of over a socket.
        self._http = httpx.Client(
            base_url=self.url,
            headers=self._headers,
            timeout=timeout,
            verify=not self.url.startswith("http://"),
            transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool. `client.close()`"""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self._transport_errors(method, path):
            response = self._http.request(method, path, **kwargs)
        if not response.is_success:
            raise error_from_response(response)
        return response

    @contextmanager
    def _stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        # NOTE: no read timeout: a pull or a followed log may be quiet for a long time.
        timeout = httpx.Timeout(self.timeout, read=None)
        with (
            self._transport_errors(method, path),
            self._http.stream(method, path, timeout=timeout, **kwargs) as response,
        ):
            if not response.is_success:
                response.read()
                raise error_from_response(response)
            yield response

    @contextmanager
    def _transport_errors(self, method: str, path: str) -> Iterator[None]:
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise ControlPlaneUnavailable.at(self.url) from None
        except httpx.TimeoutException:
            raise RequestTimeout(
                f"the control plane did not answer {method} {path} within {self.timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            raise ControlPlaneUnavailable(
                f"the connection to the control plane at {self.url} broke: {exc}"
            ) from None

    def _messages(self, name: str, deadline: float | None) -> Iterator[Message]:
        from websockets.exceptions import ConnectionClosed, InvalidStatus
        from websockets.sync.client import connect

        url = re.sub(r"^http", "ws", self.url) + f"{API}/ws/{quote(name, safe='')}"
        try:
            socket = connect(url, additional_headers=self._headers, open_timeout=self.timeout, proxy=None)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 403:  # closed before the handshake: an unknown name, or a refused key
                self.get(name)  # raises NotFound or Unauthorized with the server's own message
            message = f"the control plane refused to stream {name!r} ({status})"
            raise error_for(None, status, message) from None
        except (OSError, TimeoutError):
            raise ControlPlaneUnavailable.at(self.url) from None
        with socket:
            while True:
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                try:
                    raw = socket.recv(timeout=remaining)
                except TimeoutError:
                    raise RequestTimeout(
                        f"{name!r} did not finish in time; see `berth status {name}`"
                    ) from None
                except ConnectionClosed as exc:
                    code = exc.rcvd.code if exc.rcvd is not None else None
                    if code == _WS_NOT_FOUND:
                        raise NotFound(f"no deployment named {name!r}") from None
                    if code == _WS_UNAUTHORIZED:
                        raise Unauthorized("the control plane needs an API key; set BERTH_API_KEY") from None
                    return
                yield parse_message(raw)

    def _name(self, name: str) -> str:
        return f"{API}/deployments/{quote(name, safe='')}"

    def _deployment(self, method: str, path: str, **kwargs: Any) -> DeploymentPublic:
        return DeploymentPublic.model_validate(self._request(method, path, **kwargs).json())

    def health(self) -> bool:
        """Whether the control plane answers and is ready. `Client().health()` → `True`"""
        try:
            return self._http.get("/health/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def system(self) -> SystemInfo:
        """This host: CPU, RAM, disks, GPUs, runtimes and per-replica process stats.

        >>> Client().system().memory.available                    # doctest: +SKIP
        """
        from berth.api.types import SystemInfo

        return SystemInfo.model_validate(self._request("GET", f"{API}/system").json())

    def preflight(self, spec: SpecLike, **overrides: Any) -> PreflightPublic:
        """What a model needs and whether this host fits it, before anything is downloaded.

        >>> Client().preflight("sentence-transformers/all-MiniLM-L6-v2").fits   # doctest: +SKIP
        True
        """
        body = build_spec(spec, **overrides).model_dump(mode="json")
        return PreflightPublic.model_validate(self._request("POST", f"{API}/preflight", json=body).json())

    def deploy(
        self,
        spec_or_model: SpecLike,
        *,
        name: str | None = None,
        replace: bool = False,
        install_requirements: bool = False,
        wait: bool = True,
        on_event: Callable[[Message], None] | None = None,
        timeout: float | None = None,
        **overrides: Any,
    ) -> DeploymentPublic:
        """Deploy a spec, spec file or model source; with `wait`, follow it until it is ready.

        Raises the deployment's error (its `last_error`) when it fails or is stopped first.
        `install_requirements` lets the control plane pip-install the spec's unmet `requirements:`.

        >>> Client().deploy("./models/minilm", name="minilm", replicas=2, device="cpu")  # doctest: +SKIP
        DeploymentPublic(name='minilm', state=<DeploymentState.READY: 'ready'>, ...)
        """
        spec = build_spec(spec_or_model, name=name, **overrides)
        params = {"replace": "true"} if replace else {}
        if install_requirements:
            params["install_requirements"] = "true"
        body = spec.model_dump(mode="json")
        started = self._deployment("POST", f"{API}/deploy", json=body, params=params)
        if not wait:
            return started
        deadline = None if timeout is None else time.monotonic() + timeout
        for message in self._messages(spec.name, deadline):
            if on_event is not None:
                on_event(message)
            if isinstance(message, StateMessage) and message.state == DeploymentState.READY:
                return self.get(spec.name)
            if isinstance(message, StateMessage) and message.state in _ENDED:
                raise _failure(spec.name, message, message.code or self._error_code(spec.name))
        raise ControlPlaneUnavailable(
            f"the control plane closed the progress of {spec.name!r} before it finished; "
            f"see `berth status {spec.name}`"
        )

    def _error_code(self, name: str) -> str | None:
        # A state message replayed on connect may lack the code; the record keeps it.
        try:
            return self.get(name).last_error_code
        except NotFound:  # removed meanwhile
            return None

    def deployments(self) -> list[DeploymentPublic]:
        """Every deployment. `[d.name for d in Client().deployments()]`"""
        return [DeploymentPublic.model_validate(d) for d in self._request("GET", f"{API}/deployments").json()]

    def get(self, name: str) -> DeploymentPublic:
        """One deployment; `NotFound` if there is none. `Client().get("minilm").state`"""
        return self._deployment("GET", self._name(name))

    def start(self, name: str) -> DeploymentPublic:
        """Start a stopped deployment (it becomes ready again). `Client().start("minilm")`"""
        return self._deployment("POST", f"{self._name(name)}/start")

    def stop(self, name: str) -> DeploymentPublic:
        """Stop a deployment's workers after draining; it stays listed. `Client().stop("minilm")`"""
        return self._deployment("POST", f"{self._name(name)}/stop")

    def restart(self, name: str) -> DeploymentPublic:
        """Restart a deployment's workers. `Client().restart("minilm")`"""
        return self._deployment("POST", f"{self._name(name)}/restart")

    def remove(self, name: str) -> None:
        """Stop a deployment and forget it. `Client().remove("minilm")`"""
        self._request("DELETE", self._name(name))

    def predict(
        self,
        name: str,
        inputs: Any = None,
        *,
        file: Files | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> Any:
        """Call a deployment through the control plane's proxy and return its JSON answer.

        `inputs` is text, a list (one input each) or a full `/predict` body; or send `file`: a path,
        bytes or a binary file object, or a list of them (one input each), uploaded as
        multipart/form-data. `parameters` are the request's options (`{"top_k": 3}`,
        `{"candidate_labels": [...]}`, `{"prediction_length": 12}`). A binary output comes back inside
        the JSON as `{"data": base64, "media_type"}`; `predict_raw` returns its bytes instead.

        >>> Client().predict("minilm", "I love this product!")["status"]   # doctest: +SKIP
        'success'
        >>> Client().predict("vit", file="cat.jpg")["result"][0]          # doctest: +SKIP
        [{'label': 'tabby', 'score': 0.93}]
        """
        return self._predict(name, inputs, file, parameters).json()

    def predict_raw(
        self,
        name: str,
        inputs: Any = None,
        *,
        file: Files | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> RawAnswer:
        """Call a deployment whose output is binary; return its raw bytes and media type.

        Takes what `predict` takes; asks with `?format=raw`, so a model whose answer is not one
        binary output raises `NotAcceptable` saying what it can answer.

        >>> mesh, media_type = Client().predict_raw("chair3d", file="chair.png")   # doctest: +SKIP
        >>> media_type, Path("chair.glb").write_bytes(mesh)                       # doctest: +SKIP
        ('model/gltf-binary', 48213)
        """
        response = self._predict(name, inputs, file, parameters, query={"format": "raw"})
        media_type = response.headers.get("content-type", OCTET_STREAM)
        return RawAnswer(response.content, media_type)

    def _predict(
        self,
        name: str,
        inputs: Any,
        file: Files | None,
        parameters: dict[str, Any] | None,
        query: dict[str, str] | None = None,
    ) -> httpx.Response:
        path = f"{self._name(name)}/inference"
        if file is None:
            if inputs is None:
                raise InvalidInput("nothing to predict on: give inputs (text, a list or a body) or file=...")
            body = request_body(inputs)
            if parameters is not None:
                body = {**body, "parameters": parameters}
            return self._request("POST", path, json=body, params=query)
        if inputs is not None:
            raise InvalidInput("give inputs or file=..., not both: files are sent alone, one input each")
        # NOTE: a multipart body carries its parameters as one form field holding a JSON object
        form = None if parameters is None else {"parameters": json.dumps(parameters)}
        return self._request("POST", path, files=multipart_files(file), data=form, params=query)

    def events(self, name: str, after: int = 0) -> list[EventRecord]:
        """A deployment's stored progress events, oldest first. `Client().events("minilm")[-1].stage`"""
        params = {"after": after} if after else {}
        response = self._request("GET", f"{self._name(name)}/events", params=params)
        return [EventRecord.model_validate(e) for e in response.json()]

    def logs(self, name: str, tail: int = 200) -> str:
        """The last `tail` lines of a deployment's log. `print(Client().logs("minilm", tail=20))`"""
        return self._request("GET", f"{self._name(name)}/logs", params={"tail": tail}).text

    def follow_logs(self, name: str, tail: int = 20) -> Iterator[str]:
        """A deployment's log lines as they are written, until the iterator is closed.

        >>> for line in Client().follow_logs("minilm"):          # doctest: +SKIP
        ...     print(line)
        """
        params = {"tail": tail, "follow": "true"}
        with self._stream("GET", f"{self._name(name)}/logs", params=params) as response:
            yield from response.iter_lines()

    def watch(self, name: str) -> Iterator[Message]:
        """A deployment's events (history first) and then its state changes, live.

        >>> for message in Client().watch("minilm"):             # doctest: +SKIP
        ...     print(message.type, getattr(message, "stage", message.state))
        """
        return self._messages(name, None)

    def export(self, name: str, target: str) -> bytes:
        """A deployment's export bundle (`compose`, `kubernetes` or `kserve`) as zip bytes.

        >>> Path("minilm.zip").write_bytes(Client().export("minilm", "compose"))   # doctest: +SKIP
        """
        return self._request("GET", f"{self._name(name)}/export/{quote(target, safe='')}").content

    def models(self) -> list[CachedModel]:
        """The models in the Hugging Face cache. `[m.id for m in Client().models()]`"""
        return [CachedModel.model_validate(m) for m in self._request("GET", f"{API}/models").json()]

    def pull(
        self,
        source: str,
        revision: str = "main",
        on_progress: Callable[[PullProgressLine], None] | None = None,
        file: str | None = None,
    ) -> PullDoneLine:
        """Bring a model into the cache, reporting bytes as they arrive.

        `file` is a glob choosing one file of a repo of many, as a spec's `model.file`: of a GGUF
        repo holding several quantizations, only the one it matches is downloaded.

        >>> Client().pull("sentence-transformers/all-MiniLM-L6-v2", on_progress=print)  # doctest: +SKIP
        PullDoneLine(type='done', model=CachedModel(...), revision='...')
        >>> Client().pull("owner/name-GGUF", file="*Q4_K_M.gguf")  # doctest: +SKIP
        """
        try:
            request = PullRequest(source=source, revision=revision, file=file)
        except ValidationError as exc:  # an empty source or a bad glob, refused before any request
            raise InvalidSpec(describe_validation_error(exc, prefix="pull")) from None
        body = request.model_dump(mode="json")
        with self._stream("POST", f"{API}/models/pull", json=body) as response:
            for line in response.iter_lines():
                if not line.strip():
                    continue
                data = json.loads(line)
                if data.get("type") == "progress" and on_progress is not None:
                    on_progress(PullProgressLine.model_validate(data))
                elif data.get("type") == "done":
                    return PullDoneLine.model_validate(data)
                elif data.get("type") == "error":
                    error = data.get("error") or {}
                    raise error_for(
                        error.get("code"), 500, error.get("message") or f"pulling {source} failed"
                    )
        raise BerthError(f"the pull of {source} ended without a result; see the control plane's log")

    def remove_model(self, model_id: str) -> None:
        """Delete a model from the cache (refused while a deployment uses it).

        >>> Client().remove_model("sentence-transformers/all-MiniLM-L6-v2")   # doctest: +SKIP
        """
        self._request("DELETE", f"{API}/models/{quote(model_id, safe='/')}")


__all__ = [
    "Client",
    "ControlPlaneUnavailable",
    "Files",
    "Message",
    "RawAnswer",
    "absolute_source",
    "build_spec",
    "derive_name",
]

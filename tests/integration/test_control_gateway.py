"""The gateway `/models/{name}/...`: a deployment's worker routes through a real control plane.

One control plane, with an API key, serves the tiny Llama. Each answer through the gateway is compared
with the same request sent straight to the replica behind it (greedy decoding, so they must agree),
and a long stream must arrive spread over the generation, not in one piece at its end.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import openai
import pytest

from tests import tiny_models
from tests.conftest import free_port
from tests.integration.conftest import ControlPlaneProcess, _kill_worker, plane_env

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

pytestmark = pytest.mark.slow

KEY = "gateway-test-key-0123456789"
NAME = "llm"
CHAT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "tell me a long story"}]


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneProcess]:
    folder = tmp_path_factory.mktemp("gateway")
    model = tiny_models.build_llama(folder / "llama")
    port = free_port()
    env = plane_env(folder / "home", folder / "hf", port, BERTH_API_KEY=KEY)
    control = ControlPlaneProcess(home=folder / "home", port=port, env=env).start()
    try:
        accepted = control.api.post("/api/v1/deploy", json={"name": NAME, "model": {"source": str(model)}})
        assert accepted.status_code == 202, accepted.text
        assert control.wait_state(NAME, "ready", "failed")["state"] == "ready", control.worker_log(NAME)
        yield control
    finally:
        control.stop()
        for pid in control.recorded_pids():
            _kill_worker(pid)


def replica_url(plane: ControlPlaneProcess) -> str:
    port = plane.deployment(NAME)["replicas"][0]["port"]
    return f"http://127.0.0.1:{port}"


def openai_client(base_url: str, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)


def test_a_chat_stream_flows_through_the_gateway_token_by_token(plane: ControlPlaneProcess) -> None:
    arrivals: list[float] = []
    pieces: list[str] = []
    usage = None
    with openai_client(f"{plane.url}/models/{NAME}/v1") as client:
        started = time.monotonic()
        stream = client.chat.completions.create(
            model=NAME,
            messages=CHAT,
            max_tokens=64,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append(time.monotonic() - started)
                pieces.append(chunk.choices[0].delta.content)
    assert usage is not None, "the include_usage chunk came through"
    assert usage.completion_tokens == 64, "greedy decoding of this model runs to max_tokens"
    assert len(pieces) > 10, pieces
    # NOTE: a proxy that buffered the answer would hand over every chunk at once, at its end.
    assert arrivals[-1] - arrivals[0] > 0.5 * arrivals[-1], arrivals

    with openai_client(f"{replica_url(plane)}/v1") as direct:
        whole = direct.chat.completions.create(model=NAME, messages=CHAT, max_tokens=64, temperature=0)
    assert "".join(pieces) == whole.choices[0].message.content


def test_predict_and_get_routes_through_the_gateway_match_the_replica(plane: ControlPlaneProcess) -> None:
    body = {"text": "the cat", "parameters": {"max_new_tokens": 8}}
    headers = {"Authorization": f"Bearer {KEY}"}
    through = httpx.post(f"{plane.url}/models/{NAME}/predict", json=body, headers=headers, timeout=60)
    direct = httpx.post(f"{replica_url(plane)}/predict", json=body, headers=headers, timeout=60)
    assert through.status_code == direct.status_code == 200, through.text
    assert through.json()["result"] == direct.json()["result"]
    assert through.json()["deployment_id"] == NAME
    assert through.headers["content-type"] == direct.headers["content-type"]

    models = httpx.get(f"{plane.url}/models/{NAME}/v1/models", headers={"X-API-Key": KEY}, timeout=30)
    assert models.status_code == 200, models.text
    assert [model["id"] for model in models.json()["data"]] == [NAME]


def test_unknown_deployment_and_a_missing_key_are_refused(plane: ControlPlaneProcess) -> None:
    with (
        openai_client(f"{plane.url}/models/ghost/v1") as ghost,
        pytest.raises(openai.NotFoundError) as missing,
    ):
        ghost.chat.completions.create(model="ghost", messages=CHAT, max_tokens=4)
    assert "no deployment named 'ghost'" in str(missing.value)

    keyless = openai_client(f"{plane.url}/models/{NAME}/v1", "wrong")
    with keyless, pytest.raises(openai.AuthenticationError):
        keyless.chat.completions.create(model=NAME, messages=CHAT, max_tokens=4)


def running_sequences(plane: ControlPlaneProcess) -> float:
    metrics = httpx.get(f"{replica_url(plane)}/metrics", headers={"X-API-Key": KEY}, timeout=10).text
    found = re.search(r"^berth_sequences_running(?:\{[^}]*\})? (\S+)$", metrics, re.MULTILINE)
    assert found is not None, metrics
    return float(found.group(1))


def test_a_client_that_goes_away_cancels_the_generation_on_the_replica(plane: ControlPlaneProcess) -> None:
    body = {"model": NAME, "messages": CHAT, "max_tokens": 400, "temperature": 0, "stream": True}
    headers = {"Authorization": f"Bearer {KEY}"}
    arrivals: list[float] = []
    url = f"{plane.url}/models/{NAME}/v1/chat/completions"
    with httpx.stream("POST", url, json=body, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: {") and '"content"' in line:
                arrivals.append(time.monotonic())
            if len(arrivals) == 10:
                break
    closed = time.monotonic()
    step_s = (arrivals[-1] - arrivals[0]) / 9
    while running_sequences(plane) > 0:
        assert time.monotonic() - closed < 60, "the sequence still runs a minute after its client left"
        time.sleep(0.02)
    stopped_s = time.monotonic() - closed
    # NOTE: had it run on, its 390 remaining tokens would have taken 390 steps (about 1 s at this tiny
    # model's few milliseconds a step); it stops within the few steps the disconnect takes to reach it
    assert stopped_s < 0.5 * 390 * step_s, (stopped_s, step_s)


def test_an_ollama_client_chats_through_the_gateway(plane: ControlPlaneProcess) -> None:
    import ollama

    options = {"num_predict": 24, "temperature": 0}
    host = f"{plane.url}/models/{NAME}"
    with ollama.Client(host=host, headers={"Authorization": f"Bearer {KEY}"}) as client:
        whole = client.chat(model=NAME, messages=CHAT, options=options)
        parts = list(client.chat(model=NAME, messages=CHAT, options=options, stream=True))
    assert len(parts) > 5, parts
    assert "".join(part.message.content or "" for part in parts) == whole.message.content
    assert parts[-1].done
    assert parts[-1].eval_count == whole.eval_count

    root = httpx.get(f"{plane.url}/models/{NAME}", headers={"X-API-Key": KEY}, timeout=10)
    assert (root.status_code, root.text) == (200, "Ollama is running")

"""Ready-to-paste calls (curl, Python, OpenAI client) for a deployment that just became ready."""

from __future__ import annotations

import json

EXAMPLE_INPUT = {
    "text-generation": "Once upon a time",
    "fill-mask": "Paris is the [MASK] of France.",
    "token-classification": "My name is Sarah and I live in London.",
}
DEFAULT_INPUT = "I love this product!"


def usage_examples(name: str, endpoint: str, task: str, secured: bool) -> dict[str, str]:
    """curl, Python and (where the task fits) OpenAI-client calls; keys are referenced, never shown."""
    text = EXAMPLE_INPUT.get(task, DEFAULT_INPUT)
    auth = ' -H "Authorization: Bearer $BERTH_API_KEY"' if secured else ""
    body = json.dumps({"text": text})
    examples = {
        "curl": f"curl -s -X POST {endpoint}/predict -H 'Content-Type: application/json'{auth} -d '{body}'",
        "python": f'from berth import Client\n\nprint(Client().predict("{name}", {text!r}))',
    }
    key = 'os.environ["BERTH_API_KEY"]' if secured else '"unused"'
    openai = (
        f'import os\nfrom openai import OpenAI\n\nclient = OpenAI(base_url="{endpoint}/v1", api_key={key})\n'
    )
    if task == "feature-extraction":
        examples["openai"] = openai + f'print(client.embeddings.create(model="{name}", input=[{text!r}]))'
    elif task == "text-generation":
        examples["openai"] = openai + (
            f'reply = client.chat.completions.create(model="{name}", '
            f'messages=[{{"role": "user", "content": {text!r}}}])\nprint(reply.choices[0].message.content)'
        )
    return examples

"""Zero-shot classification's parameters and its NLI arithmetic (torch only inside the functions).

Each candidate label becomes a hypothesis ("This example is {label}.") that an NLI model judges
against the text. With one label, or `multi_label`, each label's score is its own entailment
probability against contradiction; otherwise the labels compete: a softmax of the entailment
logits across them, so the scores sum to 1. This is what transformers' zero-shot pipeline computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes.base import Params
from berth.runtimes.outputs import check_params
from berth.spec import Task

if TYPE_CHECKING:
    import torch

DEFAULT_TEMPLATE = "This example is {}."
MAX_LABELS = 64
MAX_LABEL_CHARS = 200
PARAM_NAMES = ("candidate_labels", "hypothesis_template", "multi_label")


@dataclass(frozen=True)
class ZeroShotParams:
    """One request's labels and how to phrase and score them."""

    candidate_labels: tuple[str, ...]
    hypothesis_template: str = DEFAULT_TEMPLATE
    multi_label: bool = False

    @classmethod
    def parse(cls, params: Params) -> ZeroShotParams:
        """Validate request params: candidate_labels is required, the others have defaults.

        >>> ZeroShotParams.parse({"candidate_labels": ["sport", "politics"]}).hypothesis("sport")
        'This example is sport.'
        """
        check_params(params, PARAM_NAMES, Task.ZERO_SHOT_CLASSIFICATION)
        labels = params.get("candidate_labels")
        if labels is None:
            raise InvalidInput(
                'zero-shot-classification needs the parameter candidate_labels, e.g. ["sport", "politics"]'
            )
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) and x.strip() for x in labels)
        ):
            raise InvalidInput(
                f"parameter candidate_labels must be a non-empty list of non-empty strings, got {labels!r}"
            )
        if len(labels) > MAX_LABELS:
            raise InvalidInput(
                f"parameter candidate_labels takes at most {MAX_LABELS} labels, got {len(labels)}"
            )
        repeated = next((label for i, label in enumerate(labels) if label in labels[:i]), None)
        if repeated is not None:
            raise InvalidInput(f"parameter candidate_labels names {repeated!r} twice; give each label once")
        long = next((label for label in labels if len(label) > MAX_LABEL_CHARS), None)
        if long is not None:
            raise InvalidInput(
                f"a candidate label may be at most {MAX_LABEL_CHARS} characters, got {len(long)}"
            )
        template = params.get("hypothesis_template", DEFAULT_TEMPLATE)
        if not isinstance(template, str) or _fill(template, "x") in (None, template):
            raise InvalidInput(
                "parameter hypothesis_template must be a string with one {} where the label goes, "
                f"e.g. {DEFAULT_TEMPLATE!r}; got {template!r}"
            )
        multi_label = params.get("multi_label", False)
        if not isinstance(multi_label, bool):
            raise InvalidInput(f"parameter multi_label must be true or false, got {multi_label!r}")
        return cls(tuple(labels), template, multi_label)

    def hypothesis(self, label: str) -> str:
        return self.hypothesis_template.format(label)


def nli_label_ids(id2label: dict[Any, Any] | None, folder: Path) -> tuple[int, int]:
    """The model's (contradiction, entailment) class ids, from its labels; refuse a model without them."""
    ids: dict[str, int] = {}
    for index, label in (id2label or {}).items():
        for prefix in ("contra", "entail"):
            if str(label).lower().startswith(prefix):
                ids.setdefault(prefix, int(index))
    if len(ids) < 2:
        labels = ", ".join(str(label) for label in (id2label or {}).values()) or "none"
        raise UnsupportedModel(
            f"zero-shot-classification needs an NLI model whose labels include entailment and "
            f"contradiction; {folder} has {labels}: serve it as text-classification instead"
        )
    return ids["contra"], ids["entail"]


def entailment_scores(logits: torch.Tensor, label_ids: tuple[int, int], multi_label: bool) -> torch.Tensor:
    """`[texts, labels, classes]` NLI logits → `[texts, labels]` scores."""
    contradiction, entailment = label_ids
    if multi_label or logits.shape[1] == 1:
        return logits[..., [contradiction, entailment]].softmax(dim=-1)[..., 1]
    return logits[..., entailment].softmax(dim=-1)


def _fill(template: str, label: str) -> str | None:
    try:
        return template.format(label)
    except (IndexError, KeyError, ValueError):
        return None

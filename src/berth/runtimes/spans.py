"""The best answer span in each window of an extractive question-answering batch (torch, on the device).

A span is a first and a last token of the context, first <= last, at most `max_answer_len` tokens
long, scored as transformers' question-answering pipeline scored it: the start probability times the
end probability, each a softmax over the window's context tokens and its [CLS] token (the "no
answer" slot, which is never itself picked). All windows are scored in one tensor operation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

_MASKED = -10_000.0  # the logit given to tokens outside the softmax, as the pipeline gave it


def best_spans(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    in_context: torch.Tensor,
    is_cls: torch.Tensor,
    max_answer_len: int,
) -> list[tuple[float, int, int]]:
    """(score, first token, last token) per window; all arguments are `[windows, tokens]`.

    >>> best_spans(start, end, in_context, is_cls, max_answer_len=30)
    [(0.41, 12, 14), (0.08, 7, 7)]
    """
    import torch

    in_softmax = in_context | is_cls
    p_start = start_logits.masked_fill(~in_softmax, _MASKED).softmax(dim=-1) * in_context
    p_end = end_logits.masked_fill(~in_softmax, _MASKED).softmax(dim=-1) * in_context
    tokens = start_logits.shape[-1]
    ones = torch.ones(tokens, tokens, dtype=torch.bool, device=start_logits.device)
    band = ones.triu().tril(max_answer_len - 1)  # first <= last < first + max_answer_len
    scores = (p_start[:, :, None] * p_end[:, None, :]).masked_fill(~band, 0.0)
    best, index = scores.flatten(start_dim=1).max(dim=1)
    return list(zip(best.tolist(), (index // tokens).tolist(), (index % tokens).tolist(), strict=True))

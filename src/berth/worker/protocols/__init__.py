"""The worker's HTTP protocols: berth's /predict, the Open Inference Protocol (V2), OpenAI.

Each module parses, delegates to `ModelService` and formats; none touches the runtime directly.
"""

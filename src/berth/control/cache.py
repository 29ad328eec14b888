"""The Hugging Face cache as berth shows it: list, pull with progress, and remove models.

The cache is the standard one (`HF_HOME`), shared with the user's other tools; listing and
removal go through huggingface_hub's own cache manager rather than reading its layout here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from berth.api.types import CachedModel
from berth.errors import Conflict, NotFound
from berth.sources import hub
from berth.spec import DeploymentSpec


def cached_models(specs: list[DeploymentSpec]) -> list[CachedModel]:
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        # NOTE: the folder pulls write to (`hub.cache_dir`, read from the environment on each call), not
        # huggingface_hub's constant frozen at import: one rule for where the cache is.
        cache = scan_cache_dir(hub.cache_dir())
    except CacheNotFound:
        return []
    users: dict[str, list[str]] = {}
    for spec in specs:
        users.setdefault(spec.model.source, []).append(spec.name)
    models = [
        CachedModel(
            id=repo.repo_id,
            revisions=sorted(revision.commit_hash for revision in repo.revisions),
            size_bytes=repo.size_on_disk,
            last_modified=datetime.fromtimestamp(repo.last_modified, UTC) if repo.last_modified else None,
            path=str(repo.repo_path),
            used_by=users.get(repo.repo_id, []),
        )
        for repo in cache.repos
        if repo.repo_type == "model"
    ]
    return sorted(models, key=lambda model: model.id)


def remove_model(model_id: str, specs: list[DeploymentSpec]) -> None:
    """Delete every cached revision of `model_id`; refuse while a deployment names it."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    users = [spec.name for spec in specs if spec.model.source == model_id]
    if users:
        raise Conflict(
            f"{model_id!r} is used by {', '.join(users)}; remove those deployments first (`berth rm NAME`)"
        )
    try:
        cache = scan_cache_dir(hub.cache_dir())
    except CacheNotFound:
        cache = None
    repo = (
        next((r for r in cache.repos if r.repo_id == model_id and r.repo_type == "model"), None)
        if cache
        else None
    )
    if cache is None or repo is None:
        raise NotFound(f"{model_id!r} is not in the model cache; `berth models` lists what is")
    cache.delete_revisions(*(revision.commit_hash for revision in repo.revisions)).execute()


def find_cached(model_id: str) -> CachedModel | None:
    return next((model for model in cached_models([]) if model.id == model_id), None)

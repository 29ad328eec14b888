"""Make a resolved source ready to load: check local models, pull hub models into the HF cache.

A hub pull looks in the cache first and makes no request when every needed file is there (so a
second pull, or HF_HUB_OFFLINE=1, works without a network). Otherwise it lists the repo at one commit,
applies the policy, and runs `snapshot_download` pinned to that commit in a background thread while
the caller's thread reports progress and enforces the overall timeout. huggingface_hub resumes a
broken body with Range requests; when it gives up, a bounded retry runs the snapshot again, keeping
every completed file. Partial files live under unique `.incomplete` names and never in the snapshot.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from berth.errors import BerthError, DownloadFailed, ModelNotFound, RequestTimeout
from berth.sources import hub
from berth.sources.listing import local_listing
from berth.sources.policy import Selection, select_files
from berth.sources.progress import PullCancelled, PullProgress, Reporter
from berth.sources.types import LocalModel, ProgressCallback, ResolvedSource, SourceKind
from berth.spec import DeploymentSpec

log = logging.getLogger("berth.sources")

MAX_ATTEMPTS = 4
RETRY_BACKOFF_S = (1.0, 2.0, 4.0)
# NOTE: huggingface_hub reads a body in DOWNLOAD_CHUNK_SIZE pieces (10 MiB) and updates its bars and
# its resume offset once per piece: a 90 MB file would report in 11 % steps and resume 10 MiB back.
# 256 KiB pieces give ≤ 5 % steps for any pull over ~5 MB at no measurable cost.
CHUNK_SIZE = 256 * 1024


def fetch(
    spec: DeploymentSpec,
    source: ResolvedSource,
    *,
    on_progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
) -> LocalModel:
    """Return the model on local disk, pulling a hub model into the standard Hugging Face cache.

    `on_progress` is called on this thread with monotone byte counts (the last one complete), as
    often as `berth.sources.progress.Throttle` allows, so callers need no throttle of their own;
    `timeout_s` bounds the whole pull (default: BERTH_DOWNLOAD_TIMEOUT_S).
    """
    if source.kind is SourceKind.PYTHON:
        return LocalModel(source=source, path=None)
    if source.kind in (SourceKind.ONNX, SourceKind.GGUF):
        path = source.path
        if path is None or not path.is_file():
            raise ModelNotFound(
                f"{source.kind.upper()} file {str(path)!r} does not exist; check model.source"
            )
        return LocalModel(source=source, path=path, files=(path.name,))
    if source.kind is SourceKind.LOCAL:
        folder = source.path
        if folder is None or not folder.is_dir():
            raise ModelNotFound(f"model folder {str(folder)!r} does not exist; check model.source")
        selection = select_files(local_listing(folder), spec)
        return LocalModel(source=source, path=model_root(folder, selection), files=selection.files)
    if timeout_s is None:
        from berth.settings import get_settings

        timeout_s = get_settings().download_timeout_s
    return pull_hub(spec, source, on_progress=on_progress, timeout_s=timeout_s)


def pull_hub(
    spec: DeploymentSpec, source: ResolvedSource, *, on_progress: ProgressCallback | None, timeout_s: float
) -> LocalModel:
    repo_id, revision = source.repo_id or source.reference, source.revision or "main"
    deadline = time.monotonic() + timeout_s
    cached = hub.cached_repo(repo_id, revision)
    if cached is not None:
        selection = select_files(cached.listing, spec)
        if not cached.missing(selection.files):
            total = cached.listing.size_of(selection.files)
            Reporter(on_progress, total)(total)
            path = model_root(cached.snapshot, selection)
            return LocalModel(source=source, path=path, revision=cached.sha, files=selection.files)
    if hub.offline():
        raise DownloadFailed(hub.offline_message(repo_id))
    repo = hub.remote_repo(repo_id, revision)
    selection = select_files(repo.listing, spec)
    _download(repo, selection.files, on_progress, deadline, timeout_s)
    hub.write_ref(repo_id, revision, repo.sha)
    return LocalModel(
        source=source, path=model_root(repo.snapshot, selection), revision=repo.sha, files=selection.files
    )


def model_root(folder: Path, selection: Selection) -> Path:
    """What the runtime loads: the folder, or for a GGUF model the one .gguf file chosen in it."""
    return folder / selection.gguf if selection.gguf is not None else folder


def _download(
    repo: hub.HubRepo,
    files: Sequence[str],
    on_progress: ProgressCallback | None,
    deadline: float,
    timeout_s: float,
) -> None:
    progress = PullProgress(repo.listing.size_of(files))
    progress.new_attempt(present=repo.listing.size_of(files) - repo.listing.size_of(repo.missing(files)))
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            _snapshot_with_retries(repo, files, progress)
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc
        finally:
            progress.finish()

    thread = threading.Thread(target=run, name=f"berth-pull-{repo.repo_id}", daemon=True)
    thread.start()
    report = Reporter(on_progress, progress.total)
    try:
        report(progress.done)
        while not progress.finished:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RequestTimeout(
                    f"pulling {repo.repo_id} took longer than {timeout_s:g} s; the files that completed stay "
                    "in the cache, so run it again or raise BERTH_DOWNLOAD_TIMEOUT_S"
                )
            report(progress.wait(min(0.25, remaining)))
    except BaseException:
        progress.cancel()  # the download thread stops at its next chunk and deletes its partial file
        raise
    if (error := outcome.get("error")) is not None:
        _raise_as_berth_error(repo, error)
    if missing := repo.missing(files):
        raise DownloadFailed(
            f"pulling {repo.repo_id} ended without {', '.join(missing[:3])}; run it again, "
            "and check the disk and the cache folder's permissions if it persists"
        )
    report(progress.total)


def _snapshot_with_retries(repo: hub.HubRepo, files: Sequence[str], progress: PullProgress) -> None:
    from huggingface_hub import constants, snapshot_download

    constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, CHUNK_SIZE)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        missing = repo.missing(files)
        progress.new_attempt(present=repo.listing.size_of(files) - repo.listing.size_of(missing))
        try:
            snapshot_download(
                repo.repo_id,
                revision=repo.sha,
                cache_dir=hub.cache_dir(),
                endpoint=hub.endpoint(),
                allow_patterns=[_literal(f) for f in files],
                etag_timeout=hub.request_timeout(),
                tqdm_class=progress.bar_class(),
            )
            return
        except Exception as exc:
            if attempt == MAX_ATTEMPTS or not _retryable(exc):
                raise
            log.warning(
                "pulling %s broke off (%s: %s); retrying, attempt %d of %d",
                repo.repo_id, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "", attempt + 1,
                MAX_ATTEMPTS,
            )  # fmt: skip
            progress.sleep(RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S)) - 1])


def _retryable(exc: Exception) -> bool:
    """Network trouble and hub hiccups are worth another attempt; a missing repo or a full disk is not."""
    import httpx2
    from huggingface_hub import errors

    if isinstance(exc, PullCancelled | httpx2.ProxyError):
        return False
    if isinstance(exc, httpx2.TransportError):
        return True
    if isinstance(exc, errors.RepositoryNotFoundError | errors.RevisionNotFoundError):
        return False
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(exc.response, "status_code", 0)
        return status >= 500 or status in (408, 429)
    if isinstance(exc, errors.LocalEntryNotFoundError):  # the tree listing failed: hub unreachable
        return not hub.offline()
    return isinstance(exc, OSError) and "Consistency check failed" in str(exc)


def _raise_as_berth_error(repo: hub.HubRepo, error: BaseException) -> NoReturn:
    import httpx2
    from huggingface_hub import errors

    if isinstance(error, httpx2.TransportError | errors.HfHubHTTPError | errors.LocalEntryNotFoundError):
        with hub.hub_errors(repo.repo_id, repo.revision):
            raise error
    if isinstance(error, OSError) and not isinstance(error, BerthError):
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DownloadFailed(
            f"pulling {repo.repo_id} failed ({first_line}); check free disk space and the cache folder "
            f"{hub.cache_dir()}, then run it again"
        ) from None
    raise error


def _literal(name: str) -> str:
    """`name` as an fnmatch pattern that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", name)

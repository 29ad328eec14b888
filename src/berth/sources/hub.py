"""The Hugging Face Hub as berth uses it: where it is, where its cache is, and its errors in our words.

Endpoint, cache folder, offline mode and timeouts are read from the environment at call time, not at
import time as huggingface_hub's constants are, so a process (or a test) may set them late.
huggingface_hub itself is imported inside functions: `hf_api` alone costs ~0.4 s of start-up.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from berth.errors import DownloadFailed, ModelNotFound
from berth.settings import hf_offline
from berth.sources.listing import Listing, local_listing, read_local_json
from berth.sources.progress import bar_class

if TYPE_CHECKING:
    from huggingface_hub import HfApi

_TRUE = {"1", "true", "yes", "on"}


def endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def cache_dir() -> Path:
    """The standard Hugging Face hub cache: HF_HUB_CACHE, else HF_HOME/hub, else huggingface_hub's default."""
    from huggingface_hub import constants

    if explicit := os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(os.path.expandvars(explicit)).expanduser()
    if home := os.environ.get("HF_HOME"):
        return Path(os.path.expandvars(home)).expanduser() / "hub"
    return Path(constants.HF_HUB_CACHE)


def offline() -> bool:
    from huggingface_hub import constants

    return hf_offline() or constants.is_offline_mode()


def request_timeout() -> float:
    """Seconds to wait on one hub request: HF_HUB_DOWNLOAD_TIMEOUT, as huggingface_hub reads it."""
    from huggingface_hub import constants

    try:
        return float(os.environ["HF_HUB_DOWNLOAD_TIMEOUT"])
    except (KeyError, ValueError):
        return float(constants.HF_HUB_DOWNLOAD_TIMEOUT)


def api() -> HfApi:
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint())


def storage_dir(repo_id: str) -> Path:
    return cache_dir() / ("models--" + repo_id.replace("/", "--"))


def snapshot_dir(repo_id: str, sha: str) -> Path:
    return storage_dir(repo_id) / "snapshots" / sha


@dataclass(frozen=True)
class HubRepo:
    """A repo at one commit: its files, and where they are (or will be) in the cache."""

    repo_id: str
    revision: str  # as asked
    sha: str
    listing: Listing

    @property
    def snapshot(self) -> Path:
        return snapshot_dir(self.repo_id, self.sha)

    def missing(self, files: Sequence[str]) -> list[str]:
        """Files not yet in the snapshot folder (a dangling link counts as missing)."""
        return [f for f in files if not (self.snapshot / f).is_file()]


def cached_repo(repo_id: str, revision: str) -> HubRepo | None:
    """The repo as the cache knows it, without any request; None when it was never pulled."""
    from huggingface_hub import get_cached_repo_tree
    from huggingface_hub.errors import CachedRepoTreeNotFoundError

    sha = _cached_sha(repo_id, revision)
    if sha is None or not snapshot_dir(repo_id, sha).is_dir():
        return None
    folder = snapshot_dir(repo_id, sha)
    try:
        sizes: dict[str, int] | None = {
            f.path: f.size for f in get_cached_repo_tree(repo_id, revision=sha, cache_dir=cache_dir())
        }
    except CachedRepoTreeNotFoundError:  # pulled by an older tool: the snapshot folder is all we know
        sizes = None
    return HubRepo(repo_id, revision, sha, local_listing(folder, name=repo_id, sizes=sizes))


def remote_repo(repo_id: str, revision: str) -> HubRepo:
    """The repo's files and sizes from the hub (one request); small files are read on demand."""
    with hub_errors(repo_id, revision):
        info = api().model_info(repo_id, revision=revision, files_metadata=True, timeout=request_timeout())
    if info.sha is None:
        raise DownloadFailed(f"the hub at {endpoint()} did not say which commit {repo_id}@{revision} is")
    sha = info.sha
    sizes = {s.rfilename: s.size or 0 for s in info.siblings or []}
    known = dict(info.safetensors.parameters) if info.safetensors and info.safetensors.parameters else None
    listing = Listing(
        name=repo_id,
        sizes=sizes,
        read_json=lambda rel: _read_remote_json(repo_id, sha, rel),
        read_safetensors=lambda files: _read_remote_headers(repo_id, sha, files),
        known_parameters=known,
    )
    return HubRepo(repo_id, revision, sha, listing)


def write_ref(repo_id: str, revision: str, sha: str) -> None:
    """Record `revision → sha` in the cache's refs/, as huggingface_hub does, so offline use finds it."""
    if revision == sha:
        return
    ref = storage_dir(repo_id) / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    if ref.is_file() and ref.read_text() == sha:
        return
    tmp = ref.with_name(f"{ref.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(sha)
    os.replace(tmp, ref)  # atomic: a concurrent reader never sees half a sha


@contextmanager
def hub_errors(repo_id: str, revision: str) -> Iterator[None]:
    """Turn huggingface_hub and network errors into one clear berth error."""
    import httpx2
    from huggingface_hub import errors

    where = endpoint()
    try:
        yield
    except errors.GatedRepoError:
        raise ModelNotFound(
            f"{repo_id} is gated on the hub: accept its terms on its hub page and set HF_TOKEN to a token "
            "of the account that did"
        ) from None
    except errors.RepositoryNotFoundError:
        raise ModelNotFound(f"no model {repo_id!r} on the hub (or it is private: set HF_TOKEN)") from None
    except errors.RevisionNotFoundError:
        raise ModelNotFound(f"model {repo_id!r} has no revision {revision!r}; check model.revision") from None
    except (errors.OfflineModeIsEnabled, errors.LocalEntryNotFoundError):
        raise DownloadFailed(offline_message(repo_id) if offline() else unreachable(repo_id)) from None
    except errors.HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", "an error")
        raise DownloadFailed(
            f"the hub at {where} answered HTTP {status} for {repo_id}; try again later, "
            "or check HF_TOKEN and HF_ENDPOINT"
        ) from None
    except httpx2.TransportError as exc:
        raise DownloadFailed(unreachable(repo_id, exc)) from None


def unreachable(repo_id: str, exc: BaseException | None = None) -> str:
    why = f" ({type(exc).__name__})" if exc is not None else ""
    return (
        f"cannot reach the hub at {endpoint()} for {repo_id}{why}; check the network and HF_ENDPOINT, "
        "or pre-fill the Hugging Face cache and set HF_HUB_OFFLINE=1"
    )


def offline_message(repo_id: str) -> str:
    return (
        f"{repo_id} is not (completely) in the Hugging Face cache at {cache_dir()} and offline mode "
        "(HF_HUB_OFFLINE) forbids downloading it; pull it once with network access or unset HF_HUB_OFFLINE"
    )


def _cached_sha(repo_id: str, revision: str) -> str | None:
    from huggingface_hub.file_download import REGEX_COMMIT_HASH

    if REGEX_COMMIT_HASH.fullmatch(revision):
        return revision
    ref = storage_dir(repo_id) / "refs" / revision
    try:
        return ref.read_text().strip() or None
    except OSError:
        return None


def _read_remote_json(repo_id: str, sha: str, rel: str) -> Any:
    """A small JSON file of the repo, fetched into the cache (where the pull will find it)."""
    from huggingface_hub import hf_hub_download

    with hub_errors(repo_id, sha):
        path = hf_hub_download(
            repo_id,
            rel,
            revision=sha,
            cache_dir=cache_dir(),
            endpoint=endpoint(),
            etag_timeout=request_timeout(),
            tqdm_class=bar_class(),  # no progress bar on stderr for a config file
        )
    return read_local_json(Path(path).parent, Path(path).name)


def _read_remote_headers(repo_id: str, sha: str, files: Sequence[str]) -> dict[str, int]:
    """Parameters per dtype from the safetensors headers on the hub (byte ranges, not the weights)."""
    from huggingface_hub.errors import SafetensorsParsingError

    hub = api()

    def parse(rel: str) -> dict[str, int]:
        metadata = hub.parse_safetensors_file_metadata(repo_id, rel, revision=sha, timeout=request_timeout())
        return {str(dtype): n for dtype, n in metadata.parameter_count.items()}

    counts: dict[str, int] = {}
    with hub_errors(repo_id, sha), ThreadPoolExecutor(max_workers=8) as pool:
        try:
            for per_file in pool.map(parse, files):
                for dtype, n in per_file.items():
                    counts[dtype] = counts.get(dtype, 0) + n
        except SafetensorsParsingError:
            return {}  # an unreadable header: fall back to the config estimate
    return counts

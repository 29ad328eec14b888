"""No secret value reaches any exported file; bundles archive reproducibly; names are checked."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from berth.errors import InvalidSpec
from berth.exporters import TARGETS, ExportOptions, HpaOptions, archive, bundle
from berth.exporters.common import LLAMA_CPP_REQUIREMENTS, ML_REQUIREMENTS
from berth.spec import DeploymentSpec
from tests.unit.exporters.conftest import API_KEY_VALUE, DB_PASSWORD_VALUE, HF_TOKEN_VALUE, cpu_spec, gpu_spec

SECRET_VALUES = (HF_TOKEN_VALUE, API_KEY_VALUE, DB_PASSWORD_VALUE)
OPTION_SETS = [
    ExportOptions(),
    ExportOptions(
        host="h.example.com",
        tls=True,
        hpa=HpaOptions(),
        ml_packages="volume",
        database_url=f"postgresql+psycopg://berth:{DB_PASSWORD_VALUE}@postgres/berth",
    ),
    ExportOptions(database_url=f"postgresql+psycopg://app:{DB_PASSWORD_VALUE}@db.example.com:6543/reg"),
]


@pytest.mark.parametrize("options", OPTION_SETS)
@pytest.mark.parametrize("target", TARGETS)
def test_no_secret_value_appears_in_any_file(target: str, options: ExportOptions) -> None:
    files = bundle(target, [cpu_spec(), gpu_spec()], options)  # type: ignore[arg-type]
    for path, text in files.items():
        for value in SECRET_VALUES:
            assert value not in text, f"{target}/{path} holds a secret value"
    packed = archive(files)
    assert all(value.encode() not in packed for value in SECRET_VALUES)


def test_secret_keys_are_still_named_so_they_can_be_provided(gpu: DeploymentSpec) -> None:
    compose = bundle("compose", [gpu], ExportOptions())
    assert "OPENAI_API_KEY: ${OPENAI_API_KEY:?" in compose["docker-compose.yml"]
    assert "OPENAI_API_KEY=change-me" in compose[".env.example"]
    assert "OPENAI_API_KEY=change-me" in bundle("kubernetes", [gpu], ExportOptions())["secrets.env.example"]


def test_zip_and_tar_archives_hold_the_same_files_and_are_reproducible(cpu: DeploymentSpec) -> None:
    files = bundle("compose", [cpu], ExportOptions())
    packed = archive(files)
    assert packed == archive(dict(reversed(list(files.items()))))
    with zipfile.ZipFile(io.BytesIO(packed)) as zf:
        assert {name: zf.read(name).decode() for name in zf.namelist()} == files
        assert zf.getinfo("docker-entrypoint.sh").external_attr >> 16 == 0o100755
    with tarfile.open(fileobj=io.BytesIO(archive(files, "tar.gz")), mode="r:gz") as tf:
        members = {m.name: tf.extractfile(m).read().decode() for m in tf.getmembers()}  # type: ignore[union-attr]
    assert members == files


def test_unknown_target_and_format_are_clear_errors(cpu: DeploymentSpec) -> None:
    with pytest.raises(InvalidSpec, match="choose from compose, kubernetes, kserve"):
        bundle("helm", [cpu])  # type: ignore[arg-type]
    with pytest.raises(InvalidSpec, match=r"zip or tar\.gz"):
        archive({}, "rar")  # type: ignore[arg-type]


def test_names_must_be_unique_and_present(cpu: DeploymentSpec) -> None:
    with pytest.raises(InvalidSpec, match="unique"):
        bundle("kubernetes", [cpu, cpu])
    with pytest.raises(InvalidSpec, match="at least one"):
        bundle("compose", [])


def test_llama_cpp_requirements_are_the_llama_cpp_extra() -> None:
    import tomllib

    pyproject = tomllib.loads(
        (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert tuple(pyproject["project"]["optional-dependencies"]["llama-cpp"]) == LLAMA_CPP_REQUIREMENTS


def test_ml_requirements_match_the_package_extras() -> None:
    from importlib.metadata import PackageNotFoundError, requires

    try:
        declared = requires("modelberth") or []
    except PackageNotFoundError:
        pytest.skip("modelberth is not installed as a distribution")
    extras = {
        r.split(";")[0].replace(" ", "")
        for r in declared
        if re.search(r"extra == [\"'](transformers|sentence-transformers|onnx)[\"']", r)
    }
    assert extras == {r.replace(" ", "") for r in ML_REQUIREMENTS}

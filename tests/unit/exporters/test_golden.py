"""Every exported file against its golden copy, so any change to the output is a visible diff.

Regenerate after an intended change with `BERTH_UPDATE_GOLDEN=1 pytest tests/unit/exporters`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from berth.exporters import TARGETS, bundle
from tests.unit.exporters.conftest import SPECS, golden_options

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("BERTH_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("kind", sorted(SPECS))
@pytest.mark.parametrize("target", TARGETS)
def test_bundle_matches_golden_files(target: str, kind: str) -> None:
    files = bundle(target, [SPECS[kind]()], golden_options(kind))  # type: ignore[arg-type]
    folder = GOLDEN / target / kind
    if UPDATE:
        for old in folder.rglob("*"):
            if old.is_file():
                old.unlink()
        for relative, text in files.items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text, encoding="utf-8")
    expected = {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file()
    }
    assert sorted(files) == sorted(expected), "files added or removed; BERTH_UPDATE_GOLDEN=1 to accept"
    for relative, text in files.items():
        assert text == expected[relative], (
            f"{target}/{kind}/{relative} changed; BERTH_UPDATE_GOLDEN=1 to accept"
        )

"""The repository's `spec/` is a copy of the published contract (`../shared/osvi-api/` beside the
checkout), so a clone alone builds and tests. Where the published copy is present, they are identical."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec"
PUBLISHED = ROOT.parent / "shared" / "osvi-api"


def test_the_spec_copy_is_the_published_contract() -> None:
    if not PUBLISHED.is_dir():
        pytest.skip(f"no published contract at {PUBLISHED} (a clone on its own): nothing to compare")
    published = {p.name: p.read_bytes() for p in PUBLISHED.iterdir() if p.is_file()}
    ours = {p.name: p.read_bytes() for p in SPEC.iterdir() if p.is_file()}
    assert sorted(ours) == sorted(published), "spec/ and the published contract hold different files"
    for name, content in published.items():
        assert ours[name] == content, f"spec/{name} differs from the published {name}: copy it over"

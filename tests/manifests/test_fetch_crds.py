"""fetch-crds against a real HTTP server on loopback that serves an upstream-shaped tree: every
file is verified by its git blob id, Istio's are cut out of the bundle byte-for-byte, and a
tampered file stops the whole download before anything is written."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from paystream_ops.errors import UserError
from paystream_ops.validate.fetch import (
    cut_document,
    fetch_all,
    git_blob_id,
    http_fetcher,
    split_documents,
)
from paystream_ops.validate.pins import BUNDLES, FILES


@pytest.fixture
def upstream(tmp_path: Path, crds_dir: Path) -> Iterator[tuple[str, Path]]:
    """A raw.githubusercontent.com look-alike built from the pinned copies of the CRDs."""
    root = tmp_path / "upstream"
    for pin in FILES:
        dest = root / pin.repo / pin.ref / pin.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(crds_dir / pin.dest, dest)
    for bundle in BUNDLES:
        docs = [
            (crds_dir / cut.dest).read_text().removeprefix(bundle.header) for cut in bundle.cuts
        ]
        dest = root / bundle.repo / bundle.ref / bundle.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("---\n".join(docs))
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(root), **k
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def _local_bundles(root: Path) -> tuple:  # the fake bundle is not upstream's bytes
    return tuple(
        replace(b, blob=git_blob_id((root / b.repo / b.ref / b.path).read_bytes())) for b in BUNDLES
    )


@pytest.mark.integration
def test_fetched_crds_are_the_pinned_bytes(
    upstream: tuple[str, Path], tmp_path: Path, crds_dir: Path
) -> None:
    base_url, root = upstream
    out = tmp_path / "out"
    fetched = fetch_all(out, http_fetcher(), base_url, bundles=_local_bundles(root))
    assert len(fetched) == len(FILES) + sum(len(b.cuts) for b in BUNDLES)
    for item in fetched:
        assert (out / item.dest).read_bytes() == (crds_dir / item.dest).read_bytes(), item.dest


@pytest.mark.integration
def test_a_tampered_file_stops_the_download_and_writes_nothing(
    upstream: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, root = upstream
    victim = root / FILES[0].repo / FILES[0].ref / FILES[0].path
    victim.write_text(victim.read_text() + "\n# injected\n")
    out = tmp_path / "out"
    with pytest.raises(
        UserError, match=r"rollout-crd\.yaml: git blob [0-9a-f]{40} is not the pinned"
    ):
        fetch_all(out, http_fetcher(), base_url, bundles=_local_bundles(root))
    assert not out.exists()


def test_git_blob_id_matches_git_hash_object(crds_dir: Path) -> None:
    path = crds_dir / FILES[0].dest
    expected = subprocess.run(
        ["git", "hash-object", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_blob_id(path.read_bytes()) == expected == FILES[0].blob


def test_cutting_a_bundle_keeps_each_document_verbatim() -> None:
    bundle = (
        "# DO NOT EDIT - x\napiVersion: v1\nspec: {group: a.io, names: {kind: A}}\n---\n"
        "apiVersion: v1\nspec: {group: b.io, names: {kind: B}}\n"
    )
    assert len(list(split_documents(bundle))) == 2
    cut = cut_document(bundle, "b.io", "B", "# header\n")
    assert cut.startswith("# header\n# DO NOT EDIT") and cut.endswith("names: {kind: B}}\n")
    with pytest.raises(UserError, match=r"no CustomResourceDefinition for C\.c\.io"):
        cut_document(bundle, "c.io", "C", "")

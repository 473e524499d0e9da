from __future__ import annotations

import os
from pathlib import Path

from paystream_auth.secrets_files import SecretsDirectory


def kubernetes_volume(root: Path, generation: str, values: dict[str, str]) -> None:
    """Write a volume the way the kubelet does: timestamped dir, `..data` swapped atomically."""
    data = root / f"..{generation}"
    data.mkdir()
    for name, value in values.items():
        (data / name).write_text(value)
    tmp_link = root / "..data_tmp"
    tmp_link.symlink_to(data.name)
    tmp_link.replace(root / "..data")
    for name in values:
        link = root / name
        if not link.is_symlink():
            link.symlink_to(f"..data/{name}")


def test_secrets_load_and_follow_a_kubernetes_symlink_swap(tmp_path: Path) -> None:
    kubernetes_volume(tmp_path, "2026_01", {"admin-token": "one\n", "processor-api-key": "k1"})
    secrets = SecretsDirectory(tmp_path)
    assert [c.kind for c in secrets.refresh()] == ["loaded", "loaded"]
    assert secrets.value("admin-token") == "one"
    assert secrets.refresh() == []
    kubernetes_volume(tmp_path, "2026_02", {"admin-token": "two", "processor-api-key": "k1"})
    changes = secrets.refresh()
    assert [(c.name, c.kind, c.generation) for c in changes] == [("admin-token", "rotated", 2)]
    assert secrets.value("admin-token") == "two"


def test_a_same_size_same_second_rewrite_is_still_noticed(tmp_path: Path) -> None:
    token = tmp_path / "admin-token"
    token.write_text("aaaa")
    stat = token.stat()
    secrets = SecretsDirectory(tmp_path)
    secrets.refresh()
    token.write_text("bbbb")
    os.utime(token, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    secrets.refresh()
    assert secrets.value("admin-token") == "bbbb"


def test_a_vanished_or_empty_file_keeps_the_last_good_value(tmp_path: Path) -> None:
    token = tmp_path / "admin-token"
    token.write_text("good")
    secrets = SecretsDirectory(tmp_path)
    secrets.refresh()
    token.unlink()
    assert [c.kind for c in secrets.refresh() if c.name == "admin-token"] == ["missing"]
    assert secrets.value("admin-token") == "good"
    token.write_text("  \n")
    assert [c.kind for c in secrets.refresh() if c.name == "admin-token"] == ["empty"]
    assert all(change.name != "admin-token" for change in secrets.refresh())  # warned once
    assert secrets.value("admin-token") == "good"
    assert "admin-token" not in secrets.missing()


def test_missing_lists_only_secrets_never_loaded(tmp_path: Path) -> None:
    secrets = SecretsDirectory(tmp_path)
    secrets.refresh()
    assert secrets.missing() == ["admin-token", "processor-api-key"]
    (tmp_path / "processor-api-key").write_text("k")
    secrets.refresh()
    assert secrets.missing() == ["admin-token"]


def test_a_change_never_carries_the_value(tmp_path: Path) -> None:
    (tmp_path / "admin-token").write_text("super-secret-value")
    changes = SecretsDirectory(tmp_path).refresh()
    assert "super-secret-value" not in repr(changes)

"""VolumeCache: sync to a volume directory and hydrate back, in tmp dirs."""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pitstop.serverless.utils import volume_cache
from runpod.serverless.utils import VolumeCache

BIG = 300 * 1024


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A model-cache-like directory: small and big files plus things that must be skipped."""
    root = tmp_path / "hf"
    (root / "models" / "m1").mkdir(parents=True)
    (root / "models" / "m1" / "config.json").write_text('{"a": 1}')
    (root / "models" / "m1" / "tokenizer.txt").write_text("tok" * 100)
    (root / "models" / "m1" / "weights.bin").write_bytes(os.urandom(BIG))
    (root / "models" / "m1" / "x.lock").write_text("lock")
    (root / "models" / "refs").mkdir()
    (root / "models" / "refs" / "main").write_text("abc")
    (root / "models" / "link").symlink_to(root / "models" / "m1" / "config.json")
    return root


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    path = tmp_path / "volume"
    path.mkdir()
    return path


def cache(tree: Path, volume: Path, **kwargs: object) -> VolumeCache:
    return VolumeCache([str(tree)], namespace="ep1", volume_path=str(volume), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def synced(capsys: pytest.CaptureFixture[str]) -> Callable[[VolumeCache], int]:
    """Sync inline (which returns None, as RunPod's) and return the count it logged."""

    def run(vc: VolumeCache) -> int:
        capsys.readouterr()
        assert vc.sync(background=False) is None
        found = re.search(r"VolumeCache: synced (\d+) file", capsys.readouterr().out)
        return int(found[1]) if found else 0

    return run


def test_round_trip_restores_every_cached_file(
    tree: Path, volume: Path, synced: Callable[[VolumeCache], int]
) -> None:
    vc = cache(tree, volume)
    assert vc.available
    assert synced(vc) == 3
    mirror = volume / ".cache" / "ep1"
    manifest = json.loads((mirror / "manifest.json").read_text())
    assert manifest["version"] == 1 and manifest["threshold"] == 262144
    real = os.path.realpath(tree)
    assert sorted(e["path"] for e in manifest["small"]) == [
        f"{real}/models/m1/config.json",
        f"{real}/models/m1/tokenizer.txt",
    ]
    assert [e["path"] for e in manifest["big"]] == [f"{real}/models/m1/weights.bin"]
    with tarfile.open(mirror / "small.tar") as tar:
        assert sorted(tar.getnames()) == sorted(e["path"][1:] for e in manifest["small"])
    assert (mirror / "big" / real[1:] / "models/m1/weights.bin").is_file()

    weights = (tree / "models/m1/weights.bin").read_bytes()
    shutil.rmtree(tree)
    assert vc.hydrate() == 3
    assert (tree / "models/m1/config.json").read_text() == '{"a": 1}'
    assert (tree / "models/m1/weights.bin").read_bytes() == weights
    assert not (tree / "models/m1/x.lock").exists()
    assert not (tree / "models/refs").exists() and not (tree / "models/link").exists()
    assert vc.hydrate() == 0  # everything current now


def test_resync_transfers_only_changes(
    tree: Path, volume: Path, synced: Callable[[VolumeCache], int]
) -> None:
    vc = cache(tree, volume)
    vc.sync(background=False)
    assert synced(vc) == 0
    (tree / "models/m1/config.json").write_text('{"a": 12345}')
    assert synced(vc) == 1
    (tree / "models/m1/tokenizer.txt").unlink()
    vc.sync(background=False)
    with tarfile.open(volume / ".cache/ep1/small.tar") as tar:
        assert [n.rsplit("/", 1)[1] for n in tar.getnames()] == ["config.json"]


def test_background_sync_finishes_before_exit(tree: Path, volume: Path) -> None:
    with cache(tree, volume) as vc:
        assert vc.available
    volume_cache._join_pending()
    assert (volume / ".cache/ep1/manifest.json").is_file()


def test_unavailable_without_namespace_or_volume(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNPOD_ENDPOINT_ID", raising=False)
    assert not VolumeCache(str(tree), volume_path=str(tmp_path)).available
    missing = VolumeCache(str(tree), namespace="ep", volume_path=str(tmp_path / "nope"))
    assert not missing.available
    assert missing.hydrate() == 0 and missing.sync(background=False) is None
    assert not (tmp_path / "nope").exists()
    monkeypatch.setenv("RUNPOD_ENDPOINT_ID", "from-env")
    assert VolumeCache(str(tree), volume_path=str(tmp_path)).available


@pytest.mark.parametrize("namespace", ["a/b", "..", "/abs", "a\\b"])
def test_namespace_must_be_one_path_component(namespace: str, volume: Path) -> None:
    with pytest.raises(ValueError, match="single safe path component"):
        VolumeCache("/tmp", namespace=namespace, volume_path=str(volume))


def test_errors_are_swallowed_unless_best_effort_is_off(
    tree: Path, volume: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (volume / ".cache").write_text("not a directory")
    assert cache(tree, volume).sync(background=False) is None
    assert "VolumeCache operation failed" in capsys.readouterr().out
    with pytest.raises(OSError):
        cache(tree, volume, best_effort=False).sync(background=False)


def test_hydrate_never_writes_outside_the_cached_dirs(
    tree: Path, volume: Path, tmp_path: Path
) -> None:
    vc = cache(tree, volume)
    vc.sync(background=False)
    victim = tmp_path / "victim.txt"
    mirror = volume / ".cache/ep1"
    big_copy = mirror / "big" / str(victim)[1:]
    big_copy.parent.mkdir(parents=True, exist_ok=True)
    big_copy.write_text("evil")
    manifest = json.loads((mirror / "manifest.json").read_text())
    manifest["big"].append({"path": str(victim), "size": 4, "mtime": 0})
    (mirror / "manifest.json").write_text(json.dumps(manifest))
    with tarfile.open(mirror / "small.tar", "a") as tar:
        tar.add(big_copy, arcname=str(victim)[1:])
    vc.hydrate()
    assert not victim.exists()


def test_hydrate_never_overwrites_a_newer_local_file(tree: Path, volume: Path) -> None:
    vc = cache(tree, volume)
    vc.sync(background=False)
    config, weights = tree / "models/m1/config.json", tree / "models/m1/weights.bin"
    for path, text in ((config, "newer local, other size"), (weights, "edited weights")):
        path.write_text(text)
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 60))
    (tree / "models/m1/tokenizer.txt").unlink()
    assert vc.hydrate() == 1  # only the missing file
    assert config.read_text() == "newer local, other size"
    assert weights.read_text() == "edited weights"
    old = config.stat().st_mtime - 3600
    os.utime(config, (old, old))  # now older than the volume's copy: restored
    assert vc.hydrate() == 1
    assert config.read_text() == '{"a": 1}'


def test_bytes_and_pathlike_paths(tree: Path, volume: Path) -> None:
    vc = VolumeCache(os.fsencode(tree), namespace="ep1", volume_path=os.fsencode(volume))
    assert vc.available
    vc.sync(background=False)
    listed = VolumeCache([tree], namespace="ep1", volume_path=volume)
    shutil.rmtree(tree / "models" / "m1")
    assert listed.hydrate() == 3

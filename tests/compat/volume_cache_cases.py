"""VolumeCache under both SDKs: ``python volume_cache_cases.py WORKDIR OUT.json``.

Run by the official SDK's interpreter and by pitstop's (``test_compat_volume_cache``): a small
tree is synced to a volume directory with bytes paths, then hydrated back after a file was
deleted and another edited locally (newer than the volume's copy, with another size). Only
the standard library and ``runpod`` are imported: this file runs in both virtualenvs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from runpod.serverless.utils.rp_volume_cache import VolumeCache


def main(workdir: Path, out_path: str) -> None:
    tree, volume = workdir / "hf", workdir / "volume"
    (tree / "m").mkdir(parents=True)
    volume.mkdir()
    (tree / "m" / "config.json").write_text('{"a": 1}')
    (tree / "m" / "vocab.txt").write_text("tok " * 100)
    cache = VolumeCache(os.fsencode(tree), namespace="ep1", volume_path=os.fsencode(volume))
    results: dict[str, object] = {"available": cache.available}
    results["sync_returns"] = repr(cache.sync(background=False))
    (tree / "m" / "vocab.txt").unlink()
    edited = tree / "m" / "config.json"
    edited.write_text("edited locally, another size")
    later = edited.stat().st_mtime + 60
    os.utime(edited, (later, later))
    results["hydrated"] = cache.hydrate()
    results["vocab_back"] = (tree / "m" / "vocab.txt").is_file()
    results["edit_kept"] = edited.read_text() == "edited locally, another size"
    Path(out_path).write_text(json.dumps(results))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])

"""Checks before anything starts, and the endpoint id a handler file gets by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from pitstop.config import SupervisorConfig
from pitstop.errors import ConfigError
from pitstop.supervisor.banner import banner_lines
from pitstop.supervisor.preflight import check_data_dir, check_handler, default_endpoint_id


def handler_in(folder: Path, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("")
    return str(path)


@pytest.mark.parametrize("name", ["handler.py", "main.py", "rp_handler.py", "app.py", "worker.py"])
def test_a_generic_file_name_gives_the_folder_name(tmp_path: Path, name: str) -> None:
    assert default_endpoint_id(handler_in(tmp_path / "sdxl-turbo_v1.5", name)) == "sdxl-turbo_v1.5"


def test_endpoint_ids_are_sanitised(tmp_path: Path) -> None:
    assert default_endpoint_id(handler_in(tmp_path / "My Worker (GPU)!", "handler.py")) == (
        "My-Worker-GPU"
    )
    assert default_endpoint_id(handler_in(tmp_path / "any", "whisper.py")) == "whisper"
    assert default_endpoint_id(handler_in(tmp_path / "any", "my handler.py")) == "my-handler"
    assert default_endpoint_id(handler_in(tmp_path / "!!!", "handler.py")) == "handler"


def test_check_handler_fills_the_endpoint_and_keeps_a_given_one(tmp_path: Path) -> None:
    path = handler_in(tmp_path / "speech", "handler.py")
    assert check_handler(SupervisorConfig(handler_path=path)).endpoint_id == "speech"
    given = SupervisorConfig(handler_path=path, endpoint_id="mine")
    assert check_handler(given).endpoint_id == "mine"


def test_check_handler_and_data_dir_raise_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="handler file not found"):
        check_handler(SupervisorConfig(handler_path=str(tmp_path / "nope.py")))
    with pytest.raises(ConfigError, match="is a directory"):
        check_handler(SupervisorConfig(handler_path=str(tmp_path)))
    # Exists, yet reading it fails even for root (address 0 is never mapped).
    with pytest.raises(ConfigError, match="cannot read handler file /proc/self/mem"):
        check_handler(SupervisorConfig(handler_path="/proc/self/mem"))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="is not writable: Not a directory"):
        check_data_dir(str(blocker / "data"))
    check_data_dir(str(tmp_path / "new" / "data"))
    assert (tmp_path / "new" / "data").is_dir()


def test_banner_says_the_name_came_from_the_folder(tmp_path: Path) -> None:
    path = handler_in(tmp_path / "whisper", "handler.py")
    sup = check_handler(SupervisorConfig(handler_path=path))
    first = banner_lines(sup, "http://h:1", None)[0]
    assert "as endpoint 'whisper' (named after its folder; --endpoint sets another)" in first
    named = check_handler(SupervisorConfig(handler_path=path, endpoint_id="other"))
    assert "named after" not in banner_lines(named, "http://h:1", None)[0]

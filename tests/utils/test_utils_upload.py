"""rp_upload against a real S3 API (moto's server on 127.0.0.1) and the no-bucket fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runpod.serverless.utils import upload_file_to_bucket, upload_in_memory_object
from runpod.serverless.utils.rp_upload import bucket_upload, files, upload_image


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, Any]]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="outputs")
    creds = {"endpointUrl": endpoint, "accessId": "test", "accessSecret": "test"}
    yield {"client": client, "creds": creds, "endpoint": endpoint}
    server.stop()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)


def fetch(url: str) -> bytes:
    response = httpx.get(url)
    response.raise_for_status()
    return response.content


def test_file_upload_returns_a_7_day_presigned_url(s3: dict[str, Any], tmp_path: Path) -> None:
    source = tmp_path / "result.png"
    source.write_bytes(b"\x89PNG result")
    url = upload_file_to_bucket(
        "result.png", str(source), s3["creds"], bucket_name="outputs", prefix="job-1"
    )
    assert "X-Amz-Expires=604800" in url
    assert "/outputs/job-1/result.png" in url
    assert fetch(url) == b"\x89PNG result"


def test_in_memory_upload_uses_env_credentials(
    s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUCKET_ENDPOINT_URL", s3["endpoint"])
    monkeypatch.setenv("BUCKET_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("BUCKET_SECRET_ACCESS_KEY", "test")
    data = b"0123456789" * 10_000  # over the 25 KiB multipart threshold
    url = upload_in_memory_object("blob.bin", data, bucket_name="outputs")
    assert fetch(url) == data
    stored = s3["client"].get_object(Bucket="outputs", Key="blob.bin")["Body"].read()
    assert stored == data


def test_upload_image_and_files_put_objects_under_the_job_id(
    s3: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BUCKET_ENDPOINT_URL", s3["endpoint"])
    monkeypatch.setenv("BUCKET_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("BUCKET_SECRET_ACCESS_KEY", "test")
    image = tmp_path / "cat.jpg"
    image.write_bytes(b"JPEG")
    url = upload_image("job-7", str(image), bucket_name="outputs")
    assert fetch(url) == b"JPEG"
    keys = [o["Key"] for o in s3["client"].list_objects_v2(Bucket="outputs")["Contents"]]
    key = next(k for k in keys if k.startswith("job-7/"))
    assert key.endswith(".jpg") and len(key) == len("job-7/") + 8 + 4
    head = s3["client"].head_object(Bucket="outputs", Key=key)
    assert head["ContentType"] == "image/jpg"


def test_bucket_upload_returns_plain_urls(s3: dict[str, Any], tmp_path: Path) -> None:
    Path("out.txt").write_text("hello")
    creds = {**s3["creds"], "bucketName": "outputs"}
    urls = bucket_upload("job-9", ["out.txt"], creds)
    assert urls == [f"{s3['endpoint']}/outputs/job-9/out.txt"]
    stored = s3["client"].get_object(Bucket="outputs", Key="job-9/out.txt")["Body"].read()
    assert stored == b"hello"


def test_without_credentials_files_are_saved_locally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"abc")
    assert upload_file_to_bucket("copy.bin", str(source)) == "local_upload/copy.bin"
    assert upload_in_memory_object("mem.bin", b"xyz") == "local_upload/mem.bin"
    assert Path("local_upload/copy.bin").read_bytes() == b"abc"
    assert Path("local_upload/mem.bin").read_bytes() == b"xyz"
    assert "saving to disk folder 'local_upload'" in capsys.readouterr().out


def test_image_fallback_goes_to_simulated_uploaded(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"A")
    b.write_bytes(b"B")
    urls = files("job-1", [str(a), str(b)])
    assert all(str(u).startswith("simulated_uploaded/") and str(u).endswith(".png") for u in urls)
    assert [Path(str(u)).read_bytes() for u in urls] == [b"A", b"B"]

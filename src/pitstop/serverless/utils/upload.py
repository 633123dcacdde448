"""Upload job outputs to S3-compatible storage, as RunPod's ``rp_upload``.

``boto3`` is the ``s3`` extra and loads only when an upload runs. Without credentials
(``bucket_creds`` or the ``BUCKET_ENDPOINT_URL`` / ``BUCKET_ACCESS_KEY_ID`` /
``BUCKET_SECRET_ACCESS_KEY`` variables) or without boto3, a warning is logged and the
file is saved under ``./local_upload/`` (``./simulated_uploaded/`` for ``upload_image``);
that relative path is returned instead of a URL, as RunPod does. Presigned URLs are valid
for 7 days. Unlike RunPod's module, importing this one configures no logging.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pitstop.serverless.utils import _log

__all__ = [
    "bucket_upload",
    "extract_region_from_url",
    "files",
    "get_boto_client",
    "upload_file_to_bucket",
    "upload_image",
    "upload_in_memory_object",
]

PRESIGN_SECONDS = 604800
_FALLBACK_WARNING = (
    "No bucket endpoint set (or boto3 is not installed: pip install 'pitstop[s3]'), "
    "saving to disk folder '{directory}'."
)


def extract_region_from_url(endpoint_url: str) -> str | None:
    """The region in an AWS-style (``.s3.<region>.``) or DigitalOcean Spaces endpoint URL."""
    if ".s3." in endpoint_url:
        return endpoint_url.split(".s3.", 1)[1].split(".", 1)[0]
    host = urlsplit(endpoint_url).hostname or ""
    if host.endswith(".digitaloceanspaces.com"):
        return host.split(".")[0]
    return None


def get_boto_client(bucket_creds: Mapping[str, str] | None = None) -> tuple[Any, Any]:
    """``(client, transfer_config)``; the client is None without credentials (the transfer
    config is still built, as RunPod's), both are None without boto3."""
    try:
        import boto3.session
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config
    except ImportError:
        return None, None
    transfer = TransferConfig(
        multipart_threshold=25 * 1024,
        multipart_chunksize=25 * 1024,
        max_concurrency=os.cpu_count() or 1,
        use_threads=True,
    )
    creds = bucket_creds or {
        "endpointUrl": os.environ.get("BUCKET_ENDPOINT_URL", ""),
        "accessId": os.environ.get("BUCKET_ACCESS_KEY_ID", ""),
        "accessSecret": os.environ.get("BUCKET_SECRET_ACCESS_KEY", ""),
    }
    endpoint = creds.get("endpointUrl")
    if not (endpoint and creds.get("accessId") and creds.get("accessSecret")):
        return None, transfer
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=creds["accessId"],
        aws_secret_access_key=creds["accessSecret"],
        region_name=extract_region_from_url(endpoint),
        config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"}),
    )
    return client, transfer


def upload_file_to_bucket(
    file_name: str,
    file_location: str,
    bucket_creds: Mapping[str, str] | None = None,
    bucket_name: str | None = None,
    prefix: str | None = None,
    extra_args: Mapping[str, Any] | None = None,
) -> str:
    """Upload a file as ``prefix/file_name`` and return a 7-day presigned GET URL."""
    client, transfer = get_boto_client(bucket_creds)
    if client is None:
        return _save_locally(file_name, "local_upload", source=file_location)
    bucket = bucket_name or time.strftime("%m-%y")
    key = f"{prefix}/{file_name}" if prefix else file_name
    kwargs: dict[str, Any] = {"Config": transfer}
    if extra_args:
        kwargs["ExtraArgs"] = dict(extra_args)
    client.upload_file(file_location, bucket, key, **kwargs)
    return _presign(client, bucket, key)


def upload_in_memory_object(
    file_name: str,
    file_data: bytes,
    bucket_creds: Mapping[str, str] | None = None,
    bucket_name: str | None = None,
    prefix: str | None = None,
) -> str:
    """Upload bytes as ``prefix/file_name`` and return a 7-day presigned GET URL."""
    client, transfer = get_boto_client(bucket_creds)
    if client is None:
        return _save_locally(file_name, "local_upload", data=file_data)
    bucket = bucket_name or time.strftime("%m-%y")
    key = f"{prefix}/{file_name}" if prefix else file_name
    client.upload_fileobj(io.BytesIO(file_data), bucket, key, Config=transfer)
    return _presign(client, bucket, key)


def upload_image(
    job_id: str,
    image_location: str,
    result_index: int = 0,
    results_list: list[str | None] | None = None,
    bucket_name: str | None = None,
) -> str:
    """Upload one image as ``<job_id>/<uuid8><ext>`` (content type ``image/<ext>``)."""
    extension = os.path.splitext(image_location)[1]
    name = f"{str(uuid.uuid4())[:8]}{extension}"
    with open(image_location, "rb") as source:
        body = source.read()
    client, _transfer = get_boto_client()
    if client is None:
        url = _save_locally(name, "simulated_uploaded", data=body)
    else:
        bucket = bucket_name or time.strftime("%m-%y")
        key = f"{job_id}/{name}"
        content_type = "image/" + extension.lstrip(".")
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        url = _presign(client, bucket, key)
    if results_list is not None:
        results_list[result_index] = url
    return url


def files(job_id: str, file_list: Sequence[str]) -> list[str | None]:
    """Upload several images in parallel (one thread each); URLs in input order."""
    urls: list[str | None] = [None] * len(file_list)
    threads = [
        threading.Thread(target=upload_image, args=(job_id, path, index, urls))
        for index, path in enumerate(file_list)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return urls


def bucket_upload(
    job_id: str, file_list: Sequence[str], bucket_creds: Mapping[str, str]
) -> list[str]:
    """Upload files to ``bucket_creds["bucketName"]`` and return plain (unsigned) URLs."""
    from pitstop.errors import MissingExtraError

    try:
        import boto3  # noqa: F401
    except ImportError:
        raise MissingExtraError("s3", "boto3") from None
    client, _transfer = get_boto_client(bucket_creds)
    if client is None:
        raise ValueError("bucket_creds needs endpointUrl, accessId and accessSecret")
    bucket = str(bucket_creds["bucketName"])
    urls = []
    for path in file_list:
        with open(path, "rb") as body:
            client.put_object(Bucket=bucket, Key=f"{job_id}/{path}", Body=body)
        urls.append(f"{bucket_creds['endpointUrl']}/{bucket}/{job_id}/{path}")
    return urls


def _presign(client: Any, bucket: str, key: str) -> str:
    url: str = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PRESIGN_SECONDS
    )
    return url


def _save_locally(
    file_name: str, directory: str, *, source: str | None = None, data: bytes | None = None
) -> str:
    """The no-bucket fallback: copy into ``directory`` and return the relative path."""
    _log.warn(_FALLBACK_WARNING.format(directory=directory))
    os.makedirs(directory, exist_ok=True)
    target = f"{directory}/{file_name}"
    if source is not None:
        shutil.copyfile(source, target)
    else:
        with open(target, "wb") as out:
            out.write(data or b"")
    return target

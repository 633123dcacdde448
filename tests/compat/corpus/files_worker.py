"""Corpus: a worker that fetches inputs and stores outputs with RunPod's file helpers.

``rp_download.file`` (a zip is extracted), ``download_files_from_urls``, then
``rp_upload.upload_image`` / ``upload_in_memory_object`` / ``upload_file_to_bucket`` (saved
to local folders when no bucket is configured) and ``rp_cleanup.clean``. URLs are taken as
they come: private addresses are refused unless RUNPOD_ALLOW_PRIVATE_DOWNLOAD_URLS is set,
and that error (``SSRFError``) reaches the caller, as do the worker's own exceptions.
"""

import os

import runpod
from runpod.serverless.utils import rp_cleanup, rp_download, rp_upload
from runpod.serverless.utils.rp_download import download_files_from_urls
from runpod.serverless.utils.rp_ssrf import SSRFError


class UnsupportedMedia(Exception):
    """The worker's own error type."""


def _listing(path):
    return sorted(os.listdir(path)) if path else None


def handler(job):
    job_input = job["input"]
    if job_input.get("reject"):
        raise UnsupportedMedia(f"cannot handle {job_input['reject']}")
    if job_input.get("blocked"):
        raise SSRFError(f"refusing {job_input['blocked']}")
    archive = rp_download.file(job_input["archive"])
    extracted = _listing(archive["extracted_path"])
    (text_path,) = download_files_from_urls(job["id"], [job_input["text"]])
    with open(text_path, "rb") as fh:
        text = fh.read()
    image = os.path.join("work", "out.png")
    os.makedirs("work", exist_ok=True)
    with open(image, "wb") as fh:
        fh.write(text[::-1])
    stored = [
        rp_upload.upload_image(job["id"], image),
        rp_upload.upload_in_memory_object("notes.txt", text.upper()),
        rp_upload.upload_file_to_bucket("copy.png", image),
    ]
    rp_cleanup.clean(["work"])  # also removes job_files/, where rp_download.file saved
    return {
        "archive_type": archive["type"],
        "archive_name": archive["original_name"],
        "extracted": extracted,
        "text": text.decode(),
        "stored": [path.split("/")[0] for path in stored],
        "left": [name for name in ("work", "job_files", "jobs") if os.path.exists(name)],
    }


runpod.serverless.start({"handler": handler})

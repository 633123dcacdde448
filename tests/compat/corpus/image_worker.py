"""Corpus: an image-generation worker with a schema module, uploads and refresh by return.

Structure of RunPod's SDXL worker: the schema lives in ``image_schemas``; the handler
validates, "renders" one file per image into a job folder, uploads each with
``rp_upload.upload_image`` when a bucket is configured (base64 data URLs otherwise), cleans
the folder with ``rp_cleanup`` and asks for a fresh worker (``refresh_worker``) after an
image-to-image job or a pipeline error.
"""

import base64
import hashlib
import os

from image_schemas import INPUT_SCHEMA

import runpod
from runpod.serverless.utils import rp_cleanup, rp_upload
from runpod.serverless.utils.rp_validator import validate


class FakePipeline:
    """Stands in for a diffusion pipeline: deterministic bytes per prompt, seed and index."""

    def __call__(self, prompt, seed, count, width, height):
        if "explode" in prompt:
            raise RuntimeError("CUDA out of memory (pretend)")
        images = []
        for index in range(count):
            digest = hashlib.sha256(f"{prompt}|{seed}|{index}|{width}x{height}".encode())
            images.append(digest.digest())
        return images


PIPELINE = FakePipeline()


def _save_and_upload(images, job_id):
    folder = os.path.join("renders", job_id)
    os.makedirs(folder, exist_ok=True)
    urls = []
    for index, data in enumerate(images):
        path = os.path.join(folder, f"{index}.png")
        with open(path, "wb") as fh:
            fh.write(data)
        if os.environ.get("BUCKET_ENDPOINT_URL"):
            urls.append(rp_upload.upload_image(job_id, path))
        else:
            urls.append("data:image/png;base64," + base64.b64encode(data).decode())
    rp_cleanup.clean([folder])
    return urls


def generate_image(job):
    checked = validate(job["input"], INPUT_SCHEMA)
    if "errors" in checked:
        return {"error": checked["errors"]}
    params = checked["validated_input"]
    if params["seed"] is None:
        params["seed"] = 7
    try:
        images = PIPELINE(
            params["prompt"],
            params["seed"],
            params["num_images"],
            params["width"],
            params["height"],
        )
    except RuntimeError as err:
        print(f"[ERROR] pipeline failed: {err}", flush=True)
        return {"error": f"RuntimeError: {err}", "refresh_worker": True}
    urls = _save_and_upload(images, job["id"])
    result = {"images": urls, "image_url": urls[0], "seed": params["seed"]}
    if params["image_url"]:
        result["refresh_worker"] = True
    return result


runpod.serverless.start({"handler": generate_image})

"""Corpus: an async embedding worker with a large concurrency modifier.

Structure of RunPod's infinity-embedding worker: an embedding service created at import, an
``async`` handler that routes OpenAI-style and native requests, errors returned as an error
response dict, and ``concurrency_modifier`` answering a constant.
"""

import asyncio
import hashlib

import runpod


def create_error_response(message):
    return {"object": "error", "message": message, "type": "BadRequestError", "code": 400}


class EmbeddingService:
    """Stands in for the inference engine: deterministic 4-dimensional vectors."""

    def __init__(self):
        self.models = ["tiny-embed"]
        self.started = False

    async def start(self):
        await asyncio.sleep(0)
        self.started = True

    async def embed(self, texts, model):
        if not self.started:
            await self.start()
        if model not in self.models:
            raise ValueError(f"unknown model {model}")
        vectors = []
        for text in texts:
            digest = hashlib.sha256(text.encode()).digest()
            vectors.append([round(b / 255, 4) for b in digest[:4]])
        return vectors, {"prompt_tokens": sum(len(t.split()) for t in texts)}


SERVICE = EmbeddingService()


async def async_handler(job):
    job_input = job["input"]
    if job_input.get("openai_route") == "/v1/models":
        return {"data": [{"id": m} for m in SERVICE.models]}
    texts = job_input.get("input")
    if not texts:
        return create_error_response(f"Invalid input: {job}")
    if isinstance(texts, str):
        texts = [texts]
    try:
        vectors, usage = await SERVICE.embed(texts, job_input.get("model", "tiny-embed"))
    except Exception as err:
        return create_error_response(str(err))
    return {"data": vectors, "usage": usage}


if __name__ == "__main__":
    runpod.serverless.start({"handler": async_handler, "concurrency_modifier": lambda x: 3000})

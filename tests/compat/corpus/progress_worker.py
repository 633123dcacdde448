"""Corpus: a sync worker that reports progress while it works (``progress_update``)."""

import runpod


def handler(job):
    steps = int(job["input"].get("steps", 3))
    done = []
    for step in range(1, steps + 1):
        runpod.serverless.progress_update(job, f"step {step}/{steps}")
        done.append(step * step)
    return {"squares": done}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})

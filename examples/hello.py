"""Hello world: the smallest RunPod worker.

Run it:
    pitstop serve examples/hello.py
    curl -s -X POST http://127.0.0.1:8000/v2/hello/runsync \
        -H 'Content-Type: application/json' -d '{"input": {"name": "pitstop"}}'

Local test mode (no server):
    python examples/hello.py --test_input '{"input": {"name": "pitstop"}}'
"""

import runpod


def handler(job):
    """Greet whoever the input names."""
    name = job["input"].get("name", "world")
    print(f"greeting {name}")
    return {"greeting": f"Hello, {name}!"}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})

"""Input validation with ``rp_validator``: bad input becomes a clear job error.

Run it:
    pitstop serve examples/validation.py
    curl -s -X POST http://127.0.0.1:8000/v2/validation/runsync \
        -H 'Content-Type: application/json' -d '{"input": {"text": "abc", "times": 2}}'
    curl -s -X POST http://127.0.0.1:8000/v2/validation/runsync \
        -H 'Content-Type: application/json' -d '{"input": {"times": "x"}}'   # FAILED, errors

Local test mode:
    python examples/validation.py --test_input '{"input": {"text": "abc"}}'
"""

import runpod
from runpod.serverless.utils.rp_validator import validate

# As in RunPod's SDK, constraints also run after a failed type check (so this one checks the
# type), and an int value skips them, being of the default's type: pitstop then logs a warning,
# and PITSTOP_VALIDATION=strict rejects it.
SCHEMA = {
    "text": {"type": str, "required": True},
    "times": {
        "type": int,
        "required": False,
        "default": 1,
        "constraints": lambda n: isinstance(n, int) and n > 0,
    },
}


def handler(job):
    """Repeat ``text`` ``times`` times, after checking the input against SCHEMA."""
    checked = validate(job["input"], SCHEMA)
    if "errors" in checked:
        return {"error": "; ".join(checked["errors"])}
    data = checked["validated_input"]
    return {"text": data["text"] * data["times"]}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})

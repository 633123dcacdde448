"""Two fitness checks: the first raises RuntimeError("x"), the second must never run."""

import runpod


@runpod.serverless.register_fitness_check
def check_fails():
    raise RuntimeError("x")


@runpod.serverless.register_fitness_check
def check_second():
    print("SECOND CHECK RAN", flush=True)


def handler(job):
    return job["input"]


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})

"""Corpus: a speech-to-text worker with download helpers and debugger timers.

Structure of RunPod's faster-whisper worker: a predictor is set up at import; the handler is
wrapped in ``rp_debugger.FunctionTimer`` and times its steps with ``LineTimer``; the input is
validated against a schema of float/bool/None defaults; the audio URL is fetched with
``download_files_from_urls`` into ``jobs/<id>/``; ``rp_cleanup.clean`` runs at the end.
"""

import os

import runpod
from runpod.serverless.utils import download_files_from_urls, rp_cleanup, rp_debugger
from runpod.serverless.utils.rp_validator import validate

INPUT_VALIDATIONS = {
    "audio": {"type": str, "required": False, "default": None},
    "model": {"type": str, "required": False, "default": "base"},
    "translate": {"type": bool, "required": False, "default": False},
    "language": {"type": str, "required": False, "default": None},
    "temperature": {"type": float, "required": False, "default": 0},
    "best_of": {"type": int, "required": False, "default": 5},
    "patience": {"type": float, "required": False, "default": 1.0},
    "initial_prompt": {"type": str, "required": False, "default": None},
}


class Predictor:
    """Stands in for the speech model: "transcribes" a file into word and byte counts."""

    def setup(self):
        self.models = {"base": "ready", "large": "ready"}

    def predict(self, audio_path, model_name, temperature, translate):
        with open(audio_path, "rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")
        words = text.split()
        if translate:
            words = [w.upper() for w in words]
        return {
            "segments": len(words),
            "transcription": " ".join(words),
            "model": self.models[model_name] and model_name,
            "temperature": temperature,
        }


MODEL = Predictor()
MODEL.setup()


@rp_debugger.FunctionTimer
def run_whisper_job(job):
    job_input = job["input"]
    with rp_debugger.LineTimer("validation_step"):
        checked = validate(job_input, INPUT_VALIDATIONS)
        if "errors" in checked:
            return {"error": checked["errors"]}
        job_input = checked["validated_input"]
    if not job_input["audio"]:
        return {"error": "Must provide audio"}
    with rp_debugger.LineTimer("download_step"):
        (audio_path,) = download_files_from_urls(job["id"], [job_input["audio"]])
    if audio_path is None:
        return {"error": f"could not download {job_input['audio']}"}
    with rp_debugger.LineTimer("prediction_step"):
        result = MODEL.predict(
            audio_path, job_input["model"], job_input["temperature"], job_input["translate"]
        )
    result["downloaded"] = os.path.relpath(audio_path).split(os.sep)[:2]
    with rp_debugger.LineTimer("cleanup_step"):
        rp_cleanup.clean(["input_objects"])
    return result


runpod.serverless.start({"handler": run_whisper_job})

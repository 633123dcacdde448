"""Where RunPod's model cache keeps a Hugging Face repository (``rp_model_cache``)."""

from __future__ import annotations

from pitstop.serverless.utils import _log

__all__ = ["resolve_model_cache_path_from_hugginface_repository"]


def resolve_model_cache_path_from_hugginface_repository(
    huggingface_repository: str,
    /,
    path_template: str = "/runpod/cache/{model}/{revision}",
) -> str | None:
    """``"org/model:rev"`` -> ``/runpod/cache/org/model/rev`` (revision defaults to ``main``).

    The revision is what follows the last ``:``. An empty model name logs a warning and
    returns None, so a list of repositories can be filtered without try/except. (The
    misspelt name is RunPod's public API.)
    """
    model, sep, revision = huggingface_repository.rpartition(":")
    if not sep:
        model, revision = huggingface_repository, ""
    if not model:
        _log.warn(f'Unable to resolve the model-cache path for "{huggingface_repository}"')
        return None
    return path_template.format(model=model, revision=revision or "main")

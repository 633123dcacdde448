"""Worker-side utilities that RunPod's SDK ships under ``runpod.serverless.utils``.

One module per utility: :mod:`.validator`, :mod:`.cleanup`, :mod:`.ssrf` and
:mod:`.download`, :mod:`.upload`, :mod:`.debugger`, :mod:`.model_cache`,
:mod:`.volume_cache`. Nothing is imported here, so importing one utility never pays for
another (``boto3`` and ``httpx`` load only when a download or an upload runs).
"""

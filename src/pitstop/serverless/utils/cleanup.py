"""Remove the scratch folders a job leaves behind, as RunPod's ``rp_cleanup.clean``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable

_SCRATCH_DIRS = ("input_objects", "output_objects", "job_files")


def clean(folder_list: Iterable[str] | None = None) -> None:
    """Delete ``input_objects/``, ``output_objects/``, ``job_files/`` and ``output.zip``
    under the current directory, then every folder in ``folder_list``; missing ones are fine.

    Like RunPod's, it does not delete ``jobs/`` (where ``download_files_from_urls`` writes):
    pass ``["jobs"]`` to remove those too.
    """
    for folder in _SCRATCH_DIRS:
        shutil.rmtree(folder, ignore_errors=True)
    if os.path.isfile("output.zip"):
        os.remove("output.zip")
    for folder in folder_list or ():
        shutil.rmtree(folder, ignore_errors=True)

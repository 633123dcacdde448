"""Shared test support: the recording fake platform and worker-process helpers."""

"""``runpod.api.queries``: GraphQL query builders of RunPod's cloud API (unavailable).

The official query texts (``QUERY_POD``, ``QUERY_USER``, ...) are not included: pitstop
sends no GraphQL.
"""

from pitstop.lazy import attach

__getattr__, __dir__ = attach(__name__, submodules=("endpoints", "gpus", "pods", "user"))

"""``runpod.user_agent``: the User-Agent pitstop's worker sends (``RunPod-Python-SDK/...``).

The version in it is the one pitstop's worker reports on the wire (pitstop's own);
``runpod_version`` here is the SDK version, as everywhere in the ``runpod`` package.
"""

from pitstop.serverless.transport import user_agent as construct_user_agent
from pitstop.serverless.version import SDK_VERSION as runpod_version

USER_AGENT = construct_user_agent()

__all__ = ["USER_AGENT", "construct_user_agent", "runpod_version"]

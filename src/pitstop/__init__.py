"""pitstop: run RunPod-style serverless workers anywhere.

Importing this package is cheap on purpose: the worker runtime, the server and the client
are separate subpackages that load only what they use.
"""

__version__ = "0.1.0"

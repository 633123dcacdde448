"""The ``--rp_*`` command-line flags of ``start()`` (spec §1.3).

Parsed with ``parse_known_args``: recognised flags are removed from ``sys.argv``, unknown
ones stay so user code can parse its own. Prefix abbreviations are disabled (RunPod's
argparse would swallow a user's ``--rp_debug`` as ``--rp_debugger``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--rp_log_level", type=str, default=None)
    parser.add_argument("--rp_debugger", action="store_true", default=None)
    parser.add_argument("--rp_serve_api", action="store_true", default=None)
    parser.add_argument("--rp_api_port", type=int, default=8000)
    parser.add_argument("--rp_api_concurrency", type=int, default=1)
    parser.add_argument("--rp_api_host", type=str, default="localhost")
    parser.add_argument("--test_input", type=json.loads, default=None)
    return parser


def parse_args(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse and remove the worker's flags from ``sys.argv`` (or from ``argv`` when given).

    Invalid ``--test_input`` JSON exits with code 2 and argparse's message.
    """
    use_sys = argv is None
    args = sys.argv[1:] if argv is None else argv
    known, unknown = _parser().parse_known_args(args)
    if use_sys:
        sys.argv[1:] = unknown
    return vars(known)

"""``python -m pitstop.server [--host H] [--port P] [--store URL]``: run the job server.

Other settings come from ``PITSTOP_*`` variables (:meth:`ServerConfig.from_env`).
"""

from __future__ import annotations

import argparse
import dataclasses

from pitstop.config import ServerConfig
from pitstop.server.runner import run


def main(argv: list[str] | None = None) -> None:
    """Parse the few flags, overlay them on the environment's config, serve until a signal."""
    parser = argparse.ArgumentParser(prog="python -m pitstop.server")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--store", help="sqlite:///PATH or redis://HOST:PORT/DB")
    args = parser.parse_args(argv)
    config = ServerConfig.from_env()
    changes = {
        name: value
        for name, value in (("host", args.host), ("port", args.port), ("store_url", args.store))
        if value is not None
    }
    run(dataclasses.replace(config, **changes))


if __name__ == "__main__":
    main()

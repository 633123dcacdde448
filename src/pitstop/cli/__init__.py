"""The ``pitstop`` command line: the click group and its commands.

- :mod:`pitstop.cli.main`: the group, ``server``, ``serve`` and ``worker`` (flags map 1:1 onto
  config fields);
- :mod:`pitstop.cli.client`: the client commands (``submit``, ``status``, ``logs`` ...);
- :mod:`pitstop.cli.output`: settings, exit codes, error handling and the progress line.
"""

from pitstop.cli.main import SERVER_FLAGS, main, server_config

__all__ = ["SERVER_FLAGS", "main", "server_config"]

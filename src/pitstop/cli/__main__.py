"""``python -m pitstop.cli``: the ``pitstop`` command."""

from pitstop.cli.main import main

main()

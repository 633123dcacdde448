"""The embedded SQLite backend: a store (:mod:`.store`) over one writer thread (:mod:`.writer`).

- :mod:`.store`: :class:`SqliteStore`, the contract's async facade;
- :mod:`.writer`: the single writer thread with group commit;
- :mod:`.ops` and :mod:`.sweep`: the transactions it runs; :mod:`.rows`: row codecs;
- :mod:`.schema`: the schema and its version.
"""

from pitstop.storage.sqlite.store import SqliteStore, path_from_url

__all__ = ["SqliteStore", "path_from_url"]

"""The Redis backend: every contract operation an atomic server-side script.

- :mod:`.store`: :class:`RedisStore`, the contract over redis-py's asyncio client;
- :mod:`.scripts`: the Lua scripts; :mod:`.keys`: key layout and record codec;
- :mod:`.pipe`: the persistent auto-pipelined connection; :mod:`.wake`: pub/sub wakeups.
"""

from pitstop.storage.redis.store import RedisStore, split_url

__all__ = ["RedisStore", "split_url"]

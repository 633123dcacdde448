"""Device sets: which GPUs each worker process gets, shared fairly across endpoints.

One :class:`DeviceAllocator` per ``pitstop serve`` holds every device. Each endpoint gets a
:class:`DeviceLease` on it: the devices it may use (its own ``gpus`` list, or every device no
endpoint reserved by listing it) and how many devices each of its workers takes. A pool asks
its lease for a set before it starts a worker and gives the set back only once the worker's
whole process group has exited, so no two live processes ever see the same device.

Fairness: an endpoint may hold more than its share of the devices it can use (those devices
divided by the endpoints that can use them) only while no other such endpoint is waiting
for a set. A device set whose GPU failed its fitness check is quarantined: never handed out
again until ``pitstop serve`` restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

Listener = Callable[[], None]


class DeviceAllocator:
    """Every device of the machine, who holds which, and who is waiting (see module doc)."""

    def __init__(self, devices: Sequence[str]) -> None:
        self.devices = tuple(dict.fromkeys(devices))
        self.holder: dict[str, str] = {}
        """Device -> endpoint holding it."""
        self.quarantined: set[str] = set()
        self.leases: dict[str, DeviceLease] = {}
        self._listeners: list[Listener] = []

    def lease(self, endpoint: str, allowed: Sequence[str], per_worker: int) -> DeviceLease:
        """Register ``endpoint``, allowed ``allowed`` devices, ``per_worker`` at a time."""
        unknown = [d for d in allowed if d not in self.devices]
        if unknown:
            self.devices += tuple(unknown)
        lease = DeviceLease(self, endpoint, tuple(allowed), max(1, per_worker))
        self.leases[endpoint] = lease
        return lease

    def on_free(self, listener: Listener) -> None:
        """Call ``listener`` whenever devices become free (pools then retry their spawns)."""
        self._listeners.append(listener)

    def free(self) -> list[str]:
        """Devices nobody holds and not quarantined, in machine order."""
        return [d for d in self.devices if d not in self.holder and d not in self.quarantined]

    def _released(self) -> None:
        for listener in self._listeners:
            listener()


class DeviceLease:
    """One endpoint's view of the allocator: take a set, give it back, quarantine it."""

    def __init__(
        self, allocator: DeviceAllocator, endpoint: str, allowed: tuple[str, ...], per_worker: int
    ) -> None:
        self.allocator = allocator
        self.endpoint = endpoint
        self.allowed = allowed
        self.per_worker = per_worker
        self.waiting = False
        """The pool wants a set it could not get (others then keep to their fair share)."""
        self._short_said = False
        """The shortage line was said for the current shortage."""

    @property
    def capacity(self) -> int:
        """Sets this endpoint could hold if it had every allowed, healthy device."""
        healthy = [d for d in self.allowed if d not in self.allocator.quarantined]
        return len(healthy) // self.per_worker

    def held(self) -> list[str]:
        """Devices this endpoint's workers hold now."""
        return [d for d, ep in self.allocator.holder.items() if ep == self.endpoint]

    def acquire(self) -> tuple[str, ...] | None:
        """A free device set for a new worker, or None (the caller is then ``waiting``)."""
        free = [d for d in self.allocator.free() if d in self.allowed]
        if len(free) < self.per_worker or self._over_share():
            self.waiting = True
            return None
        chosen = tuple(free[: self.per_worker])
        for device in chosen:
            self.allocator.holder[device] = self.endpoint
        self.waiting = False
        return chosen

    def take(self, wanted: int, live: int, log: Callable[[str], None]) -> tuple[str, ...] | None:
        """:meth:`acquire` for a pool that wants ``wanted`` workers and runs ``live``; the
        first refusal of a shortage is said once through ``log``."""
        chosen = self.acquire()
        if chosen is None and not self._short_said:
            self._short_said = True
            log(
                f"wanted {wanted} worker(s), but no free set of {self.per_worker} GPU(s) "
                f"for more than {live} now (at most {self.capacity}); more start as device "
                "sets free up"
            )
        return chosen

    def _over_share(self) -> bool:
        """True when taking one more set goes past the fair share while a rival waits."""
        rivals = [
            lease
            for lease in self.allocator.leases.values()
            if lease is not self and set(lease.allowed) & set(self.allowed)
        ]
        if not any(lease.waiting for lease in rivals):
            return False
        share = len(self.allowed) / (len(rivals) + 1)
        return len(self.held()) + self.per_worker > share

    def release(self, devices: Sequence[str]) -> None:
        """Give a set back (its worker's process group has exited); wake waiting pools."""
        for device in devices:
            if self.allocator.holder.get(device) == self.endpoint:
                del self.allocator.holder[device]
        if devices:
            self.allocator._released()

    def quarantine(self, devices: Sequence[str]) -> None:
        """Never hand these devices out again (their GPU failed its fitness check)."""
        self.allocator.quarantined.update(devices)

    def satisfied(self) -> None:
        """The pool has every worker it wants: it no longer holds rivals to their share."""
        self.waiting = False
        self._short_said = False


def allowed_devices(
    specs: Mapping[str, str | tuple[str, ...]], machine: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Each endpoint's usable devices: its own list, or for ``all`` every device (of the
    machine or of any list) that no endpoint reserved by listing it; ``none`` gets none."""
    reserved = [d for spec in specs.values() if isinstance(spec, tuple) for d in spec]
    everything = tuple(dict.fromkeys([*machine, *reserved]))
    shared = tuple(d for d in everything if d not in reserved)
    result: dict[str, tuple[str, ...]] = {}
    for endpoint, spec in specs.items():
        if isinstance(spec, tuple):
            result[endpoint] = spec
        else:
            result[endpoint] = shared if spec != "none" else ()
    return result


def plan_leases(
    specs: Mapping[str, str | tuple[str, ...]],
    per_worker: Mapping[str, int],
    machine: Sequence[str],
) -> dict[str, DeviceLease | None]:
    """One allocator over ``machine``'s devices and every listed one; each endpoint's lease
    (None for an endpoint without devices: its workers are started without assignment)."""
    allowed = allowed_devices(specs, machine)
    allocator = DeviceAllocator([*machine, *(d for devs in allowed.values() for d in devs)])
    return {
        endpoint: allocator.lease(endpoint, devices, per_worker[endpoint]) if devices else None
        for endpoint, devices in allowed.items()
    }

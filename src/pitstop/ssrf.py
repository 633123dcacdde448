"""Where pitstop may send requests on someone else's behalf: the shared SSRF rules.

A URL that arrives in a job (a file to download on the worker, a webhook the server calls)
could point at cloud metadata (169.254.169.254) or at services on the private network. Both
callers use the rules here, once:

* :func:`is_public_address`: only globally routable unicast addresses pass; loopback,
  RFC 1918, link-local, CGNAT 100.64/10, unique-local ``fc00::/7``, reserved, multicast,
  unspecified and the IPv4-mapped IPv6 forms of all those are refused;
* :func:`resolve`: resolve a host once; the caller checks every address it got and then
  connects to a checked address with :func:`pinned_request` (Host header and TLS SNI /
  certificate name stay the URL's host), so DNS rebinding between check and connect cannot
  redirect the request;
* :class:`Allowlist`: operator-given hosts and CIDR ranges that may be internal
  (``--webhook-allow``).

Standard library only (the worker runtime imports this module); httpx only for typing.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pitstop.errors import ConfigError

if TYPE_CHECKING:
    import httpx

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SSRFError(ValueError):
    """A URL was refused: blocked scheme, non-public address, proxy, or body over the cap."""


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public_address(ip: str) -> bool:
    """True only for a globally routable unicast address; unparseable input is not."""
    address = _address(ip)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return False
    blocked = (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )
    return not blocked and address.is_global


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (in resolver order, once each); SSRFError if none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise SSRFError(f"could not resolve host {host!r}: {err}") from err
    ips = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not ips:
        raise SSRFError(f"no addresses resolved for host {host!r}")
    return ips


class Allowlist:
    """Hosts (exact names) and CIDR ranges allowed even when not public (an operator's
    choice, e.g. ``127.0.0.1``, ``10.0.0.0/8``, ``hooks.internal``)."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.hosts: set[str] = set()
        self.networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            if entry[0].isdigit() or ":" in entry:
                try:
                    self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                except ValueError as exc:
                    raise ConfigError(f"bad address or CIDR in the allow list: {raw!r}") from exc
            else:
                self.hosts.add(entry)

    def permits(self, host: str, ip: str) -> bool:
        """True when ``host`` is listed or ``ip`` lies in a listed range."""
        if host.lower().rstrip(".") in self.hosts:
            return True
        address = _address(ip)
        return address is not None and any(address in net for net in self.networks)


def pinned_request(
    client: httpx.Client | httpx.AsyncClient,
    method: str,
    url: str,
    ip: str,
    headers: Mapping[str, str],
    **extra: Any,
) -> httpx.Request:
    """A request that dials ``ip`` but presents the URL's own host (Host header and SNI)."""
    original = client.build_request(method, url)
    host = original.url.host
    pinned_url = original.url.copy_with(host=ip.split("%", 1)[0])
    authority = f"[{host}]" if ":" in host else host
    if original.url.port is not None:
        authority = f"{authority}:{original.url.port}"
    return client.build_request(
        method,
        pinned_url,
        headers={**headers, "Host": authority},
        extensions={"sni_hostname": host},
        **extra,
    )

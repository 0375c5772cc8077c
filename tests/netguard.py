"""A network guard for tests: only loopback addresses can be reached.

It patches the standard library (``socket.socket.connect``/``connect_ex``,
``socket.create_connection`` and ``socket.getaddrinfo``), not policybot. A
blocked attempt raises :class:`BlockedConnection` *and* is recorded, because
code that handles connection errors gracefully (the LLM fallback does) would
otherwise hide it; :meth:`NetGuard.assert_clean` fails the test afterwards.

In conftest.py (``tests/`` is on ``sys.path`` under pytest, ``tests.`` is not
unless pytest's ``pythonpath`` includes the project root)::

    from netguard import install_guard

    def pytest_configure(config):
        install_guard()

    @pytest.fixture(autouse=True)
    def _no_network():
        guard = install_guard()
        seen = len(guard.blocked)
        yield
        assert len(guard.blocked) == seen, f"tried to reach the network: {guard.blocked[seen:]}"
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class BlockedConnection(ConnectionRefusedError):
    """A test tried to reach an address that is not on this machine."""


def is_local(host: Any) -> bool:
    """True for loopback addresses and names, and for the unspecified address used when binding."""
    if host is None or host == "":
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").split("%", 1)[0].lower()
    if host in LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


class NetGuard:
    """Installs and removes the patches; ``blocked`` lists what was refused."""

    def __init__(self, *, dns: bool = True) -> None:
        self.dns = dns
        self.blocked: list[str] = []
        self._saved: dict[str, Any] = {}

    def _refuse(self, what: str) -> BlockedConnection:
        self.blocked.append(what)
        return BlockedConnection(f"netguard: tests may not reach {what} (only 127.0.0.1/localhost)")

    def install(self) -> NetGuard:
        if self._saved:
            return self
        sock_cls = socket.socket
        self._saved = {
            "connect": sock_cls.connect,
            "connect_ex": sock_cls.connect_ex,
            "create_connection": socket.create_connection,
            "getaddrinfo": socket.getaddrinfo,
        }
        real_connect, real_connect_ex = self._saved["connect"], self._saved["connect_ex"]
        real_create, real_gai = self._saved["create_connection"], self._saved["getaddrinfo"]
        guard = self

        def check(sock: socket.socket, address: Any) -> None:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_local(address[0]):
                raise guard._refuse(f"{address[0]}:{address[1]}")

        def connect(sock: socket.socket, address: Any) -> None:
            check(sock, address)
            return real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            check(sock, address)
            return real_connect_ex(sock, address)

        def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
            if not is_local(address[0]):
                raise guard._refuse(f"{address[0]}:{address[1]}")
            return real_create(address, *args, **kwargs)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if guard.dns and not is_local(host):
                raise guard._refuse(f"{host} (name lookup)")
            return real_gai(host, *args, **kwargs)

        sock_cls.connect = connect  # type: ignore[method-assign]
        sock_cls.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.create_connection = create_connection  # type: ignore[assignment]
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        return self

    def uninstall(self) -> None:
        if not self._saved:
            return
        socket.socket.connect = self._saved["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = self._saved["connect_ex"]  # type: ignore[method-assign]
        socket.create_connection = self._saved["create_connection"]
        socket.getaddrinfo = self._saved["getaddrinfo"]
        self._saved = {}

    def assert_clean(self) -> None:
        """Fail if anything tried to leave the machine, even if the code under test swallowed the error."""
        if self.blocked:
            raise AssertionError("A test tried to reach the network: " + ", ".join(self.blocked))


@contextmanager
def guard(*, dns: bool = True) -> Iterator[NetGuard]:
    """Block non-loopback connections inside the ``with`` block."""
    g = NetGuard(dns=dns).install()
    try:
        yield g
    finally:
        g.uninstall()


_session: NetGuard | None = None


def install_guard(*, dns: bool = True) -> NetGuard:
    """Block for the rest of the process (from ``pytest_configure``); idempotent, returns the guard.

    Blocked attempts raise, and are also kept in ``install_guard().blocked`` so an
    autouse fixture can fail a test whose code swallowed the error.
    """
    global _session
    if _session is None:
        _session = NetGuard(dns=dns).install()
    return _session


install = install_guard

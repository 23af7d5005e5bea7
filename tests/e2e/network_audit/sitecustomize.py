"""Loaded at start-up by every server process the e2e tests start (it is on their PYTHONPATH).

It installs an audit hook that records each attempt to open a network connection or resolve
a host name that is not this machine's loopback, into the file named by
FIMBLE_NETWORK_AUDIT; the tests assert that file holds nothing but the start marker. The hook
only records (it blocks nothing), so a test sees what was tried, not a confusing failure.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Any

_LOG = os.environ.get("FIMBLE_NETWORK_AUDIT")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "", None}


def _is_local(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _record(line: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" or event == "socket.sendto":
        address = args[1] if len(args) > 1 else None
        if isinstance(address, tuple) and address and not _is_local(address[0]):
            _record(f"{os.getpid()} {event} {address!r}")
    elif event == "socket.getaddrinfo" and args and not _is_local(args[0]):
        _record(f"{os.getpid()} {event} {args[0]!r}")


if _LOG:
    _record(f"{os.getpid()} audit hook installed")
    sys.addaudithook(_hook)

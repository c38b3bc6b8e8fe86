"""The aiohttp resolver of an OutboundPolicy (toshi/core/outbound.py), apart so that importing the
policy does not import aiohttp."""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver


class CheckedResolver(AbstractResolver):
    """An aiohttp resolver giving only addresses the policy accepted, so the connection goes where
    the check looked (no second DNS answer in between)."""

    def __init__(self, policy):
        self.policy = policy

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list:
        flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        return [{"hostname": host, "host": address, "port": port, "family": found, "proto": 0, "flags": flags}
                for found, address in await self.policy.addresses(host, port)
                if family in (socket.AF_UNSPEC, found)]

    async def close(self) -> None:
        pass

"""A JSON-RPC protocol that answers every request, even one it cannot read.

pygls 2.1.1 raises while deserializing a request whose params do not match the LSP schema
(a negative line, a string where a number goes); its reader loop logs that and the request
is never answered, so the editor waits forever. This subclass answers such a request with an
`InvalidParams` error carrying the request's id, and drops malformed notifications quietly.
pygls also drops, unanswered, every request that comes after `shutdown`; this answers each with
the `InvalidRequest` error LSP prescribes.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import RPCRequest

logger = logging.getLogger(__name__)


class _Unreadable:
    """Stands in for a message that could not be deserialized (already answered)."""


UNREADABLE = _Unreadable()


class FimbleProtocol(LanguageServerProtocol):
    @property
    def shut_down(self) -> bool:
        """Whether the client asked for `shutdown` (the exit status depends on it)."""
        return bool(self._shutdown)

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except (JsonRpcInvalidParams, JsonRpcInternalError):
            method = data.get("method")
            if "id" in data and method:
                logger.warning("request %s (%s) had invalid params", data["id"], method)
                message = f"Invalid params for {method}: they do not match the LSP schema."
                code = types.ErrorCodes.InvalidParams
                self._send_response(
                    data["id"], None, types.ResponseError(code=code, message=message)
                )
            else:
                logger.warning("dropped an unreadable message (%s)", method or "no method")
            return UNREADABLE

    def handle_message(self, message: Any) -> None:
        if message is UNREADABLE:
            return
        if self._shutdown and isinstance(message, RPCRequest):
            # pygls drops it without an answer; LSP wants an InvalidRequest error.
            code = types.ErrorCodes.InvalidRequest
            error = types.ResponseError(code=code, message="the server is shutting down")
            self._send_response(message.id, None, error)
            return
        super().handle_message(message)

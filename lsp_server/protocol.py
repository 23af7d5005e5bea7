"""A JSON-RPC protocol that answers every request, even one it cannot read.

pygls 2.1.1 raises while deserializing a request whose params do not match the LSP schema
(a negative line, a string where a number goes); its reader loop logs that and the request
is never answered, so the editor waits forever. This subclass answers such a request with an
`InvalidParams` error carrying the request's id, and drops malformed notifications quietly.
pygls also drops, unanswered, every request that comes after `shutdown`; this answers each with
the `InvalidRequest` error LSP prescribes. And pygls files the future of every notification it
hands to a coroutine, thread or generator handler (didOpen, didChange, didClose...) under a
made-up id among the requests that may be cancelled, and never takes it out: one future per
notification, kept for the life of the server. This takes it out once it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
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

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Callable[..., Any],
        callback: Callable[..., Any],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        if callback == self._check_handler_result:  # a notification: no one cancels it by id
            future = self._request_futures.get(msg_id)
            if future is not None:
                # Later, on the loop: `shutdown` cancels the futures while it walks them.
                forget = functools.partial(self._request_futures.pop, msg_id, None)
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:  # not on a loop (no server running): nothing walks them
                    future.add_done_callback(lambda _: forget())
                else:
                    future.add_done_callback(lambda _: _call_soon(loop, forget))


def _call_soon(loop: asyncio.AbstractEventLoop, job: Callable[[], object]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nothing is left to keep
        loop.call_soon_threadsafe(job)

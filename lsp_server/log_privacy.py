"""Logging that never carries source text by default.

pygls puts whole message bodies (documents included) into its log records, even at ERROR
("Failed to handle request ... <params>"). This filter keeps such records but withholds
their arguments and exception details, so a log file says what happened, not what code the
user was editing. `--log-level DEBUG` is the explicit way to see everything.
"""

from __future__ import annotations

import logging

WITHHELD = "[details withheld: may contain source text; use --log-level DEBUG]"


class SourceTextFilter(logging.Filter):
    """A handler filter: records from libraries lose their arguments and tracebacks."""

    def __init__(self, libraries: tuple[str, ...] = ("pygls",)) -> None:
        super().__init__()
        self._libraries = libraries

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._libraries):
            return True
        message = str(record.msg)
        cut = message.find("%")
        if cut >= 0 or record.args:
            message = message[:cut].rstrip(" :") if cut >= 0 else message
            record.msg = f"{message} {WITHHELD}"
            record.args = ()
        if record.exc_info and record.exc_info[0] is not None:
            record.msg = f"{record.msg} ({record.exc_info[0].__name__})"
            record.exc_info = None
            record.exc_text = None
        return True


def private_handler(handler: logging.Handler, level: int) -> logging.Handler:
    """`handler`, filtered unless the user asked for DEBUG; pygls kept at WARNING or above."""
    if level > logging.DEBUG:
        handler.addFilter(SourceTextFilter())
        logging.getLogger("pygls").setLevel(max(logging.WARNING, level))
    return handler

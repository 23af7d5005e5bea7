"""Run `fimble serve` with llama.cpp's own report of each context it creates kept in a file.

fimble routes llama.cpp's log into Python's logging and keeps it quiet, so what llama.cpp
made of the settings (the KV cache's type and size, say) is not visible from outside. This
wrapper listens to llama.cpp's log while a context is created and appends those lines to the
file named by FIMBLE_LLAMA_CONTEXT_REPORT; everything else is the unmodified server.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

import llama_cpp

from lsp_server.cli import main

REPORT = os.environ["FIMBLE_LLAMA_CONTEXT_REPORT"]
_create_context = llama_cpp.llama_init_from_model


def _create_context_reported(model: Any, params: Any) -> Any:
    lines: list[str] = []

    def keep(_level: int, text: bytes | None, _user_data: ctypes.c_void_p) -> None:
        if text:
            lines.append(text.decode("utf-8", errors="replace"))

    listener = llama_cpp.llama_log_callback(keep)
    previous, previous_data = llama_cpp.llama_log_callback(), ctypes.c_void_p()
    llama_cpp.llama_log_get(ctypes.byref(previous), ctypes.byref(previous_data))
    llama_cpp.llama_log_set(listener, ctypes.c_void_p(0))
    try:
        return _create_context(model, params)
    finally:
        llama_cpp.llama_log_set(previous, previous_data)  # fimble's own routing, back
        with open(REPORT, "a", encoding="utf-8") as report:
            report.write("".join(lines))


llama_cpp.llama_init_from_model = _create_context_reported
sys.exit(main())

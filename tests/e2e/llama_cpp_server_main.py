"""Run llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`) for the tests.

One change: on CPUs where this llama.cpp build uses Intel AMX kernels, the model is loaded
without the extra buffer types that route weights to them, as fimble's own runtime does
(engines/llama_runtime.py: those kernels crash with SIGSEGV here). Everything else is the
unmodified server.
"""

from __future__ import annotations

import runpy
from typing import Any

import llama_cpp
import llama_cpp.llama_cpp as bindings

from engines.llama_runtime import amx_in_build

if amx_in_build():
    _default_params = bindings.llama_model_default_params

    def _params_without_amx() -> Any:
        params = _default_params()
        params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = _params_without_amx
    llama_cpp.llama_model_default_params = _params_without_amx

runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)

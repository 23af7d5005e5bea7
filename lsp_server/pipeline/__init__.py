"""From one completion request to one suggestion, with no LSP in sight.

The language server and `fimble complete` both hand a `CompletionRequest` to `suggest`; the
pipeline plans the context (`context/`), streams the model (`engines/`) into the
post-processing chain and returns the suggestion with what it cost. An import-linter contract
keeps this package free of pygls and lsprotocol.
"""

from lsp_server.pipeline.request import CompletionRequest
from lsp_server.pipeline.suggestion import Outcome, plan_for, prefill, suggest

__all__ = ["CompletionRequest", "Outcome", "plan_for", "prefill", "suggest"]

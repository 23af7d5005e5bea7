"""Models and generation: FIM prompts, the in-process llama.cpp engine, model files.

Nothing here knows about LSP; the language server talks to engines through
`engines.completion_engine.CompletionEngine`.
"""

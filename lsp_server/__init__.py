"""fimble's language server: LSP wiring over the pure `context` and `engines` packages."""

__version__ = "0.1.0"

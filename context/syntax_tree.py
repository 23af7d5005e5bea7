"""Lazy tree-sitter grammar loading and parsed documents with str offsets.

Grammars are imported only when a language is first seen and are cached; a
grammar that is missing or fails to load simply yields no tree, so callers fall
back to plain-text heuristics. tree-sitter speaks UTF-8 byte offsets while the
rest of fimble uses Python str indices, so the conversion lives here, once.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from typing import cast

from tree_sitter import Language, Node, Parser, Tree

from context.languages import GRAMMAR_MODULES

_LOG = logging.getLogger(__name__)


@functools.cache
def load_language(language_id: str) -> Language | None:
    """Return the grammar for an LSP language id, or None if unavailable."""
    entry = GRAMMAR_MODULES.get(language_id)
    if entry is None:
        return None
    module_name, factory_name = entry
    try:
        module = importlib.import_module(module_name)
        factory = cast(Callable[[], object], getattr(module, factory_name))
        return Language(factory())
    except Exception:  # any failure means "no grammar": plain-text handling
        _LOG.warning("could not load tree-sitter grammar for %s", language_id, exc_info=True)
        return None


class SyntaxTree:
    """A parsed document that answers questions in str (code point) offsets."""

    def __init__(self, text: str, tree: Tree, data: bytes, language: Language) -> None:
        self.text = text
        self.tree = tree
        self.data = data
        self.language = language

    @property
    def root(self) -> Node:
        return self.tree.root_node

    @property
    def has_error(self) -> bool:
        return self.tree.root_node.has_error

    def byte_offset(self, char_offset: int) -> int:
        return len(self.text[:char_offset].encode("utf-8"))

    def char_offset(self, byte_offset: int) -> int:
        return len(self.data[:byte_offset].decode("utf-8", errors="replace"))

    def point(self, char_offset: int) -> tuple[int, int]:
        """(row, byte column) of a str offset, as tree-sitter wants it."""
        line_start = self.text.rfind("\n", 0, char_offset) + 1
        row = self.text.count("\n", 0, char_offset)
        return row, len(self.text[line_start:char_offset].encode("utf-8"))

    def replaced(self, offset: int, old_length: int, new_text: str) -> SyntaxTree:
        """Parse the document with text[offset:offset+old_length] replaced, incrementally."""
        text = self.text[:offset] + new_text + self.text[offset + old_length :]
        edited = SyntaxTree(text, self.tree, text.encode("utf-8"), self.language)
        start = self.byte_offset(offset)
        old_tree = self.tree.copy()
        old_tree.edit(
            start_byte=start,
            old_end_byte=self.byte_offset(offset + old_length),
            new_end_byte=start + len(new_text.encode("utf-8")),
            start_point=self.point(offset),
            old_end_point=self.point(offset + old_length),
            new_end_point=edited.point(offset + len(new_text)),
        )
        edited.tree = Parser(self.language).parse(edited.data, old_tree)
        return edited

    def error_count(self) -> int:
        """Count ERROR and MISSING nodes, descending only into subtrees that have errors."""
        count = 0
        pending = [self.tree.root_node]
        while pending:
            node = pending.pop()
            if node.is_error or node.is_missing:
                count += 1
            pending.extend(child for child in node.children if child.has_error or child.is_missing)
        return count


# Larger texts are not parsed: callers fall back to what they do without a grammar. A tree
# costs about 140 bytes per source byte in dense code (253 MB for a generated 1.8 MB Python
# file of 300,000 assignments), more than the suggestions in such a file are worth.
MAX_PARSED_CHARS = 500_000


@functools.lru_cache(maxsize=4)
def parse_document(text: str, language_id: str) -> SyntaxTree | None:
    """Parse text with the language's grammar; None when the language has none, or when
    the text is longer than MAX_PARSED_CHARS.

    The planner and the finisher parse the same document back to back, hence
    the small cache; callers must treat the result as read-only.
    """
    language = load_language(language_id)
    if language is None or len(text) > MAX_PARSED_CHARS:
        return None
    data = text.encode("utf-8")
    return SyntaxTree(text, Parser(language).parse(data), data, language)

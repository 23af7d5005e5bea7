"""Static knowledge about the languages fimble completes.

The planner and the finisher need a handful of per-language facts (how a file
name maps to an LSP language id, how comments start, which line endings open
a block) without parsing anything; keeping them in one table-driven module
means adding a language is a matter of adding rows.
"""

from __future__ import annotations

import os

PLAINTEXT = "plaintext"

_EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascriptreact",
    ".ts": "typescript",
    ".tsx": "typescriptreact",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
}

_SLASH_COMMENT_LANGUAGES = frozenset(
    {
        "javascript",
        "javascriptreact",
        "typescript",
        "typescriptreact",
        "go",
        "rust",
        "java",
        "c",
        "cpp",
        "csharp",
        "kotlin",
        "swift",
        "scala",
        "dart",
        "php",
    }
)

_OTHER_LINE_COMMENTS: dict[str, str] = {
    "python": "#",
    "ruby": "#",
    "shellscript": "#",
    "perl": "#",
    "r": "#",
    "yaml": "#",
    "toml": "#",
    "makefile": "#",
    "dockerfile": "#",
    "elixir": "#",
    "lua": "--",
    "sql": "--",
    "haskell": "--",
    "latex": "%",
    "erlang": "%",
    "clojure": ";",
    "lisp": ";",
    "vim": '"',
}

# LSP language id -> (module, factory function) of the grammar wheel.
GRAMMAR_MODULES: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "javascriptreact": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

# Languages with a grammar: their block openers are known exactly, no keyword guessing.
_GRAMMAR_LANGUAGES = frozenset(GRAMMAR_MODULES)

_BRACE_OPENERS = ("{", "(", "[", "=>")
_PYTHON_OPENERS = (":", "{", "(", "[")
_UNKNOWN_OPENERS = (":", "{", "(", "[", "=>")
_KEYWORD_OPENERS = ("then", "do")

CLOSER_CHARS = frozenset(")]}\"'`;,")
OPEN_TO_CLOSE: dict[str, str] = {"(": ")", "[": "]", "{": "}"}
QUOTE_CHARS = frozenset("\"'`")


def language_for_path(path: str) -> str:
    """Map a file name, path or URI to its LSP language id ("plaintext" if unknown)."""
    _, extension = os.path.splitext(os.path.basename(path))
    return _EXTENSIONS.get(extension.lower(), PLAINTEXT)


def source_file_glob() -> str:
    """A glob of the files fimble reads as code (its known extensions), for file watchers."""
    return "**/*.{" + ",".join(sorted(extension[1:] for extension in _EXTENSIONS)) + "}"


def line_comment_prefix(language_id: str) -> str:
    """Return the line-comment marker of a language, or "" when it has none we know."""
    if language_id in _SLASH_COMMENT_LANGUAGES:
        return "//"
    return _OTHER_LINE_COMMENTS.get(language_id, "")


def is_indentation_scoped(language_id: str) -> bool:
    """Whether blocks end by dedenting rather than by a closing token."""
    return language_id == "python"


def ends_with_block_opener(line_prefix: str, language_id: str) -> bool:
    """Whether the text left of the cursor ends with something that opens a block."""
    stripped = line_prefix.rstrip()
    if not stripped:
        return False
    openers: tuple[str, ...]
    if language_id == "python":
        openers = _PYTHON_OPENERS
    elif language_id in _GRAMMAR_LANGUAGES:
        openers = _BRACE_OPENERS
    else:
        openers = _UNKNOWN_OPENERS
    if stripped.endswith(openers):
        return True
    if language_id in _GRAMMAR_LANGUAGES:
        return False
    return any(_ends_with_word(stripped, word) for word in _KEYWORD_OPENERS)


def _ends_with_word(text: str, word: str) -> bool:
    if not text.endswith(word):
        return False
    before = text[: -len(word)]
    return not before or not is_identifier_char(before[-1])


def is_identifier_char(char: str) -> bool:
    """Whether a character can be part of an identifier in the languages we handle."""
    return char.isalnum() or char in "_$"


def is_closers_only(text: str) -> bool:
    """Whether text holds nothing but closing brackets, quotes, ';' and ','."""
    stripped = "".join(text.split())
    return all(char in CLOSER_CHARS for char in stripped)

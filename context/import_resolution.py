"""From a file's imports to the workspace files that define what it uses.

The definitions the cursor's code refers to usually sit in files the current file imports.
This module reads the import statements with tree-sitter (Python, TypeScript/JavaScript, Go,
Rust) and maps each to candidate files by the language's own lookup rules, restricted to
paths the caller says exist (workspace files or open documents). Names a statement imports
come back with the file, so the outline can show just those.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from context.syntax_tree import parse_document
from context.workspace_files import real_path

FileExists = Callable[[Path], bool]

_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs")
_JS_LANGUAGES = frozenset({"javascript", "javascriptreact", "typescript", "typescriptreact"})
_GO_MODULE = re.compile(r"^\s*module\s+(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class ImportedFile:
    """A file the current file imports, and the names imported from it (empty: any)."""

    path: Path
    names: frozenset[str] = frozenset()
    # The name the module itself is bound to in the importing file (`import shapes`,
    # `import geometry.shapes as sh`, `from geometry import shapes`); empty when none is.
    bound_as: str = ""


def _node_text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def _walk(node: Node, types: frozenset[str]) -> list[Node]:
    found: list[Node] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if current.type in types:
            found.append(current)
        else:
            pending.extend(current.named_children)
    found.sort(key=lambda item: item.start_byte)
    return found


def _first_existing(candidates: list[Path], exists: FileExists) -> Path | None:
    for candidate in candidates:
        if exists(candidate):
            return candidate
    return None


# Python


def _python_bases(current: Path, roots: tuple[Path, ...]) -> list[Path]:
    bases: list[Path] = []
    for root in roots:
        bases.extend([root, root / "src"])
    directory = current.parent
    while any(directory == root or root in directory.parents for root in roots):
        bases.append(directory)
        if directory in roots:
            break
        directory = directory.parent
    return list(dict.fromkeys(bases))


def _python_module(
    dotted: str, level: int, current: Path, roots: tuple[Path, ...], exists: FileExists
) -> Path | None:
    parts = [part for part in dotted.split(".") if part]
    if level:
        base = current.parent
        for _ in range(level - 1):
            base = base.parent
        bases = [base]
    else:
        bases = _python_bases(current, roots)
    candidates: list[Path] = []
    for base in bases:
        for trail in (parts, parts[1:] if parts and base.name == parts[0] else None):
            if trail is None:
                continue
            target = base.joinpath(*trail)
            if trail:
                candidates.append(target.with_name(target.name + ".py"))
            candidates.append(target / "__init__.py")
    return _first_existing(candidates, exists)


def _python_imports(
    root_node: Node, current: Path, roots: tuple[Path, ...], exists: FileExists
) -> list[ImportedFile]:
    found: list[ImportedFile] = []
    for node in _walk(root_node, frozenset({"import_statement", "import_from_statement"})):
        if node.type == "import_statement":
            for name_node in node.children_by_field_name("name"):
                dotted = _node_text(name_node.child_by_field_name("name") or name_node)
                alias = _node_text(name_node.child_by_field_name("alias"))
                path = _python_module(dotted, 0, current, roots, exists)
                if path is not None:
                    found.append(ImportedFile(path, bound_as=alias or dotted))
            continue
        module = node.child_by_field_name("module_name")
        module_text = _node_text(module)
        level = len(module_text) - len(module_text.lstrip("."))
        dotted = module_text.lstrip(".")
        items = node.children_by_field_name("name")
        names = [_node_text(item.child_by_field_name("name") or item) for item in items]
        path = _python_module(dotted, level, current, roots, exists)
        for item, imported_name in zip(items, names, strict=True):
            sub = f"{dotted}.{imported_name}" if dotted else imported_name
            submodule = _python_module(sub, level, current, roots, exists)
            if submodule is not None:
                alias = _node_text(item.child_by_field_name("alias"))
                found.append(ImportedFile(submodule, bound_as=alias or imported_name))
        if path is not None:
            found.append(ImportedFile(path, frozenset(names)))
    return found


# TypeScript / JavaScript


def _js_module(specifier: str, current: Path, exists: FileExists) -> Path | None:
    if not specifier.startswith("."):
        return None
    named = current.parent / specifier
    target = real_path(named) or Path(os.path.normpath(named))  # as named if its links loop
    stem = target.with_suffix("") if target.suffix in {".js", ".mjs", ".cjs", ".jsx"} else target
    candidates = [target]
    candidates += [stem.with_name(stem.name + ext) for ext in _JS_EXTENSIONS]
    candidates += [target / f"index{ext}" for ext in _JS_EXTENSIONS]
    return _first_existing(candidates, exists)


def _js_names(node: Node) -> frozenset[str]:
    names = set()
    for item in _walk(node, frozenset({"identifier", "property_identifier"})):
        if item.parent is not None and item.parent.type != "string":
            names.add(_node_text(item))
    return frozenset(names)


def _js_imports(root_node: Node, current: Path, exists: FileExists) -> list[ImportedFile]:
    found: list[ImportedFile] = []
    for node in _walk(
        root_node, frozenset({"import_statement", "export_statement", "call_expression"})
    ):
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            if _node_text(function) != "require" or arguments is None:
                continue
            strings = [child for child in arguments.named_children if child.type == "string"]
            if not strings:
                continue
            source = strings[0]
            names: frozenset[str] = frozenset()
            bound_as = _required_as(node)
        else:
            maybe = node.child_by_field_name("source")
            if maybe is None:
                continue
            source = maybe
            clause = [
                c for c in node.named_children if c.type in {"import_clause", "export_clause"}
            ]
            names = _js_names(clause[0]) if clause else frozenset()
            bound_as = _namespace_as(clause[0]) if clause else ""
        path = _js_module(_node_text(source).strip("'\"`"), current, exists)
        if path is not None:
            found.append(ImportedFile(path, names, bound_as))
    return found


def _required_as(call: Node) -> str:
    """`x` in `const x = require('./m')`: the name the whole module is bound to."""
    parent = call.parent
    if parent is None or parent.type != "variable_declarator":
        return ""
    name = parent.child_by_field_name("name")
    return _node_text(name) if name is not None and name.type == "identifier" else ""


def _namespace_as(clause: Node) -> str:
    """`x` in `import * as x from './m'`."""
    for child in clause.named_children:
        if child.type == "namespace_import":
            names = [item for item in child.named_children if item.type == "identifier"]
            return _node_text(names[0]) if names else ""
    return ""


# Go


def _go_module(
    current: Path, roots: tuple[Path, ...], read: Callable[[Path], str | None]
) -> tuple[Path, str] | None:
    directory = current.parent
    while True:
        text = read(directory / "go.mod")
        if text is not None:
            match = _GO_MODULE.search(text)
            if match:
                return directory, match.group(1)
        if directory in roots or directory.parent == directory:
            return None
        if not any(root in directory.parents for root in roots):
            return None
        directory = directory.parent


def _go_imports(
    root_node: Node,
    current: Path,
    roots: tuple[Path, ...],
    list_directory: Callable[[Path], list[Path]],
    read: Callable[[Path], str | None],
) -> list[ImportedFile]:
    found: list[ImportedFile] = []
    module = _go_module(current, roots, read)
    for spec in _walk(root_node, frozenset({"import_spec"})):
        import_path = _node_text(spec.child_by_field_name("path")).strip('"`')
        if module is None:
            continue
        module_root, module_path = module
        if import_path != module_path and not import_path.startswith(module_path + "/"):
            continue
        directory = module_root.joinpath(*import_path[len(module_path) :].split("/"))
        for path in list_directory(directory):
            if path.suffix == ".go" and not path.name.endswith("_test.go"):
                found.append(ImportedFile(path))
    # Go code uses its own package's other files without importing them.
    for path in list_directory(current.parent):
        if path != current and path.suffix == ".go" and not path.name.endswith("_test.go"):
            found.append(ImportedFile(path))
    return found


# Rust


def _rust_crate_src(current: Path, roots: tuple[Path, ...], exists: FileExists) -> Path | None:
    directory = current.parent
    while True:
        if (
            exists(directory / "Cargo.toml")
            or exists(directory / "lib.rs")
            or exists(directory / "main.rs")
        ):
            return directory / "src" if exists(directory / "Cargo.toml") else directory
        if directory in roots or directory.parent == directory:
            return None
        directory = directory.parent


def _rust_module_file(
    directory: Path, segments: list[str], exists: FileExists
) -> tuple[Path, int] | None:
    """The deepest module file for a path; returns it and how many segments it consumed."""
    for used in range(len(segments), 0, -1):
        target = directory.joinpath(*segments[:used])
        path = _first_existing([target.with_name(target.name + ".rs"), target / "mod.rs"], exists)
        if path is not None:
            return path, used
    return None


def _rust_use_paths(text: str) -> list[list[str]]:
    """`a::b::{C, d::E}` -> [[a, b, C], [a, b, d, E]]."""
    text = re.sub(r"\s+", "", text)
    match = re.match(r"^(.*?)\{(.*)\}$", text)
    if not match:
        return [[part for part in re.sub(r"\bas\b.*$", "", text).split("::") if part]]
    head = [part for part in match.group(1).split("::") if part]
    paths: list[list[str]] = []
    depth = 0
    item = ""
    for char in match.group(2) + ",":
        if char == "," and depth == 0:
            if item:
                paths.extend(head + rest for rest in _rust_use_paths(item))
            item = ""
            continue
        depth += (char == "{") - (char == "}")
        item += char
    return paths


def _rust_imports(
    root_node: Node, current: Path, roots: tuple[Path, ...], exists: FileExists
) -> list[ImportedFile]:
    found: list[ImportedFile] = []
    src = _rust_crate_src(current, roots, exists)
    for node in _walk(root_node, frozenset({"use_declaration", "mod_item"})):
        if node.type == "mod_item":
            if node.child_by_field_name("body") is None:
                name = _node_text(node.child_by_field_name("name"))
                base = (
                    current.parent
                    if current.name in {"lib.rs", "main.rs", "mod.rs"}
                    else current.with_suffix("")
                )
                path = _rust_module_file(base, [name], exists)
                if path is not None:
                    found.append(ImportedFile(path[0]))
            continue
        argument = node.child_by_field_name("argument")
        for segments in _rust_use_paths(_node_text(argument)):
            if not segments:
                continue
            head, rest = segments[0], segments[1:]
            if head == "crate" and src is not None:
                base = src
            elif head == "super":
                base = current.parent.parent if current.name == "mod.rs" else current.parent
                while rest and rest[0] == "super":
                    base, rest = base.parent, rest[1:]
            elif head == "self":
                base = (
                    current.parent
                    if current.name in {"mod.rs", "lib.rs", "main.rs"}
                    else current.with_suffix("")
                )
            else:
                continue
            resolved = _rust_module_file(base, rest, exists)
            if resolved is None:
                for name in ("lib.rs", "main.rs", "mod.rs"):
                    if exists(base / name):
                        resolved = (base / name, 0)
                        break
            if resolved is not None:
                module_file, used = resolved
                found.append(ImportedFile(module_file, frozenset(rest[used:]) - {"self", "*"}))
    return found


def imported_files(
    text: str,
    language_id: str,
    current: Path,
    roots: tuple[Path, ...],
    exists: FileExists,
    list_directory: Callable[[Path], list[Path]],
    read: Callable[[Path], str | None],
) -> list[ImportedFile]:
    """The files `text` (at path `current`) imports, merged per file, in import order."""
    tree = parse_document(text, language_id)
    if tree is None:
        return []
    root_node = tree.root
    if language_id == "python":
        found = _python_imports(root_node, current, roots, exists)
    elif language_id in _JS_LANGUAGES:
        found = _js_imports(root_node, current, exists)
    elif language_id == "go":
        found = _go_imports(root_node, current, roots, list_directory, read)
    elif language_id == "rust":
        found = _rust_imports(root_node, current, roots, exists)
    else:
        return []
    merged: dict[Path, set[str]] = {}
    module_wide: set[Path] = set()
    bound: dict[Path, str] = {}
    for item in found:
        if item.path == current:
            continue
        merged.setdefault(item.path, set()).update(item.names)
        if not item.names:
            module_wide.add(item.path)
        if item.bound_as:
            bound.setdefault(item.path, item.bound_as)
    return [
        ImportedFile(
            path, frozenset() if path in module_wide else frozenset(names), bound.get(path, "")
        )
        for path, names in merged.items()
    ]

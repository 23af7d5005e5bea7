"""What another file defines, as the model needs to see it: signatures, not bodies.

A definition from another file helps the model only through its name, parameters (their
order above all), return type and docstring; the body costs tokens and rarely helps. This
module turns a source file into named outline entries (functions with their signature and
docstring, classes and impls with their members' signatures, short type declarations whole)
with tree-sitter, for Python, TypeScript/JavaScript, Go and Rust.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from context.line_breaks import lf_lines
from context.syntax_tree import parse_document

_FUNCTIONS = frozenset(
    {
        "function_definition",  # python
        "function_declaration",  # js/ts/go
        "generator_function_declaration",
        "method_definition",
        "method_declaration",  # go
        "function_item",  # rust
        "function_signature_item",
        "method_signature",
        "abstract_method_signature",
    }
)
_CONTAINERS = frozenset(
    {
        "class_definition",
        "class_declaration",
        "abstract_class_declaration",
        "class",
        "impl_item",
        "trait_item",
        "interface_declaration",
    }
)
_WHOLE_IF_SHORT = frozenset(
    {
        "type_declaration",  # go
        "struct_item",
        "enum_item",
        "type_item",
        "const_item",
        "static_item",
        "type_alias_declaration",
        "enum_declaration",
        "const_declaration",
        "var_declaration",
    }
)
_WRAPPERS = frozenset({"decorated_definition", "export_statement"})
_VARIABLE_DECLARATIONS = frozenset({"lexical_declaration", "variable_declaration"})
SHORT_LINES = 12
DOCSTRING_LINES = 6


@dataclass(frozen=True)
class OutlineEntry:
    """One top-level definition: its name(s), where it starts, and its outline text."""

    names: tuple[str, ...]
    line: int
    text: str


def _text(data: bytes, start: int, end: int) -> str:
    return data[start:end].decode("utf-8", errors="replace")


def _line_start(data: bytes, byte: int) -> int:
    return data.rfind(b"\n", 0, byte) + 1


def _python_docstring(body: Node, data: bytes) -> str:
    first = body.named_children[0] if body.named_children else None
    if first is None or first.type != "expression_statement" or not first.named_children:
        return ""
    if first.named_children[0].type != "string":
        return ""
    lines = lf_lines(_text(data, _line_start(data, first.start_byte), first.end_byte))
    if len(lines) > DOCSTRING_LINES:
        indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
        lines = [*lines[: DOCSTRING_LINES - 1], indent + '..."""']
    return "\n".join(lines)


def _function_outline(node: Node, data: bytes, python: bool) -> str:
    body = node.child_by_field_name("body")
    start = _line_start(data, node.start_byte)
    if body is None:
        return _text(data, start, node.end_byte)
    signature = _text(data, start, body.start_byte).rstrip()
    if python:
        indent = _text(data, _line_start(data, body.start_byte), body.start_byte)
        if indent.strip() or not indent:
            indent = " " * (len(signature) - len(signature.lstrip()) + 4)
        docstring = _python_docstring(body, data)
        return f"{signature}\n{docstring or indent + '...'}"
    return f"{signature} {{ ... }}"


def _member_outlines(body: Node, data: bytes, python: bool) -> list[str]:
    members: list[str] = []
    for child in body.named_children:
        inner = child
        if child.type in _WRAPPERS:
            inner = child.child_by_field_name("definition") or child.named_children[-1]
        if inner.type in _FUNCTIONS:
            members.append(_function_outline(inner, data, python))
        elif python and child.type == "expression_statement":
            if child.named_children and child.named_children[0].type == "assignment":
                text = _text(data, _line_start(data, child.start_byte), child.end_byte)
                if text.count("\n") < 3:
                    members.append(text)
        elif child.type in {
            "field_declaration",
            "public_field_definition",
            "property_signature",
            "field_definition",
            "associated_type",
            "const_item",
            "type_item",
        }:
            text = _text(data, _line_start(data, child.start_byte), child.end_byte)
            if text.count("\n") < 3:
                members.append(text)
    return members


def _container_outline(node: Node, data: bytes, python: bool) -> str:
    body = node.child_by_field_name("body")
    start = _line_start(data, node.start_byte)
    if body is None:
        return _text(data, start, node.end_byte)
    short = node.end_point[0] - node.start_point[0] < SHORT_LINES
    if node.start_point[0] == body.end_point[0] or (
        short and node.type in {"interface_declaration", "trait_item"}
    ):
        return _short(node, data)
    header = _text(data, start, body.start_byte).rstrip()
    parts = [header + ("" if python else " {")]
    if python:
        docstring = _python_docstring(body, data)
        if docstring:
            parts.append(docstring)
    parts.extend(_member_outlines(body, data, python))
    if python and len(parts) == 1:
        parts.append("    ...")
    if not python:
        closing_start = _line_start(data, body.end_byte - 1)
        parts.append(_text(data, closing_start, body.end_byte).rstrip() or "}")
    return "\n".join(parts)


def _short(node: Node, data: bytes) -> str:
    text = _text(data, _line_start(data, node.start_byte), node.end_byte)
    lines = lf_lines(text)
    if len(lines) > SHORT_LINES:
        lines = [*lines[: SHORT_LINES - 1], "    // ..."]
    return "\n".join(lines)


def _names(node: Node) -> tuple[str, ...]:
    name = node.child_by_field_name("name") or node.child_by_field_name("type")
    if name is not None and name.text is not None:
        return (name.text.decode("utf-8", errors="replace"),)
    found: list[str] = []
    for child in node.named_children:
        if child.type in {
            "type_spec",
            "variable_declarator",
            "const_spec",
            "var_spec",
            "type_alias",
        }:
            inner = child.child_by_field_name("name")
            if inner is not None and inner.text is not None:
                found.append(inner.text.decode("utf-8", errors="replace"))
    return tuple(found)


def _entry(node: Node, data: bytes, python: bool) -> OutlineEntry | None:
    outer = node
    while node.type in _WRAPPERS:
        inner = node.child_by_field_name("definition") or node.child_by_field_name("declaration")
        if inner is None:
            return None
        node = inner
    line = outer.start_point[0]
    if node.type in _FUNCTIONS:
        return OutlineEntry(_names(node), line, _function_outline(node, data, python))
    if node.type in _CONTAINERS:
        return OutlineEntry(_names(node), line, _container_outline(node, data, python))
    if node.type in _WHOLE_IF_SHORT or node.type in _VARIABLE_DECLARATIONS:
        return OutlineEntry(_names(node), line, _short(node, data))
    if python and node.type == "expression_statement" and node.named_children:
        assignment = node.named_children[0]
        target = assignment.child_by_field_name("left")
        if assignment.type == "assignment" and target is not None and target.type == "identifier":
            text = _short(node, data)
            if text.count("\n") < 3 and target.text is not None:
                return OutlineEntry((target.text.decode(),), line, text)
    return None


def outline(text: str, language_id: str) -> list[OutlineEntry]:
    """The top-level definitions of a file, in file order (empty without a grammar)."""
    tree = parse_document(text, language_id)
    if tree is None:
        return []
    python = language_id == "python"
    entries: list[OutlineEntry] = []
    pending = list(tree.root.named_children)
    while pending:
        node = pending.pop(0)
        if node.type in {"mod_item", "namespace_declaration", "internal_module"}:
            body = node.child_by_field_name("body")
            if body is not None:
                pending[:0] = body.named_children
            continue
        entry = _entry(node, tree.data, python)
        if entry is not None and entry.names:
            entries.append(entry)

    # Overloads and redefinitions: the last one is what callers get.
    def key(entry: OutlineEntry) -> tuple[tuple[str, ...], str]:
        return entry.names, entry.text[: max(0, entry.text.find(entry.names[0]))].strip()

    last = {key(entry): index for index, entry in enumerate(entries)}
    return [entry for index, entry in enumerate(entries) if last[key(entry)] == index]

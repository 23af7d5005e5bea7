"""The names that can follow `something.` at the cursor, where fimble can know all of them.

Small models write plausible members that do not exist (`shapes.area` for `shapes.rect_area`).
Where the cursor follows an access into something whose members are all visible to fimble (a
workspace module the file binds whole: Python's `import x` and `from pkg import x`, or
`import * as x` and `const x = require(...)` of a module whose exports can be listed; `self.`
inside a Python class without unknown bases; `this.` inside a TypeScript/JavaScript class
without `extends`), the engine keeps the
identifier being written to those names (see `FimRequest.member_names`). Anywhere else, and
where the access may define a new name (`self.total = ...` at the start of a statement), there
is no constraint: None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node

from context.syntax_tree import parse_document

_ACCESS = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)?$")
_PY_CLASS = re.compile(r"^([ \t]*)class\s+\w+\s*(\((?P<bases>[^)]*)\))?\s*:")
_PY_SELF_ATTRIBUTE = re.compile(r"\bself\.([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)")
# A method, or an attribute assigned or only annotated (a dataclass field).
_PY_MEMBER = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*(?::|=(?!=))")
_PY_PLAIN_BASES = frozenset({"", "object"})
_JS_CLASS = re.compile(r"\bclass\s+\w+(\s+extends\b)?[^{]*\{")
_JS_MEMBER = re.compile(
    r"^\s*(?:(?:public|private|protected|static|readonly|async|get|set|override)\s+)*"
    r"#?([A-Za-z_$][\w$]*)\s*[(:=;?!<]"
)
_JS_THIS_ATTRIBUTE = re.compile(r"\bthis\.([A-Za-z_$][\w$]*)\s*=(?!=)")
_JS_LANGUAGES = frozenset({"javascript", "javascriptreact", "typescript", "typescriptreact"})

# The module bound to a name in the current file, as its members are known (None: unknown).
ModuleMembers = Callable[[str], frozenset[str] | None]


@dataclass(frozen=True)
class MemberAccess:
    """At the cursor: `typed` (the member's first characters, already in the document) must
    grow into one of `names`."""

    typed: str
    names: frozenset[str]


def member_access(
    text: str, offset: int, language_id: str, module_members: ModuleMembers
) -> MemberAccess | None:
    """The access the cursor is writing a member of, when every member is known."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_prefix = text[line_start:offset]
    found = _ACCESS.search(line_prefix)
    if found is None:
        return None
    owner, typed = found.group(1), found.group(2) or ""
    starts_statement = not line_prefix[: found.start()].strip()
    names: frozenset[str] | None
    if language_id == "python" and owner == "self":
        names = None if starts_statement else python_class_members(text, line_start)
    elif language_id in _JS_LANGUAGES and owner == "this":
        names = None if starts_statement else js_class_members(text, line_start)
    else:
        names = module_members(owner)
    if not names or not any(name.startswith(typed) for name in names):
        return None
    return MemberAccess(typed, names)


def python_class_members(text: str, line_start: int) -> frozenset[str] | None:
    """Methods, class attributes and `self.` attributes of the class around `line_start`
    (None: not in a class, or one with bases whose members fimble does not see)."""
    lines = text.split("\n")
    row = text.count("\n", 0, line_start)
    cursor_indent = _indent(lines[row]) if row < len(lines) else 0
    for header_row in range(row - 1, -1, -1):
        line = lines[header_row]
        if not line.strip() or _indent(line) >= cursor_indent:
            continue
        header = _PY_CLASS.match(line)
        if header is None:
            if _indent(line) == 0:
                return None
            continue
        if (header.group("bases") or "").strip() not in _PY_PLAIN_BASES:
            return None
        return _python_body_members(lines, header_row, _indent(line))
    return None


def _python_body_members(lines: list[str], header_row: int, class_indent: int) -> frozenset[str]:
    names: set[str] = set()
    body_indent: int | None = None
    for line in lines[header_row + 1 :]:
        if not line.strip():
            continue
        indent = _indent(line)
        if indent <= class_indent:
            break
        if body_indent is None:
            body_indent = indent
        if indent == body_indent:
            member = _PY_MEMBER.match(line.strip())
            if member is not None:
                names.add(member.group(1) or member.group(2))
        names.update(_PY_SELF_ATTRIBUTE.findall(line))
    return frozenset(names)


def python_module_members(source: str) -> frozenset[str] | None:
    """The names a Python module binds at its top level, inside top-level `if`/`try`/`with`
    blocks too (None: unparsable, or a star import or a module `__getattr__` makes them
    unknowable)."""
    tree = parse_document(source, "python")
    if tree is None:
        return None
    names: set[str] = set()
    pending = list(tree.root.named_children)
    while pending:
        node = pending.pop()
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition") or node
        if node.type in ("function_definition", "class_definition"):
            name = _text(node.child_by_field_name("name"))
            if name == "__getattr__":
                return None
            names.add(name)
        elif node.type in ("import_statement", "import_from_statement"):
            if any(child.type == "wildcard_import" for child in node.named_children):
                return None
            names.update(_imported_names(node))
        elif node.type == "expression_statement":
            for assignment in node.named_children:
                if assignment.type == "assignment":
                    names.update(_bound_names(assignment.child_by_field_name("left")))
        elif node.type in _PY_BLOCK_STATEMENTS or node.type in ("block", "else_clause"):
            pending.extend(node.named_children)
        elif node.type in ("except_clause", "elif_clause", "finally_clause"):
            pending.extend(child for child in node.named_children if child.type == "block")
    names.discard("")
    return frozenset(names)


_PY_BLOCK_STATEMENTS = frozenset({"if_statement", "try_statement", "with_statement"})


def js_module_members(source: str, language_id: str) -> frozenset[str] | None:
    """What a TypeScript/JavaScript module exports, as `import * as x` or `const x =
    require(...)` sees it: `export` declarations and lists, and CommonJS `exports.name =`,
    `module.exports.name =` and `module.exports = { ... }` (None: unparsable, no export found,
    or exports fimble cannot list: `export *`, `export =`, `module.exports` set to anything but
    an object literal, computed or spread keys, exports passed to a function)."""
    tree = parse_document(source, language_id)
    if tree is None:
        return None
    names: set[str] = set()
    for node in tree.root.named_children:
        if node.type == "export_statement" and not _esm_exports(node, names):
            return None
    for node in _descendants(tree.root, _JS_EXPORT_USES):
        if not _commonjs_export(node, names):
            return None
    names.discard("")
    return frozenset(names) or None


_JS_EXPORT_USES = frozenset({"assignment_expression", "call_expression"})
_JS_DECLARATION_NAMES = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "abstract_class_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
        "internal_module",
        "module",
        "function_signature",
    }
)


def _esm_exports(node: Node, names: set[str]) -> bool:
    """Add what one `export` statement exports; False where it cannot be listed."""
    if any(child.type in ("*", "=") for child in node.children) and not any(
        child.type == "namespace_export" for child in node.named_children
    ):
        return False  # `export * from`, TypeScript's `export =`
    if any(child.type == "default" for child in node.children):
        names.add("default")
        return True
    declaration = node.child_by_field_name("declaration")
    if declaration is not None:
        if declaration.type == "ambient_declaration" and declaration.named_children:
            declaration = declaration.named_children[0]
        if declaration.type in _JS_DECLARATION_NAMES:
            names.add(_text(declaration.child_by_field_name("name")))
        elif declaration.type in ("lexical_declaration", "variable_declaration"):
            for declarator in declaration.named_children:
                if declarator.type == "variable_declarator":
                    names.update(_pattern_names(declarator.child_by_field_name("name")))
        return True
    for child in node.named_children:
        if child.type == "namespace_export":
            names.update(_text(item) for item in child.named_children)
        elif child.type == "export_clause":
            for specifier in child.named_children:
                if specifier.type == "export_specifier":
                    named = specifier.child_by_field_name("alias")
                    names.add(_text(named or specifier.child_by_field_name("name")))
    return True


def _pattern_names(pattern: Node | None) -> set[str]:
    """The names a declarator's left side binds (`a`, `{ a, b: c }`, `[a, b]`)."""
    if pattern is None:
        return set()
    if pattern.type in ("identifier", "shorthand_property_identifier_pattern"):
        return {_text(pattern)}
    found: set[str] = set()
    for child in pattern.named_children:
        if child.type == "pair_pattern":
            found |= _pattern_names(child.child_by_field_name("value"))
        elif child.type not in ("property_identifier", "comment"):
            found |= _pattern_names(child)
    return found


def _commonjs_export(node: Node, names: set[str]) -> bool:
    """Add what one assignment or call does to `exports`; False where it cannot be listed."""
    if node.type == "call_expression":
        arguments = node.child_by_field_name("arguments")
        passed = [] if arguments is None else arguments.named_children
        if not any(_is_exports(argument) for argument in passed):
            return True
        function = _text(node.child_by_field_name("function"))
        key = passed[1] if len(passed) > 1 else None
        if function == "Object.defineProperty" and key is not None and key.type == "string":
            names.add(_text(key).strip("'\"`"))
            return True
        return False
    target = node.child_by_field_name("left")
    if _is_exports(target):
        return _object_keys(node.child_by_field_name("right"), names)
    if target is not None and target.type == "subscript_expression":
        return not _is_exports(target.child_by_field_name("object"))
    if (
        target is not None
        and target.type == "member_expression"
        and _is_exports(target.child_by_field_name("object"))
    ):
        names.add(_text(target.child_by_field_name("property")))
    return True


def _is_exports(node: Node | None) -> bool:
    return node is not None and _text(node).replace(" ", "") in ("exports", "module.exports")


def _object_keys(value: Node | None, names: set[str]) -> bool:
    """Add an object literal's keys (`module.exports = { a, b: 1, c() {} }`); False for any
    other value or a key fimble cannot read. A chain (`exports = module.exports = {}`) is read
    through."""
    while value is not None and value.type == "assignment_expression":
        value = value.child_by_field_name("right")
    if value is None or value.type != "object":
        return False
    for entry in value.named_children:
        if entry.type == "shorthand_property_identifier":
            names.add(_text(entry))
        elif entry.type in ("pair", "method_definition"):
            key = entry.child_by_field_name("key" if entry.type == "pair" else "name")
            if key is None or key.type not in ("property_identifier", "string"):
                return False
            names.add(_text(key).strip("'\"`"))
        elif entry.type != "comment":
            return False
    return True


def _descendants(root: Node, types: frozenset[str]) -> list[Node]:
    found = []
    pending = [root]
    while pending:
        node = pending.pop()
        if node.type in types:
            found.append(node)
        pending.extend(node.named_children)
    return found


def _imported_names(node: Node) -> set[str]:
    """The names an import statement binds: `import a.b` binds `a`; aliases their alias."""
    found: set[str] = set()
    for item in node.children_by_field_name("name"):
        if item.type == "aliased_import":
            found.add(_text(item.child_by_field_name("alias")))
        elif node.type == "import_statement":
            found.add(_text(item).split(".")[0])
        else:
            found.add(_text(item))
    return found


def _bound_names(target: Node | None) -> set[str]:
    if target is None:
        return set()
    if target.type == "identifier":
        return {_text(target)}
    if target.type in ("pattern_list", "tuple_pattern", "list_pattern"):
        return {name for child in target.named_children for name in _bound_names(child)}
    return set()


def _text(node: Node | None) -> str:
    return "" if node is None or node.text is None else node.text.decode("utf-8", "replace")


def js_class_members(text: str, line_start: int) -> frozenset[str] | None:
    """Fields, methods and `this.` assignments of the class around `line_start` (None: not in
    a class, or one that extends another)."""
    header = None
    for candidate in _JS_CLASS.finditer(text, 0, line_start):
        if _closing_brace(text, candidate.end()) >= line_start:
            header = candidate
    if header is None or header.group(1):
        return None
    end = _closing_brace(text, header.end())
    body = text[header.end() : end]
    names: set[str] = set(_JS_THIS_ATTRIBUTE.findall(body))
    depth = 0
    for line in body.split("\n"):
        if depth == 0:
            member = _JS_MEMBER.match(line)
            if member is not None and member.group(1) not in {"constructor", "return", "if"}:
                names.add(member.group(1))
        depth += line.count("{") - line.count("}")
    return frozenset(names)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for index in range(start, len(text)):
        character = text[index]
        if character == "{":
            depth += 1
        elif character == "}":
            depth -= 1
            if depth == 0:
                return index
    return len(text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))

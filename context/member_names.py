"""The names that can follow `something.` at the cursor, where fimble can know all of them.

Small models write plausible members that do not exist (`shapes.area` for `shapes.rect_area`).
Where the cursor follows an access into something whose members are all visible to fimble (a
workspace module the file imports, `self.` inside a Python class without unknown bases,
`this.` inside a TypeScript/JavaScript class without `extends`), the engine keeps the
identifier being written to those names (see `FimRequest.member_names`). Anywhere else, and
where the access may define a new name (`self.total = ...` at the start of a statement), there
is no constraint: None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

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
    """The names a Python module binds at its top level (None: a star import or a module
    `__getattr__` makes them unknowable)."""
    names: set[str] = set()
    for line in source.split("\n"):
        if not line or line[0] in " \t#)":
            continue
        if re.match(r"from\s+\S+\s+import\s+\*", line) or line.startswith("def __getattr__"):
            return None
        imported = re.match(r"import\s+(.+)", line) or re.match(r"from\s+\S+\s+import\s+(.+)", line)
        if imported is not None:
            for part in imported.group(1).strip("()\\ ").split(","):
                words = part.split()
                if words:
                    names.add(words[-1] if "as" in words else words[0].split(".")[0])
            continue
        member = _PY_MEMBER.match(line)
        if member is not None:
            names.add(member.group(1) or member.group(2))
        elif (defined := re.match(r"class\s+([A-Za-z_]\w*)", line)) is not None:
            names.add(defined.group(1))
        elif (targets := re.match(r"([\w, ]+)=(?!=)", line)) is not None:
            names.update(name.strip() for name in targets.group(1).split(",") if name.strip())
    names.discard("")
    return frozenset(names)


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

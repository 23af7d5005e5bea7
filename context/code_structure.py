"""Questions about the syntactic surroundings of the cursor.

The planner needs two structural facts: whether the cursor sits inside a
string or comment (which calls for a short, prose-like completion), and which
top-level definition encloses it (the suffix shown to the model is cut at that
definition's end, which measurably helps small models).
"""

from __future__ import annotations

from tree_sitter import Node

from context.languages import line_comment_prefix
from context.syntax_tree import SyntaxTree

_STRING_TYPES = frozenset(
    {"char_literal", "character_literal", "rune_literal", "text_block", "heredoc_body"}
)
_CODE_IN_STRING_TYPES = frozenset(
    {"interpolation", "template_substitution", "format_expression", "escape_interpolation"}
)
# Containers whose members, not the container itself, are the top-level units.
_TRANSPARENT_CONTAINERS: dict[str, frozenset[str]] = {
    "*": frozenset(
        {"namespace_definition", "mod_item", "linkage_specification", "internal_module", "module"}
    ),
    "java": frozenset(
        {
            "class_declaration",
            "interface_declaration",
            "enum_declaration",
            "record_declaration",
        }
    ),
}
_DEFINITION_WORDS = ("definition", "declaration", "item", "function", "class", "method", "impl")


def _is_string_type(node_type: str) -> bool:
    return "string" in node_type or node_type in _STRING_TYPES


def cursor_in_string_or_comment(tree: SyntaxTree, offset: int) -> bool | None:
    """Whether the cursor at str offset lies inside a string or comment node.

    False means the tree positively says "code" (e.g. inside an interpolation);
    None means no literal was found, which an error-recovery parse cannot prove.
    """
    if offset == 0:
        return None
    cursor = tree.byte_offset(offset)
    previous = tree.byte_offset(offset - 1)
    node: Node | None = tree.root.descendant_for_byte_range(previous, cursor)
    while node is not None:
        if node.type in _CODE_IN_STRING_TYPES and node.start_byte < cursor < node.end_byte:
            return False
        if "comment" in node.type and _inside_comment(node, cursor):
            return True
        if _is_string_type(node.type) and _inside_string(node, cursor):
            return True
        node = node.parent
    return None


def _inside_comment(node: Node, cursor: int) -> bool:
    if not node.start_byte < cursor <= node.end_byte:
        return False
    if cursor < node.end_byte:
        return True
    # At the very end of a comment: inside a line comment, past a closed block comment.
    text = node.text or b""
    return not text.endswith(b"*/")


def _inside_string(node: Node, cursor: int) -> bool:
    if node.start_byte < cursor < node.end_byte:
        return True
    # An unterminated string that runs to the cursor.
    return node.start_byte < cursor == node.end_byte and node.has_error


def error_touches_line(tree: SyntaxTree, offset: int) -> bool:
    """Whether an ERROR or MISSING node overlaps the cursor's line left of the cursor."""
    line_start = tree.byte_offset(tree.text.rfind("\n", 0, offset) + 1)
    cursor = tree.byte_offset(offset)
    pending = [tree.root]
    while pending:
        node = pending.pop()
        if node.end_byte < line_start or node.start_byte > cursor:
            continue
        if node.is_error or node.is_missing:
            return True
        pending.extend(child for child in node.children if child.has_error or child.is_missing)
    return False


def enclosing_unit(tree: SyntaxTree, offset: int, language_id: str) -> Node | None:
    """The top-level definition (or ERROR region) containing the cursor, or None.

    Namespaces/modules (and Java's top-level classes, which hold the whole
    file) are looked through so the unit is something like a function.
    """
    cursor = tree.byte_offset(offset)
    row = tree.text.count("\n", 0, offset)
    transparent = _TRANSPARENT_CONTAINERS["*"] | _TRANSPARENT_CONTAINERS.get(
        language_id, frozenset()
    )
    container: Node | None = None
    members = tree.root.named_children
    while True:
        found = _member_at(members, cursor, row)
        if found is None:
            return container
        body = _container_body(found, transparent)
        if body is None or not body.start_byte < cursor < body.end_byte:
            return found if found.is_error or is_definition_like(found) else None
        container = found
        members = body.named_children


def _member_at(members: list[Node], cursor: int, row: int) -> Node | None:
    """The member holding the cursor, else the one ending earlier on the cursor's row (the
    cursor after a statement's trailing spaces, as in `return |`, is still inside it)."""
    ending_on_row = None
    for member in members:
        if member.start_byte <= cursor < member.end_byte:
            return member
        if member.end_byte <= cursor and member.end_point.row == row:
            ending_on_row = member
    return ending_on_row


def _container_body(node: Node, transparent: frozenset[str]) -> Node | None:
    if node.type == "export_statement":
        declaration = node.child_by_field_name("declaration")
        if declaration is None:
            return None
        node = declaration
    if node.type not in transparent:
        return None
    return node.child_by_field_name("body") or _last_named_child(node)


def _last_named_child(node: Node) -> Node | None:
    children = node.named_children
    return children[-1] if children else None


def is_definition_like(node: Node) -> bool:
    if "comment" in node.type:
        return False
    if node.end_point.row > node.start_point.row:
        return True
    return any(word in node.type for word in _DEFINITION_WORDS)


def preceding_unit(tree: SyntaxTree, offset: int) -> Node | None:
    """The last top-level node that ends before the cursor's line (for dedent-scoped code)."""
    row = tree.text.count("\n", 0, offset)
    previous: Node | None = None
    for member in tree.root.named_children:
        if member.end_point.row >= row:
            break
        previous = member
    return previous


def line_prefix_in_literal(line_prefix: str, language_id: str) -> bool:
    """Lexically decide whether the cursor is in a string or line comment opened on its line.

    Used where the parse around the cursor is error recovery (typically an
    unterminated string the user is typing), which the tree cannot answer.
    """
    quotes = _quote_tokens(language_id)
    comment = line_comment_prefix(language_id)
    index = 0
    open_quote = ""
    while index < len(line_prefix):
        if open_quote:
            if line_prefix[index] == "\\":
                index += 2
                continue
            if line_prefix.startswith(open_quote, index):
                index += len(open_quote)
                open_quote = ""
                continue
            index += 1
            continue
        if comment and line_prefix.startswith(comment, index):
            return True
        open_quote = next((q for q in quotes if line_prefix.startswith(q, index)), "")
        index += len(open_quote) or 1
    return bool(open_quote)


def _quote_tokens(language_id: str) -> tuple[str, ...]:
    if language_id == "python":
        return ('"""', "'''", '"', "'")
    if language_id == "rust":
        return ('"',)
    if language_id in {"javascript", "javascriptreact", "typescript", "typescriptreact", "go"}:
        return ('"', "'", "`")
    return ('"', "'")

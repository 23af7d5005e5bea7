"""Which names may follow `something.` at the cursor, and the guide that keeps a member to them."""

from __future__ import annotations

import pytest

from context.member_names import (
    MemberAccess,
    js_module_members,
    member_access,
    python_module_members,
)
from engines.member_guide import MemberGuide

CART = """import shapes

class Cart:
    tax = 0.2

    def __init__(self, items):
        self.items = items
        self.total: float = 0

    def add(self, item):
        {line}
"""


def no_modules(owner: str) -> frozenset[str] | None:
    return None


def access_at_end(source: str, language_id: str = "python") -> MemberAccess | None:
    text = source.rstrip("\n")
    return member_access(text, len(text), language_id, no_modules)


def test_self_in_an_expression_lists_the_class_members() -> None:
    found = access_at_end(CART.format(line="return self.it"))
    assert found == MemberAccess("it", frozenset({"tax", "__init__", "items", "total", "add"}))


@pytest.mark.parametrize("line", ["self.", "self.cou", "return other.", "return self.zz"])
def test_no_constraint_where_a_new_name_may_be_defined_or_nothing_fits(line: str) -> None:
    """`self.x` starting a statement may be an assignment that defines `x`; an owner that is
    not known, or a typed start no member has, is left alone."""
    assert access_at_end(CART.format(line=line)) is None


def test_annotated_fields_are_members() -> None:
    source = "class Point:\n    x: int\n    y: int = 0\n\n    def norm(self):\n        return self."
    found = access_at_end(source)
    assert found is not None and found.names == {"x", "y", "norm"}


def test_a_class_with_bases_is_not_constrained() -> None:
    source = CART.replace("class Cart:", "class Cart(Base):").format(line="return self.")
    assert access_at_end(source) is None


def test_an_imported_module_lists_its_top_level_names() -> None:
    module = (
        "import os\nfrom math import pi as PI, tau\nRATE = 3\n"
        "def rect_area(w, h):\n    inner = 1\n    return w * h\n"
        "async def fetch():\n    pass\nclass Box:\n    size = 2\n"
    )
    members = python_module_members(module)
    assert members == {"os", "PI", "tau", "RATE", "rect_area", "fetch", "Box"}

    def modules(owner: str) -> frozenset[str] | None:
        return members if owner == "shapes" else None

    text = "import shapes\n\nx = shapes.re"
    assert member_access(text, len(text), "python", modules) == MemberAccess("re", members)


def test_names_bound_in_top_level_blocks_and_multi_line_imports_count() -> None:
    module = (
        "from helpers import (\n    first,\n    second as other,\n)\n"
        "try:\n    import ujson as json\nexcept ImportError:\n    json = None\n"
        "if DEBUG:\n    LEVEL = 1\nelse:\n    LEVEL = 2\n@cache\ndef lookup(key):\n    pass\n"
    )
    assert python_module_members(module) == {"first", "other", "json", "LEVEL", "lookup"}


def test_a_star_import_makes_a_module_unknowable() -> None:
    assert python_module_members("from os import *\nX = 1\n") is None


def test_a_typescript_module_lists_what_it_exports() -> None:
    module = (
        "import { helper } from './helper';\n"
        "const hidden = 1;\n"
        "export function rectArea(w: number, h: number) { return w * h; }\n"
        "export const RATE = 3, { left, right: other } = SIDES;\n"
        "export class Box {}\n"
        "export interface Shape { size: number }\n"
        "export type Size = number;\n"
        "export enum Unit { Cm, In }\n"
        "export { hidden as visible, helper };\n"
        "export * as geometry from './geometry';\n"
        "export default Box;\n"
    )
    assert js_module_members(module, "typescript") == {
        "rectArea", "RATE", "left", "other", "Box", "Shape", "Size", "Unit",
        "visible", "helper", "geometry", "default",
    }  # fmt: skip


def test_commonjs_exports_are_listed_wherever_they_are_assigned() -> None:
    module = (
        "const path = require('path');\n"
        "module.exports = { parse, format: formatIt, 'quoted': 1, build() {} };\n"
        "module.exports.extra = 2;\n"
        "function later() {\n  exports.lazy = () => 1;\n}\n"
        "Object.defineProperty(exports, 'defined', { value: 3 });\n"
    )
    assert js_module_members(module, "javascript") == {
        "parse", "format", "quoted", "build", "extra", "lazy", "defined",
    }  # fmt: skip


@pytest.mark.parametrize(
    "module",
    [
        "export * from './all';\nexport const a = 1;\n",
        "exports = module.exports = createApplication;\nexports.json = 1;\n",
        "module.exports = { ...base, extra: 1 };\n",
        "exports[name] = value;\nexports.a = 1;\n",
        "Object.assign(module.exports, { a: 1 });\n",
        "const notExported = 1;\n",
    ],
)
def test_exports_fimble_cannot_list_leave_the_module_unknown(module: str) -> None:
    """A re-export of everything, a function or spread as the module, a computed key, exports
    handed to a function, or no export at all: no list, so no constraint."""
    assert js_module_members(module, "javascript") is None


def test_this_in_a_typescript_class() -> None:
    source = (
        "class Cart {\n  items: string[] = [];\n  private total = 0;\n"
        "  constructor(n: number) { this.count = n; }\n"
        "  add(item: string): void {\n    this.items.push(item);\n  }\n"
        "  sum() {\n    return this.\n  }\n}\n"
    )
    offset = source.index("return this.") + len("return this.")
    found = member_access(source, offset, "typescript", no_modules)
    assert found == MemberAccess("", frozenset({"items", "total", "count", "add", "sum"}))
    extended = source.replace("class Cart {", "class Cart extends Base {")
    assert member_access(extended, offset + len(" extends Base"), "typescript", no_modules) is None


def test_the_guide_keeps_the_identifier_to_known_names() -> None:
    guide = MemberGuide(frozenset({"rect_area", "radius"}), "r")
    assert guide.allows("ect") and guide.allows("a") and not guide.allows("ectangle")
    assert not guide.allows("(") and not guide.allows_end()
    guide.advance("ect_area")
    assert guide.allows("(") and guide.allows_end() and not guide.allows("_x")
    guide.advance("(w, h)")
    assert not guide.active and guide.allows("anything")


def test_the_guide_lists_every_next_part_of_the_names_begun() -> None:
    """What the engine looks up in the whole vocabulary when none of the likeliest tokens
    keeps to a name."""
    guide = MemberGuide(frozenset({"get_run", "get_all", "set_run"}), "get_")
    assert guide.continuations() == {"r", "ru", "run", "a", "al", "all"}
    guide.advance("run")
    assert guide.continuations() == set()  # whole: what follows is the model's


def test_no_names_no_guide() -> None:
    assert not MemberGuide(frozenset(), "").active

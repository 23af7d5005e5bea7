"""Cross-file context: import resolution, outlines, ranking, budgets and privacy."""

from __future__ import annotations

from pathlib import Path

from context.cross_file_context import (
    ContextOptions,
    CrossFileContext,
    RankedSnippet,
    choose_snippets,
)
from context.workspace_files import ScopeLimits, WorkspaceScope
from engines.completion_engine import ContextSnippet
from engines.fim_templates import path_comment_block, resolve_fim_template


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _count(text: str) -> int:
    return max(1, len(text) // 3)


def _gather(root: Path, current: str, marker: str, language: str, **shares: int) -> list[str]:
    context = CrossFileContext(WorkspaceScope([root]))
    while context.index_step():
        pass
    path = (root / current).resolve()
    text = path.read_text()
    options = ContextOptions(
        budget_tokens=2000,
        shares=shares or {"definitions": 100, "recent": 0, "similar": 0},
    )
    chosen = context.gather(path, text, text.index(marker), language, options, _count)
    return [f"{item.path}\n{item.text}" for item in chosen]


def _definitions(root: Path, current: str, marker: str, language: str) -> list[RankedSnippet]:
    context = CrossFileContext(WorkspaceScope([root]))
    path = (root / current).resolve()
    text = path.read_text()
    return context.definitions(path, text, text.index(marker), language)


def test_python_imports_resolve_to_outlines_of_used_names(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/geometry.py": (
                "def scale_zq(factor, point):\n"
                '    """Scale a point."""\n'
                "    return point * factor\n\n\n"
                "def unused_helper():\n    return 1\n\n\n"
                "class Box:\n    def area(self, unit):\n        return 1\n"
            ),
            "pkg/sub/__init__.py": "",
            "pkg/sub/tools.py": "def far_away_zq(x):\n    return x\n",
            "pkg/main.py": (
                "from .geometry import scale_zq, Box\n"
                "from pkg.sub import tools\n\n\n"
                "def run(p):\n    b = Box()\n    tools.far_away_zq(p)\n    return scale_zq(2, p)\n"
            ),
        },
    )
    ranked = _definitions(tmp_path, "pkg/main.py", "scale_zq(2", "python")
    texts = [item.text for item in ranked]
    assert ranked[0].path == "pkg/geometry.py"
    assert texts[0].startswith("def scale_zq(factor, point):") and "Scale a point" in texts[0]
    assert "return point * factor" not in "\n".join(texts)  # signatures, not bodies
    assert any(text.startswith("class Box:") and "def area(self, unit):" in text for text in texts)
    assert any(item.path == "pkg/sub/tools.py" and "far_away_zq" in item.text for item in ranked)
    assert not any("unused_helper" in text for text in texts)


def test_typescript_and_javascript_relative_imports(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "src/util/strings.ts": (
                "export function padBoth_zq(width: number, text: string): string {\n"
                "  return text;\n}\n"
                "export interface Options { fill: string }\n"
            ),
            "src/lib.js": (
                "function legacy_zq(b, a) { return a - b; }\nmodule.exports = { legacy_zq };\n"
            ),
            "src/app.ts": (
                'import { padBoth_zq, Options } from "./util/strings";\n'
                'const { legacy_zq } = require("./lib");\n'
                "const o: Options = { fill: ' ' };\n"
                "export const v = padBoth_zq(3, 'x') + legacy_zq(1, 2);\n"
            ),
        },
    )
    ranked = _definitions(tmp_path, "src/app.ts", "padBoth_zq(3", "typescript")
    by_path: dict[str, str] = {}
    for item in ranked:
        by_path[item.path] = by_path.get(item.path, "") + item.text + "\n"
    assert (
        "padBoth_zq(width: number, text: string): string { ... }" in by_path["src/util/strings.ts"]
    )
    assert any("interface Options" in item.text for item in ranked)
    assert "function legacy_zq(b, a) { ... }" in by_path["src/lib.js"]


def test_a_module_bound_whole_offers_its_exports_after_the_dot(tmp_path: Path) -> None:
    """`const x = require('./x')` and `import * as x from './x'` bind the module itself: its
    exports are what may follow `x.`; a default import binds one export, whose members fimble
    does not list."""
    _write(
        tmp_path,
        {
            "src/util.js": "module.exports = { parseRange, formatRange };\n",
            "src/shapes.ts": "export function rectArea() {}\nexport const UNIT = 'cm';\n",
            "src/main.ts": (
                "const util = require('./util');\nimport * as shapes from './shapes';\n"
                "import box from './shapes';\n\nutil.\nshapes.\nbox.\n"
            ),
        },
    )
    context = CrossFileContext(WorkspaceScope([tmp_path]))
    path = (tmp_path / "src/main.ts").resolve()
    text = path.read_text()

    def names_after(access: str) -> frozenset[str] | None:
        found = context.member_access(path, text, text.index(access) + len(access), "typescript")
        return None if found is None else found.names

    assert names_after("util.") == {"parseRange", "formatRange"}
    assert names_after("shapes.") == {"rectArea", "UNIT"}
    assert names_after("box.") is None


def test_go_module_imports_and_same_package_files(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": "module example.com/shop\n\ngo 1.22\n",
            "money/money.go": (
                "package money\n\n// Cents_zq converts.\n"
                "func Cents_zq(units int, currency string) int {\n\treturn units * 100\n}\n"
            ),
            "cmd/helpers.go": (
                "package main\n\nfunc localHelper_zq(b, a int) int {\n\treturn a\n}\n"
            ),
            "cmd/main.go": (
                'package main\n\nimport "example.com/shop/money"\n\n'
                'func main() {\n\t_ = localHelper_zq(1, 2)\n\t_ = money.Cents_zq(3, "EUR")\n}\n'
            ),
        },
    )
    ranked = _definitions(tmp_path, "cmd/main.go", "money.Cents_zq(3", "go")
    paths = [item.path for item in ranked]
    assert "money/money.go" in paths and "cmd/helpers.go" in paths
    assert any("func Cents_zq(units int, currency string) int { ... }" in i.text for i in ranked)
    assert ranked[0].path == "money/money.go"  # used on the cursor's line


def test_rust_use_paths_and_mod_declarations(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "Cargo.toml": '[package]\nname = "demo"\n',
            "src/geometry/shapes.rs": (
                "pub struct Circle_zq { pub r: f64 }\n"
                "impl Circle_zq {\n    pub fn with_radius(r: f64) -> Self { Circle_zq { r } }\n}\n"
                "pub fn area_zq(scale: f64, c: &Circle_zq) -> f64 { c.r * c.r * scale }\n"
            ),
            "src/geometry/mod.rs": "pub mod shapes;\n",
            "src/util.rs": "pub fn clamp_zq(hi: i32, lo: i32, v: i32) -> i32 { v }\n",
            "src/main.rs": (
                "mod geometry;\nmod util;\n"
                "use crate::geometry::shapes::{area_zq, Circle_zq};\n\n"
                "fn main() {\n    let c = Circle_zq::with_radius(1.0);\n"
                "    let a = area_zq(2.0, &c);\n    let x = util::clamp_zq(3, 1, 2);\n}\n"
            ),
        },
    )
    ranked = _definitions(tmp_path, "src/main.rs", "area_zq(2.0", "rust")
    texts = "\n".join(item.text for item in ranked)
    assert "pub fn area_zq(scale: f64, c: &Circle_zq) -> f64 { ... }" in texts
    assert "pub fn with_radius(r: f64) -> Self { ... }" in texts
    assert "pub fn clamp_zq(hi: i32, lo: i32, v: i32) -> i32 { ... }" in texts
    assert ranked[0].path == "src/geometry/shapes.rs"


def test_similar_code_and_recent_regions_rank_other_files(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "a.py": (
                "def load_users(db):\n    rows = db.query('users')\n"
                "    return [User(r) for r in rows]\n"
            ),
            "b.py": "def unrelated():\n    return 42\n",
            "c.py": "def load_orders(db):\n    rows = db.query('orders')\n    return \n",
        },
    )
    found = _gather(tmp_path, "c.py", "return \n", "python", similar=100)
    assert found and found[0].startswith("a.py\n") and "db.query('users')" in found[0]
    assert not any(item.startswith("b.py") for item in found)
    context = CrossFileContext(WorkspaceScope([tmp_path]))
    a_path, b_path = (tmp_path / "a.py").resolve(), (tmp_path / "b.py").resolve()
    context.open_document(a_path, a_path.read_text())
    context.change_document(a_path, a_path.read_text().replace("users", "admins"), 1)
    context.open_document(b_path, "def unrelated():\n    return 42\n")
    context.change_document(b_path, "def unrelated():\n    return 43\n", 1)
    c_text = (tmp_path / "c.py").read_text()
    recent = context.recent_regions((tmp_path / "c.py").resolve(), c_text, len(c_text) - 1)
    # b.py was edited last, but shares no name with the lines above the cursor.
    assert [item.path for item in recent] == ["a.py"] and "admins" in recent[0].text


def test_unrelated_recent_code_brings_nothing(tmp_path: Path) -> None:
    """The user worked in another file on something else: no source qualifies, so no
    snippet goes in and the prompt is the one without context."""
    context = CrossFileContext(WorkspaceScope([tmp_path]))
    other = (tmp_path / "task_12.py").resolve()
    elsewhere = "def parse_roman(numeral):\n    total = 0\n    for ch in numeral:\n"
    context.open_document(other, elsewhere)
    context.change_document(other, elsewhere + "        total += VALUES[ch]\n", 3)
    current = (tmp_path / "task_13.py").resolve()
    text = 'def add(a, b):\n    """Return the sum."""\n    return \n'
    options = ContextOptions(budget_tokens=400)
    assert context.gather(current, text, len(text) - 1, "python", options, _count) == []


def test_similar_code_does_not_change_while_a_line_is_typed(tmp_path: Path) -> None:
    """The query is the lines above the cursor's line: typing `rows = db.query(` must not
    swap the chosen windows (the prompt's start, and the KV cache holding it, would go)."""
    _write(
        tmp_path,
        {
            "users.py": "def load_users(db):\n    cursor = db.cursor()\n    return cursor\n",
            "orders.py": "def load_orders(db):\n    rows = db.query('orders')\n    return rows\n",
        },
    )
    context = CrossFileContext(WorkspaceScope([tmp_path]))
    while context.index_step():
        pass
    path = (tmp_path / "items.py").resolve()
    above = "def load_items(db):\n    cursor = db.cursor()\n"
    line = "    rows = db.query('items')"
    chosen = set()
    for typed in range(4, len(line) + 1):
        text = above + line[:typed] + "\n"
        found = context.similar_code(path, text, len(above) + typed)
        chosen.add(tuple((item.path, item.text) for item in found))
    assert len(chosen) == 1 and next(iter(chosen))[0][0] == "users.py"


def test_a_name_imported_but_not_yet_used_ranks_first(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/helpers.py": "def near_zq(x):\n    return x\n\n\ndef fresh_zq(y):\n    return y\n",
            "pkg/main.py": (
                "from .helpers import near_zq, fresh_zq\n\n\n"
                "def run(p):\n    q = near_zq(p)\n    \n    return q\n"
            ),
        },
    )
    ranked = _definitions(tmp_path, "pkg/main.py", "    \n    return q", "python")
    # near_zq is used on the line above the cursor, but fresh_zq was imported to be used next.
    assert ranked[0].text.startswith("def fresh_zq(y):")
    assert any(item.text.startswith("def near_zq(x):") for item in ranked[1:])


def test_definitions_only_for_names_used_near_the_cursor_or_awaiting_use(
    tmp_path: Path,
) -> None:
    """A name the file uses only far from the cursor belongs to other code: its definition
    stays out. Names on the lines around the cursor, and names imported but not used yet,
    bring theirs."""
    far_away = "".join(f"    step_{n} = {n}\n" for n in range(40))
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/helpers.py": (
                "def far_zq(x):\n    return x\n\n\n"
                "def near_zq(x):\n    return x\n\n\n"
                "def fresh_zq(y):\n    return y\n"
            ),
            "pkg/main.py": (
                "from .helpers import far_zq, near_zq, fresh_zq\n\n\n"
                "def setup(p):\n    return far_zq(p)\n\n\n"
                f"def run(p):\n{far_away}    q = near_zq(p)\n    \n    return q\n"
            ),
        },
    )
    found = _definitions(tmp_path, "pkg/main.py", "    \n    return q", "python")
    assert [item.text.split("(")[0] for item in found] == ["def fresh_zq", "def near_zq"]


def test_similar_code_sharing_few_names_stays_out(tmp_path: Path) -> None:
    """Below the floor (one name in five shared with the lines above the cursor) a window is
    not similar enough to be worth the prompt room."""
    names = ", ".join(f"name_{n}" for n in range(12))
    _write(
        tmp_path,
        {
            "close.py": f"def close():\n    return [{names}]\n",
            "faint.py": "def faint():\n    return [name_0, other_a, other_b, other_c]\n",
            "current.py": f"def current():\n    values = [{names}]\n    \n",
        },
    )
    found = _gather(tmp_path, "current.py", "    \n", "python", similar=100)
    assert [item.split("\n")[0] for item in found] == ["close.py"]


def test_code_of_another_workspace_folder_stays_out(tmp_path: Path) -> None:
    """A prompt presents one repository: similar or recent code of a second workspace folder
    (whose paths would read as this one's) is not offered."""
    first, second = tmp_path / "first", tmp_path / "second"
    query = "def load_orders(db):\n    rows = db.query('orders')\n    return \n"
    _write(first, {"c.py": query})
    _write(second, {"a.py": "def load_users(db):\n    rows = db.query('users')\n    return rows\n"})
    context = CrossFileContext(WorkspaceScope([first, second]))
    while context.index_step():
        pass
    current = (first / "c.py").resolve()
    assert context.similar_code(current, query, query.index("return \n")) == []
    other = (second / "a.py").resolve()
    context.change_document(other, other.read_text(), 1)
    assert context.recent_regions(current, query, query.index("return \n")) == []
    assert [item.path for item in context.similar_code(other, other.read_text(), 40)] == []
    _write(first, {"b.py": "def load_users(db):\n    rows = db.query('users')\n    return rows\n"})
    context = CrossFileContext(WorkspaceScope([first, second]))
    while context.index_step():
        pass
    found = context.similar_code(current, query, query.index("return \n"))
    assert [item.path for item in found] == ["b.py"]


def test_imports_resolve_in_the_documents_own_workspace_folder(tmp_path: Path) -> None:
    """Two folders each with a `utils` module: the document imports its own folder's, and
    where its folder has none, no other folder's module of that name stands in for it."""
    first, second, third = tmp_path / "first", tmp_path / "second", tmp_path / "third"
    _write(first, {"utils.py": "def tidy_zq(first_folder):\n    return 1\n"})
    _write(second, {"utils.py": "def tidy_zq(second_folder):\n    return 2\n"})
    app = "import utils\n\n\ndef run():\n    return utils.tidy_zq(\n"
    _write(second, {"app.py": app})
    _write(third, {"app.py": app})
    context = CrossFileContext(WorkspaceScope([first, second, third]))
    ranked = context.definitions((second / "app.py").resolve(), app, len(app) - 1, "python")
    assert [(item.path, item.text) for item in ranked] == [
        ("utils.py", "def tidy_zq(second_folder):\n    ...")
    ]
    assert context.definitions((third / "app.py").resolve(), app, len(app) - 1, "python") == []


def test_an_open_document_too_large_or_binary_is_not_context(tmp_path: Path) -> None:
    """Open documents pass the checks a file on disk does (size, NUL bytes): whatever the
    editor holds, a huge or binary-looking text becomes no source's context."""
    names = {"big_zq.py": "def big_zq(x):\n    return x\n", "blob_zq.py": "def blob_zq(x): ..."}
    _write(tmp_path, names)
    scope = WorkspaceScope([tmp_path], limits=ScopeLimits(max_file_bytes=2_000))
    context = CrossFileContext(scope)
    held = {
        "big_zq.py": "def big_zq(value):\n    return value\n" + "# padding\n" * 300,
        "blob_zq.py": "def blob_zq(value):\n    return value\x00\n",
    }
    for name, text in held.items():
        path = (tmp_path / name).resolve()
        context.open_document(path, text)
        context.change_document(path, text, 1)
    app = "from big_zq import big_zq\nfrom blob_zq import blob_zq\n\nbig_zq(blob_zq(1))\n"
    current = (tmp_path / "app.py").resolve()
    assert context.definitions(current, app, len(app), "python") == []
    assert context.recent_regions(current, app, len(app)) == []
    assert context.similar_code(current, "def zq(value):\n    return value\n", 30) == []
    # The same text within the limits is context.
    small = held["big_zq.py"][:200]
    context.change_document((tmp_path / "big_zq.py").resolve(), small, 1)
    assert [item.path for item in context.recent_regions(current, app, len(app))] == ["big_zq.py"]
    found = context.definitions(current, app, len(app), "python")
    assert [item.text for item in found] == ["def big_zq(value):\n    ..."]


def test_budget_is_respected_and_layout_is_sorted_by_path() -> None:
    ranked = {
        "definitions": [
            RankedSnippet("definitions", "z.py", 0, "def z(): ...", 0.9),
            RankedSnippet("definitions", "a.py", 5, "def a(): ...", 0.5),
        ],
        "similar": [RankedSnippet("similar", "m.py", 0, "x = 1\n" * 200, 0.8)],
    }
    options = ContextOptions(budget_tokens=40, shares={"definitions": 50, "similar": 50})
    chosen = choose_snippets(ranked, options, _count)
    assert [item.path for item in chosen] == ["a.py", "z.py"]  # m.py does not fit
    swapped = {
        "definitions": list(reversed(ranked["definitions"])),
        "similar": ranked["similar"],
    }
    assert choose_snippets(swapped, options, _count) == chosen  # scores do not reorder


def test_secret_files_never_reach_the_prompt(tmp_path: Path) -> None:
    secret = "SECRET_VALUE_zq_81724"
    _write(
        tmp_path,
        {
            ".env": f"API_KEY={secret}\n",
            ".env.production": f"API_KEY={secret}\n",
            "keys/server.key": f"-----BEGIN PRIVATE KEY-----\n{secret}\n",
            "id_rsa": f"{secret}\n",
            "config/credentials.py": f"def load_key():\n    return '{secret}'\n",
            "ignored/settings.py": f"def load_key():\n    return '{secret}'\n",
            ".gitignore": "ignored/\n",
            "private_zq.py": f"def load_key():\n    return '{secret}'\n",
            # An ordinary module beside them, which must be gathered.
            "helpers/key_format.py": (
                "def mask_key_zq(key, shown):\n    return key[:shown] + '*'\n"
            ),
            "app.py": (
                "from config.credentials import load_key\nfrom ignored.settings import load_key\n"
                "from private_zq import load_key\nfrom helpers.key_format import mask_key_zq\n\n\n"
                "def load_key_again():\n    return mask_key_zq(load_key(), 4)\n"
            ),
        },
    )
    scope = WorkspaceScope([tmp_path], exclude=["private_*.py"])
    context = CrossFileContext(scope)
    # The editor has the secrets open too, and the user edited them.
    for name in (".env", "keys/server.key", "private_zq.py", "config/credentials.py"):
        path = (tmp_path / name).resolve()
        text = path.read_text()
        context.open_document(path, text)
        context.change_document(path, text, 0)
    while context.index_step():
        pass
    app = (tmp_path / "app.py").resolve()
    text = app.read_text()
    options = ContextOptions(
        budget_tokens=4000, shares={"definitions": 1, "recent": 1, "similar": 1}
    )
    chosen = context.gather(app, text, text.index("load_key()"), "python", options, _count)
    snippets = tuple(ContextSnippet(item.path, item.text) for item in chosen)
    # Context is gathered (the allowed module's definition), only never from the secrets.
    allowed = [item for item in chosen if item.path == "helpers/key_format.py"]
    assert allowed and "def mask_key_zq(key, shown):" in allowed[0].text, chosen
    # At prompt assembly: neither the repository-level nor the path-comment layout has it.
    template = resolve_fim_template(
        {
            "<|fim_prefix|>": 1,
            "<|fim_suffix|>": 2,
            "<|fim_middle|>": 3,
            "<|repo_name|>": 4,
            "<|file_sep|>": 5,
        }.get,
        None,
        frozenset(),
    )
    head = template.repo_head("ws", snippets, "app.py", lambda s: [ord(c) for c in s])
    rendered = "".join(chr(token) for token in head if token > 5)
    assert secret not in rendered and secret not in path_comment_block(snippets, "app.py")
    assert "def mask_key_zq(key, shown):" in rendered
    for name in (
        ".env",
        ".env.production",
        "keys/server.key",
        "id_rsa",
        "config/credentials.py",
        "ignored/settings.py",
        "private_zq.py",
    ):
        assert not scope.allows(tmp_path / name), name
        assert scope.read(tmp_path / name) is None
    assert scope.allows(tmp_path / "app.py")
    assert scope.allows(tmp_path / "helpers/key_format.py")


def test_scope_refuses_outside_binary_and_large_files(tmp_path: Path) -> None:
    inside = tmp_path / "ws"
    _write(inside, {"ok.py": "x = 1\n", "blob.py": "x\x00y", "big.py": "x = 1\n" * 100_000})
    _write(tmp_path, {"outside.py": "y = 2\n"})
    scope = WorkspaceScope([inside])
    assert scope.read(inside / "ok.py") == "x = 1\n"
    assert scope.read(inside / "blob.py") is None
    assert scope.read(inside / "big.py") is None
    assert scope.read(tmp_path / "outside.py") is None
    assert scope.read(inside / ".." / "outside.py") is None

"""A workspace that fights back, through the LSP: symlink loops, links out of the workspace
or to secrets, odd line endings and encodings on disk and in open documents.

One server (the `infill` engine pointed at the recording server: no model is loaded) over one
workspace holding all of it; what became context is read in the bodies the recording server
received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import inline_at, open_document
from tests.e2e.recording_server import SUGGESTION, RecordingServer, recording_server
from tests.e2e.served_workspace import QUIET, ask_at_end, bodies_since, sent_text, serving

pytestmark = [pytest.mark.loads_no_model, pytest.mark.asyncio(loop_scope="module")]

# The same identifiers in every file, so that similar-code search would pick each of them.
SHARED = "account_zq, region_zq, ledger_zq"
CONTROL = f"def control_zq({SHARED}):\n    return 'CONTROL_W5'\n"
OUTSIDE = f"def leak_zq({SHARED}):\n    return 'OUTSIDE_W3'\n"
ENV = f"LEAK_TOKEN = 'ENV_W4'\n{SHARED.replace(', ', ' = ')} = 1\n"
AFTER_LOOPS = f"def after_loops_zq({SHARED}):\n    return 'AFTER_W6'\n"

HELPER = (
    'def {name}_helper_zq(first_A1, second_A2):\n    """The {name} helper."""\n    return 1\n'
    "\n\nclass {title}Shape_zq:\n    def area_zq(self):\n        return 2\n"
)


def helper(name: str, newline: str = "\n") -> str:
    return HELPER.format(name=name, title=name.title()).replace("\n", newline)


def build_workspace(root: Path) -> None:
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "private_zq.py").write_text(OUTSIDE)
    (root / "control_zq.py").write_text(CONTROL)
    (root / ".env").write_text(ENV)
    # Links to what is not the workspace's to give: out of it, and to a denied name.
    (root / "notes.py").symlink_to("../outside/private_zq.py")
    (root / "config.py").symlink_to(".env")
    (root / "vendored").symlink_to(outside, target_is_directory=True)
    # Loops of file links and of directory links.
    (root / "loop_a.py").symlink_to("loop_b.py")
    (root / "loop_b.py").symlink_to("loop_a.py")
    (root / "self_loop.py").symlink_to("self_loop.py")
    (root / "loop_c.ts").symlink_to("loop_d.ts")
    (root / "loop_d.ts").symlink_to("loop_c.ts")
    (root / "shapes_zq.ts").write_text(
        "export function area_zq(width_K2: number) {\n  return 1;\n}\n"
    )
    for name, other in (("d1", "d2"), ("d2", "d1")):
        (root / name).mkdir()
        (root / name / f"to_{other}").symlink_to(f"../{other}", target_is_directory=True)
        (root / name / "here").symlink_to(".", target_is_directory=True)
    (root / "zz").mkdir()  # walked after the loops
    (root / "zz" / "after_loops_zq.py").write_text(AFTER_LOOPS)
    # Line endings, tabs, a BOM and invalid UTF-8 on disk.
    (root / "crlf_zq.py").write_bytes(helper("crlf", "\r\n").encode())
    (root / "cr_zq.py").write_bytes(helper("cr", "\r").encode())
    (root / "bom_zq.py").write_bytes(b"\xef\xbb\xbf" + helper("bom").encode())
    (root / "tabs_zq.py").write_text(helper("tabs").replace("    ", "\t"))
    (root / "bad_zq.py").write_bytes(helper("bad").encode() + b"# \xff\xfe 'BAD_W8'\n")


@pytest.fixture(scope="module")
def recorder() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "project"
    root.mkdir()
    build_workspace(root)
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(
    recorder: RecordingServer, workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LanguageClient]:
    settings = recorder.settings("infill", contextTokens=2048, **QUIET)
    audit_log = tmp_path_factory.mktemp("audit") / "network-audit.log"
    async with serving(settings, [workspace], audit_log) as client:
        yield client


async def ask_similar(client: LanguageClient, recorder: RecordingServer, path: Path) -> str:
    """Ask in a document whose code looks like every file above; what went out."""
    start = len(recorder.bodies)
    text = f"def report_zq({SHARED}):\n    return ledger_zq\n\n\ntotal = "
    result = await ask_at_end(client, path, text)
    assert [item.insert_text for item in result.items] == [SUGGESTION]
    return "".join(sent_text(body) for body in bodies_since(recorder, start))


async def test_symlink_loops_end_indexing_and_the_server_answers(
    client: LanguageClient, recorder: RecordingServer, workspace: Path
) -> None:
    sent = await ask_similar(client, recorder, workspace / "report_zq.py")
    assert "AFTER_W6" in sent  # indexing went past the loops
    for name in ("loop_a.py", "self_loop.py", "d1/to_d2/to_d1/here/new_zq.py"):
        uri = (workspace / name).as_uri()
        open_document(client, uri, "import os\n\nvalue = ")
        result = await inline_at(client, uri, 2, len("value = "))
        assert [item.insert_text for item in result.items] == [SUGGESTION], name
    # An import of a link loop: the other imports still give their definitions.
    start = len(recorder.bodies)
    text = 'import { c } from "./loop_c.ts";\nimport { area_zq } from "./shapes_zq";\n\nconst a = '
    open_document(client, (workspace / "main_zq.ts").as_uri(), text, "typescript")
    await inline_at(client, (workspace / "main_zq.ts").as_uri(), 3, len("const a = "))
    [body] = bodies_since(recorder, start)
    assert "shapes_zq.ts" in [item["filename"] for item in body["input_extra"]], body


async def test_links_out_of_the_workspace_or_to_denied_names_are_never_context(
    client: LanguageClient, recorder: RecordingServer, workspace: Path
) -> None:
    start = len(recorder.bodies)
    sent = await ask_similar(client, recorder, workspace / "similar_zq.py")
    assert "CONTROL_W5" in sent  # similar code is found
    text = "from notes import leak_zq\nimport config\nfrom vendored.private_zq import leak_zq\n\n"
    await ask_at_end(client, workspace / "imports_zq.py", text + "value = leak_zq(")
    everything = "".join(recorder.bodies[start:])
    for secret in ("OUTSIDE_W3", "ENV_W4", "LEAK_TOKEN"):
        assert secret not in everything, secret


async def test_line_endings_a_bom_tabs_and_invalid_utf8_on_disk_read_sanely(
    client: LanguageClient, recorder: RecordingServer, workspace: Path
) -> None:
    """Definitions from files with CRLF and CR line endings, a BOM and tabs come as the same
    outline an LF file gives (line breaks normalised, the BOM dropped); a file that is not
    UTF-8 is skipped."""
    names = ("crlf", "cr", "bom", "tabs", "bad")
    imports = "".join(f"from {n}_zq import {n}_helper_zq, {n.title()}Shape_zq\n" for n in names)
    start = len(recorder.bodies)
    result = await ask_at_end(client, workspace / "endings_zq.py", imports + "\nvalue = ")
    assert [item.insert_text for item in result.items] == [SUGGESTION]
    [body] = bodies_since(recorder, start)
    helpers = {f"{name}_zq.py" for name in names}
    snippets = {i["filename"]: i["text"] for i in body["input_extra"] if i["filename"] in helpers}
    assert sorted(snippets) == ["bom_zq.py", "cr_zq.py", "crlf_zq.py", "tabs_zq.py"], snippets
    for name in ("crlf", "cr", "bom"):
        text = snippets[f"{name}_zq.py"]
        assert text.startswith(f"def {name}_helper_zq(first_A1, second_A2):\n"), text
        assert f'    """The {name} helper."""\n' in text, text
        # The outline (a body elided) as well as the similar code window.
        assert f"class {name.title()}Shape_zq:\n    def area_zq(self):\n        ...\n" in text
        assert "\r" not in text and "\ufeff" not in text, text
    assert '\t"""The tabs helper."""' in snippets["tabs_zq.py"]
    assert "BAD_W8" not in "".join(recorder.bodies)


LINES = ["def total_zq(items):", "    log_zq()", "    return len(items) + ", "", "x = 1"]


@pytest.mark.parametrize(
    ("line", "character"), [(1, len("    log_zq(")), (2, len(LINES[2])), (3, 0)]
)
async def test_open_documents_with_crlf_and_cr_line_endings_get_the_same_answer(
    client: LanguageClient,
    recorder: RecordingServer,
    workspace: Path,
    line: int,
    character: int,
) -> None:
    """The same code with LF, CRLF and CR line endings, asked at the same position: the same
    prefix and suffix go out (but for the line breaks) and the same item comes back."""
    answers = {}
    for name, newline in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        uri = (workspace / f"positions_{name}_{line}_{character}.py").as_uri()
        open_document(client, uri, newline.join(LINES))
        start = len(recorder.bodies)
        result = await inline_at(client, uri, line, character)
        [body] = bodies_since(recorder, start)
        prefix = (body["input_prefix"] + body["prompt"]).replace(newline, "\n")
        suffix = body["input_suffix"].replace(newline, "\n")
        assert len(result.items) == 1, (name, result)
        item = result.items[0]
        answers[name] = (prefix, suffix, item.insert_text, item.range)
    assert answers["crlf"] == answers["lf"]
    assert answers["cr"] == answers["lf"]
    text = "\n".join(LINES)
    offset = sum(len(line) + 1 for line in LINES[:line]) + character
    assert answers["lf"][0] == text[:offset]
    assert answers["lf"][3].start == types.Position(line, character)

"""Through the LSP, with the remote engines pointed at a server that records every request:
which code from other files goes into their prompts.

The `openai` prompt carries the snippets the way the local engine's prompt does for the same
FIM template, and `/infill` gets them as `input_extra` with their paths. Imports resolve in
the document's own workspace folder; an open document too large or binary-looking is no
source's context. No model is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import StartServer, inline_at, only_text, open_document
from tests.e2e.recording_server import SUGGESTION, RecordingServer, recording_server

pytestmark = pytest.mark.loads_no_model

GEOMETRY = 'def scale_zq(factor, point):\n    """Scale a point by factor_Q4."""\n    return 0\n'
APP = "from geometry import scale_zq\n\n\ndef grow(p):\n    return scale_zq("


# Nothing runs in the background (no speculated next line, no prefill) and nothing is
# answered from memory: each request the server gets is one a test made.
QUIET = {"speculateNextLine": False, "backgroundPrefill": False, "answerMemory": False}


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


def bodies(recorder: RecordingServer) -> list[dict[str, Any]]:
    return [json.loads(body) for body in recorder.bodies]


async def ask_at_end(client: LanguageClient, path: Path, text: str) -> str:
    open_document(client, path.as_uri(), text)
    lines = text.split("\n")
    return only_text(await inline_at(client, path.as_uri(), len(lines) - 1, len(lines[-1])))


async def test_an_imported_workspace_file_reaches_the_openai_prompt(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    (tmp_path / "geometry.py").write_text(GEOMETRY)  # on disk only, never opened
    client = await start_server(recorder.settings("openai", **QUIET), root_uri=tmp_path.as_uri())
    assert await ask_at_end(client, tmp_path / "app.py", APP) == SUGGESTION
    prompt = bodies(recorder)[-1]["prompt"]
    # The qwen template's repository-level layout, as the local engine lays it out.
    head = f"<|repo_name|>{tmp_path.name}\n<|file_sep|>geometry.py\ndef scale_zq(factor, point):"
    assert prompt.startswith(head), prompt
    assert "factor_Q4" in prompt
    assert "<|file_sep|>app.py\n<|fim_prefix|>from geometry import scale_zq\n" in prompt


async def test_infill_snippets_carry_their_file_names(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    (tmp_path / "geometry.py").write_text(GEOMETRY)
    client = await start_server(recorder.settings("infill", **QUIET), root_uri=tmp_path.as_uri())
    assert await ask_at_end(client, tmp_path / "app.py", APP) == SUGGESTION
    extra = bodies(recorder)[-1]["input_extra"]
    assert [item["filename"] for item in extra] == ["geometry.py"], extra
    # Each snippet ends its last line, as the local repository-level prompt has it (the
    # server puts the next file separator right after the text).
    assert extra[0]["text"].startswith("def scale_zq(factor, point):\n")
    assert extra[0]["text"].endswith("\n"), extra


async def test_imports_resolve_in_the_documents_own_workspace_folder(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """Two folders, each with a `utils` module: the document in the second gets its own
    folder's; a third folder without one gets no other folder's in its place."""
    folders = [tmp_path / name for name in ("first", "second", "third")]
    for folder in folders:
        folder.mkdir()
    (folders[0] / "utils.py").write_text("def tidy_zq(first_K8):\n    return 1\n")
    (folders[1] / "utils.py").write_text("def tidy_zq(second_P3):\n    return 2\n")
    client = await start_server(recorder.settings("infill", **QUIET), workspace_folders=folders)
    app = "import utils\n\n\ndef run(v):\n    return utils.tidy_zq("
    assert await ask_at_end(client, folders[1] / "app.py", app) == SUGGESTION
    extra = bodies(recorder)[-1]["input_extra"]
    assert [item["filename"] for item in extra] == ["utils.py"]
    assert "second_P3" in extra[0]["text"] and "first_K8" not in extra[0]["text"]
    assert await ask_at_end(client, folders[2] / "app.py", app) == SUGGESTION
    assert bodies(recorder)[-1]["input_extra"] == []
    assert not recorder.received("first_K8")


def edit(client: LanguageClient, path: Path, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, 0), types.Position(0, 0)), text=text
                )
            ],
        )
    )


async def test_an_open_document_too_large_or_binary_is_not_context(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """The editor's text of an open document passes the checks a file on disk does: over
    contextMaxFileBytes or with a NUL byte, it is no definition, recent region or similar
    code (small files of the same names on disk are what the scope would read)."""
    held = {
        "big_zq.py": "def big_zq(value):\n    return 'big_W2'\n" + "# padding\n" * 300,
        "blob_zq.py": "def blob_zq(value):\n    return 'blob_W2'\x00\n",
    }
    for name in held:
        (tmp_path / name).write_text(f"def {name[:-3]}(value):\n    return value\n")
    settings = recorder.settings("infill", contextMaxFileBytes=2048, **QUIET)
    client = await start_server(settings, root_uri=tmp_path.as_uri())
    for name, text in held.items():
        open_document(client, (tmp_path / name).as_uri(), text)
        edit(client, tmp_path / name, "# editing\n")
    app = "from big_zq import big_zq\nfrom blob_zq import blob_zq\n\nvalue_zq = "
    assert await ask_at_end(client, tmp_path / "app.py", app) == SUGGESTION
    assert len(recorder.bodies) == 1
    assert not recorder.received("big_W2") and not recorder.received("blob_W2")
    assert not recorder.received("padding")


async def test_a_remote_answer_naming_a_member_that_does_not_exist_is_dropped(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """A remote server cannot be steered token by token: after `shapes.`, whose members are
    all known, its answer `result = 1` names none of them and is not shown; elsewhere it is."""
    (tmp_path / "shapes.py").write_text("def area_of_circle(radius):\n    return radius\n")
    client = await start_server(recorder.settings(), root_uri=tmp_path.as_uri())
    app = (tmp_path / "app.py").as_uri()
    open_document(client, app, "import shapes\n\nx = shapes.")
    dropped = await inline_at(client, app, 2, len("x = shapes."))
    assert dropped is not None and not dropped.items, dropped
    assert await ask_at_end(client, tmp_path / "other.py", "import shapes\n\nx = ") == SUGGESTION


async def test_recent_work_goes_in_only_when_it_shares_names(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """Code the user just edited in another open document is offered where it shares names
    with the lines above the cursor; other work stays out (unrelated code made suggestions
    worse), and the prompt is then the one without context."""
    only_recent = {"contextDefinitions": 0, "contextSimilar": 0}
    settings = recorder.settings("openai", **QUIET, **only_recent)
    client = await start_server(settings, root_uri=tmp_path.as_uri())
    roman = tmp_path / "roman.py"
    open_document(client, roman.as_uri(), "def parse_roman_zq(numeral):\n    total = 0\n")
    edit(client, roman, "# roman numerals\n")
    orders = "def load_orders(db):\n    rows = db.query('orders')\n    "
    assert await ask_at_end(client, tmp_path / "orders.py", orders) == SUGGESTION
    prompt = bodies(recorder)[-1]["prompt"]
    assert "parse_roman_zq" not in prompt and "<|file_sep|>roman.py" not in prompt, prompt
    users = tmp_path / "users.py"
    open_document(client, users.as_uri(), "def load_users(db):\n    rows = db.query('users_zq')\n")
    edit(client, users, "# users\n")
    assert await ask_at_end(client, tmp_path / "orders_again.py", orders) == SUGGESTION
    prompt = bodies(recorder)[-1]["prompt"]
    assert "<|file_sep|>users.py" in prompt and "users_zq" in prompt, prompt
    assert "parse_roman_zq" not in prompt, prompt


async def test_a_definition_goes_in_only_for_a_name_used_near_the_cursor(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """`scale_zq` is imported and used at the top of the file: asked forty lines below, its
    definition is about other code and stays out (nothing else qualifies, so the prompt is
    the one without context); asked right after the use, it goes in."""
    (tmp_path / "geometry.py").write_text(GEOMETRY)
    filler = "".join(f"    total_{n} = {n} * {n}\n" for n in range(40))
    far = "from geometry import scale_zq\n\n\ndef grow(p):\n    return scale_zq(2, p)\n\n\n"
    far += f"def tally():\n{filler}    "
    near = "from geometry import scale_zq\n\n\ndef grow(p):\n    big = scale_zq(2, p)\n    "
    prompts = {}
    for budget in (384, 0):
        settings = recorder.settings("openai", contextTokens=budget, **QUIET)
        client = await start_server(settings, root_uri=tmp_path.as_uri())
        assert await ask_at_end(client, tmp_path / f"far_{budget}.py", far) == SUGGESTION
        prompts[budget] = bodies(recorder)[-1]["prompt"].replace(f"far_{budget}.py", "far.py")
    assert "factor_Q4" not in prompts[384]
    assert prompts[384] == prompts[0]
    assert await ask_at_end(client, tmp_path / "near.py", near) == SUGGESTION
    assert "factor_Q4" not in bodies(recorder)[-1]["prompt"]  # this server has contextTokens 0
    client = await start_server(recorder.settings("openai", **QUIET), root_uri=tmp_path.as_uri())
    assert await ask_at_end(client, tmp_path / "near.py", near) == SUGGESTION
    assert "factor_Q4" in bodies(recorder)[-1]["prompt"]

"""Through the LSP, with the `openai` engine pointed at a server that records every request:
what leaves the machine, and what never does.

Denied documents (`.env`, keys, ... in any spelling or case) get no suggestion and are never
context; with a remote engine, neither are documents `.gitignore` covers. A closed document
is context only as saved on disk. A setting the user
removes returns to its default at once (the engine included), and `fimble/stats` says where
prompts go. Log files carry none of the code below DEBUG, at any level.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.e2e.conftest import (
    SERVER_COMMAND,
    StartServer,
    inline_at,
    only_text,
    open_document,
    send_raw_request,
)
from tests.e2e.recording_server import SUGGESTION, RecordingServer, recording_server

ALLOWED = 'REGION_NAME_OK = "eu-allowed-7Qm"\n'
APP = "from values import REGION_NAME_OK\n\nDEPLOY_TOKEN = "


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


def edit(client: LanguageClient, uri: str, version: int, text: str) -> None:
    """Type `text` at the start of the document (the edit makes it a recent region)."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, 0), types.Position(0, 0)), text=text
                )
            ],
        )
    )


async def popup_at(client: LanguageClient, uri: str, line: int, character: int) -> list[object]:
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(line, character),
        )
    )
    assert isinstance(result, types.CompletionList), result
    return list(result.items)


async def ask_in_app(client: LanguageClient, workspace: Path) -> str:
    """A suggestion for an ordinary document, which imports from an allowed one."""
    values = workspace / "values.py"
    open_document(client, values.as_uri(), ALLOWED)
    edit(client, values.as_uri(), 2, "# values\n")
    app = workspace / "app.py"
    open_document(client, app.as_uri(), APP)
    return only_text(await inline_at(client, app.as_uri(), 2, len("DEPLOY_TOKEN = ")))


async def open_and_ask_inside(
    client: LanguageClient, workspace: Path, files: dict[str, str]
) -> None:
    """Open and edit each file, then ask inside it both ways: nothing comes back."""
    for name, text in files.items():
        uri = (workspace / name).as_uri()
        open_document(client, uri, text, "plaintext")
        edit(client, uri, 2, "# ")
        line = text.count("\n")
        assert (await inline_at(client, uri, line, 0)).items == (), name
        assert await popup_at(client, uri, line, 0) == [], name


@pytest.mark.parametrize("engine", ["openai", "infill"])
async def test_denied_documents_get_nothing_and_never_leave(
    start_server: StartServer, tmp_path: Path, recorder: RecordingServer, engine: str
) -> None:
    files = {
        ".env": 'DEPLOY_TOKEN = "tok_envZQ81xv"\nREGION = "eu"\n',
        "server.key": "-----BEGIN PRIVATE KEY-----\nMIIEvKeyZQ42Lw9\n-----END PRIVATE KEY-----\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    client = await start_server(recorder.settings(engine), root_uri=tmp_path.as_uri())
    await open_and_ask_inside(client, tmp_path, files)
    assert recorder.bodies == []
    # Another document is completed, with context, and none of it from the denied ones.
    assert await ask_in_app(client, tmp_path) == SUGGESTION
    assert recorder.received("eu-allowed-7Qm")  # an open document's text is context
    for secret in ("tok_envZQ81xv", "MIIEvKeyZQ42Lw9", "BEGIN PRIVATE KEY"):
        assert not recorder.received(secret), secret


async def test_other_spellings_and_cases_of_secret_files_get_nothing(
    start_server: StartServer, tmp_path: Path, recorder: RecordingServer
) -> None:
    names = [".env-prod", ".env_local", ".envrc.local", ".env.production", ".ENV", "cert.CRT"]
    files = {name: f'DEPLOY_TOKEN = "tok_{n}_ZQ81xv"\n' for n, name in enumerate(names)}
    files["Secrets.yaml"] = 'deploy_token: "tok_yaml_ZQ81xv"\n'
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    client = await start_server(recorder.settings("infill"), root_uri=tmp_path.as_uri())
    await open_and_ask_inside(client, tmp_path, files)
    assert recorder.bodies == []
    assert await ask_in_app(client, tmp_path) == SUGGESTION
    assert recorder.received("eu-allowed-7Qm") and not recorder.received("_ZQ81xv")


async def test_gitignored_documents_stay_home_with_a_remote_engine(
    start_server: StartServer, tmp_path: Path, recorder: RecordingServer
) -> None:
    (tmp_path / ".gitignore").write_text("private/\n")
    (tmp_path / "private").mkdir()
    files = {"private/customers.py": 'DEPLOY_TOKEN = "tok_ignored_ZQ81xv"\n'}
    (tmp_path / "private" / "customers.py").write_text(files["private/customers.py"])
    client = await start_server(recorder.settings("infill"), root_uri=tmp_path.as_uri())
    await open_and_ask_inside(client, tmp_path, files)
    assert recorder.bodies == []
    assert await ask_in_app(client, tmp_path) == SUGGESTION
    assert recorder.received("eu-allowed-7Qm") and not recorder.received("tok_ignored_ZQ81xv")


def configure(client: LanguageClient, settings: dict[str, object]) -> None:
    """What VS Code sends: the settings the user has set, and only those."""
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimble": settings})
    )


async def test_a_removed_engine_setting_stops_sending_code_at_once(
    start_server: StartServer, tmp_path: Path, recorder: RecordingServer
) -> None:
    client = await start_server(root_uri=tmp_path.as_uri())
    # A model file that is not there: the local engine fails fast instead of loading. Nothing
    # runs in the background (no speculated next line) and nothing is answered from memory:
    # every request the server gets is one this test made.
    absent_model = str(tmp_path / "absent.gguf")
    kept = {
        "modelPath": absent_model,
        "speculateNextLine": False,
        "backgroundPrefill": False,
        "answerMemory": False,
    }
    configure(client, recorder.settings(**kept))
    uri = (tmp_path / "app.py").as_uri()
    open_document(client, uri, APP)
    for asked in (1, 2):
        assert only_text(await inline_at(client, uri, 2, len("DEPLOY_TOKEN = "))) == SUGGESTION
        assert len(recorder.bodies) == asked
    # The user removes `engine`; the other settings stay set.
    configure(client, {"remoteUrl": recorder.url, **kept})
    assert (await inline_at(client, uri, 2, len("DEPLOY_TOKEN = "))).items == ()
    assert len(recorder.bodies) == 2
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert any(absent_model in message for message in errors), errors


async def test_stats_say_the_engine_is_remote_and_where(
    start_server: StartServer, tmp_path: Path, recorder: RecordingServer
) -> None:
    client = await start_server(recorder.settings(), root_uri=tmp_path.as_uri())
    stats = await client.protocol.send_request_async("fimble/stats", {})
    assert stats.engine.remote is True and stats.engine.host == "127.0.0.1"
    assert stats.engine.kind == "openai"


@pytest.mark.parametrize("level", [None, "INFO", "WARNING", "ERROR", "DEBUG"])
async def test_logs_carry_no_source_text_below_debug(
    start_server: StartServer, tmp_path: Path, recorder: RecordingServer, level: str | None
) -> None:
    """A remote session at each log level: a denied document, an answer, a malformed request.
    Only DEBUG, which the user turns on, may write the code (and does: the check can see)."""
    log_file = tmp_path / "server.log"
    command = [*SERVER_COMMAND, "--log-file", str(log_file)]
    command += ["--log-level", level] if level else []
    client = await start_server(
        recorder.settings("infill"), root_uri=tmp_path.as_uri(), server_command=command
    )
    env_text = 'DEPLOY_TOKEN = "tok_envZQ81xv"\n'
    (tmp_path / ".env").write_text(env_text)
    await open_and_ask_inside(client, tmp_path, {".env": env_text})
    assert await ask_in_app(client, tmp_path) == SUGGESTION
    bad = {"textDocument": {"uri": "file:///x.py"}, "position": {"line": -1, "character": APP}}
    with pytest.raises(JsonRpcException):
        await send_raw_request(client, "textDocument/inlineCompletion", bad, "privacy-remote-1")
    await client.protocol.send_request_async("fimble/stats", {})
    logged = log_file.read_text(encoding="utf-8")
    fragments = ["tok_envZQ81xv", "eu-allowed-7Qm", "REGION_NAME_OK", "DEPLOY_TOKEN", SUGGESTION]
    leaked = [fragment for fragment in fragments if fragment in logged]
    assert (leaked != []) == (level == "DEBUG"), (leaked, logged[-3000:])


async def test_a_closed_document_is_context_only_as_saved(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """An unsaved document closed (a discarded draft, a benchmark's task) is forgotten by
    every source; a saved one is context only as its file on disk reads."""
    saved = tmp_path / "saved_helpers.py"
    saved.write_text("def saved_total(values):\n    return sum(values)  # on_disk_Q7\n")
    client = await start_server(recorder.settings("infill"), root_uri=tmp_path.as_uri())
    drafts = {
        tmp_path / "draft_helpers.py": "def draft_total(values):\n    return 0  # draft_K3\n",
        saved: "def saved_total(values):\n    return 0  # unsaved_edit_M5\n",
    }
    for path, text in drafts.items():
        open_document(client, path.as_uri(), text)
        edit(client, path.as_uri(), 2, "# editing\n")  # a recent region, indexed too
    await ask_in_app(client, tmp_path)
    assert recorder.received("draft_K3") and recorder.received("unsaved_edit_M5")
    for path in drafts:
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(path.as_uri()))
        )
    before = len(recorder.bodies)
    user = tmp_path / "totals.py"
    open_document(client, user.as_uri(), "def total_of(values):\n    return ")
    await inline_at(client, user.as_uri(), 1, len("    return "))
    # The new document's prompts only: work from before the close (a speculation of the
    # next line in app.py) may still arrive.
    later = [body for body in recorder.bodies[before:] if "total_of" in body]
    assert later
    assert not any("draft_K3" in body or "unsaved_edit_M5" in body for body in later)


async def test_a_document_closed_after_its_answer_stays_forgotten(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """Work the answer leaves behind (filling the document's runs after a pause) must not
    bring a document closed meanwhile back as context: one task after another, each closed
    once answered, as a benchmark or a user trying things in scratch files does."""
    client = await start_server(recorder.settings(), root_uri=tmp_path.as_uri())
    for number, name in enumerate(("alpha_first_R2", "beta_second_S4", "gamma_third_T6")):
        uri = (tmp_path / f"{number}.py").as_uri()
        open_document(client, uri, f"def {name}(x):\n    '''About {name}.'''\n    \n")
        await inline_at(client, uri, 2, 4)
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        await asyncio.sleep(1.0)  # longer than the pause before background work
    last = [body for body in recorder.bodies if "gamma_third_T6" in body]
    assert last
    assert not any("alpha_first_R2" in body or "beta_second_S4" in body for body in last)

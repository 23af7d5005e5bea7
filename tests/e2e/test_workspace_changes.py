"""A workspace that changes under the index, through the LSP: files deleted, renamed, made
unreadable or replaced (by new text, a folder, a FIFO) while it is indexed, and workspace
folders added and removed mid-index.

The `infill` engine points at the recording server (no model is loaded); what became context
is read in the bodies it received.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import (
    SERVER_COMMAND,
    StartServer,
    audited_env,
    editor_capabilities,
    inline_at,
    network_attempts,
)
from tests.e2e.recording_server import SUGGESTION, RecordingServer, recording_server
from tests.e2e.served_workspace import QUIET, ask_at_end, bodies_since, sent_text

pytestmark = pytest.mark.loads_no_model

SHARED = "account_zq, region_zq, ledger_zq"
QUERY = f"def report_zq({SHARED}):\n    return ledger_zq\n\n\ntotal = "


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


def fill(folder: Path, count: int) -> None:
    """`count` small files that look like nothing the tests ask about."""
    for number in range(count):
        sub = folder / f"m_filler_{number // 200:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{number:05d}.py").write_text(f"def f{number}(n):\n    return n + {number}\n")


def marked(name: str) -> str:
    """A file similar-code search picks for QUERY, carrying `name` as its mark."""
    return f"def {name.lower()}_zq({SHARED}):\n    return '{name}'\n"


async def sent_for(
    client: LanguageClient,
    recorder: RecordingServer,
    path: Path,
    text: str = QUERY,
    keep_open: bool = False,
) -> str:
    """What went out for a new document at `path` (it must get the suggestion). Closed
    after (unless `keep_open`), so that it is no context for the next one."""
    start = len(recorder.bodies)
    result = await ask_at_end(client, path, text)
    assert [item.insert_text for item in result.items] == [SUGGESTION], path
    if not keep_open:
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(path.as_uri()))
        )
    return "".join(sent_text(body) for body in bodies_since(recorder, start))


def churn(root: Path, stop: threading.Event) -> int:
    """Delete, rename, lock, replace files and folders under the index until `stop`."""
    late = root / "z_late"
    (late / "deleted_zq.py").unlink()
    (late / "renamed_zq.py").rename(late / "renamed_again_zq.py")
    os.chmod(late / "locked_zq.py", 0)
    replacement = late / "replaced_zq.tmp"
    replacement.write_text("def replaced_zq(new_R2):\n    return 'REPLACED_NEW'\n")
    os.replace(replacement, late / "replaced_zq.py")  # as editors save
    (late / "fifo_zq.py").unlink()
    os.mkfifo(late / "fifo_zq.py")
    (late / "folder_zq" / "inner.py").unlink()
    (late / "folder_zq").rmdir()
    (late / "folder_zq").write_text("x = 1\n")
    rounds = 0
    while not stop.is_set():
        churned = root / "m_filler_00" / f"churn_{rounds % 50}.py"
        churned.write_text(f"def churn_{rounds}(n):\n    return n\n")
        os.replace(churned, churned.with_suffix(".moved.py"))
        churned.with_suffix(".moved.py").unlink()
        rounds += 1
    return rounds


async def test_files_changing_while_indexed_break_nothing(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    fill(tmp_path, 1500)
    late = tmp_path / "z_late"
    (late / "folder_zq").mkdir(parents=True)
    (late / "folder_zq" / "inner.py").write_text("y = 2\n")
    for name in ("deleted", "renamed", "locked", "fifo"):
        (late / f"{name}_zq.py").write_text(f"def {name}_zq(gone_{name}_D1):\n    return 0\n")
    (late / "replaced_zq.py").write_text("def replaced_zq(old_R1):\n    return 'REPLACED_OLD'\n")
    (tmp_path / "zz_last").mkdir()
    (tmp_path / "zz_last" / "last_zq.py").write_text(marked("LAST_W9"))
    settings = recorder.settings("infill", contextTokens=2048, **QUIET)
    client = await start_server(settings, root_uri=tmp_path.as_uri())
    stop = threading.Event()
    churned: list[int] = []
    changer = threading.Thread(target=lambda: churned.append(churn(tmp_path, stop)))
    changer.start()
    try:
        waits = [await answer_time(client, recorder, tmp_path, n) for n in range(10)]
    finally:
        stop.set()
        changer.join()
    imports = "".join(f"from z_late.{n}_zq import {n}_zq\n" for n in ("deleted", "replaced"))
    sent = await sent_for(client, recorder, tmp_path / "imports_zq.py", imports + "\nvalue = ")
    # Outlines of the files as they are now: the replacement's, none of the deleted file.
    assert "replaced_zq(new_R2)" in sent and "old_R1" not in sent and "gone_deleted" not in sent
    # Indexing went on to the last file, past everything that changed under it.
    deadline = time.monotonic() + 30
    number = 0
    while "LAST_W9" not in await sent_for(client, recorder, tmp_path / f"last_{number}.py"):
        assert time.monotonic() < deadline, "indexing never reached the last file"
        number += 1
    print(f"churn rounds {churned}, answers while churning: max {max(waits):.2f} s")


async def answer_time(
    client: LanguageClient, recorder: RecordingServer, root: Path, number: int
) -> float:
    started = time.perf_counter()
    await sent_for(client, recorder, root / f"while_{number}.py")
    return time.perf_counter() - started


def workspace_change(client: LanguageClient, added: list[Path], removed: list[Path]) -> None:
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(f.as_uri(), f.name) for f in added],
                removed=[types.WorkspaceFolder(f.as_uri(), f.name) for f in removed],
            )
        )
    )


async def test_folders_added_and_removed_mid_index(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """A folder added mid-index is indexed; once a folder is removed, nothing of it goes out
    again, for documents asked before (whose chosen snippets were kept) and new ones."""
    first, second, third = (tmp_path / name for name in ("first", "second", "third"))
    for folder in (first, second, third):
        fill(folder, 400)
        (folder / "helpers_zq.py").write_text(  # the outline shows the marker
            f"def helper_zq(value='{folder.name.upper()}_HELPER'):\n    return value\n"
        )
        (folder / "similar_zq.py").write_text(marked(f"{folder.name.upper()}_SIMILAR"))
    settings = recorder.settings("infill", contextTokens=2048, **QUIET)
    client = await start_server(settings, workspace_folders=[first, second])
    app = "from helpers_zq import helper_zq\n\n" + QUERY
    workspace_change(client, [third], [])
    assert "FIRST_HELPER" in await sent_for(client, recorder, first / "app.py", app, True)
    await wait_for(client, recorder, third, "THIRD_SIMILAR")  # the added folder is indexed
    start = len(recorder.bodies)
    workspace_change(client, [], [first])
    # Asked again, open since before the removal (its chosen snippets were kept), and new.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=(first / "app.py").as_uri()),
            [types.TextDocumentContentChangeWholeDocument(text=app)],
        )
    )
    lines = app.split("\n")
    assert (await inline_at(client, (first / "app.py").as_uri(), len(lines) - 1, 8)).items
    await sent_for(client, recorder, first / "new.py", app)
    assert "SECOND_HELPER" in await sent_for(client, recorder, second / "app.py", app)
    await wait_for(client, recorder, second, "SECOND_SIMILAR")
    after = "".join(recorder.bodies[start:])
    assert "FIRST_" not in after
    assert "first/" not in after and "first\\\\" not in after


async def wait_for(
    client: LanguageClient, recorder: RecordingServer, folder: Path, mark: str
) -> None:
    """Ask in new documents of `folder` until `mark` goes out (indexing reached it)."""
    deadline = time.monotonic() + 30
    number = 0
    while mark not in await sent_for(client, recorder, folder / f"probe_{number}.py"):
        assert time.monotonic() < deadline, f"{mark} never became context"
        number += 1


def file_events(client: LanguageClient, *changes: tuple[Path, types.FileChangeType]) -> None:
    """What an editor's file watcher reports."""
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(p.as_uri(), t) for p, t in changes])
    )


async def test_deleted_and_renamed_files_are_context_no_more(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """Once a workspace file is deleted, its code never goes out again: not for a document
    whose snippets were chosen before (and kept), not for a new one, whether the editor
    reports the deletion or not. A renamed file (reported) is context under its new name."""
    fill(tmp_path, 40)
    (tmp_path / "deleted_zq.py").write_text(marked("DELETED_W4"))
    (tmp_path / "old_name_zq.py").write_text(marked("RENAMED_W5"))
    client = await start_server(
        recorder.settings("infill", contextTokens=2048, **QUIET), root_uri=tmp_path.as_uri()
    )
    await wait_for(client, recorder, tmp_path, "DELETED_W4")
    kept = tmp_path / "kept.py"
    before = await sent_for(client, recorder, kept, keep_open=True)
    assert "DELETED_W4" in before and "old_name_zq.py" in before
    start = len(recorder.bodies)
    (tmp_path / "deleted_zq.py").unlink()  # not reported
    (tmp_path / "old_name_zq.py").rename(tmp_path / "new_name_zq.py")
    file_events(
        client,
        (tmp_path / "old_name_zq.py", types.FileChangeType.Deleted),
        (tmp_path / "new_name_zq.py", types.FileChangeType.Created),
    )
    lines = QUERY.split("\n")
    assert (await inline_at(client, kept.as_uri(), len(lines) - 1, len(lines[-1]))).items
    fresh = await sent_for(client, recorder, tmp_path / "fresh.py")
    assert "new_name_zq.py" in fresh and "RENAMED_W5" in fresh
    after = "".join(recorder.bodies[start:])
    assert "DELETED_W4" not in after and "old_name_zq" not in after


async def test_similar_code_is_found_after_context_settings_change(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """Settings that rebuild the context (contextMaxFileBytes here; contextTokens from 0)
    leave it indexed: a workspace file's similar code is found again afterwards."""
    fill(tmp_path, 40)
    (tmp_path / "similar_zq.py").write_text(marked("SIMILAR_W6"))
    settings = recorder.settings("infill", contextTokens=0, **QUIET)
    client = await start_server(settings, root_uri=tmp_path.as_uri())
    assert "SIMILAR_W6" not in await sent_for(client, recorder, tmp_path / "off.py")
    for changed in ({"contextTokens": 2048}, {"contextTokens": 2048, "contextMaxFileBytes": 9000}):
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams({**settings, **changed})
        )
        await wait_for(client, recorder, tmp_path, "SIMILAR_W6")


async def test_the_server_asks_to_be_told_of_source_files_on_disk(
    recorder: RecordingServer, tmp_path: Path
) -> None:
    """An editor that lets servers register for file events gets asked for those of the
    source files fimble reads as context (so that deletions and renames reach it)."""
    config = ClientServerConfig(
        server_command=SERVER_COMMAND, server_env=audited_env(None, tmp_path / "audit.log")
    )
    client = await config.start()
    assert isinstance(client, LanguageClient)
    asked: list[types.RegistrationParams] = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        asked.append(params)

    capabilities = editor_capabilities()
    assert capabilities.workspace is not None
    capabilities.workspace.did_change_watched_files = types.DidChangeWatchedFilesClientCapabilities(
        dynamic_registration=True
    )
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities,
                initialization_options=recorder.settings("infill", **QUIET),
                root_uri=tmp_path.as_uri(),
            )
        )
        for _ in range(100):
            if asked:
                break
            await asyncio.sleep(0.05)
        await client.shutdown_session()
    finally:
        await client.stop()
    assert network_attempts(tmp_path / "audit.log") == []
    [registration] = asked[0].registrations if asked else []
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    options = registration.register_options
    assert isinstance(options, dict), options
    [watcher] = options["watchers"]
    assert watcher["globPattern"].startswith("**/*.{") and "py" in watcher["globPattern"]


async def test_stats_say_when_the_workspace_is_indexed(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """`fimble/stats` tells when indexing is over (benchmarks wait for it so that their
    snippets do not depend on timing); from then on a file indexed last is context at once."""
    fill(tmp_path, 1500)
    (tmp_path / "z_last").mkdir()
    (tmp_path / "z_last" / "similar_zq.py").write_text(marked("LAST_SIMILAR"))
    client = await start_server(
        recorder.settings("infill", contextTokens=2048, **QUIET), workspace_folders=[tmp_path]
    )
    deadline = time.monotonic() + 60
    while not (await client.protocol.send_request_async("fimble/stats", {})).workspaceIndexed:
        assert time.monotonic() < deadline, "indexing never ended"
        await asyncio.sleep(0.1)
    assert "LAST_SIMILAR" in await sent_for(client, recorder, tmp_path / "app.py")

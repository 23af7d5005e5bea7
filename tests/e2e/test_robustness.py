"""Bad input gets a clear answer and the server keeps serving."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.e2e.conftest import (
    StartServer,
    inline_at,
    only_text,
    open_document,
    send_raw_request,
)
from tests.e2e.generation_hold import GUARD_SECONDS, GenerationHold
from tests.e2e.generation_hold import SERVER_COMMAND as HOLDING_SERVER

pytestmark = pytest.mark.model

ADD = "def add(a, b):\n    return \n"


async def assert_still_serving(client: LanguageClient, uri: str = "file:///work/ok.py") -> None:
    open_document(client, uri, ADD)
    result = await inline_at(client, uri, 1, len("    return "))
    assert "a" in only_text(result) and "b" in only_text(result)


async def test_unknown_document_is_an_error(client: LanguageClient) -> None:
    with pytest.raises(JsonRpcException, match="not open"):
        await inline_at(client, "file:///nowhere/never-opened.py", 0, 0)
    await assert_still_serving(client)


async def test_line_past_the_end_is_an_error_and_column_is_clamped(client: LanguageClient) -> None:
    uri = "file:///work/short.py"
    open_document(client, uri, ADD)
    with pytest.raises(JsonRpcException, match="past the end"):
        await inline_at(client, uri, 40, 0)
    # Past the line's end: answered as at the end of the line ("    return ").
    end = types.Position(1, len("    return "))
    clamped = await inline_at(client, uri, 1, 500)
    assert len(clamped.items) == 1, clamped
    item = clamped.items[0]
    assert item.range is not None and item.range.start == end, item
    assert item.range.end == end, item  # nothing right of the cursor to replace
    assert "a" in str(item.insert_text) and "b" in str(item.insert_text), item
    await assert_still_serving(client)


async def test_huge_and_binary_documents_get_empty_answers(client: LanguageClient) -> None:
    # Each document has the same function first; only what follows it differs. Asked at the
    # same place, a normal document gets a suggestion, so the empty answers are the guards'.
    column = len("    return ")
    documents = {
        "file:///work/normal.py": ADD + "x = 1\n" * 10,
        "file:///work/huge.py": ADD + "x = 1\n" * 400_000,  # 2.4 MB: over maxFileBytes
        "file:///work/blob.py": ADD + "blob = 'ELF\x00\x01\x02garbage'\n",  # a NUL byte
    }
    for uri, text in documents.items():
        open_document(client, uri, text)
    normal = await inline_at(client, "file:///work/normal.py", 1, column)
    assert "a" in only_text(normal) and "b" in only_text(normal)
    assert (await inline_at(client, "file:///work/huge.py", 1, column)).items == ()
    assert (await inline_at(client, "file:///work/blob.py", 1, column)).items == ()
    await assert_still_serving(client)


async def test_unknown_language_still_completes(client: LanguageClient) -> None:
    uri = "file:///work/notes.zig"
    text = 'const std = @import("std");\n\npub fn add(a: i32, b: i32) i32 {\n    return \n}\n'
    open_document(client, uri, text, "zig")
    result = await inline_at(client, uri, 3, len("    return "))
    assert "a" in only_text(result) and "b" in only_text(result)


@pytest.mark.parametrize(
    "position",
    [{"line": -1, "character": 0}, {"line": "one", "character": 0}, {"line": 0}],
)
async def test_malformed_params_get_an_error_with_their_id(
    client: LanguageClient, position: dict[str, object]
) -> None:
    open_document(client, "file:///work/m.py", ADD)
    params = {
        "textDocument": {"uri": "file:///work/m.py"},
        "position": position,
        "context": {"triggerKind": 1},
    }
    with pytest.raises(JsonRpcException, match="Invalid params") as raised:
        await asyncio.wait_for(
            send_raw_request(client, "textDocument/inlineCompletion", params, "malformed-1"), 30
        )
    assert raised.value.code == types.ErrorCodes.InvalidParams
    await assert_still_serving(client)


async def test_missing_model_is_reported_once(start_server: StartServer) -> None:
    client = await start_server({"modelPath": "/nonexistent/model.gguf"})
    open_document(client, "file:///work/a.py", ADD)
    for _ in range(3):
        assert (await inline_at(client, "file:///work/a.py", 1, len("    return "))).items == ()
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1
    assert "/nonexistent/model.gguf" in errors[0].message and "does not exist" in errors[0].message
    # Fixing the setting recovers without a restart.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimble": {"modelPath": ""}})
    )
    result = await inline_at(client, "file:///work/a.py", 1, len("    return "))
    assert "a" in only_text(result)


@pytest.mark.parametrize("damage", ["not-gguf", "truncated"])
async def test_corrupt_model_is_reported(
    start_server: StartServer, tmp_path: Path, damage: str
) -> None:
    bad = tmp_path / "bad.gguf"
    if damage == "not-gguf":
        bad.write_bytes(b"PK\x03\x04" + os.urandom(4096))
    else:
        from engines.model_files import assemble_embedded_model

        with assemble_embedded_model().open("rb") as source:
            bad.write_bytes(source.read(3_000_000))
    client = await start_server({"modelPath": str(bad)})
    open_document(client, "file:///work/a.py", ADD)
    assert (await inline_at(client, "file:///work/a.py", 1, len("    return "))).items == ()
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert ("not a GGUF file" in errors[0]) == (damage == "not-gguf")


async def test_invalid_settings_are_reported_and_defaults_kept(
    start_server: StartServer,
) -> None:
    client = await start_server({"maxTokens": "lots", "colour": "blue", "maxLines": 4})
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert len(warnings) == 1
    assert "maxTokens" in warnings[0] and "colour" in warnings[0]
    await assert_still_serving(client)


async def test_settings_change_disables_a_language(client: LanguageClient) -> None:
    uri = "file:///work/d.py"
    open_document(client, uri, ADD)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimble": {"disabledLanguages": ["python"]}})
    )
    assert (await inline_at(client, uri, 1, len("    return "))).items == ()
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fimble": {"disabledLanguages": []}})
    )
    assert "a" in only_text(await inline_at(client, uri, 1, len("    return ")))


async def test_cancellation_mid_generation_answers_promptly(
    start_server: StartServer, tmp_path: Path
) -> None:
    hold = GenerationHold(tmp_path)
    client = await start_server(env=hold.env(), server_command=HOLDING_SERVER)
    uri = "file:///work/long.py"
    open_document(client, uri, "class Matrix:\n    \n")
    await assert_still_serving(client)  # the model is loaded and warm
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(1, 4),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Invoked
        ),
    )
    hold.arm(uri)
    request = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="to-cancel"
        )
    )
    await hold.held()  # generating: its first piece is out, the worker waits with the rest
    assert not request.done()
    client.cancel_request(types.CancelParams(id="to-cancel"))
    # Answered while the generation is still held: the answer does not wait for the model.
    with pytest.raises(JsonRpcException, match="cancel"):
        await asyncio.wait_for(request, GUARD_SECONDS)
    hold.release()
    # fimble/stats runs after the cancelled job: generation stopped between tokens.
    stats = await client.protocol.send_request_async("fimble/stats", {})
    assert stats.stop_reason == "cancelled"
    assert stats.generated_tokens < 96
    await assert_still_serving(client, "file:///work/after-cancel.py")


async def test_progress_is_reported_while_the_model_loads(start_server: StartServer) -> None:
    client = await start_server(progress=True)
    open_document(client, "file:///work/p.py", ADD)
    # A request sent while loading waits for the model instead of failing.
    result = await inline_at(client, "file:///work/p.py", 1, len("    return "))
    assert "a" in only_text(result)
    kinds = [
        type(report).__name__ for reports in client.progress_reports.values() for report in reports
    ]
    assert kinds[:1] == ["WorkDoneProgressBegin"] and kinds[-1:] == ["WorkDoneProgressEnd"]


def messages_of(client: LanguageClient, kind: types.MessageType) -> list[str]:
    return [m.message for m in client.messages if m.type == kind]


async def test_model_file_removed_corrupted_and_restored_while_serving(
    start_server: StartServer, tmp_path: Path
) -> None:
    from engines.model_files import assemble_embedded_model

    original = assemble_embedded_model()
    model = tmp_path / "model.gguf"
    shutil.copyfile(original, model)
    client = await start_server({"modelPath": str(model)})
    column = len("    return ")

    async def complete(step: str) -> str:
        uri = f"file:///work/{step}.py"  # a new document each time: no remembered answer
        open_document(client, uri, ADD)
        result = await inline_at(client, uri, 1, column)
        return only_text(result) if result.items else ""

    assert "a" in await complete("loaded")

    model.unlink()
    assert await complete("removed") == ""
    assert any("was removed" in m for m in messages_of(client, types.MessageType.Warning))
    assert any("does not exist" in m for m in messages_of(client, types.MessageType.Error))

    shutil.copyfile(original, model)
    assert "a" in await complete("restored")

    # Rewritten in place (as `cp` or a failed download does): truncated under the mapping.
    with model.open("r+b") as stream:
        stream.truncate(3_000_000)
    assert await complete("truncated") == ""
    assert any("changed on disk" in m for m in messages_of(client, types.MessageType.Warning))
    assert any(str(model) in m for m in messages_of(client, types.MessageType.Error)[1:])

    shutil.copyfile(original, model)
    assert "a" in await complete("restored-again")


async def test_a_preset_pulled_after_a_failed_load_is_loaded_on_the_next_request(
    start_server: StartServer, tmp_path: Path
) -> None:
    from engines.model_catalog import preset_named
    from engines.model_files import assemble_embedded_model

    cache = tmp_path / "cache"
    preset = preset_named("qwen2.5-coder-0.5b-base")
    assert preset is not None
    env = {**os.environ, "FIMBLE_CACHE_DIR": str(cache)}
    client = await start_server({"modelPath": preset.name}, env=env)
    uri = "file:///work/pulled.py"
    open_document(client, uri, ADD)
    assert (await inline_at(client, uri, 1, len("    return "))).items == ()
    assert any("not downloaded" in m for m in messages_of(client, types.MessageType.Error))
    # What `fimble models pull` leaves (a GGUF of the same family stands in for the download).
    target = cache / "models" / preset.file_name
    target.parent.mkdir(parents=True)
    shutil.copyfile(assemble_embedded_model(), target)
    result = await inline_at(client, uri, 1, len("    return "))
    assert "a" in only_text(result) and "b" in only_text(result)


async def test_an_edit_while_the_request_gathers_context_stops_it_before_the_model(
    start_server: StartServer, tmp_path: Path
) -> None:
    hold = GenerationHold(tmp_path)
    # No background work: the only context gathering for the document is the request's.
    settings = {"backgroundPrefill": False, "speculateNextLine": False}
    client = await start_server(settings, env=hold.env(), server_command=HOLDING_SERVER)
    await assert_still_serving(client)  # the model is loaded
    uri = "file:///work/edited-while-gathering.py"
    open_document(client, uri, ADD)
    hold.arm_gathering(uri)
    request = asyncio.ensure_future(inline_at(client, uri, 1, len("    return ")))
    await hold.gathering_held()
    at = types.Position(0, 0)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [types.TextDocumentContentChangePartial(range=types.Range(at, at), text="# x\n")],
        )
    )
    await client.protocol.send_request_async("fimble/stats", {})  # the edit was handled
    hold.release_gathering()
    assert (await asyncio.wait_for(request, GUARD_SECONDS)).items == ()
    record = await client.protocol.send_request_async("fimble/stats", {})
    # Cancelled before the worker saw it: no model pass for the text gone.
    assert record.source == "cancelled" and record.passes == 0, record
    assert record.totals.model == 1, record.totals  # the warm-up request only


async def test_notifications_leave_nothing_behind(client: LanguageClient) -> None:
    """pygls kept each notification's future among the running handlers for good: a server
    that is edited all day grew by one future per keystroke. 60 notifications later, no more
    handlers are running than before them."""
    uri = "file:///work/typed.py"
    open_document(client, uri, ADD)
    before = (await client.protocol.send_request_async("fimble/stats", {})).handlersRunning
    for version in range(2, 62):
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(1, 11), types.Position(1, 11)), text="a"
                    )
                ],
            )
        )
    after = (await client.protocol.send_request_async("fimble/stats", {})).handlersRunning
    assert after <= before, (before, after)
    await assert_still_serving(client)

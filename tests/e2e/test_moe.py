"""The mixture-of-experts path, in process: a generated tiny qwen3moe GGUF through the LSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from engines.memory_estimate import estimate_memory, read_gguf_metadata
from tests.e2e.conftest import StartServer, inline_at, open_document
from tests.e2e.tiny_moe import N_EXPERT, N_EXPERT_USED, write_tiny_qwen3moe

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tiny_moe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_qwen3moe(tmp_path_factory.mktemp("moe") / "tiny-qwen3moe.gguf")


def test_the_estimator_reads_the_moe_metadata(tiny_moe: Path) -> None:
    metadata = read_gguf_metadata(tiny_moe)
    assert metadata["general.architecture"] == "qwen3moe"
    assert metadata["qwen3moe.expert_count"] == N_EXPERT
    assert metadata["qwen3moe.expert_used_count"] == N_EXPERT_USED
    # 2 layers x 2 KV heads x (16 + 16) elements x 2 bytes x 512 tokens
    assert estimate_memory(tiny_moe, 512).kv_cache == 2 * 2 * 32 * 2 * 512


async def test_moe_model_completes_through_the_lsp(
    tiny_moe: Path, start_server: StartServer
) -> None:
    client = await start_server({"modelPath": str(tiny_moe), "contextSize": 512, "maxTokens": 8})
    uri = "file:///work/moe.py"
    open_document(client, uri, "def add(a, b):\n    return \n")
    result = await inline_at(client, uri, 1, len("    return "))
    assert isinstance(result, types.InlineCompletionList)  # random weights: text is noise
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert errors == []
    stats = await client.protocol.send_request_async("fimble/stats", {})
    assert stats.prompt_tokens > 0
    assert stats.generated_tokens > 0

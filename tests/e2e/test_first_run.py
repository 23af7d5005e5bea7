"""The first run joins and checks the model: an editor that shows `$/progress` sees each step
named (with its percentage), and a load that cannot write the model says file, cause, fix."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from engines.model_files import DEFAULT_MODEL
from tests.e2e.conftest import StartServer


async def load_reports(client: LanguageClient) -> list[object]:
    """The `$/progress` of the model load, once it ended."""
    for _ in range(3000):  # up to 5 minutes: joining 491 MB on a busy machine
        reports = [report for sent in client.progress_reports.values() for report in sent]
        if any(isinstance(report, types.WorkDoneProgressEnd) for report in reports):
            return reports
        await asyncio.sleep(0.1)
    raise AssertionError(f"the load did not end: {client.progress_reports}")


async def test_the_first_load_names_its_steps(start_server: StartServer, tmp_path: Path) -> None:
    cache = tmp_path / "fresh-cache"  # nothing assembled yet: the slices are joined
    client = await start_server(env={**os.environ, "FIMBLE_CACHE_DIR": str(cache)})
    reports = await load_reports(client)

    begin, *steps, end = reports
    assert isinstance(begin, types.WorkDoneProgressBegin) and begin.title == "fimble: loading model"
    assert all(isinstance(step, types.WorkDoneProgressReport) for step in steps)
    joining = [
        step.percentage
        for step in steps
        if isinstance(step, types.WorkDoneProgressReport)
        and step.message == f"joining and checking {DEFAULT_MODEL.file_name}"
    ]
    assert joining[0] == 0 and joining[-1] == 100 and joining == sorted(joining)
    last = steps[-1]
    assert isinstance(last, types.WorkDoneProgressReport)
    assert last.message == f"loading {DEFAULT_MODEL.file_name} into llama.cpp"
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "model ready"
    assert (cache / DEFAULT_MODEL.file_name).stat().st_size == DEFAULT_MODEL.size


async def test_a_model_that_cannot_be_written_says_where_why_and_what_to_do(
    start_server: StartServer, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "cache"
    not_a_directory.write_text("a file where the cache directory should be")
    client = await start_server(env={**os.environ, "FIMBLE_CACHE_DIR": str(not_a_directory)})
    reports = await load_reports(client)

    end = reports[-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "model failed to load"
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1, errors
    assert str(not_a_directory / DEFAULT_MODEL.file_name) in errors[0]
    assert "FIMBLE_CACHE_DIR" in errors[0] and "free disk space" in errors[0]

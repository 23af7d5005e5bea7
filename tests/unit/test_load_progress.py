"""A model load tells its steps: joining and checking the slices with bytes done, loading;
the terminal shows them as a bar (a TTY) or plain lines; a failure says file, cause, fix."""

from __future__ import annotations

import importlib.resources
import io
from pathlib import Path

import pytest

from engines.load_progress import ByteSteps, LoadStep
from engines.model_files import (
    DEFAULT_MODEL,
    EmbeddedModel,
    ModelFileError,
    assemble_embedded_model,
    file_sha256,
)
from lsp_server.terminal_progress import TerminalProgress


def last_slice() -> Path:
    data = importlib.resources.files(DEFAULT_MODEL.packages[-1]).joinpath("data")
    return next(Path(str(entry)) for entry in data.iterdir() if entry.name.endswith(".bin"))


def test_joining_reports_its_percentages_up_to_the_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIMBLE_CACHE_DIR", str(tmp_path))
    piece = last_slice()
    checked: list[LoadStep] = []
    sha = file_sha256(piece, checked.append)
    size = piece.stat().st_size
    model = EmbeddedModel("x", "x.gguf", DEFAULT_MODEL.packages[-1:], size, sha, "none")
    steps: list[LoadStep] = []
    assert assemble_embedded_model(model, steps.append) == tmp_path / "x.gguf"

    assert {step.title for step in steps} == {"joining and checking x.gguf"}
    percentages = [step.percentage for step in steps]
    assert percentages[0] == 0 and percentages[-1] == 100
    assert percentages == sorted(set(percentages))  # each whole percent at most once
    assert steps[-1].done == steps[-1].total == size
    assert checked[0].title == f"checking {piece.name} (sha256)"
    assert checked[-1].percentage == 100
    steps.clear()
    assemble_embedded_model(model, steps.append)
    assert steps == []  # joined and verified already: nothing to do, nothing to tell


def test_byte_steps_of_an_empty_file_end_at_once() -> None:
    steps: list[LoadStep] = []
    ByteSteps(steps.append, "nothing", 0)
    assert steps == [LoadStep("nothing", 0, 0)]


def test_an_unwritable_cache_names_the_file_the_cause_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_directory = tmp_path / "cache"
    not_a_directory.write_text("a file where the cache directory should be")
    monkeypatch.setenv("FIMBLE_CACHE_DIR", str(not_a_directory))
    with pytest.raises(ModelFileError) as raised:
        assemble_embedded_model(DEFAULT_MODEL)
    message = str(raised.value)
    assert str(not_a_directory / DEFAULT_MODEL.file_name) in message
    assert "File exists" in message or "Not a directory" in message
    assert "FIMBLE_CACHE_DIR" in message and "free disk space" in message


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_and_a_pipe_gets_lines() -> None:
    steps = [
        LoadStep("joining m.gguf", 0, 200_000_000),
        LoadStep("joining m.gguf", 100_000_000, 200_000_000),
        LoadStep("joining m.gguf", 200_000_000, 200_000_000),
        LoadStep("loading m.gguf into llama.cpp"),
    ]
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = TerminalProgress(stream)
        for step in steps:
            progress(step)
        progress.finish()

    assert pipe.getvalue() == "fimble: joining m.gguf\nfimble: loading m.gguf into llama.cpp\n"
    shown = terminal.getvalue()
    assert "\r\x1b[Kfimble: joining m.gguf [" + "#" * 15 + "-" * 15 + "]  50% 100/200 MB" in shown
    assert "[" + "#" * 30 + "] 100% 200/200 MB\n" in shown  # the finished step keeps its line
    assert shown.endswith("fimble: loading m.gguf into llama.cpp ...\r\x1b[K")  # cleared

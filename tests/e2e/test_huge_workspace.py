"""Huge files and a huge workspace, through the LSP: a 2 MiB single line and a 50 MB minified
file (on disk and open) get no suggestion and stall no other document; a workspace of 100,000
files is indexed up to `contextMaxFiles` only, while the server goes on answering.

The `infill` engine points at the recording server (no model is loaded), so an answer's time
is the server's own work: reading the request, gathering context, building the prompt. The
figures are printed (run with -s), not asserted: machines here are shared and noisy.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import StartServer, inline_at, open_document
from tests.e2e.recording_server import RecordingServer, recording_server
from tests.e2e.served_workspace import QUIET, bodies_since, sent_text, timed_answer

pytestmark = pytest.mark.loads_no_model

SHARED = "account_zq, region_zq, ledger_zq"
SMALL = f"def report_zq({SHARED}):\n    return ledger_zq\n\n\ntotal = "
HUGE = {
    "line.py": b"x = [" + b"1, " * 699_050 + b"]\n",  # 2 MiB on one line
    "bundle.min.js": b"var a=[" + b"1," * 25_000_000 + b"];\n",  # 50 MB on one line
}


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


def small_files(root: Path) -> None:
    (root / "helpers_zq.py").write_text(f"def helper_zq({SHARED}):\n    return 1\n")


async def median_answer(client: LanguageClient, root: Path, times: int = 7) -> float:
    """The median time to an answer in a small document (a new one each time)."""
    waits = []
    for number in range(times):
        uri = (root / f"small_{number}.py").as_uri()
        open_document(client, uri, SMALL)
        waits.append(await timed_answer(client, uri, 4, len("total = ")))
    return statistics.median(waits)


async def test_huge_files_get_nothing_and_stall_nothing(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    tidy, huge = tmp_path / "tidy", tmp_path / "huge"
    for root in (tidy, huge):
        root.mkdir()
        small_files(root)
    for name, data in HUGE.items():
        (huge / name).write_bytes(data)
    settings = recorder.settings("infill", **QUIET)
    baseline = await median_answer(await start_server(settings, root_uri=tidy.as_uri()), tidy)
    client = await start_server(settings, root_uri=huge.as_uri())
    on_disk = await median_answer(client, huge)
    start = len(recorder.bodies)
    behind: dict[str, float] = {}
    for name, data in HUGE.items():
        uri = (huge / name).as_uri()
        open_document(client, uri, data.decode(), "javascript" if name.endswith("js") else "python")
        # Asked right behind the huge document: the answer waits for it to be read.
        behind[f"open {name}"] = await timed_answer(client, small_uri(huge), 4, 8)
        assert (await inline_at(client, uri, 0, 5)).items == (), name
        type_at(client, uri, len(data) - 1)  # at the end of its line, as pygls counts units
        behind[f"type in {name}"] = await timed_answer(client, small_uri(huge), 4, 8)
    after_open = await median_answer(client, huge)
    sent = "".join(sent_text(body) for body in bodies_since(recorder, start))
    assert "1, 1, 1, 1" not in sent and "1,1,1,1" not in sent  # neither is context
    print(
        f"\nanswer latency (median of 7): tidy workspace {baseline * 1000:.0f} ms, huge files"
        f" on disk {on_disk * 1000:.0f} ms, huge files open {after_open * 1000:.0f} ms;"
        " asked right behind: "
        + ", ".join(f"{what} {wait * 1000:.0f} ms" for what, wait in behind.items())
    )
    # Speed is reported, not asserted (shared, noisy machines; the figures are in
    # docs/benchmarks.md): every answer above arrived, which is what this test requires.


def small_uri(root: Path) -> str:
    return (root / "small_0.py").as_uri()


def type_at(client: LanguageClient, uri: str, character: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, character), types.Position(0, character)),
                    text="1",
                )
            ],
        )
    )


def many_files(root: Path, folders: int, per_folder: int) -> None:
    for folder in range(folders):
        sub = root / f"d{folder:03d}"
        sub.mkdir()
        for number in range(per_folder):
            descriptor = os.open(sub / f"f{number:04d}.py", os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(descriptor, f"def f{number}(n):\n    return n + {folder}\n".encode())
            os.close(descriptor)


def rss_mib(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak (Linux /proc), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return tuple(int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


async def test_a_workspace_of_100000_files_is_indexed_up_to_the_limit(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    """100 folders of 1,000 files; contextMaxFiles 5,000: the walk stops at the 5,000th file
    (the last of the fifth folder, marked), and a marked file past it is never read."""
    many_files(tmp_path, 100, 999)
    (tmp_path / "d004" / "zz_last_zq.py").write_text(
        f"def last_zq({SHARED}):\n    return 'W5000'\n"
    )
    (tmp_path / "d050" / "zz_past_zq.py").write_text(
        f"def past_zq({SHARED}):\n    return 'W_PAST'\n"
    )
    started = time.perf_counter()
    client = await start_server(recorder.settings("infill", **QUIET), root_uri=tmp_path.as_uri())
    pid = client._server.pid  # type: ignore[attr-defined]
    waits, number, sent = [], 0, ""
    while "W5000" not in sent:
        assert time.perf_counter() - started < 60, "the 5,000th file never became context"
        uri = (tmp_path / f"probe_{number}.py").as_uri()
        begin = len(recorder.bodies)
        open_document(client, uri, SMALL)
        waits.append(await timed_answer(client, uri, 4, len("total = ")))
        sent = "".join(sent_text(body) for body in bodies_since(recorder, begin))
        # Closed: an open probe would be the best similar code for the next one.
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        number += 1
    indexed = time.perf_counter() - started
    rss, peak = rss_mib(pid)
    assert "W_PAST" not in "".join(recorder.bodies)
    print(
        f"\n100,000 files: indexed to the limit within {indexed:.1f} s of start;"
        f" {len(waits)} answers meanwhile, slowest {max(waits) * 1000:.0f} ms;"
        f" server RSS {rss:.0f} MiB (peak {peak:.0f} MiB)"
    )
    assert peak < 1024
    for folder in tmp_path.glob("d[0-9][0-9][0-9]"):  # 400 MB of blocks: not kept for pytest
        shutil.rmtree(folder)

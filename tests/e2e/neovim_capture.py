"""Records Neovim's real terminal screen (tmux) for editors/screenshots/: :checkhealth fimble,
:FimbleStatus, and the suggestion at `return ` (ghost text on 0.12+, the popup before).

Not a test: run by hand, `python -m tests.e2e.neovim_capture NVIM OUT_DIR [PREFIX]`. Neovim
loads the lazy.nvim spec from editors/README.md as the headless test does, with a `fimble` on
PATH that runs this checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.e2e.test_editor_neovim import (
    AREA,
    ATTACHED_NOTICE,
    ROOT,
    Tmux,
    fimble_on_path,
    has_inline_completion,
    lazy_spec,
    server_env,
)

LOAD_SPEC = """
local spec = dofile({spec})
local plugin = vim.tbl_extend("force", {{ name = "fimble" }}, spec)
vim.opt.runtimepath:prepend(plugin.dir)
plugin.config(plugin, spec.opts or {{}})
"""


def capture(nvim: str, out_dir: Path, prefix: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="fimble-capture-"))
    source = work / "shapes.py"
    source.write_text(AREA)
    spec = work / "fimble_spec.lua"
    spec.write_text(lazy_spec(ROOT / "editors" / "README.md", ROOT))
    fimble = fimble_on_path(work / "bin")
    init = work / "init.lua"
    init.write_text(LOAD_SPEC.format(spec=json.dumps(str(spec))) + ATTACHED_NOTICE)
    env = server_env()
    env["PATH"] = f"{fimble.parent}{os.pathsep}{env['PATH']}"
    session = f"fimble-capture-{os.getpid()}"
    command = f"{nvim} --clean -u {init} {source}"
    size = ["-x", "100", "-y", "24"]
    subprocess.run(["tmux", "new-session", "-d", "-s", session, *size, command], env=env,
                   cwd=work, check=True)  # fmt: skip
    tmux = Tmux(session)
    try:
        tmux.wait_for("fimble attached")
        tmux.keys(":checkhealth fimble", "Enter")
        (out_dir / f"{prefix}checkhealth.txt").write_text(tmux.wait_for("engine: "))
        tmux.keys(":tabclose", "Enter", ":FimbleStatus", "Enter")
        (out_dir / f"{prefix}status.txt").write_text(tmux.wait_for("work so far: "))
        tmux.keys("Enter", "2G", "A")
        if not has_inline_completion(nvim):
            tmux.keys("C-x", "C-o")
        name = "ghost-text" if has_inline_completion(nvim) else "completion-item"
        (out_dir / f"{prefix}{name}.txt").write_text(tmux.wait_for("return width * height"))
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)


if __name__ == "__main__":
    capture(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "neovim-")

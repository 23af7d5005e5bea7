// A stand-in for Python, venv and pip (a shell script), so the install runs end to end in the
// unit tests without a network or minutes of pip: `--version` answers FAKE_PYTHON_VERSION,
// `-m venv DIR` copies the script into DIR/bin, `-m pip install ...` prints pip-like lines,
// records its arguments and writes bin/fimble (which prints a version), or fails when FAKE_PIP_FAIL is set.
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const SCRIPT = `#!/bin/sh
PATH=/usr/bin:/bin
if [ "$1" = "--version" ]; then echo "Python \${FAKE_PYTHON_VERSION:-3.12.1}"; exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; exit $?; fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  bin=$(dirname "$0")
  echo "$@" > "$bin/../pip-args"
  echo "Processing /wheels/fimble-0.1.0-py3-none-any.whl"
  echo "Collecting pygls==2.1.1 (from fimble==0.1.0)"
  if [ -n "$FAKE_PIP_FAIL" ]; then
    echo "ERROR: Could not find a version that satisfies the requirement pygls==2.1.1" 1>&2; exit 1
  fi
  echo "Installing collected packages: pygls, fimble"
  echo "Successfully installed fimble-0.1.0 pygls-2.1.1"
  printf '#!/bin/sh\\necho fimble 0.1.0\\n' > "$bin/fimble" && chmod +x "$bin/fimble"; exit 0
fi
exit 2
`;

/** Writes the fake python into a fresh folder and returns its path. */
function fakePython() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-fake-python-"));
  const python = path.join(dir, "python3");
  fs.writeFileSync(python, SCRIPT, { mode: 0o755 });
  return python;
}

module.exports = { fakePython };

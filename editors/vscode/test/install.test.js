// The install steps (src/install.ts) without VS Code: finding a Python, the pip command line,
// pip's lines as progress, PATH look-up, and the whole install against a fake python/pip.
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { test } = require("node:test");

const install = require("../out/install.js");
const { fakePython } = require("./fake_python.js");

test("python candidates: the setting, the Python extension's, then PATH's, no duplicates", () => {
  assert.deepEqual(install.pythonCandidates(" /opt/py/bin/python3 ", "/env/bin/python", "linux"),
    ["/opt/py/bin/python3", "/env/bin/python", "python3", "python"]);
  assert.deepEqual(install.pythonCandidates("", "python3", "linux"), ["python3", "python"]);
  assert.deepEqual(install.pythonCandidates("", undefined, "win32"), ["py", "python3", "python"]);
});

test("python versions: parsed from --version, 3.10 and newer accepted", () => {
  assert.deepEqual(install.parsePythonVersion("Python 3.11.7\n"), [3, 11, 7]);
  assert.deepEqual(install.parsePythonVersion("Python 3.13.0rc2"), [3, 13, 0]);
  assert.deepEqual(install.parsePythonVersion("Python 3.12"), [3, 12, 0]);
  assert.equal(install.parsePythonVersion("bash: python: command not found"), undefined);
  assert.equal(install.isSupportedPython([3, 10, 0]), true);
  assert.equal(install.isSupportedPython([3, 9, 18]), false);
  assert.equal(install.isSupportedPython([2, 7, 18]), false);
  assert.equal(install.isSupportedPython([4, 0, 0]), true);
});

test("findPython skips what does not run and what is too old, and says why", async () => {
  const answers = {
    missing: { code: null, output: "", spawnError: "spawn missing ENOENT" },
    old: { code: 0, output: "Python 3.8.10\n" },
    good: { code: 0, output: "Python 3.10.12\n" },
  };
  const asked = [];
  const run = async (command, args) => {
    asked.push([command, ...args]);
    return answers[command];
  };
  const { found, rejected } = await install.findPython(["missing", "old", "good", "never"], run);
  assert.deepEqual(found, { command: "good", version: [3, 10, 12] });
  assert.deepEqual(asked, [["missing", "--version"], ["old", "--version"], ["good", "--version"]]);
  assert.match(rejected[0], /missing: spawn missing ENOENT/);
  assert.match(rejected[1], /old: Python 3\.8\.10 is older than 3\.10/);
  assert.deepEqual((await install.findPython(["old"], run)).found, undefined);
});

test("pip command line: source last, the user's arguments before it, --upgrade for updates", () => {
  assert.deepEqual(install.pipInstallArgs("/w/fimble.whl", [], false),
    ["-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", "/w/fimble.whl"]);
  assert.deepEqual(install.pipInstallArgs("fimble", ["--find-links", "/wheels"], true).slice(6),
    ["--upgrade", "--find-links", "/wheels", "fimble"]);
});

test("pip's lines as progress: steps shown, noise left out, long lines cut", () => {
  assert.equal(install.pipProgressText("  Collecting numpy>=1.26"), "Collecting numpy>=1.26");
  assert.equal(install.pipProgressText("Building wheel for llama-cpp-python (pyproject.toml): started"),
    "Building wheel for llama-cpp-python (pyproject.toml): started");
  assert.equal(install.pipProgressText("Successfully installed fimble-0.1.0"), "Successfully installed fimble-0.1.0");
  assert.equal(install.pipProgressText("  -- Configuring done (2.1s)"), undefined);
  assert.equal(install.pipProgressText("Installing collected packages: " + "x, ".repeat(60)).length, 90);
});

test("server environment paths per platform", () => {
  const linux = install.serverEnvironment("/store", "linux");
  assert.deepEqual(linux, { venv: "/store/server-venv", python: "/store/server-venv/bin/python",
    fimble: "/store/server-venv/bin/fimble" });
  assert.match(install.serverEnvironment("/store", "win32").fimble, /Scripts.fimble\.exe$/);
});

test("findOnPath finds an executable fimble, not a folder or a plain file", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-path-"));
  const [folder, plain, good] = ["a", "b", "c"].map((name) => path.join(root, name));
  fs.mkdirSync(path.join(folder, "fimble"), { recursive: true });
  fs.mkdirSync(plain);
  fs.writeFileSync(path.join(plain, "fimble"), "");
  fs.mkdirSync(good);
  fs.writeFileSync(path.join(good, "fimble"), "#!/bin/sh\n", { mode: 0o755 });
  const value = [folder, "", plain, good].join(path.delimiter);
  assert.equal(install.findOnPath("fimble", value, "linux"), path.join(good, "fimble"));
  assert.equal(install.findOnPath("fimble", [folder, plain].join(path.delimiter), "linux"), undefined);
  assert.equal(install.findOnPath("fimble", undefined, "linux"), undefined);
});

test("installServer: venv created once, pip run with the source, its lines logged and shown", async () => {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-storage-"));
  const plan = { storageDir: storage, source: "/wheels/fimble-0.1.0-py3-none-any.whl", pipArgs: ["--no-index"],
    pythonCandidates: ["no-such-python-here", fakePython()], upgrade: false, platform: "linux" };
  const logged = [];
  const shown = [];
  const fimble = await install.installServer(plan, (line) => logged.push(line), (text) => shown.push(text));
  assert.equal(fimble, path.join(storage, "server-venv", "bin", "fimble"));
  assert.ok(logged.some((line) => /not using no-such-python-here/.test(line)));
  assert.ok(logged.includes("Successfully installed fimble-0.1.0 pygls-2.1.1"), "pip's output is in the log");
  assert.deepEqual(shown, ["Looking for Python 3.10 or newer", `Creating the environment in ${path.join(storage, "server-venv")}`,
    "pip install", "Processing /wheels/fimble-0.1.0-py3-none-any.whl", "Collecting pygls==2.1.1 (from fimble==0.1.0)",
    "Installing collected packages: pygls, fimble", "Successfully installed fimble-0.1.0 pygls-2.1.1",
    "Checking the installed fimble"]);
  assert.ok(logged.includes("fimble 0.1.0"), "the installed fimble's --version is logged");
  const pipArgs = () => fs.readFileSync(path.join(storage, "server-venv", "pip-args"), "utf8").trim();
  assert.equal(pipArgs(), "-m pip install --disable-pip-version-check --progress-bar off --no-index " + plan.source);
  shown.length = 0;
  await install.installServer({ ...plan, upgrade: true }, () => undefined, (text) => shown.push(text));
  assert.ok(!shown.some((text) => text.startsWith("Creating")), "the environment is reused");
  assert.match(pipArgs(), /install .* --upgrade --no-index/);
});

test("installServer failures name the step", async () => {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-storage-"));
  const plan = { storageDir: storage, source: "/w/fimble.whl", pipArgs: [], pythonCandidates: ["no-such-python-here"],
    upgrade: false, platform: "linux" };
  await assert.rejects(install.installServer(plan, () => undefined, () => undefined),
    (error) => error.step === "find Python" && /set fimble\.pythonPath/.test(error.detail));
  process.env.FAKE_PYTHON_VERSION = "3.9.2";
  try {
    await assert.rejects(install.installServer({ ...plan, pythonCandidates: [fakePython()] }, () => undefined, () => undefined),
      (error) => error.step === "find Python");
  } finally {
    delete process.env.FAKE_PYTHON_VERSION;
  }
  process.env.FAKE_PIP_FAIL = "1";
  try {
    await assert.rejects(install.installServer({ ...plan, pythonCandidates: [fakePython()] }, () => undefined, () => undefined),
      (error) => error.step === "pip install" && /exit 1: ERROR: Could not find a version/.test(error.detail));
  } finally {
    delete process.env.FAKE_PIP_FAIL;
  }
});

// activate() against a stub `vscode` module and a recording LanguageClient: no VS Code runs
// here (see editors/README.md). Checks the wiring: which server is started with which
// settings, the status bar through loading and errors, the commands, the toggle, and the offer
// to install the server when none is found (against a fake python/pip, test/fake_python.js).
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const Module = require("node:module");
const { test, beforeEach, afterEach } = require("node:test");

const packageJSON = require("../package.json");
const { fakePython } = require("./fake_python.js");

function makeStub(state) {
  const listeners = [];
  const configuration = () => ({
    get: (name, fallback) => (name in state.settings ? state.settings[name] : fallback),
    inspect: (name) => (name in state.settings ? { globalValue: state.settings[name] } : {}),
    update: async (name, value) => {
      state.settings[name] = value;
      await state.configurationChanged(name);
    },
  });
  state.configurationChanged = async (name) => {
    for (const listener of listeners) {
      await listener({ affectsConfiguration: (key) => key === "fimble" || key === `fimble.${name}` });
    }
  };
  return {
    StatusBarAlignment: { Left: 1, Right: 2 },
    ConfigurationTarget: { Global: 1 },
    ThemeColor: class { constructor(id) { this.id = id; } },
    Uri: { file: (fsPath) => ({ fsPath }) },
    ProgressLocation: { Notification: 15 },
    window: {
      showInformationMessage: async (message, ...buttons) => {
        state.messages.push({ kind: "info", message, buttons });
        return buttons.length ? state.answer : undefined;
      },
      showErrorMessage: async (message, ...buttons) => {
        state.messages.push({ kind: "error", message, buttons });
        return state.errorAnswer;
      },
      showOpenDialog: async (options) => {
        state.openDialogs.push(options);
        return state.picked === undefined ? undefined : [{ fsPath: state.picked }];
      },
      withProgress: async (options, task) => {
        state.progress.push({ options, messages: [] });
        const report = ({ message }) => state.progress.at(-1).messages.push(message);
        return task({ report }, { onCancellationRequested: () => ({ dispose() {} }) });
      },
      createOutputChannel: (name, options) => {
        state.outputChannel = { name, options, lines: [], shown: false };
        state.log = state.outputChannel;
        return {
          appendLine: (line) => state.outputChannel.lines.push(line),
          show: () => { state.outputChannel.shown = true; },
          dispose: () => {},
        };
      },
      createStatusBarItem: () => {
        state.status = { history: [], show() { this.history.push(this.text); }, dispose() {} };
        return state.status;
      },
    },
    commands: {
      registerCommand: (name, handler) => {
        state.commands[name] = handler;
        return { dispose() {} };
      },
    },
    workspace: {
      workspaceFolders: [{ uri: { fsPath: "/project" } }],
      getConfiguration: () => configuration(),
      onDidChangeConfiguration: (listener) => {
        listeners.push(listener);
        return { dispose() {} };
      },
    },
    extensions: {
      getExtension: (id) => {
        if (id === "fimble.fimble-vscode") return { packageJSON };
        if (id === "ms-python.python" && state.interpreter) {
          return {
            isActive: true,
            exports: {
              environments: {
                getActiveEnvironmentPath: () => ({ path: state.interpreter }),
                resolveEnvironment: async () => ({
                  executable: { uri: { fsPath: state.interpreter } },
                }),
              },
            },
          };
        }
        return undefined;
      },
    },
  };
}

function makeClientModule(state) {
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, notifications: [] });
      state.clients.push(this);
    }
    registerProposedFeatures() { this.proposed = true; }
    onDidChangeState(listener) { this.stateListener = listener; }
    async start() {
      if (state.startFails) throw new Error("spawn fimble ENOENT");
      this.started = true;
    }
    async stop() { this.stopped = true; }
    async sendRequest(method, params) {
      assert.equal(method, "fimble/stats");
      assert.deepEqual(params, {}, "pygls refuses a custom request without params");
      // Without an engine the server still reports its (empty) request figures.
      return state.modelLoads ? { prompt_tokens: 0, engine: state.engine } : { recent: [] };
    }
    async sendNotification(method, params) { this.notifications.push({ method, params }); }
  }
  return { LanguageClient, State: { Stopped: 1, Starting: 3, Running: 2 } };
}

let state;
let extension;

beforeEach(() => {
  state = {
    settings: {}, commands: {}, clients: [], modelLoads: true, engine: { kind: "local", remote: false },
    messages: [], openDialogs: [], progress: [],
  };
  // PATH with a `fimble` of its own, so no test depends on the machine's PATH.
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-path-"));
  fs.writeFileSync(path.join(bin, "fimble"), "#!/bin/sh\n", { mode: 0o755 });
  state.pathFimble = path.join(bin, "fimble");
  process.env.PATH = bin;
  const stub = makeStub(state);
  const clientModule = makeClientModule(state);
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    if (request === "vscode") return stub;
    if (request === "vscode-languageclient/node") return clientModule;
    return load.call(this, request, parent, isMain);
  };
  const compiled = require.resolve("../out/extension.js");
  delete require.cache[compiled];
  extension = require(compiled);
  Module._load = load;
});

const savedPath = process.env.PATH;
afterEach(() => { process.env.PATH = savedPath; });

const storage = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-storage-"));
const context = (storageDir = storage) => ({ subscriptions: [], globalStorageUri: { fsPath: storageDir } });

test("starts `fimble serve` from PATH with inline completion and the user's settings", async () => {
  state.settings = { maxTokens: 32, serverPath: "", enable: true };
  await extension.activate(context());
  const [client] = state.clients;
  assert.deepEqual(client.serverOptions.command, state.pathFimble);
  assert.deepEqual(client.serverOptions.args, ["serve"]);
  // TransportKind.stdio would make the client append `--stdio`, which `fimble serve` refuses.
  assert.equal(client.serverOptions.transport, undefined);
  assert.equal(client.proposed, true, "registerProposedFeatures() brings inline completion");
  assert.deepEqual(client.clientOptions.initializationOptions, { maxTokens: 32 });
  assert.deepEqual(Object.keys(state.commands).sort(),
    ["fimble.installServer", "fimble.restart", "fimble.showLog", "fimble.toggle"]);
  assert.deepEqual(state.messages, [], "no install offer when fimble is found");
  assert.deepEqual(state.status.history, ["$(loading~spin) fimble", "$(sparkle) fimble"]);
});

test("finds fimble in the Python extension's selected environment", async () => {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-env-"));
  fs.writeFileSync(path.join(bin, "fimble"), "");
  state.interpreter = path.join(bin, "python");
  await extension.activate(context());
  assert.equal(state.clients[0].serverOptions.command, path.join(bin, "fimble"));
});

test("serverPath wins; a server that cannot start shows an error", async () => {
  state.settings = { serverPath: "/opt/fimble/bin/fimble" };
  state.startFails = true;
  await extension.activate(context());
  assert.equal(state.clients[0].serverOptions.command, "/opt/fimble/bin/fimble");
  assert.equal(state.status.text, "$(error) fimble");
  assert.match(state.status.tooltip, /could not start/);
  assert.ok(state.outputChannel.lines.some((line) => line.includes("ENOENT")));
  assert.deepEqual(state.messages, [], "a server the user named is not replaced by an offer");
});

test("a model that does not load shows an error", async () => {
  state.modelLoads = false;
  await extension.activate(context());
  assert.equal(state.status.text, "$(error) fimble");
  assert.match(state.status.tooltip, /model did not load/);
});

test("toggle turns ghost text off and on; settings changes reach the server", async () => {
  await extension.activate(context());
  const [client] = state.clients;
  const ask = client.clientOptions.middleware.provideInlineCompletionItems;
  const next = () => "suggestion";
  assert.equal(ask({}, {}, {}, {}, next), "suggestion");
  await state.commands["fimble.toggle"]();
  assert.equal(state.settings.enable, false);
  assert.equal(ask({}, {}, {}, {}, next), undefined);
  assert.equal(state.status.text, "$(circle-slash) fimble");
  await state.commands["fimble.toggle"]();
  assert.equal(ask({}, {}, {}, {}, next), "suggestion");
  const sent = client.notifications.at(-1);
  assert.equal(sent.method, "workspace/didChangeConfiguration");
  assert.deepEqual(sent.params.settings, {}, "enable is the extension's, not the server's");
});

test("restart stops the client and starts a new one; showLog shows the log", async () => {
  await extension.activate(context());
  await state.commands["fimble.restart"]();
  assert.equal(state.clients.length, 2);
  assert.equal(state.clients[0].stopped, true);
  state.commands["fimble.showLog"]();
  assert.equal(state.outputChannel.shown, true);
});

test("a remote engine shows its host in the status bar until the setting is removed", async () => {
  state.engine = { kind: "openai", remote: true, host: "llm.example.com" };
  state.settings = { engine: "openai", remoteUrl: "https://llm.example.com" };
  await extension.activate(context());
  assert.equal(state.status.text, "$(sparkle) fimble (remote: llm.example.com)");
  assert.match(state.status.tooltip, /sent to llm\.example\.com/);
  state.engine = { kind: "local", remote: false };
  delete state.settings.engine;
  await state.configurationChanged("engine");
  const sent = state.clients[0].notifications.at(-1);
  assert.deepEqual(sent.params.settings, { remoteUrl: "https://llm.example.com" });
  assert.equal(state.status.text, "$(sparkle) fimble");
});

test("no fimble anywhere: the offer, and 'Not now' leaves the status bar saying so", async () => {
  process.env.PATH = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-empty-path-"));
  state.answer = "Not now";
  await extension.activate(context(fs.mkdtempSync(path.join(os.tmpdir(), "fimble-storage-"))));
  await extension.installOfferAnswered();
  assert.equal(state.clients.length, 0);
  const [offer] = state.messages;
  assert.match(offer.message, /no fimble server found/);
  assert.deepEqual(offer.buttons, ["Install fimble", "Choose executable", "Not now"]);
  assert.equal(state.status.text, "$(warning) fimble");
  assert.equal(state.status.command, "fimble.installServer");
});

test("'Install fimble' installs into global storage with progress, then starts that server", async () => {
  process.env.PATH = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-empty-path-"));
  const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-storage-"));
  state.settings = { pythonPath: fakePython(), installSource: "/wheels/fimble-0.1.0-py3-none-any.whl",
    pipArgs: ["--no-index"] };
  state.answer = "Install fimble";
  await extension.activate(context(storageDir));
  await extension.installOfferAnswered();
  const fimble = path.join(storageDir, "server-venv", "bin", "fimble");
  assert.equal(state.clients.length, 1);
  assert.equal(state.clients[0].serverOptions.command, fimble);
  assert.equal(state.status.text, "$(sparkle) fimble");
  const [progress] = state.progress;
  assert.equal(progress.options.location, 15);
  assert.equal(progress.options.title, "fimble: installing the server");
  assert.ok(progress.messages.includes("Successfully installed fimble-0.1.0 pygls-2.1.1"), progress.messages);
  assert.ok(state.log.lines.includes("Collecting pygls==2.1.1 (from fimble==0.1.0)"), "pip's output in the log");
  assert.deepEqual(state.clients[0].clientOptions.initializationOptions, {}, "install settings stay client-side");
  // "Install or Update Server" later: pip --upgrade into the same environment, server restarted.
  await state.commands["fimble.installServer"]();
  assert.equal(state.clients.length, 2);
  assert.equal(state.clients[0].stopped, true);
  const pipArgs = fs.readFileSync(path.join(storageDir, "server-venv", "pip-args"), "utf8");
  assert.match(pipArgs, /--upgrade --no-index \/wheels\/fimble-0\.1\.0-py3-none-any\.whl/);
});

test("an install without fimble.installSource asks for the wheel and keeps the answer", async () => {
  process.env.PATH = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-empty-path-"));
  state.settings = { pythonPath: fakePython() };
  state.answer = "Install fimble";
  state.picked = "/downloads/fimble-0.1.0-py3-none-any.whl";
  await extension.activate(context(fs.mkdtempSync(path.join(os.tmpdir(), "fimble-storage-"))));
  await extension.installOfferAnswered();
  assert.equal(state.openDialogs.length, 1);
  assert.equal(state.settings.installSource, state.picked);
  assert.equal(state.clients.length, 1);
});

test("a failed install names the step, offers the log, and does not offer again", async () => {
  process.env.PATH = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-empty-path-"));
  state.settings = { pythonPath: fakePython(), installSource: "/w/fimble.whl" };
  state.answer = "Install fimble";
  state.errorAnswer = "Show Log";
  process.env.FAKE_PIP_FAIL = "1";
  try {
    await extension.activate(context(fs.mkdtempSync(path.join(os.tmpdir(), "fimble-storage-"))));
    await extension.installOfferAnswered();
  } finally {
    delete process.env.FAKE_PIP_FAIL;
  }
  const error = state.messages.find((message) => message.kind === "error");
  assert.match(error.message, /failed at "pip install": exit 1: ERROR: Could not find a version/);
  assert.deepEqual(error.buttons, ["Show Log"]);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(state.outputChannel.shown, true);
  assert.equal(state.messages.filter((message) => message.buttons.includes("Install fimble")).length, 1);
  assert.equal(state.clients.length, 0);
  assert.equal(state.status.text, "$(warning) fimble");
});

test("'Choose executable' saves fimble.serverPath and starts it", async () => {
  process.env.PATH = fs.mkdtempSync(path.join(os.tmpdir(), "fimble-empty-path-"));
  state.answer = "Choose executable";
  state.picked = "/opt/fimble/bin/fimble";
  await extension.activate(context(fs.mkdtempSync(path.join(os.tmpdir(), "fimble-storage-"))));
  await extension.installOfferAnswered();
  assert.equal(state.settings.serverPath, "/opt/fimble/bin/fimble");
  assert.equal(state.clients.at(-1).serverOptions.command, "/opt/fimble/bin/fimble");
});

test("a fimble on PATH that does not start (a stale shim): the error, then the install offer", async () => {
  state.startFails = true;
  state.answer = "Not now";
  await extension.activate(context());
  await extension.installOfferAnswered();
  assert.equal(state.status.text, "$(error) fimble");
  const [offer] = state.messages;
  assert.equal(offer.message, `fimble: ${state.pathFimble} did not start (see the log). ` +
    "Install it into a private environment for this extension?");
  assert.deepEqual(offer.buttons, ["Install fimble", "Choose executable", "Not now"]);
});

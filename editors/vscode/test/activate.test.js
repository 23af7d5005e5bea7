// activate() against a stub `vscode` module and a recording LanguageClient: no VS Code runs
// here (see editors/README.md). Checks the wiring: which server is started with which
// settings, the status bar through loading and errors, the commands, the toggle.
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const Module = require("node:module");
const { test, beforeEach } = require("node:test");

const packageJSON = require("../package.json");

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
    window: {
      createOutputChannel: (name, options) => {
        state.outputChannel = { name, options, lines: [], shown: false };
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
  };
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

const context = () => ({ subscriptions: [] });

test("starts `fimble serve` from PATH with inline completion and the user's settings", async () => {
  state.settings = { maxTokens: 32, serverPath: "", enable: true };
  await extension.activate(context());
  const [client] = state.clients;
  assert.deepEqual(client.serverOptions.command, "fimble");
  assert.deepEqual(client.serverOptions.args, ["serve"]);
  // TransportKind.stdio would make the client append `--stdio`, which `fimble serve` refuses.
  assert.equal(client.serverOptions.transport, undefined);
  assert.equal(client.proposed, true, "registerProposedFeatures() brings inline completion");
  assert.deepEqual(client.clientOptions.initializationOptions, { maxTokens: 32 });
  assert.deepEqual(Object.keys(state.commands).sort(), ["fimble.restart", "fimble.showLog", "fimble.toggle"]);
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

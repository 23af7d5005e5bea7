// fimble for VS Code: starts `fimble serve` and shows its suggestions as ghost text.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import {
  InstallError,
  findOnPath,
  installServer,
  pythonCandidates,
  serverEnvironment,
} from "./install";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
} from "vscode-languageclient/node";

const SECTION = "fimble";
// Settings of the extension itself; every other `fimble.*` setting goes to the server.
const EXTENSION_ONLY = new Set([
  "enable", "serverPath", "serverArgs", "pythonPath", "installSource", "pipArgs",
]);

let client: LanguageClient | undefined;
let status: vscode.StatusBarItem;
let log: vscode.LogOutputChannel;
let remoteHost: string | undefined; // where prompts go while a remote engine is in use
let installing = false;
let installOffer: Promise<void> | undefined; // the "no fimble found" notification, while shown

/** Resolves once the last "no fimble found" offer was answered and acted on (for tests). */
export function installOfferAnswered(): Promise<void> {
  return installOffer ?? Promise.resolve();
}

/** The server's settings (camelCase, as in package.json) from the user's configuration. */
export function serverSettings(config: vscode.WorkspaceConfiguration): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  const declared = Object.keys(
    vscode.extensions.getExtension("fimble.fimble-vscode")?.packageJSON?.contributes?.configuration
      ?.properties ?? {},
  );
  for (const key of declared) {
    const name = key.slice(SECTION.length + 1);
    if (EXTENSION_ONLY.has(name)) {
      continue;
    }
    const inspected = config.inspect(name);
    const set =
      inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    if (set !== undefined) {
      settings[name] = set;
    }
  }
  return settings;
}

interface PythonApi {
  environments: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
    resolveEnvironment(
      env: { path: string },
    ): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
}

/** The interpreter selected in the Python extension, if it is there. */
async function pythonExtensionInterpreter(): Promise<string | undefined> {
  const python = vscode.extensions.getExtension<PythonApi>("ms-python.python");
  if (!python) {
    return undefined;
  }
  try {
    const api = python.isActive ? python.exports : await python.activate();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const active = api.environments.getActiveEnvironmentPath(folder);
    const resolved = await api.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath;
  } catch (error) {
    log.appendLine(`fimble: the Python extension did not say which environment: ${error}`);
    return undefined;
  }
}

/** `fimble` beside the selected Python interpreter, if the Python extension is there. */
export async function fimbleInPythonEnvironment(): Promise<string | undefined> {
  const interpreter = await pythonExtensionInterpreter();
  if (!interpreter) {
    return undefined;
  }
  const name = process.platform === "win32" ? "fimble.exe" : "fimble";
  const candidate = path.join(path.dirname(interpreter), name);
  return fs.existsSync(candidate) ? candidate : undefined;
}

/**
 * The server to start: fimble.serverPath, else the Python extension's environment, else the
 * private environment this extension installed (there only if the user asked for it), else
 * PATH. Undefined when there is none.
 */
export async function serverCommand(
  config: vscode.WorkspaceConfiguration,
  storageDir: string,
): Promise<{ command: string; args: string[] } | undefined> {
  const args = config.get<string[]>("serverArgs", ["serve"]);
  const configured = config.get<string>("serverPath", "").trim();
  const privateServer = serverEnvironment(storageDir, process.platform).fimble;
  const command =
    configured ||
    (await fimbleInPythonEnvironment()) ||
    (fs.existsSync(privateServer) ? privateServer : undefined) ||
    findOnPath("fimble", process.env.PATH, process.platform);
  return command ? { command, args } : undefined;
}

function showStatus(text: string, tooltip: string, error = false): void {
  status.text = text;
  status.tooltip = tooltip;
  status.backgroundColor = error
    ? new vscode.ThemeColor("statusBarItem.errorBackground")
    : undefined;
  status.show();
}

function enabled(): boolean {
  return vscode.workspace.getConfiguration(SECTION).get<boolean>("enable", true);
}

/** The host a remote engine sends code to, from the `engine` entry of `fimble/stats`. */
export function remoteHostOf(stats: Record<string, unknown> | undefined): string | undefined {
  const engine = stats?.engine as { remote?: boolean; host?: string } | undefined;
  return engine?.remote ? (engine.host ?? "unknown host") : undefined;
}

function showReady(): void {
  if (enabled() && remoteHost !== undefined) {
    showStatus(
      `$(sparkle) fimble (remote: ${remoteHost})`,
      `fimble: ready; the code around the cursor is sent to ${remoteHost} (click to turn completion off)`,
    );
  } else if (enabled()) {
    showStatus("$(sparkle) fimble", "fimble: ready (click to turn completion off)");
  } else {
    showStatus("$(circle-slash) fimble", "fimble: completion off (click to turn it on)");
  }
}

/** Ask the server which engine is in use (answered once it has loaded or failed) and show it. */
async function showEngine(): Promise<void> {
  const stats = await client?.sendRequest<Record<string, unknown>>("fimble/stats", {});
  if (stats?.engine === undefined) {
    showStatus("$(error) fimble", "fimble: the model did not load (see the log)", true);
    return;
  }
  remoteHost = remoteHostOf(stats);
  showReady();
}

async function start(context: vscode.ExtensionContext, offerInstall = true): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const found = await serverCommand(config, context.globalStorageUri.fsPath);
  if (!found) {
    log.appendLine("fimble: no fimble found (fimble.serverPath, the Python extension's environment, PATH)");
    showStatus("$(warning) fimble", "fimble: no server found (click to install it)", true);
    status.command = "fimble.installServer";
    if (offerInstall) {
      installOffer = offerToInstall(context, "no fimble server found (fimble.serverPath, the Python extension's environment, PATH)");
    }
    return;
  }
  status.command = "fimble.toggle";
  const { command, args } = found;
  log.appendLine(`fimble: starting ${command} ${args.join(" ")}`);
  // No `transport`: with TransportKind.stdio the client appends `--stdio` to the arguments,
  // which `fimble serve` refuses (found in the code-server run). Plain stdio is the default.
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    initializationOptions: serverSettings(config),
    outputChannel: log,
    middleware: {
      provideInlineCompletionItems: (document, position, inlineContext, token, next) =>
        enabled() ? next(document, position, inlineContext, token) : undefined,
      provideCompletionItem: () => undefined, // ghost text only: no duplicate popup item
    },
  };
  client = new LanguageClient("fimble", "fimble", serverOptions, clientOptions);
  client.registerProposedFeatures();
  client.onDidChangeState((event) => {
    if (event.newState === State.Stopped) {
      showStatus("$(error) fimble", "fimble: the server stopped (click for the log)", true);
    }
  });
  showStatus("$(loading~spin) fimble", "fimble: loading the model");
  try {
    await client.start();
    await showEngine();
  } catch (error) {
    log.appendLine(`fimble: could not start ${command}: ${error}`);
    showStatus("$(error) fimble", `fimble: could not start ${command} (click for the log)`, true);
    // One the user did not name (a stale pyenv shim on PATH, say): offer the private install.
    if (offerInstall && !config.get<string>("serverPath", "").trim()) {
      installOffer = offerToInstall(context, `${command} did not start (see the log)`);
    }
  }
  context.subscriptions.push({ dispose: () => void client?.stop() });
}

async function stopClient(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop().catch(() => undefined);
  }
}

async function restart(context: vscode.ExtensionContext, offerInstall = true): Promise<void> {
  await stopClient();
  await start(context, offerInstall);
}

async function offerToInstall(context: vscode.ExtensionContext, why: string): Promise<void> {
  const choice = await vscode.window.showInformationMessage(
    `fimble: ${why}. Install it into a private environment for this extension?`,
    "Install fimble",
    "Choose executable",
    "Not now",
  );
  if (choice === "Install fimble") {
    await installAndStart(context, false);
  } else if (choice === "Choose executable") {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: "Use this fimble" });
    if (picked?.[0]) {
      // The configuration listener restarts the server with it.
      await vscode.workspace
        .getConfiguration(SECTION)
        .update("serverPath", picked[0].fsPath, vscode.ConfigurationTarget.Global);
    }
  }
}

/** fimble.installSource, else asked for once (there is no PyPI release to default to). */
async function installSource(): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const configured = config.get<string>("installSource", "").trim();
  if (configured) {
    return configured;
  }
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: "Install fimble from this",
    title: "fimble's wheel, sdist or source folder (saved as fimble.installSource)",
  });
  const source = picked?.[0]?.fsPath;
  if (source) {
    await config.update("installSource", source, vscode.ConfigurationTarget.Global);
  }
  return source;
}

/** Installs (or, with `upgrade`, updates) the private server, then starts whichever server is found. */
async function installAndStart(context: vscode.ExtensionContext, upgrade: boolean): Promise<void> {
  if (installing) {
    void vscode.window.showInformationMessage("fimble: the server is being installed already.");
    return;
  }
  const source = await installSource();
  if (!source) {
    log.appendLine("fimble: install cancelled: no fimble.installSource");
    return;
  }
  const config = vscode.workspace.getConfiguration(SECTION);
  const plan = {
    storageDir: context.globalStorageUri.fsPath,
    source,
    pipArgs: config.get<string[]>("pipArgs", []),
    pythonCandidates: pythonCandidates(
      config.get<string>("pythonPath", ""), await pythonExtensionInterpreter(), process.platform),
    upgrade,
    platform: process.platform,
  };
  installing = true;
  await stopClient(); // a running server's files are about to be replaced
  showStatus("$(loading~spin) fimble", "fimble: installing the server (see the log)");
  log.appendLine(`fimble: installing the server from ${source} into ${plan.storageDir}`);
  try {
    const fimble = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "fimble: installing the server", cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        const report = (message: string) => progress.report({ message });
        return installServer(plan, (line) => log.appendLine(line), report, abort.signal);
      },
    );
    log.appendLine(`fimble: installed ${fimble}`);
  } catch (error) {
    const step = error instanceof InstallError ? error.step : "install";
    const detail = error instanceof InstallError ? error.detail : String(error);
    log.appendLine(`fimble: install failed at "${step}": ${detail}`);
    void vscode.window
      .showErrorMessage(`fimble: installing the server failed at "${step}": ${detail}`, "Show Log")
      .then((choice) => choice === "Show Log" && log.show(true));
  } finally {
    installing = false;
  }
  await start(context, false);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  log = vscode.window.createOutputChannel("fimble", { log: true });
  status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.command = "fimble.toggle";
  context.subscriptions.push(
    log,
    status,
    vscode.commands.registerCommand("fimble.toggle", async () => {
      const config = vscode.workspace.getConfiguration(SECTION);
      await config.update("enable", !enabled(), vscode.ConfigurationTarget.Global);
    }),
    vscode.commands.registerCommand("fimble.restart", () => restart(context)),
    vscode.commands.registerCommand("fimble.showLog", () => log.show(true)),
    vscode.commands.registerCommand("fimble.installServer", () => installAndStart(context, true)),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (!event.affectsConfiguration(SECTION)) {
        return;
      }
      if (event.affectsConfiguration(`${SECTION}.serverPath`) ||
          event.affectsConfiguration(`${SECTION}.serverArgs`)) {
        await restart(context);
        return;
      }
      if (event.affectsConfiguration(`${SECTION}.enable`)) {
        showReady();
      }
      // The settings the user has set, all of them: the server treats what is left out as
      // removed (back to its default), so removing `fimble.engine` stops sending code at once.
      await client?.sendNotification("workspace/didChangeConfiguration", {
        settings: serverSettings(vscode.workspace.getConfiguration(SECTION)),
      });
      await showEngine().catch((error) => log.appendLine(`fimble: no stats: ${error}`));
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}

// Installing the fimble server into a private virtual environment under the extension's global
// storage, for users who have no `fimble` yet. No `vscode` import here: the steps are plain
// functions over paths, settings and child processes, so node's test runner checks them as
// they are (editors/vscode/test/install.test.js).
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** fimble needs this Python or newer (pyproject.toml's requires-python). */
export const MINIMUM_PYTHON: readonly [number, number] = [3, 10];

/** A step of the install that failed: its name goes in the message the user sees. */
export class InstallError extends Error {
  constructor(
    readonly step: string,
    readonly detail: string,
  ) {
    super(`${step}: ${detail}`);
  }
}

/** The interpreters to try, in order, without duplicates: the setting, the Python extension's, PATH's. */
export function pythonCandidates(
  configured: string,
  pythonExtensionInterpreter: string | undefined,
  platform: NodeJS.Platform,
): string[] {
  const onPath = platform === "win32" ? ["py", "python3", "python"] : ["python3", "python"];
  const all = [configured.trim(), pythonExtensionInterpreter ?? "", ...onPath];
  return [...new Set(all.filter((candidate) => candidate !== ""))];
}

/** (major, minor, micro) from `python --version` output such as "Python 3.11.7". */
export function parsePythonVersion(output: string): [number, number, number] | undefined {
  const match = /Python (\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) {
    return undefined;
  }
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

export function isSupportedPython(version: readonly number[]): boolean {
  const [major, minor] = version;
  return major > MINIMUM_PYTHON[0] || (major === MINIMUM_PYTHON[0] && minor >= MINIMUM_PYTHON[1]);
}

/** Where the private environment and its programs are. */
export function serverEnvironment(
  storageDir: string,
  platform: NodeJS.Platform,
): { venv: string; python: string; fimble: string } {
  const venv = path.join(storageDir, "server-venv");
  const bin = path.join(venv, platform === "win32" ? "Scripts" : "bin");
  const exe = platform === "win32" ? ".exe" : "";
  return { venv, python: path.join(bin, `python${exe}`), fimble: path.join(bin, `fimble${exe}`) };
}

/** The arguments after the environment's python that install (or upgrade) fimble from `source`. */
export function pipInstallArgs(source: string, pipArgs: readonly string[], upgrade: boolean): string[] {
  return [
    "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
    ...(upgrade ? ["--upgrade"] : []),
    ...pipArgs,
    source,
  ];
}

/** A short progress text for one line of pip's output, or undefined for lines not worth showing. */
export function pipProgressText(line: string): string | undefined {
  const text = line.trim();
  const steps = [
    /^(Processing|Collecting|Downloading|Building wheel for|Installing build dependencies|Preparing metadata)\b/,
    /^(Installing collected packages|Successfully installed|Requirement already satisfied)\b/,
    /^(Looking in|Obtaining|Created wheel for|Using cached)\b/,
  ];
  if (!steps.some((step) => step.test(text))) {
    return undefined;
  }
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

/** `fimble` in the directories of a PATH value, the way a shell would find it. */
export function findOnPath(
  name: string,
  pathValue: string | undefined,
  platform: NodeJS.Platform,
): string | undefined {
  const names = platform === "win32" ? [`${name}.exe`, `${name}.cmd`] : [name];
  for (const dir of (pathValue ?? "").split(path.delimiter)) {
    for (const file of names) {
      const candidate = dir ? path.join(dir, file) : "";
      if (candidate && isExecutableFile(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export interface ProcessResult {
  code: number | null;
  output: string;
  spawnError?: string;
}

/** Runs a program, handing each line of its stdout and stderr to `onLine` as it comes. */
export function runProcess(
  command: string,
  args: readonly string[],
  onLine: (line: string) => void,
  abort?: AbortSignal,
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { signal: abort, env: { ...process.env, PYTHONUNBUFFERED: "1" } });
    let output = "";
    let pending = "";
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      const lines = (pending + text).split(/\r?\n|\r/);
      pending = lines.pop() ?? "";
      lines.filter((line) => line.trim() !== "").forEach(onLine);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (error) => resolve({ code: null, output, spawnError: error.message }));
    child.on("close", (code) => {
      if (pending.trim() !== "") {
        onLine(pending);
      }
      resolve({ code, output });
    });
  });
}

export interface FoundPython {
  command: string;
  version: [number, number, number];
}

/** The first candidate that runs and is new enough; `rejected` says why each before it was not. */
export async function findPython(
  candidates: readonly string[],
  run: (command: string, args: readonly string[]) => Promise<ProcessResult> = (command, args) =>
    runProcess(command, args, () => undefined),
): Promise<{ found?: FoundPython; rejected: string[] }> {
  const rejected: string[] = [];
  for (const command of candidates) {
    const result = await run(command, ["--version"]);
    const version = result.code === 0 ? parsePythonVersion(result.output) : undefined;
    if (!version) {
      rejected.push(`${command}: ${result.spawnError ?? `did not run (${result.output.trim() || `exit ${result.code}`})`}`);
    } else if (!isSupportedPython(version)) {
      rejected.push(`${command}: Python ${version.join(".")} is older than ${MINIMUM_PYTHON.join(".")}`);
    } else {
      return { found: { command, version }, rejected };
    }
  }
  return { rejected };
}

export interface InstallPlan {
  storageDir: string;
  source: string;
  pipArgs: readonly string[];
  pythonCandidates: readonly string[];
  upgrade: boolean;
  platform: NodeJS.Platform;
}

/**
 * The install, step by step: a Python, the environment (created once), `pip install`, the
 * `fimble` it made (run once with --version). Throws InstallError naming the step. Returns the
 * path of `fimble`.
 */
export async function installServer(
  plan: InstallPlan,
  log: (line: string) => void,
  progress: (text: string) => void,
  abort?: AbortSignal,
): Promise<string> {
  const environment = serverEnvironment(plan.storageDir, plan.platform);
  progress("Looking for Python 3.10 or newer");
  const { found, rejected } = await findPython(plan.pythonCandidates);
  rejected.forEach((reason) => log(`fimble install: not using ${reason}`));
  if (!found) {
    throw new InstallError(
      "find Python",
      `no Python ${MINIMUM_PYTHON.join(".")}+ found (tried ${plan.pythonCandidates.join(", ")}); set fimble.pythonPath`,
    );
  }
  log(`fimble install: using ${found.command} (Python ${found.version.join(".")})`);
  if (!fs.existsSync(environment.python)) {
    progress(`Creating the environment in ${environment.venv}`);
    fs.mkdirSync(plan.storageDir, { recursive: true });
    await runStep("create the environment", found.command, ["-m", "venv", environment.venv], log, abort);
  }
  progress("pip install");
  const args = pipInstallArgs(plan.source, plan.pipArgs, plan.upgrade);
  await runStep("pip install", environment.python, args, (line) => {
    log(line);
    const text = pipProgressText(line);
    if (text) {
      progress(text);
    }
  }, abort);
  if (!fs.existsSync(environment.fimble)) {
    throw new InstallError("pip install", `it finished but made no ${environment.fimble}`);
  }
  progress("Checking the installed fimble");
  await runStep("check the installed fimble", environment.fimble, ["--version"], log, abort);
  return environment.fimble;
}

async function runStep(
  step: string,
  command: string,
  args: readonly string[],
  log: (line: string) => void,
  abort?: AbortSignal,
): Promise<void> {
  log(`fimble install: ${command} ${args.join(" ")}`);
  const result = await runProcess(command, args, log, abort);
  if (abort?.aborted) {
    throw new InstallError(step, "cancelled");
  }
  if (result.spawnError !== undefined || result.code !== 0) {
    const last = result.output.trim().split(/\r?\n/).slice(-1)[0] ?? "";
    throw new InstallError(step, result.spawnError ?? `exit ${result.code}: ${last}`);
  }
}

"""The `fimble` command: serve the editor, complete one position, or check the setup."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from context import language_for_path
from context.cursor import Cursor
from engines.completion_engine import CompletionEngine
from engines.fim_templates import FimTemplateError
from engines.llama_runtime import system_info
from engines.model_files import DEFAULT_MODEL, ModelFileError, cache_dir
from lsp_server import __version__
from lsp_server.engine_loading import load_engine
from lsp_server.log_privacy import private_handler
from lsp_server.pipeline import CompletionRequest, plan_for, suggest
from lsp_server.settings import Settings
from lsp_server.terminal_progress import TerminalProgress


def _say(*parts: object, file: TextIO | None = None) -> None:
    """Write a line for a person (never used by `serve`, whose stdout is the protocol)."""
    stream = file or sys.stdout
    stream.write(" ".join(str(part) for part in parts) + "\n")


def _configure_logging(level: str, log_file: str | None) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    logging.basicConfig(level=numeric, handlers=[private_handler(handler, numeric)], force=True)
    logging.getLogger("fimble.llama").setLevel(max(logging.WARNING, logging.getLogger().level))


def _serve(args: argparse.Namespace) -> int:
    from lsp_server.server import create_server

    level = args.log_level or ("INFO" if args.log_file else "WARNING")
    _configure_logging(level, args.log_file)
    server = create_server()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    # LSP: 0 after `shutdown`, 1 when `exit` (or the end of input) came without it.
    return 0 if server.shut_down else 1


def _parse_location(location: str) -> tuple[Path, int, int]:
    path, _, rest = location.partition(":")
    line, _, column = rest.partition(":")
    if not line.isdigit() or not column.isdigit() or int(line) < 1 or int(column) < 1:
        raise ValueError(f"expected FILE:LINE:COL with 1-based numbers, got {location!r}")
    return Path(path), int(line), int(column)


def _complete(args: argparse.Namespace) -> int:
    _configure_logging("WARNING", None)
    try:
        path, line, column = _parse_location(args.location)
        text = path.read_text(encoding="utf-8")
        cursor = Cursor.at_line(text, line - 1, column - 1)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        _say(f"fimble: {error}", file=sys.stderr)
        return 2
    settings = Settings(model_path=args.model or "", max_tokens=args.max_tokens)
    try:
        engine = _load_showing_steps(settings)
    except (ModelFileError, FimTemplateError) as error:
        _say(f"fimble: {error}", file=sys.stderr)
        return 1
    language = args.language or language_for_path(str(path))
    try:
        return _complete_with(engine, CompletionRequest("", text, cursor, language, settings), args)
    finally:
        engine.close()


def _load_showing_steps(settings: Settings) -> CompletionEngine:
    """Load the engine with its steps on stderr (a bar where stderr is a terminal)."""
    progress = TerminalProgress(sys.stderr)
    try:
        return load_engine(settings, progress)
    finally:
        progress.finish()


def _complete_with(
    engine: CompletionEngine, request: CompletionRequest, args: argparse.Namespace
) -> int:
    """Stream the suggestion to stdout (the post-processed one too where they differ)."""
    plan = plan_for(engine, request)
    if plan is None:
        _say("fimble: nothing sensible to complete at this position", file=sys.stderr)
        return 0
    if args.verbose:
        _say(f"fimble: {plan.mode.value} completion, {request.language_id}", file=sys.stderr)
    streamed: list[str] = []

    def show(piece: str) -> None:
        if not args.plain:
            streamed.append(piece)
            sys.stdout.write(piece)
            sys.stdout.flush()

    started = time.perf_counter()
    outcome = suggest(engine, request, threading.Event(), show)
    final = outcome.suggestion.text if outcome.suggestion is not None else ""
    raw = "".join(streamed)
    if not args.plain and not raw.endswith("\n"):
        sys.stdout.write("\n")
    if args.plain or raw.rstrip() != final:
        if not args.plain:
            _say("fimble: after post-processing the suggestion is:", file=sys.stderr)
        sys.stdout.write(final + "\n")
    if args.verbose:
        stats = outcome.stats
        _say(
            f"fimble: {stats.prompt_tokens} prompt tokens, {stats.generated_tokens} generated, "
            f"{time.perf_counter() - started:.2f} s",
            file=sys.stderr,
        )
    return 0


def _doctor(args: argparse.Namespace) -> int:
    _say(f"fimble {__version__}")
    _say(f"model cache: {cache_dir()}")
    source = args.model or f"embedded default ({DEFAULT_MODEL.name}, {DEFAULT_MODEL.licence})"
    _say(f"model: {source}")
    started = time.perf_counter()
    try:
        engine = _load_showing_steps(Settings(model_path=args.model or ""))
    except (ModelFileError, FimTemplateError) as error:
        _say(f"PROBLEM: {error}")
        return 1
    description = engine.description
    _say(f"model file: {description.model_path}")
    _say(f"loads: yes, in {time.perf_counter() - started:.2f} s")
    _say(f"FIM format: {description.fim_template}")
    _say(f"cross-file context: {_measured_context(Path(description.model_path))}")
    for key, value in description.details.items():
        _say(f"{key.replace('_', ' ')}: {value}")
    size = Path(description.model_path).stat().st_size
    _say(f"memory needed: about {size / 2**20:,.0f} MiB of weights (memory-mapped) + KV cache")
    _say(f"llama.cpp: {system_info()}")
    engine.close()
    _doctor_model_choice(args, Settings(model_path=args.model or ""))
    _say("OK: fimble is ready")
    return 0


def _measured_context(model_file: Path) -> str:
    """What contextTokens -1 (the default) gives this model."""
    from engines.model_catalog import DEFAULT_CONTEXT_TOKENS, preset_of_file

    preset = preset_of_file(model_file)
    if preset is None or preset.context_tokens is None:
        return f"{DEFAULT_CONTEXT_TOKENS} tokens by default (not measured for this model)"
    if preset.context_tokens == 0:
        return "none by default (measured not to help this model; contextTokens turns it on)"
    return f"{preset.context_tokens} tokens by default (measured for this model)"


def _doctor_model_choice(args: argparse.Namespace, settings: Settings) -> None:
    """Which model the default is and why; the memory it needs against what is free."""
    from engines.memory_estimate import GIB, available_memory, estimate_memory
    from engines.model_catalog import choose_default_model, resolve_model
    from lsp_server.engine_loading import plan_memory

    if not args.model:
        choice = choose_default_model()
        _say(f"default model: {choice.model.name} ({choice.reason})")
        if choice.recommendation:
            _say(f"recommendation: {choice.recommendation}")
    try:
        path = resolve_model(args.model or "")
        estimate = estimate_memory(path, settings.context_size, kv_type=settings.kv_cache_type)
    except Exception as error:
        _say(f"memory estimate: unavailable ({error})")
        return
    available = available_memory()
    free = (
        f"{available / GIB:.2f} GiB available" if available is not None else "free memory unknown"
    )
    _say(f"memory estimate: {estimate.describe()}; {free}")
    plan = plan_memory(path, settings.context_size, settings.kv_cache_type, available)
    if plan.warning is not None:
        _say(f"WARNING: {plan.warning}")


def _models(args: argparse.Namespace) -> int:
    from engines.model_catalog import PRESETS, estimated_bytes, fits_this_machine, installed_path

    if args.action == "pull":
        return _models_pull(args)
    n_ctx = Settings().context_size
    header = ("name", "size", "params", "active", "MoE", "FIM", "here", f"fits ({n_ctx} ctx)")
    rows = [header]
    for preset in PRESETS:
        approximate = "" if preset.embedded is not None else "~"
        here = installed_path(preset)
        rows.append(
            (
                preset.name,
                f"{approximate}{preset.file_bytes / 1e9:.2f} GB",
                preset.total_params,
                preset.active_params,
                "yes" if preset.is_moe else "no",
                preset.fim.split(" ")[0],
                "yes" if here is not None else ("pull" if preset.repo else "no"),
                fits_this_machine(estimated_bytes(preset, n_ctx)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        _say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    _say("pull one with: fimble models pull NAME (downloads from the Hugging Face Hub)")
    return 0


def _models_pull(args: argparse.Namespace) -> int:
    from engines.model_catalog import preset_named, pull

    preset = preset_named(args.name or "")
    if preset is None:
        _say(f"fimble: unknown model {args.name!r}; `fimble models` lists them", file=sys.stderr)
        return 2
    try:
        path = pull(preset)
    except ModelFileError as error:
        _say(f"fimble: {error}", file=sys.stderr)
        return 1
    _say(f"{preset.name}: {path} (verified). Use it with modelPath = {preset.name!r}")
    return 0


def _editors(args: argparse.Namespace) -> int:
    from lsp_server.editor_snippets import snippet

    if args.merge is None:
        sys.stdout.write(snippet(args.editor))
        return 0
    if args.editor != "helix":
        _say("fimble: --merge is for Helix's languages.toml", file=sys.stderr)
        return 2
    return _merge_helix(Path(args.merge).expanduser())


def _merge_helix(path: Path) -> int:
    """Print the user's languages.toml with fimble added (an absent file: fimble alone)."""
    import tomlkit.exceptions

    from lsp_server.editor_snippets import server_command
    from lsp_server.helix_merge import merge_helix_languages

    try:
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
        merged = merge_helix_languages(existing, server_command())
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.TOMLKitError) as error:
        _say(f"fimble: cannot merge into {path}: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(merged)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fimble", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fimble {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the language server (stdio)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead (debugging)")
    serve.add_argument("--log-file", help="write the log here instead of stderr")
    serve.add_argument(
        "--log-level",
        help="DEBUG, INFO, WARNING, ERROR (default: INFO with --log-file, which records each "
        "request's figures; WARNING on stderr). Source text is logged only at DEBUG.",
    )
    serve.set_defaults(run=_serve)
    complete = commands.add_parser("complete", help="complete one position, e.g. app.py:12:5")
    complete.add_argument("location", metavar="FILE:LINE:COL")
    complete.add_argument("--model", help="GGUF model file (default: the embedded model)")
    complete.add_argument("--language", help="LSP language id (default: from the file name)")
    complete.add_argument("--max-tokens", type=int, default=Settings().max_tokens)
    complete.add_argument(
        "--plain", action="store_true", help="print only the final suggestion, no streaming"
    )
    complete.add_argument("-v", "--verbose", action="store_true", help="mode and timings")
    complete.set_defaults(run=_complete)
    doctor = commands.add_parser("doctor", help="check the model and llama.cpp")
    doctor.add_argument("--model", help="GGUF model file to check instead of the default")
    doctor.set_defaults(run=_doctor)
    models = commands.add_parser("models", help="list known models, or pull one")
    models.add_argument("action", nargs="?", choices=["list", "pull"], default="list")
    models.add_argument("name", nargs="?", help="the model to pull (see the list)")
    models.set_defaults(run=_models)
    editors = commands.add_parser("editors", help="print the configuration for an editor")
    editors.add_argument("editor", choices=["vscode", "neovim", "helix"])
    editors.add_argument(
        "--merge",
        metavar="LANGUAGES_TOML",
        help="Helix: print this languages.toml with fimble added to it, keeping your servers "
        "(write it to a new file, then move it over the old one)",
    )
    editors.set_defaults(run=_editors)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""fimble's settings: one typed schema, camelCase on the wire.

Editors send settings as `initializationOptions` and in `workspace/didChangeConfiguration`
(either flat or under a `fimble` key), each time the whole configuration: what it leaves out
is at its default. Every field is documented here; the README table is
generated from this schema (`settings_table()`), and a test keeps the two in step. Invalid
values never stop the server: the valid fields apply, the rest keep their defaults, and the
problems are reported in one message.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from context.cross_file_context import NEAR_LINES_ABOVE, NEAR_LINES_BELOW
from context.similar_code import MIN_SIMILARITY
from engines.fim_templates import TEMPLATE_NAMES
from engines.memory_estimate import KV_TYPE_BYTES


def _describe(text: str) -> dict[str, str]:
    return {"description": text}


@dataclass(frozen=True)
class Settings:
    """Everything a user can set."""

    model_path: str = field(
        default="",
        metadata=_describe(
            "Path of a GGUF model file. Empty: the embedded default model "
            "(Qwen2.5-Coder-0.5B-Instruct Q4_K_M)."
        ),
    )
    fim_template: str = field(
        default="",
        metadata=_describe(
            "Fill-in-the-middle format: " + ", ".join(TEMPLATE_NAMES) + ". "
            "Empty: detected from the model's vocabulary."
        ),
    )
    max_tokens: int = field(
        default=96, metadata=_describe("Most tokens generated for one suggestion.")
    )
    prefix_tokens: int = field(
        default=2048,
        metadata=_describe(
            "Token budget for the code before the cursor. The prefix starts at one of a few "
            "fixed lines of the document (anchors half this budget apart) whose text from "
            "there down is kept evaluated in the background, so a jump costs only the code "
            "after the cursor; until it is, a window of half this budget is used."
        ),
    )
    suffix_tokens: int = field(
        default=256, metadata=_describe("Token budget for the code after the cursor.")
    )
    max_lines: int = field(
        default=16, metadata=_describe("Most lines in a multi-line (block) suggestion.")
    )
    context_size: int = field(
        default=24576,
        metadata=_describe(
            "llama.cpp context length in tokens (n_ctx), shared by the cached documents and "
            "the document runs: the KV cache's memory bound (about 12 KiB per token for the "
            "default model with f16, 288 MiB at this default). Room for 4 documents' prompts "
            "and 6 runs of the default prefixTokens."
        ),
    )
    kv_cache_type: str = field(
        default="f16",
        metadata=_describe(
            "KV cache precision: f16, q8_0 (about half the memory) or q4_0 (about a quarter; "
            "quality drops). When the model will not fit the memory available, fimble picks "
            "q8_0 and then a smaller context by itself and says so in its log."
        ),
    )
    flash_attention: str = field(
        default="auto",
        metadata=_describe(
            "llama.cpp's flash attention: auto (llama.cpp decides; on for a CPU), on or off. "
            "On a CPU, off decodes faster beside few cached cells and evaluates prompts more "
            "slowly beside many (docs/benchmarks.md). A quantized kvCacheType needs it: off "
            "is then taken as auto."
        ),
    )
    cached_documents: int = field(
        default=4,
        metadata=_describe(
            "Documents whose prompts stay in the KV cache (least recently used evicted)."
        ),
    )
    document_runs: int = field(
        default=6,
        metadata=_describe(
            "Document runs kept in the KV cache, over all documents: a document's text from "
            "one of its anchor lines down, evaluated in the background so that a jump below "
            "that line costs only the code after the cursor (the one the cursor's prompt "
            "starts at first, then those nearest the cursor; least recently used evicted)."
        ),
    )
    kv_reuse: bool = field(
        default=True,
        metadata=_describe(
            "Keep each recent document's prompt in the KV cache and evaluate only what changed "
            "(cached tokens moved into place where the model allows). Off: every prompt is "
            "evaluated in full, only to measure the difference."
        ),
    )
    answer_memory: bool = field(
        default=True,
        metadata=_describe(
            "Answer without the model where it can: the rest of the last suggestion while the "
            "user types through it, and the answer given before at a place seen recently."
        ),
    )
    background_prefill: bool = field(
        default=True,
        metadata=_describe(
            "Use idle moments: after an edit, once the editor is idle, evaluate the prompt a "
            "request at the edit would send (stopped at once by any request)."
        ),
    )
    speculate_next_line: bool = field(
        default=True,
        metadata=_describe(
            "After a one-line suggestion is shown, compute in the background the suggestion "
            "for the next line (as if it were accepted and Enter pressed), so that Enter is "
            "answered from memory. Stopped at once by any other request (a request for the "
            "place it works on waits for it once it asks the model). Local engine only: with a "
            "remote engine each would be a request the user did not ask for (code sent, the "
            "server's time and rate limit spent)."
        ),
    )
    typing_decode_ms: int = field(
        default=800,
        metadata=_describe(
            "While the user types (automatic requests), generation stops at the first line "
            "break after this many milliseconds of decoding, and the lines complete by then "
            "are the suggestion (a long block would otherwise take seconds on a CPU). The "
            "first line is always finished, and a refused answer gets no second opinion (the "
            "next keystroke asks again). Requests the user invokes are not limited. 0: no "
            "limit."
        ),
    )
    quick_start_tokens: int = field(
        default=0,
        metadata=_describe(
            "Off (0) by default. While the user types (automatic requests), a request that "
            "would evaluate more than this many prompt tokens first (the cursor jumped, the "
            "file was just opened) is answered at once from the nearest lines, a prompt of "
            "about this many tokens, and the full window is evaluated after each answer until "
            "the next request. Requests the user invokes always get the full window. 200 "
            "answered the first request after a jump in p50 1.0 s / p95 2.0 s on 2 cores, with "
            "less accurate suggestions until the full window is in (docs/benchmarks.md)."
        ),
    )
    threads: int = field(
        default=0,
        metadata=_describe("CPU threads for inference. 0: one per core."),
    )
    disabled_languages: tuple[str, ...] = field(
        default=(),
        metadata=_describe(
            'LSP language ids for which fimble suggests nothing, e.g. ["markdown"].'
        ),
    )
    max_file_bytes: int = field(
        default=2_000_000,
        metadata=_describe("Documents larger than this (UTF-8 bytes) get no suggestions."),
    )
    engine: str = field(
        default="local",
        metadata=_describe(
            "Where suggestions come from: local (the model in this process), openai (a "
            "server's OpenAI-compatible /v1/completions with a raw FIM prompt in the "
            "fimTemplate format, qwen if empty: vLLM, SGLang, llama-server, Ollama) or infill "
            "(llama-server's /infill). The remote kinds send code to remoteUrl."
        ),
    )
    remote_url: str = field(
        default="",
        metadata=_describe(
            "Base URL of the inference server for the openai and infill engines, e.g. "
            "http://127.0.0.1:8080 or https://llm.example.com (TLS certificates are verified)."
        ),
    )
    remote_model: str = field(
        default="",
        metadata=_describe("Model name sent to an openai server (empty: the server's default)."),
    )
    remote_api_key_env: str = field(
        default="",
        metadata=_describe(
            "Name of the environment variable holding the API key sent as a Bearer token "
            "(the key itself never goes in settings)."
        ),
    )
    remote_timeout: int = field(
        default=30,
        metadata=_describe(
            "Seconds to wait for the remote server to connect or send the next piece."
        ),
    )
    remote_ca_file: str = field(
        default="",
        metadata=_describe(
            "PEM file of certificate authorities trusted for remoteUrl's TLS certificate "
            "besides the public ones, e.g. a team's internal authority. Empty: public "
            "authorities only (SSL_CERT_FILE is not read)."
        ),
    )

    context_tokens: int = field(
        default=-1,
        metadata=_describe(
            "Token budget for code from other files (definitions the file imports, recent "
            "edits, similar code), taken out of prefixTokens; a request where nothing "
            "qualifies gets none. -1: the budget measured for the model: none for the "
            "default 0.5B (on 320 Python and 200 TS/JS holes, 384 tokens moved its exact "
            "match by -1.2 and +2.0 points, within the noise), 384 for the 1.5B (+5.0 points "
            "on 200 Python holes) and for models not measured, a remote engine's among "
            "them. 0: none."
        ),
    )
    context_definitions: int = field(
        default=60,
        metadata=_describe(
            "Share (percent) of contextTokens for outlines of definitions the current file "
            "imports: of names used on the lines around the cursor "
            f"({NEAR_LINES_ABOVE} above, {NEAR_LINES_BELOW} below) and of names imported but "
            "not used yet. 0: off."
        ),
    )
    context_recent: int = field(
        default=15,
        metadata=_describe(
            "Share (percent) of contextTokens for regions of other open documents recently "
            "edited or viewed, those only that share names with the lines above the cursor "
            "(as similar code must). 0: off."
        ),
    )
    context_similar: int = field(
        default=25,
        metadata=_describe(
            "Share (percent) of contextTokens for code similar to the lines above the cursor "
            "(workspace files and open documents; at least one name in "
            f"{round(1 / MIN_SIMILARITY)} shared). 0: off."
        ),
    )
    member_guide: bool = field(
        default=True,
        metadata=_describe(
            "Keep a member written after `module.` (a workspace module), `self.` or `this.` to "
            "the names that exist there: the local engine steers its decoding to them, and a "
            "remote engine's suggestion naming one that does not exist is dropped. Off: only "
            "to measure the difference."
        ),
    )
    context_exclude: tuple[str, ...] = field(
        default=(),
        metadata=_describe(
            "Gitignore-style globs never read as context, on top of .gitignore and the built-in "
            "deny list (.env*, keys, certificates, credentials, secrets)."
        ),
    )
    context_max_files: int = field(
        default=5000, metadata=_describe("Most workspace files indexed for context.")
    )
    context_max_file_bytes: int = field(
        default=200_000, metadata=_describe("Workspace files larger than this are never read.")
    )

    def is_remote(self) -> bool:
        """Whether the engine is a server elsewhere, so that prompts leave the machine."""
        return self.engine != "local"

    def engine_in_use(self) -> dict[str, object]:
        """What `fimble/stats` says of where suggestions come from (and prompts go)."""
        if not self.is_remote():
            return {"kind": self.engine, "remote": False}
        return {"kind": self.engine, "remote": True, "host": urlsplit(self.remote_url).hostname}

    def effective_threads(self) -> int:
        """Threads for decoding one token at a time: one per core this process may use."""
        return self.threads if self.threads > 0 else max(1, len(os.sched_getaffinity(0)))


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_LIMITS: dict[str, tuple[int, int]] = {
    "max_tokens": (1, 1024),
    "prefix_tokens": (16, 32768),
    "suffix_tokens": (0, 32768),
    "max_lines": (1, 200),
    "context_size": (256, 131072),
    "cached_documents": (1, 64),
    "document_runs": (0, 64),
    "quick_start_tokens": (0, 32768),
    "typing_decode_ms": (0, 600_000),
    "threads": (0, 512),
    "max_file_bytes": (1024, 1 << 31),
    "remote_timeout": (1, 600),
    "context_tokens": (-1, 16384),
    "context_definitions": (0, 100),
    "context_recent": (0, 100),
    "context_similar": (0, 100),
    "context_max_files": (0, 1_000_000),
    "context_max_file_bytes": (1024, 1 << 30),
}
ENGINE_KINDS = ("local", "openai", "infill")
FLASH_ATTENTION_CHOICES = ("auto", "on", "off")
_CHOICES: dict[str, tuple[str, ...]] = {
    "fim_template": ("", *TEMPLATE_NAMES),
    "engine": ENGINE_KINDS,
    "kv_cache_type": tuple(KV_TYPE_BYTES),
    "flash_attention": FLASH_ATTENTION_CHOICES,
}


def _coerce(name: str, default: Any, value: Any) -> Any:
    """The value as the field's type, or raise ValueError saying why not."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {type(value).__name__}")
        return value
    if default is None:
        raise ValueError("unsupported field")
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {type(value).__name__}")
        low, high = _LIMITS[name]
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value
    if isinstance(default, str):
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        choices = _CHOICES.get(name)
        if choices is not None and value not in choices:
            named = ", ".join(choice for choice in choices if choice)
            raise ValueError(f"expected one of {named}, got {value!r}")
        if name == "remote_url" and value and not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError("expected a list of strings")
        return tuple(value)
    raise ValueError("unsupported field")


def parse_settings(raw: object, in_force: Settings | None = None) -> tuple[Settings, list[str]]:
    """The settings `raw` (wire format) describes, and the problems found.

    `raw` is the client's whole configuration, not a change to apply: a setting it leaves
    out is at its default (editors send only the settings the user has set, so a removed
    setting is one left out). An invalid value keeps the value `in_force`; `raw` that is no
    object (null: the client says nothing) keeps them all.
    """
    current = in_force or Settings()
    if raw is None:
        return current, []
    if not isinstance(raw, Mapping):
        return current, [f"settings must be an object, got {type(raw).__name__}"]
    nested = raw.get("fimble")
    values: Mapping[str, Any] = nested if isinstance(nested, Mapping) else raw
    by_wire_name = {camel_case(spec.name): spec for spec in fields(Settings)}
    changes: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in values.items():
        spec = by_wire_name.get(key)
        if spec is None:
            if key != "fimble":
                problems.append(f"unknown setting '{key}'")
            continue
        try:
            changes[spec.name] = _coerce(spec.name, spec.default, value)
        except ValueError as error:
            problems.append(f"'{key}' {error}; keeping {getattr(current, spec.name)!r}")
            changes[spec.name] = getattr(current, spec.name)
    return dataclasses.replace(Settings(), **changes), problems


def settings_table() -> str:
    """The README's settings table, generated from the schema."""
    rows = ["| setting | default | description |", "|---|---|---|"]
    for spec in fields(Settings):
        shown = json.dumps(list(spec.default) if spec.default == () else spec.default)
        rows.append(f"| `{camel_case(spec.name)}` | `{shown}` | {spec.metadata['description']} |")
    return "\n".join(rows)


def settings_schema() -> dict[str, dict[str, Any]]:
    """Each setting as a JSON Schema property (wire name, type, default, limits, choices).

    Editors that declare settings (the VS Code extension's package.json) are generated from
    this, and a test keeps them in step.
    """
    kinds = {bool: "boolean", int: "integer", str: "string", tuple: "array"}
    schema: dict[str, dict[str, Any]] = {}
    for spec in fields(Settings):
        default = spec.default
        prop: dict[str, Any] = {"type": kinds[type(default)]}
        if isinstance(default, tuple):
            prop["items"] = {"type": "string"}
        prop["default"] = list(default) if isinstance(default, tuple) else default
        if spec.name in _CHOICES:
            prop["enum"] = list(_CHOICES[spec.name])
        if spec.name in _LIMITS:
            prop["minimum"], prop["maximum"] = _LIMITS[spec.name]
        prop["description"] = spec.metadata["description"]
        schema[camel_case(spec.name)] = prop
    return schema

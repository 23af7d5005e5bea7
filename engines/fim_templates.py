"""Fill-in-the-middle prompt formats, chosen from a model's vocabulary.

Each model family marks prefix, suffix and middle with its own special tokens. The prompt is
built from token ids, never by pasting marker strings into text, so that code containing a
marker string cannot inject control tokens (user text is tokenized with special parsing off).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from engines.completion_engine import ContextSnippet


@dataclass(frozen=True)
class FimTemplate:
    """A family's FIM markers, as the strings its vocabulary spells them."""

    name: str
    prefix_marker: str
    suffix_marker: str
    middle_marker: str
    stop_markers: tuple[str, ...] = ()
    suffix_first: bool = False
    # Repository-level markers: `<repo>name\n<sep>path\ncontent...<sep>current\n<prefix>...`.
    repo_name_marker: str = ""
    file_sep_marker: str = ""
    # Whether the cursor line's typed part may follow the middle marker (split_at_line_start).
    typed_after_middle: bool = True


FIM_TEMPLATES: tuple[FimTemplate, ...] = (
    FimTemplate(
        "qwen",
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
        (
            "<|endoftext|>",
            "<|fim_pad|>",
            "<|file_sep|>",
            "<|repo_name|>",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            "<|im_end|>",
        ),
        repo_name_marker="<|repo_name|>",
        file_sep_marker="<|file_sep|>",
    ),
    FimTemplate(
        "deepseek",
        "<｜fim▁begin｜>",
        "<｜fim▁hole｜>",
        "<｜fim▁end｜>",
        ("<｜end▁of▁sentence｜>", "<|EOT|>"),
    ),
    FimTemplate(
        "starcoder",
        "<fim_prefix>",
        "<fim_suffix>",
        "<fim_middle>",
        ("<|endoftext|>", "<fim_pad>", "<file_sep>", "<repo_name>", "<fim_prefix>"),
        repo_name_marker="<repo_name>",
        file_sep_marker="<file_sep>",
    ),
    # CodeLlama's middle is tokenized apart from its prompt (no leading space).
    FimTemplate(
        "codellama", "▁<PRE>", "▁<SUF>", "▁<MID>", ("▁<EOT>", "<EOT>"), typed_after_middle=False
    ),
    # Codestral has no middle marker: generation starts right after the prefix.
    FimTemplate("codestral", "[PREFIX]", "[SUFFIX]", "", ("</s>",), suffix_first=True),
)

TEMPLATE_NAMES = tuple(template.name for template in FIM_TEMPLATES)

SpecialTokenLookup = Callable[[str], int | None]
"""Maps a marker string to its single special token id, or None if the vocabulary lacks it."""


class FimTemplateError(Exception):
    """The model has no usable FIM format; the message says what to do."""


@dataclass(frozen=True)
class ResolvedFimTemplate:
    """A template bound to one vocabulary's token ids."""

    name: str
    prefix_id: int
    suffix_id: int
    middle_id: int | None
    stop_ids: frozenset[int]
    suffix_first: bool = False
    repo_name_id: int | None = None
    file_sep_id: int | None = None
    typed_after_middle: bool = True

    @property
    def has_repo_tokens(self) -> bool:
        return self.repo_name_id is not None and self.file_sep_id is not None

    def repo_head(
        self,
        repo_name: str,
        snippets: Sequence[ContextSnippet],
        file_path: str,
        tokenize: Callable[[str], list[int]],
    ) -> list[int]:
        """Other files ahead of the current one, in the repository-level format.

        Empty without snippets or repository tokens (then see `path_comment_block`).
        """
        if not snippets or self.repo_name_id is None or self.file_sep_id is None:
            return []
        name, *files = repo_head_sections(repo_name, snippets, file_path)
        head = [self.repo_name_id, *tokenize(name)]
        for section in files:
            head += [self.file_sep_id, *tokenize(section)]
        return head

    def prompt(
        self,
        prefix_ids: Sequence[int],
        suffix_ids: Sequence[int],
        bos_id: int | None = None,
        head: Sequence[int] = (),
    ) -> list[int]:
        """The token sequence after which the model writes the middle."""
        start = [bos_id] if bos_id is not None else []
        start += head
        end = [self.middle_id] if self.middle_id is not None else []
        if self.suffix_first:
            return [*start, self.suffix_id, *suffix_ids, self.prefix_id, *prefix_ids, *end]
        return [*start, self.prefix_id, *prefix_ids, self.suffix_id, *suffix_ids, *end]


def _bind(template: FimTemplate, lookup: SpecialTokenLookup) -> ResolvedFimTemplate | None:
    prefix_id = lookup(template.prefix_marker)
    suffix_id = lookup(template.suffix_marker)
    middle_id = lookup(template.middle_marker) if template.middle_marker else None
    if prefix_id is None or suffix_id is None or (template.middle_marker and middle_id is None):
        return None
    stop_ids = {token for marker in template.stop_markers if (token := lookup(marker)) is not None}
    repo_name_id = lookup(template.repo_name_marker) if template.repo_name_marker else None
    file_sep_id = lookup(template.file_sep_marker) if template.file_sep_marker else None
    return ResolvedFimTemplate(
        template.name,
        prefix_id,
        suffix_id,
        middle_id,
        frozenset(stop_ids),
        template.suffix_first,
        repo_name_id,
        file_sep_id,
        template.typed_after_middle,
    )


def resolve_fim_template(
    lookup: SpecialTokenLookup,
    declared: tuple[int, int, int] | None,
    end_ids: frozenset[int],
    override: str | None = None,
) -> ResolvedFimTemplate:
    """Pick the template for a vocabulary.

    `declared` holds the prefix/suffix/middle ids the GGUF metadata names (if any), `end_ids`
    the vocabulary's end-of-generation tokens; `override` is a template name from settings.
    """
    if override:
        chosen = [template for template in FIM_TEMPLATES if template.name == override]
        if not chosen:
            raise FimTemplateError(
                f"Unknown FIM template '{override}'. Known: {', '.join(TEMPLATE_NAMES)}."
            )
        bound = _bind(chosen[0], lookup)
        if bound is None:
            raise FimTemplateError(
                f"The model's vocabulary lacks the '{override}' FIM tokens. "
                "Remove the fimTemplate setting to detect the format automatically."
            )
        return _with_end_ids(bound, end_ids)
    for template in FIM_TEMPLATES:
        bound = _bind(template, lookup)
        if bound is not None:
            return _with_end_ids(bound, end_ids)
    if declared is not None:
        return ResolvedFimTemplate("gguf-metadata", *declared, stop_ids=end_ids)
    raise FimTemplateError(
        "This model has no fill-in-the-middle tokens, so it cannot complete code in place. "
        "Use a FIM-capable code model (Qwen2.5-Coder, Qwen3-Coder, DeepSeek-Coder, StarCoder2, "
        "CodeLlama, Codestral), or leave the model path empty for the embedded default."
    )


def _with_end_ids(bound: ResolvedFimTemplate, end_ids: frozenset[int]) -> ResolvedFimTemplate:
    return replace(bound, stop_ids=bound.stop_ids | end_ids)


def template_named(name: str) -> FimTemplate:
    """The template called `name`; raises FimTemplateError naming the known ones."""
    for template in FIM_TEMPLATES:
        if template.name == name:
            return template
    raise FimTemplateError(f"Unknown FIM template '{name}'. Known: {', '.join(TEMPLATE_NAMES)}.")


def _text_marker(marker: str) -> str:
    # SentencePiece spells a leading space "▁" in the vocabulary; on the wire it is a space
    # (DeepSeek's markers have "▁" inside them as part of their name: kept).
    return " " + marker[1:] if marker.startswith("▁") else marker


def marker_texts(template: FimTemplate) -> tuple[str, ...]:
    """Every marker of `template` as plain text (prompt markers first, then stop markers)."""
    markers = (template.prefix_marker, template.suffix_marker, template.middle_marker)
    spelled = [_text_marker(m).strip() for m in (*markers, *template.stop_markers) if m]
    return tuple(dict.fromkeys(text for text in spelled if text))


def defuse_markers(template: FimTemplate, text: str) -> str:
    """`text` without the template's marker strings.

    A remote server parses marker strings in a text prompt as control tokens, so code that
    contains one could steer the model; dropping them keeps user text plain text.
    """
    for marker in marker_texts(template):
        text = text.replace(marker, "")
    return text


def split_at_line_start(
    prefix: str, template: FimTemplate | ResolvedFimTemplate
) -> tuple[str, str]:
    """The prefix up to the start of the cursor's line, and that line's typed part.

    The typed part goes after the middle marker, as if the model had written it: a keystroke
    then only appends to the prompt, and the cached keys and values of the suffix (which
    carry what the prefix ended with) stay exact. Moving the suffix's cached entries after a
    mid-line keystroke instead left the model answering for the text before that keystroke.
    Suffix-first templates already end with the prefix; templates marked
    `typed_after_middle=False` keep their documented layout.
    """
    if template.suffix_first or not template.typed_after_middle:
        return prefix, ""
    line_start = prefix.rfind("\n") + 1
    return prefix[:line_start], prefix[line_start:]


def snippet_text(snippet: ContextSnippet) -> str:
    """A snippet's code as a repository-level prompt holds it: ending with a line break."""
    return snippet.text if snippet.text.endswith("\n") else snippet.text + "\n"


def repo_head_sections(
    repo_name: str, snippets: Sequence[ContextSnippet], file_path: str
) -> list[str]:
    """The texts of a repository-level head: the repository's name (after the repo-name
    marker), then each other file's path and code and last the current file's path (each
    after a file separator)."""
    sections = [f"{repo_name or 'workspace'}\n"]
    sections += [f"{snippet.path}\n{snippet_text(snippet)}" for snippet in snippets]
    return [*sections, f"{file_path or 'untitled'}\n"]


def _text_head(
    template: FimTemplate, snippets: Sequence[ContextSnippet], file_path: str, repo_name: str
) -> str:
    """Other files ahead of the prompt as text, markers included ("" without repo markers)."""
    if not snippets or not template.repo_name_marker or not template.file_sep_marker:
        return ""
    name, *files = (
        defuse_markers(template, section)
        for section in repo_head_sections(repo_name, snippets, file_path)
    )
    return template.repo_name_marker + name + "".join(template.file_sep_marker + f for f in files)


def text_prompt(
    template: FimTemplate,
    prefix: str,
    suffix: str,
    snippets: Sequence[ContextSnippet] = (),
    file_path: str = "",
    repo_name: str = "",
) -> str:
    """The FIM prompt as text, for servers that tokenize it themselves, with code from other
    files laid out as the local engine lays it out for the same template (a repository-level
    head where the template has repo markers, else path comments opening the prefix)."""
    head = _text_head(template, snippets, file_path, repo_name)
    if snippets and not head:
        prefix = path_comment_block(snippets, file_path) + prefix
    prefix, typed = split_at_line_start(defuse_markers(template, prefix), template)
    suffix = defuse_markers(template, suffix)
    pre = _text_marker(template.prefix_marker).lstrip()
    suf = _text_marker(template.suffix_marker)
    mid = _text_marker(template.middle_marker)
    if template.name == "codellama":
        pre += " "  # CodeLlama's documented infilling format: "<PRE> {pre} <SUF>{suf} <MID>"
    if template.suffix_first:
        return f"{head}{suf.lstrip()}{suffix}{pre}{prefix}{mid}"
    return f"{head}{pre}{prefix}{suf}{suffix}{mid}{typed}"


_HASH_COMMENT_EXTENSIONS = frozenset({".py", ".rb", ".sh", ".pl", ".r", ".yaml", ".yml", ".toml"})
_DASH_COMMENT_EXTENSIONS = frozenset({".lua", ".sql", ".hs"})


def line_comment_for_path(path: str) -> str:
    """The line comment marker of a file's language, from its extension ("//" by default)."""
    extension = os.path.splitext(path)[1].lower()
    if extension in _HASH_COMMENT_EXTENSIONS:
        return "#"
    if extension in _DASH_COMMENT_EXTENSIONS:
        return "--"
    return "//"


def path_comment_block(snippets: Sequence[ContextSnippet], file_path: str) -> str:
    """Other files as comments in the current file's syntax, for models without repo tokens."""
    if not snippets:
        return ""
    mark = line_comment_for_path(file_path)
    lines: list[str] = []
    for snippet in snippets:
        lines.append(f"{mark} Path: {snippet.path}")
        lines.extend(f"{mark} {line}".rstrip() for line in snippet.text.splitlines())
        lines.append(mark)
    if file_path:
        lines.append(f"{mark} Path: {file_path}")
    return "\n".join(lines) + "\n"

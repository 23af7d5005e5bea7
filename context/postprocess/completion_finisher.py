"""Stream step: read the model's output as it arrives and say when it is complete.

Generation is the expensive part of a completion, so the finisher watches the
stream and tells the engine to stop as soon as the answer is complete (end of
line, end of block, or the model starting to repeat the suffix); blocks are
judged line by line by the block scanner. Afterwards it hands the text to the
finishing filters (chain.py). The package docstring lists every step in order.
"""

from __future__ import annotations

from context.completion_plan import CompletionMode, CompletionPlan
from context.indentation import detect_indent_width, indent_width, opener_indent_above
from context.languages import PLAINTEXT, ends_with_block_opener, is_indentation_scoped
from context.postprocess.block_indentation import BlockIndentation
from context.postprocess.block_scanner import BlockScanner
from context.postprocess.chain import finish_suggestion
from context.postprocess.suggestion import Suggestion, Surroundings

SHORT_MAX_CHARS = 120
LINE_MAX_CHARS = 1000


class CompletionFinisher:
    """Consumes generated text for one plan and produces the final Suggestion."""

    def __init__(
        self, plan: CompletionPlan, document_text: str, offset: int, max_block_lines: int = 16
    ) -> None:
        self._plan = plan
        self._max_block_lines = max_block_lines
        self._site = Surroundings(plan, document_text, offset)
        self._echo = self._site.echo
        self._braces = plan.language_id != PLAINTEXT and not is_indentation_scoped(plan.language_id)
        indentation = BlockIndentation(
            plan.line_prefix, self._site.expected_indent, self._opener_indent()
        )
        self._blocks = BlockScanner(
            indentation,
            self._echo,
            plan.max_lines,
            keeps_closing_line=self._braces,
            outer_floor=self._outer_floor(),
        )
        self._pending = ""
        self._line_text = ""
        self._continuation: BlockScanner | None = None
        self._done = False
        self._result: Suggestion | None = None
        self._finished = False

    def _opener_indent(self) -> int | None:
        """Where Python requires the body of the line above: that line's indentation."""
        language = self._plan.language_id
        if self._plan.line_prefix.strip() or not is_indentation_scoped(language):
            return None
        return opener_indent_above(self._site.document, self._site.line_start, language)

    def _outer_floor(self) -> int | None:
        """The shallowest indentation a block suggestion may reach.

        Where code follows the cursor, the suggestion may end inner blocks down to that
        code's indentation; at the end of a definition, down to the definition's body.
        """
        if self._plan.mode is not CompletionMode.BLOCK or self._plan.line_prefix.strip():
            return None
        if self._echo.following:
            return indent_width(self._echo.following[0])
        lines = self._site.document[: self._site.offset].split("\n")[:-1]
        body: int | None = None
        for line in reversed(lines):
            if not line.strip():
                continue
            width = indent_width(line)
            if width == 0:
                return body
            body = width
        return None

    def feed(self, piece: str) -> bool:
        """Append generated text; True once no more text is needed."""
        if self._done:
            return True
        self._pending += piece.replace("\r", "")
        if self._plan.mode is CompletionMode.BLOCK:
            self._feed_block()
        else:
            self._feed_line()
        return self._done

    def _feed_line(self) -> None:
        if self._continuation is not None:
            self._feed_continuation()
            return
        text, newline, rest = self._pending.partition("\n")
        limit = SHORT_MAX_CHARS if self._plan.mode is CompletionMode.SHORT else LINE_MAX_CHARS
        if newline or len(text) >= limit:
            self._line_text = text
            self._continuation = self._block_after(text) if newline else None
            if self._continuation is None:
                self._done = True
            else:
                self._pending = rest
                self._feed_continuation()

    def _block_after(self, first_line: str) -> BlockScanner | None:
        """A scanner for the body when the completed line opens a block at the line's end.

        Typing `for op in o|` at the end of a line: once the model has written
        `perations:`, the body that follows belongs to the same suggestion.
        """
        plan = self._plan
        if plan.mode is not CompletionMode.LINE or plan.rest_of_line.strip():
            return None
        line = plan.line_prefix + first_line
        if self._max_block_lines < 2 or not ends_with_block_opener(line.rstrip(), plan.language_id):
            return None
        body_indent = indent_width(line) + detect_indent_width(self._site.document)
        return BlockScanner(
            BlockIndentation("", body_indent),
            self._echo,
            self._max_block_lines - 1,
            body_indent,
            keeps_closing_line=self._braces,
        )

    def _feed_continuation(self) -> None:
        assert self._continuation is not None
        while "\n" in self._pending and not self._continuation.done:
            line, _, self._pending = self._pending.partition("\n")
            self._continuation.add(line)
        self._done = self._continuation.done

    def _feed_block(self) -> None:
        while "\n" in self._pending and not self._blocks.done:
            line, _, self._pending = self._pending.partition("\n")
            self._blocks.add(line)
        self._done = self._blocks.done

    def stop_early(self) -> bool:
        """Whether the lines complete so far make a suggestion on their own (some code, the
        last line opening no block); if so the line still being written is dropped, and the
        caller may stop generating (a time limit, not the model, ends the suggestion)."""
        if self._continuation is not None:
            lines = [self._line_text, *self._continuation.kept]
        elif self._plan.mode is CompletionMode.BLOCK:
            lines = list(self._blocks.kept)
        else:
            return False
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines or ends_with_block_opener(lines[-1].rstrip(), self._plan.language_id):
            return False
        self._pending = ""
        return True

    @property
    def refused_first_line(self) -> str | None:
        """The first line of a block generated on a blank line, when it was refused for
        repeating the next line or for making the code below unreachable.

        The caller may ask the model again, steered away from it (`FimRequest.avoid_start`).
        """
        return self._blocks.refused_first_line

    def finish(self) -> Suggestion | None:
        """The post-processed suggestion, or None if nothing is worth showing."""
        if not self._finished:
            self._result = self._build()
            self._finished = True
        return self._result

    def _build(self) -> Suggestion | None:
        return finish_suggestion(self._raw_text(), self._site)

    def _raw_text(self) -> str:
        if self._continuation is not None:
            if not self._continuation.done:
                self._continuation.add(self._pending)
                self._pending = ""
            body = list(self._continuation.kept)
            while body and not body[-1].strip():
                body.pop()
            return "\n".join([self._line_text, *body])
        if self._plan.mode is not CompletionMode.BLOCK:
            return self._line_text if self._done else self._pending
        if not self._blocks.done:
            self._blocks.add(self._pending)
            self._pending = ""
        return "\n".join(self._blocks.kept)

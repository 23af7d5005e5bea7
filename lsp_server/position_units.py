"""Client position units counted at C speed: pygls's position codec, without its loops.

pygls converts between the client's units (UTF-16 by default, UTF-8 or UTF-32 when
negotiated) and code points one character at a time in Python, over the whole line on every
conversion. On a minified file's single line of megabytes that is seconds per request and
per keystroke, with the event loop (every other document) waiting. This codec gives the
same answers by encoding the line once (`str.encode` runs in C).

pygls also splits a document into lines with str.splitlines, which breaks lines at form
feeds, U+2028 and the like too; LSP breaks them at CRLF, CR and LF only, so every position
after such a character would name another place. Documents here split as LSP does.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from context.line_breaks import LspLines


class FastPositionCodec(PositionCodec):
    """pygls's `PositionCodec`, its conversions done by encoding instead of char loops."""

    def _codec(self) -> tuple[str, int] | None:
        """The Python codec and its bytes per unit; None for UTF-32 (units are code
        points). As in pygls, an unknown encoding is taken for UTF-16."""
        if self.encoding == types.PositionEncodingKind.Utf32:
            return None
        if self.encoding == types.PositionEncodingKind.Utf8:
            return ("utf-8", 1)
        return ("utf-16-le", 2)

    def client_num_units(self, string: str) -> int:
        codec = self._codec()
        if codec is None or string.isascii():
            return len(string)
        return len(string.encode(codec[0], "surrogatepass")) // codec[1]

    def position_from_client_units(
        self, lines: Sequence[str], position: types.Position
    ) -> ServerTextPosition:
        if not lines:
            return ServerTextPosition(0, 0)
        if position.line >= len(lines):
            return ServerTextPosition(len(lines) - 1, self.client_num_units(lines[-1]))
        line = lines[position.line]
        if "\r" in line:  # a scan, where replace copies: lines can be 50 MB long
            line = line.replace("\r\n", "\n")
        if position.character > len(line):  # units never number fewer than code points
            length = self.client_num_units(line)
            if length == 0:
                return ServerTextPosition(position.line, 0)
            if position.character > length:
                position.character = length - 1  # as pygls does
        return ServerTextPosition(position.line, self._index_at(line, position.character))

    def _index_at(self, line: str, units: int) -> int:
        """The first code-point index of `line` whose prefix holds at least `units` units."""
        codec = self._codec()
        if codec is None or line.isascii():
            return min(units, len(line))
        name, width = codec
        head = _decoded_head(line.encode(name, "surrogatepass")[: units * width], name)
        index = len(head)
        if self.client_num_units(head) < units and index < len(line):
            index += 1  # `units` ends inside a character: it counts
        return index

    def position_to_client_units(
        self, lines: Sequence[str], position: ServerTextPosition | types.Position
    ) -> types.Position:
        if position.line >= len(lines):
            return types.Position(line=len(lines), character=0)
        prefix = lines[position.line][: position.character]
        return types.Position(line=position.line, character=self.client_num_units(prefix))


def _decoded_head(encoded: bytes, codec: str) -> str:
    """The whole characters at the start of `encoded` (a cut character left out)."""
    for cut in range(4):
        try:
            return encoded[: len(encoded) - cut].decode(codec, "surrogatepass")
        except UnicodeDecodeError:
            continue
    return encoded.decode(codec, "ignore")


def use_fast_positions(workspace: Workspace) -> None:
    """Have `workspace` (and the documents opened in it from now on) convert positions
    with `FastPositionCodec`, in the encoding it negotiated."""
    workspace._position_codec = FastPositionCodec(workspace.position_encoding)


class LspLinesDocument(TextDocument):
    """pygls's `TextDocument` with its lines as LSP numbers them (positions, clamping and
    incremental edits all go through `lines`), edited by offsets into its text: pygls writes
    every line of the document out again for each edit, a whole 50 MB line per keystroke."""

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        lines = self.lines
        assert isinstance(lines, LspLines)
        edited = self._position_codec.range_from_client_units(lines, change.range)
        start, end = edited.start, edited.end
        if start.line == len(lines):  # the end of the document (as pygls: appended)
            self._source = self.source + change.text
            return
        if end.line < start.line:  # as pygls's rewrite: a range ending above it changes nothing
            return
        begin = lines.start_of(start.line) + start.character
        finish = lines.start_of(end.line) + end.character
        self._source = "".join((self.source[:begin], change.text, self.source[finish:]))

    @property
    def lines(self) -> Sequence[str]:
        """Split once per version of the text: every position of every request reads them,
        and splitting a 300,000-line document costs far more than the request itself."""
        source = self.source
        cached = self.__dict__.get("_lines_of")
        if cached is None or cached[0] is not source:
            cached = (source, LspLines(source))
            self.__dict__["_lines_of"] = cached
        return cached[1]


def use_lsp_lines(workspace: Workspace) -> None:
    """Have the documents opened in `workspace` from now on split lines as LSP does."""

    def create(
        uri: str,
        source: str | None = None,
        version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        return LspLinesDocument(
            uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=workspace._sync_kind,
            position_codec=workspace.position_codec,
        )

    workspace._create_text_document = create  # type: ignore[method-assign,assignment]

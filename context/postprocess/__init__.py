"""Every step a model's text goes through before it is shown, in order.

Generation is the expensive part of a completion, so what can be decided line by
line is decided while the model writes, and the engine is told to stop as soon as
the answer is complete (completion_finisher.py). The finished text then goes
through the finishing filters (chain.py). Each step has its own module, whose
docstring says what it changes or refuses and why.

While the model streams, on each completed line:
  LINE and SHORT mode (completion_finisher.py): one line, ended by its line break
      or at 1000 characters (SHORT, in comments and strings: 120). A line that ends
      by opening a block (`for op in o|` + `perations:`) goes on with its body,
      judged like a block.
  BLOCK mode (block_scanner.py), each line in turn:
      1. block_indentation.py  a block written one level too shallow or too deep
                               moves to the cursor's column; a line leaving it ends it
      2. block_scanner.py      a first line continuing the text left of the cursor
                               is a one-line answer
      3. suffix_echo.py        a line repeating the code after the cursor ends the block
      4. unreachable_code.py   a line stranding the code after the cursor ends the block
                               (3 and 4 on the first line refuse it, and name the line)
      5. block_scanner.py      a dedent below the block's first line ends it (brace
                               languages keep the closing line), as does the line cap

When the stream ends (chain.FINISHING_FILTERS), in this order:
      1. unknown_member.py         refuse what starts by naming a member that does not
                                   exist (where all the members are known)
      2. tidy_whitespace.py        drop trailing whitespace and blank lines
      3. suffix_echo.py            refuse what only repeats the code after the cursor
      4. dangling_opener.py        drop last lines that open a block they never fill
      5. first_line_whitespace.py  fit the first line's whitespace to the cursor
      6. existing_closer.py        end a line at the bracket the line already closes
      7. superseded_text.py        say which characters right of the cursor it replaces
      8. syntax_check.py           keep the longest run of lines that still parses

A filter may change the suggestion or refuse it; one left blank is refused too.
Whitespace goes first so that every comparison after it sees clean lines; the
closer and the replaced range need the first line final; the syntax check comes
last, on the text exactly as it would be inserted, replaced characters included.
"""

from context.postprocess.completion_finisher import CompletionFinisher
from context.postprocess.suggestion import Suggestion

__all__ = ["CompletionFinisher", "Suggestion"]

"""Everything a model's text goes through before it is shown, in one place.

The finisher (completion_finisher.py) consumes the stream and runs the filters of
this package; each filter lives in its own module.
"""

from context.postprocess.completion_finisher import CompletionFinisher, Suggestion

__all__ = ["CompletionFinisher", "Suggestion"]

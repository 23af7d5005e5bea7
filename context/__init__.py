"""Context building and post-processing for fill-in-the-middle completion.

This package is the language-aware, model-agnostic core of fimble: it decides
what to ask the model for (CompletionPlan) and turns the streamed answer into
something worth showing (CompletionFinisher). It deliberately knows nothing
about LSP or about any particular inference engine.
"""

from context.completion_plan import CompletionMode, CompletionPlan, plan_completion
from context.languages import language_for_path
from context.postprocess import CompletionFinisher, Suggestion

__all__ = [
    "CompletionFinisher",
    "CompletionMode",
    "CompletionPlan",
    "Suggestion",
    "language_for_path",
    "plan_completion",
]

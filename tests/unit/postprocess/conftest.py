"""Shared fixture for the post-processing tests: surroundings at a marked cursor."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from context import plan_completion
from context.postprocess.suggestion import Surroundings

CURSOR = "‸"


def _words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def site_at() -> Callable[[str, str], Surroundings]:
    """Builds the surroundings at the ‸ of a source text, planned as the server plans."""

    def build(source: str, language_id: str) -> Surroundings:
        offset = source.index(CURSOR)
        document = source.replace(CURSOR, "", 1)
        plan = plan_completion(document, offset, language_id, _words, 1000, 1000)
        assert plan is not None
        return Surroundings(plan, document, offset)

    return build

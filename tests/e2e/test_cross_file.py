"""A completion that is right only if a definition from another file reaches the prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import StartServer, inline_at, only_text, open_document

pytestmark = pytest.mark.model

HELPER = '''"""Geometry helpers."""


def lerp_backwards_zq(fraction, stop, origin):
    """The point `fraction` of the way from `origin` to `stop` (note the argument order)."""
    return origin + (stop - origin) * fraction
'''

MAIN = """from shapes.helpers import lerp_backwards_zq


def midpoint(left, right):
    return lerp_backwards_zq(
"""


async def _complete(start_server: StartServer, workspace: Path, context_tokens: int | None) -> str:
    settings = {} if context_tokens is None else {"contextTokens": context_tokens}
    client = await start_server(settings, root_uri=workspace.as_uri())
    uri = (workspace / "shapes" / "main.py").as_uri()
    open_document(client, uri, MAIN)
    result = await inline_at(client, uri, 4, len("    return lerp_backwards_zq("))
    return only_text(result) if result.items else ""


async def test_definition_from_another_file_decides_the_argument_order(
    start_server: StartServer, tmp_path: Path
) -> None:
    package = tmp_path / "shapes"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(HELPER)
    (package / "main.py").write_text(MAIN)
    with_context = await _complete(start_server, tmp_path, 384)
    without_context = await _complete(start_server, tmp_path, 0)
    # The helper takes (fraction, stop, origin): the midpoint from left to right ends with
    # `right, left)`; only the signature in helpers.py says so.
    assert with_context.replace(" ", "").endswith(",right,left)"), (with_context, without_context)
    assert not without_context.replace(" ", "").endswith(",right,left)"), without_context
    # The default model's measured budget is none: by default its prompt is the no-context one.
    assert await _complete(start_server, tmp_path, None) == without_context


SHAPES = """def area_of_rectangle(width, height):
    return width * height


def area_of_circle(radius):
    return 3.14159 * radius * radius
"""
TOTAL = "import shapes\n\n\ndef total_area(w, h, r):\n    return shapes."


async def test_a_member_of_an_imported_module_is_one_that_exists(
    start_server: StartServer, tmp_path: Path
) -> None:
    """With no code from other files in the prompt (`contextTokens` 0), the default model
    invents `shapes.circle_area(...)` (`memberGuide` off); kept to the module's real names
    as it decodes, it writes one of them."""
    (tmp_path / "shapes.py").write_text(SHAPES)
    suggestions = []
    for guided in (True, False):
        settings = {"contextTokens": 0, "memberGuide": guided}
        client = await start_server(settings, root_uri=tmp_path.as_uri())
        uri = (tmp_path / "main.py").as_uri()
        open_document(client, uri, TOTAL)
        suggestions.append(only_text(await inline_at(client, uri, 4, len("    return shapes."))))
    guided_answer, unguided_answer = suggestions
    real_names = ("area_of_rectangle(", "area_of_circle(")
    assert guided_answer.startswith(real_names), suggestions
    assert not unguided_answer.startswith(real_names), suggestions


SHAPES_JS = """function areaOfRectangle(width, height) {
  return width * height;
}

function areaOfCircle(radius) {
  return 3.14159 * radius * radius;
}

module.exports = { areaOfRectangle, areaOfCircle };
"""
TOTAL_JS = "const shapes = require('./shapes');\n\nfunction totalArea(w, h, r) {\n  return shapes."


async def test_a_member_of_a_required_javascript_module_is_one_that_exists(
    start_server: StartServer, tmp_path: Path
) -> None:
    """The same in JavaScript, the module bound by `require`: its exports are the names
    (`module.exports = { ... }`); unguided, the default model invents one."""
    (tmp_path / "shapes.js").write_text(SHAPES_JS)
    suggestions = []
    for guided in (True, False):
        settings = {"contextTokens": 0, "memberGuide": guided}
        client = await start_server(settings, root_uri=tmp_path.as_uri())
        uri = (tmp_path / "main.js").as_uri()
        open_document(client, uri, TOTAL_JS, language_id="javascript")
        suggestions.append(only_text(await inline_at(client, uri, 3, len("  return shapes."))))
    guided_answer, unguided_answer = suggestions
    real_names = ("areaOfRectangle(", "areaOfCircle(")
    assert guided_answer.startswith(real_names), suggestions
    assert not unguided_answer.startswith(real_names), suggestions


CONFIG = """_run_validators = True


def set_run_validators(run):
    global _run_validators
    _run_validators = run


def get_run_validators():
    return _run_validators
"""
VALIDATE = "from . import _config\n\n\ndef validate(instance, attrib, new_value):\n    if _config."


async def test_the_guide_finds_a_name_the_model_ranks_low(
    start_server: StartServer, tmp_path: Path
) -> None:
    """After `_config.get_` the default model is sure of `implementation`: no name of the
    module is among its likeliest tokens. The guide then takes the likeliest token of the
    whole vocabulary that spells a next part of a real name, so the answer names one (it used
    to let the model's choice stand, and the unknown member was refused: no answer at all)."""
    package = tmp_path / "checks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_config.py").write_text(CONFIG)
    uri = (package / "validators.py").as_uri()
    text = VALIDATE + ":\n        return new_value\n"
    client = await start_server({"contextTokens": 0}, root_uri=tmp_path.as_uri())
    open_document(client, uri, text)
    answer = only_text(await inline_at(client, uri, 4, len("    if _config.")))
    assert answer.startswith(("get_run_validators", "_run_validators", "set_run_validators")), (
        answer
    )

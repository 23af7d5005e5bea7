"""The settings schema: camelCase on the wire, invalid values reported, defaults kept."""

from __future__ import annotations

from pathlib import Path

from lsp_server.settings import Settings, parse_settings, settings_table


def test_camel_case_values_apply() -> None:
    settings, problems = parse_settings(
        {"modelPath": "/m.gguf", "maxTokens": 32, "disabledLanguages": ["markdown"]}
    )
    assert problems == []
    assert settings.model_path == "/m.gguf"
    assert settings.max_tokens == 32
    assert settings.disabled_languages == ("markdown",)


def test_nested_under_fimble_key() -> None:
    settings, problems = parse_settings({"fimble": {"prefixTokens": 512}})
    assert problems == [] and settings.prefix_tokens == 512


def test_invalid_values_keep_the_previous_value_and_say_why() -> None:
    base = Settings(max_tokens=40)
    settings, problems = parse_settings(
        {"maxTokens": "many", "maxLines": 0, "fimTemplate": "gpt", "threads": True, "x": 1}, base
    )
    assert settings == base
    assert len(problems) == 5
    assert any("maxTokens" in p and "integer" in p and "40" in p for p in problems)
    assert any("maxLines" in p and "between 1 and 200" in p for p in problems)
    assert any("fimTemplate" in p and "qwen" in p for p in problems)
    assert any("unknown setting 'x'" in p for p in problems)


def test_not_an_object() -> None:
    settings, problems = parse_settings(["modelPath"])
    assert settings == Settings() and "must be an object" in problems[0]
    assert parse_settings(None) == (Settings(), [])


def test_readme_table_matches_the_schema() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert settings_table() in readme, "README settings table is stale: paste settings_table()"


def test_each_configuration_is_whole_so_a_removed_setting_is_at_its_default() -> None:
    remote = {"engine": "openai", "remoteUrl": "https://llm.example.com", "maxTokens": 32}
    in_force, _ = parse_settings({"fimble": remote})
    settings, problems = parse_settings({"fimble": {"maxTokens": 32}}, in_force)
    assert problems == [] and settings == Settings(max_tokens=32)
    assert settings.engine == "local" and not settings.is_remote()
    assert parse_settings({}, in_force) == (Settings(), [])
    assert parse_settings(None, in_force) == (in_force, [])  # the client said nothing


def test_stats_say_where_prompts_go() -> None:
    assert Settings().engine_in_use() == {"kind": "local", "remote": False}
    remote = Settings(engine="infill", remote_url="https://llm.example.com:8443/v1")
    assert remote.engine_in_use() == {"kind": "infill", "remote": True, "host": "llm.example.com"}

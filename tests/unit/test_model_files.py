"""The embedded model is assembled once, verified, and bad files get actionable messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from engines.model_files import (
    DEFAULT_MODEL,
    EmbeddedModel,
    ModelFileError,
    assemble_embedded_model,
    check_gguf_file,
    resolve_model_path,
)


@pytest.mark.model
def test_default_model_is_assembled_and_verified() -> None:
    path = assemble_embedded_model()
    assert path.stat().st_size == DEFAULT_MODEL.size
    assert path.read_bytes()[:4] == b"GGUF"
    assert assemble_embedded_model() == path  # reused, not rebuilt
    assert resolve_model_path(None) == path


def test_wrong_checksum_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIMBLE_CACHE_DIR", str(tmp_path))
    wrong = EmbeddedModel(
        name="x",
        file_name="x.gguf",
        packages=DEFAULT_MODEL.packages[-1:],
        size=45_755_264,
        sha256="0" * 64,
        licence="none",
    )
    with pytest.raises(ModelFileError, match="damaged or of the wrong version"):
        assemble_embedded_model(wrong)
    assert not (tmp_path / "x.gguf").exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_slice_package() -> None:
    missing = EmbeddedModel("x", "x.gguf", ("no_such_slice_package",), 1, "0" * 64, "none")
    with pytest.raises(ModelFileError, match="not installed"):
        assemble_embedded_model(missing)


def test_user_paths_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        check_gguf_file(tmp_path / "absent.gguf")
    with pytest.raises(ModelFileError, match="not a file"):
        check_gguf_file(tmp_path)
    text = tmp_path / "model.gguf"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        check_gguf_file(text)

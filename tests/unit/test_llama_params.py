"""llama.cpp's parameter structs as fimble sets them: a renamed field must fail loudly, and
a model read into memory must leave no mapping of its file behind."""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import pytest

from engines.llama_runtime import LlamaModel, set_fields


def test_a_field_the_struct_lacks_is_refused() -> None:
    params = llama_cpp.llama_model_default_params()
    with pytest.raises(TypeError, match="use_mmap"):
        set_fields(params, use_mmap=False)  # renamed load_mode: plain setattr does nothing
    set_fields(params, vocab_only=True)
    assert params.vocab_only


def _mappings_of(path: Path) -> int:
    return Path("/proc/self/maps").read_text().count(str(path))


@pytest.mark.model
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps")
def test_a_model_read_into_memory_maps_nothing_of_its_file() -> None:
    from engines.model_files import assemble_embedded_model

    path = assemble_embedded_model()
    for in_memory, mapped in ((True, 0), (False, 1)):
        model = LlamaModel(path, in_memory=in_memory)
        try:
            assert _mappings_of(path) == mapped
        finally:
            model.close()

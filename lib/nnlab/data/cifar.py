"""The CIFAR-10 loader: the official "CIFAR-10 python version" archive, read safely.

:func:`load_cifar10` reads the archive that the course provides (``NNLAB_CIFAR10``)
or that it downloads on request (MD5 verified). Archives are checked member by
member and unpickled with an unpickler that accepts arrays only.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"
_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_FILES = (*_TRAIN_BATCHES, "test_batch", "batches.meta")


class DownloadError(OSError):
    """The CIFAR-10 download failed or its checksum did not match."""


@dataclass(frozen=True)
class Cifar10:
    """CIFAR-10 as arrays (returned by :func:`load_cifar10`)."""

    X_train: np.ndarray
    """``(50000, 32, 32, 3)`` uint8 images (height, width, RGB), 0..255."""
    y_train: np.ndarray
    """``(50000,)`` int64 labels in ``[0, 10)``."""
    X_test: np.ndarray
    """``(10000, 32, 32, 3)`` uint8 test images."""
    y_test: np.ndarray
    """``(10000,)`` int64 test labels."""
    class_names: tuple[str, ...]
    """``("airplane", "automobile", ...)`` from ``batches.meta``."""

    def as_float(self) -> Cifar10:
        """The same data with images as float32 in ``[0, 1]`` (pixel / 255): 4x the memory."""
        return replace(self, X_train=self.X_train.astype(np.float32) / 255,
                       X_test=self.X_test.astype(np.float32) / 255)


def cifar10_cache_dir() -> Path:
    """Where downloads go: ``$NNLAB_CACHE/cifar10``, by default ``~/.cache/nnlab/cifar10``."""
    return Path(os.environ.get("NNLAB_CACHE") or Path.home() / ".cache" / "nnlab") / "cifar10"


def _locate(path: Path) -> Path | None:
    """The archive file or the extracted folder at (or directly inside) ``path``, if any."""
    if path.is_file():
        return path
    for candidate in (path, path / CIFAR10_FOLDER):
        if (candidate / "batches.meta").is_file():
            return candidate
    return path / CIFAR10_ARCHIVE if (path / CIFAR10_ARCHIVE).is_file() else None


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings and numpy arrays only: never runs other code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),  # pickled by numpy 1 (the official files)
        ("numpy._core.multiarray", "_reconstruct"),  # pickled by numpy 2
        ("numpy.core.numeric", "_frombuffer"),  # pickle protocol 5, numpy 1
        ("numpy._core.numeric", "_frombuffer"),  # pickle protocol 5, numpy 2
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR-10 batch")
        return super().find_class(module, name)


def _unpickle(file: IO[bytes], where: str) -> dict:
    try:
        content = _ArrayUnpickler(file, encoding="bytes").load()
    except Exception as error:  # any corruption: truncated, not a pickle, foreign objects
        raise ValueError(f"CIFAR-10: cannot read {where}: {error}") from error
    if not isinstance(content, dict):
        raise ValueError(f"CIFAR-10: {where} should hold a dict, got {type(content).__name__}")
    return content


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Refuse members that could write outside the extraction folder."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
        raise ValueError(f"CIFAR-10: refusing unsafe archive {archive}: member {member.name!r} "
                         "is an absolute path, contains '..', or is a link/device")


def _cifar_name(member: tarfile.TarInfo) -> str | None:
    """``"data_batch_1"`` for the member ``cifar-10-batches-py/data_batch_1``, else None."""
    path = PurePosixPath(member.name)
    in_folder = path.parent == PurePosixPath(CIFAR10_FOLDER)
    if member.isfile() and in_folder and path.name in _CIFAR_FILES:
        return path.name
    return None


def _scan_archive(archive: Path, read: bool) -> dict[str, dict | None]:
    """Check every member of ``archive`` in one pass; unpickle the CIFAR files if ``read``.

    Returns:
        CIFAR file name -> its unpickled dict (or None when not ``read``).

    Raises:
        ValueError: for an unreadable or unsafe archive, or missing files.
    """
    found: dict[str, dict | None] = {}
    try:
        with tarfile.open(archive, "r|*") as tar:  # streaming: one decompression pass
            for member in tar:
                _check_member(member, archive)
                name = _cifar_name(member)
                if name is not None:
                    where = f"{archive}:{member.name}"
                    found[name] = _unpickle(tar.extractfile(member), where) if read else None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise ValueError(
            f"CIFAR-10: {archive} is not a readable tar.gz archive: {error}"
        ) from error
    missing = [f"{CIFAR10_FOLDER}/{name}" for name in _CIFAR_FILES if name not in found]
    if missing:
        raise ValueError(f"CIFAR-10: archive {archive} lacks {', '.join(missing)}")
    return found


def _read_batches(source: Path) -> dict[str, dict]:
    """Unpickle the 7 CIFAR-10 files from an extracted folder or an archive."""
    if not source.is_dir():
        return _scan_archive(source, read=True)  # type: ignore[return-value]
    missing = [name for name in _CIFAR_FILES if not (source / name).is_file()]
    if missing:
        raise ValueError(f"CIFAR-10: folder {source} lacks {', '.join(missing)}")
    batches = {}
    for name in _CIFAR_FILES:
        with open(source / name, "rb") as file:
            batches[name] = _unpickle(file, str(source / name))
    return batches


def _images_and_labels(batch: dict, where: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 32, 32, 3)`` uint8 images and ``(N,)`` int64 labels of one batch dict."""
    if b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"CIFAR-10: {where} lacks the keys b'data' and b'labels'")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"])
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.dtype != np.uint8:
        raise ValueError(f"CIFAR-10: {where}: b'data' should be (N, 3072) uint8, "
                         f"got {data.shape} {data.dtype}")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"CIFAR-10: {where}: b'labels' should be {len(data)} integers, "
                         f"got shape {labels.shape} {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"CIFAR-10: {where}: labels should lie in [0, {num_classes}), "
                         f"got {labels.min()}..{labels.max()}")
    # rows hold the R, G, B planes of 32x32 pixels one after the other: CHW -> HWC
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _parse(batches: dict[str, dict], source: Path) -> Cifar10:
    names = batches["batches.meta"].get(b"label_names")
    if not isinstance(names, list) or not names:
        raise ValueError(f"CIFAR-10: {source}: batches.meta lacks a list b'label_names'")
    class_names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
    train = [_images_and_labels(batches[name], f"{source}: {name}", len(class_names))
             for name in _TRAIN_BATCHES]
    X_test, y_test = _images_and_labels(batches["test_batch"], f"{source}: test_batch",
                                        len(class_names))
    return Cifar10(X_train=np.concatenate([X for X, _ in train]),
                   y_train=np.concatenate([y for _, y in train]),
                   X_test=X_test, y_test=y_test, class_names=class_names)


def _download(url: str, md5: str, archive: Path) -> None:
    """Download ``url`` to ``archive``; delete it and raise if the MD5 differs."""
    import urllib.request  # only here: it costs an import of http, email and ssl

    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    print(f"Downloading CIFAR-10 from {url} to {archive}", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as file:
            total = int(response.headers.get("Content-Length") or 0)
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                file.write(chunk)
                if total:
                    print(f"\r  {file.tell() / 1e6:.0f} of {total / 1e6:.0f} MB", end="",
                          file=sys.stderr)
        print(file=sys.stderr)
    except BaseException as error:  # also Ctrl-C: never leave a partial file behind
        partial.unlink(missing_ok=True)
        if isinstance(error, OSError):  # URLError, timeouts, disk full
            raise DownloadError(f"CIFAR-10: download from {url} failed: {error}") from error
        raise
    if digest.hexdigest() != md5.lower():
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"CIFAR-10: the file downloaded from {url} has MD5 {digest.hexdigest()}, expected "
            f"{md5}; it was deleted. The download was corrupted or the file changed: try again, "
            "or download it by hand and set NNLAB_CIFAR10 to its path."
        )
    partial.replace(archive)


def _extract(archive: Path, folder: Path) -> Path:
    """Safely extract ``archive`` into ``folder``; returns ``folder / cifar-10-batches-py``."""
    _scan_archive(archive, read=False)  # checks every member before anything is written
    with tarfile.open(archive, "r:*") as tar, \
            tempfile.TemporaryDirectory(dir=folder, prefix=".extract-") as scratch:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: belt and braces
            tar.extractall(scratch, filter="data")
        else:
            tar.extractall(scratch)  # every member was checked above
        target = folder / CIFAR10_FOLDER
        shutil.rmtree(target, ignore_errors=True)
        os.replace(Path(scratch) / CIFAR10_FOLDER, target)
    return target


def load_cifar10(
    root: str | Path | None = None,
    *,
    download: bool = False,
    url: str = CIFAR10_URL,
    md5: str = CIFAR10_MD5,
) -> Cifar10:
    """Load CIFAR-10 (official "python version") as uint8 arrays.

    Where it looks, first match wins:

    1. ``root``, if given: the ``cifar-10-python.tar.gz`` file, the extracted
       ``cifar-10-batches-py`` folder, or a folder holding either.
    2. otherwise the environment variable ``NNLAB_CIFAR10`` (set by the
       course), a path of the same kinds;
    3. otherwise the cache folder :func:`cifar10_cache_dir`.

    An archive is read directly, without extracting. If nothing is found and
    ``download=True``, the archive is downloaded into ``root`` (a folder) or
    the cache, its MD5 verified, and it is extracted next to it.

    Args:
        root: where the data is (see above); ``None`` to use the environment or cache.
        download: download the archive (about 163 MB) if it is not found.
        url: where to download from.
        md5: expected MD5 hex digest of the archive.

    Returns:
        A :class:`Cifar10`: ``X_train`` (50000, 32, 32, 3) uint8 HWC RGB,
        ``y_train`` (50000,) int64, ``X_test`` (10000, 32, 32, 3) uint8,
        ``y_test`` (10000,) int64, ``class_names``; ``.as_float()`` for float32.

    Raises:
        FileNotFoundError: if the data is not found and ``download`` is False,
            or ``NNLAB_CIFAR10`` names a path without CIFAR-10.
        DownloadError: if the download fails or its MD5 does not match (the
            file is then deleted).
        ValueError: if the archive or folder is malformed (unsafe member paths,
            missing batches, wrong shapes or labels).
    """
    env = os.environ.get("NNLAB_CIFAR10")
    if root is not None:
        where, folder = Path(root).expanduser(), Path(root).expanduser()
    elif env:
        where, folder = Path(env).expanduser(), None
    else:
        where, folder = cifar10_cache_dir(), cifar10_cache_dir()
    source = _locate(where)
    if source is None and env and root is None:
        raise FileNotFoundError(f"CIFAR-10: NNLAB_CIFAR10 is set to {env}, but there is no "
                                f"{CIFAR10_ARCHIVE} or {CIFAR10_FOLDER} folder there. "
                                "Fix the path, or unset NNLAB_CIFAR10.")
    if source is None and download:
        archive = folder / CIFAR10_ARCHIVE
        _download(url, md5, archive)
        try:
            source = _extract(archive, folder)
        except ValueError:
            archive.unlink()  # a verified but unusable archive: do not find it next time
            raise
    if source is None:
        raise FileNotFoundError(
            f"CIFAR-10 not found in {where}. Either set the environment variable NNLAB_CIFAR10 "
            f"to the course's {CIFAR10_ARCHIVE} (or its extracted {CIFAR10_FOLDER} folder), "
            "or call load_cifar10(download=True) to download it (163 MB), "
            "or use the embedded dataset: nnlab.data.load_shapes()."
        )
    return _parse(_read_batches(source), source)

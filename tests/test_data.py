"""Tests for nnlab.data: the embedded shapes dataset and the CIFAR-10 loader.

The CIFAR-10 tests never touch the network or the real home folder: they write
small archives in the exact official format ("CIFAR-10 python version": five
data batches, a test batch and batches.meta, pickled dicts in a tar.gz) into
tmp_path, and serve them from a local HTTP server for the download path.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import struct
import tarfile
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from nnlab.data import (
    CIFAR10_ARCHIVE,
    CIFAR10_FOLDER,
    SHAPE_CLASSES,
    DownloadError,
    ShapesDataset,
    load_cifar10,
    load_shapes,
    one_hot,
)

SPLITS = ("train", "val", "test")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No course path, a cache inside tmp_path, and no proxy for 127.0.0.1."""
    monkeypatch.delenv("NNLAB_CIFAR10", raising=False)
    monkeypatch.setenv("NNLAB_CACHE", str(tmp_path / "cache"))
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                  "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    return tmp_path / "cache" / "cifar10"


@pytest.fixture(scope="module")
def shapes() -> ShapesDataset:
    return load_shapes(seed=0)


# ----------------------------------------------------------------- load_shapes


def _arrays(data: ShapesDataset) -> list[np.ndarray]:
    return [getattr(data, f"{kind}_{split}") for split in SPLITS for kind in ("X", "y")]


def test_same_seed_gives_identical_arrays(shapes):
    for a, b in zip(_arrays(shapes), _arrays(load_shapes(seed=0)), strict=True):
        np.testing.assert_array_equal(a, b)


def test_different_seed_gives_different_arrays(shapes):
    other = load_shapes(seed=1)
    for split in SPLITS:
        assert not np.array_equal(getattr(shapes, f"X_{split}"), getattr(other, f"X_{split}"))


def test_splits_have_independent_streams(shapes):
    # changing the size of one split must not change the others
    smaller = load_shapes(num_val=100, num_test=3, seed=0)
    np.testing.assert_array_equal(smaller.X_train, shapes.X_train)
    np.testing.assert_array_equal(smaller.y_train, shapes.y_train)


def test_splits_differ_from_each_other(shapes):
    assert not np.array_equal(shapes.X_val, shapes.X_test)
    assert not np.array_equal(shapes.X_train[:500], shapes.X_val)


@pytest.mark.parametrize(
    "sizes", [(2000, 500, 500), (7, 1, 0), (0, 0, 0)], ids=["default", "odd", "empty"]
)
def test_shapes_dtypes_and_ranges(sizes):
    data = load_shapes(*sizes, seed=3)
    for split, n in zip(SPLITS, sizes, strict=True):
        X, y = getattr(data, f"X_{split}"), getattr(data, f"y_{split}")
        assert X.shape == (n, 32, 32, 3) and X.dtype == np.float32, split
        assert y.shape == (n,) and y.dtype == np.int64, split
        if n:
            assert X.min() >= 0.0 and X.max() <= 1.0, split
            assert y.min() >= 0 and y.max() < data.num_classes, split


def test_class_names():
    assert len(SHAPE_CLASSES) >= 6 and len(set(SHAPE_CLASSES)) == len(SHAPE_CLASSES)
    data = load_shapes(6, 0, 0)
    assert data.class_names == SHAPE_CLASSES and data.num_classes == len(SHAPE_CLASSES)


@pytest.mark.parametrize("n", [2000, 500, 6, 13, 1], ids=lambda n: f"n={n}")
def test_classes_are_balanced(n):
    counts = np.bincount(load_shapes(n, 0, 0, seed=4).y_train, minlength=len(SHAPE_CLASSES))
    assert counts.sum() == n
    assert counts.max() - counts.min() <= (1 if n % len(SHAPE_CLASSES) else 0), counts


def test_labels_are_shuffled(shapes):
    # not sorted and not cycling 0, 1, 2, ...: a mini-batch must see every class
    assert not np.array_equal(shapes.y_train, np.arange(2000) % len(SHAPE_CLASSES))
    assert np.all(np.bincount(shapes.y_train[:60], minlength=6) > 0)


def test_images_have_noise_and_varied_colours(shapes):
    X = shapes.X_train
    # noise: neighbouring background pixels differ; colours: backgrounds vary
    assert np.abs(np.diff(X[:, :, :2], axis=2)).mean() > 0.01
    assert X[:, 0, 0].std(axis=0).min() > 0.05


def test_generation_is_fast():
    # A sanity bound, not a benchmark: the default sizes take ~0.2 s here. CPU
    # time (not wall time) of the best of three warm calls, so that other
    # processes on a busy machine do not make the test flaky.
    load_shapes()
    best = min(_cpu_seconds(load_shapes) for _ in range(3))
    assert best < 1.0, f"load_shapes() took {best:.2f} s of CPU time"


def _cpu_seconds(func) -> float:
    start = time.process_time()
    func()
    return time.process_time() - start


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Small models train faster (and steadier on a busy machine) on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _mlp_accuracy(X_train, y_train, X_val, y_val) -> float:
    """Validation accuracy of an MLP (64 ReLU units) trained 10 epochs with Adam on standardised
    features: (N, ...) float32 inputs are flattened."""
    torch.manual_seed(0)
    X_tr = torch.tensor(X_train.reshape(len(X_train), -1), dtype=torch.float32)
    X_va = torch.tensor(X_val.reshape(len(X_val), -1), dtype=torch.float32)
    mean, std = X_tr.mean(0), X_tr.std(0) + 1e-6
    X_tr, X_va = (X_tr - mean) / std, (X_va - mean) / std
    y_tr = torch.tensor(y_train)
    D, C = X_tr.shape[1], len(SHAPE_CLASSES)
    model = torch.nn.Sequential(torch.nn.Linear(D, 64), torch.nn.ReLU(), torch.nn.Linear(64, C))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(10):
        for batch in torch.randperm(len(X_tr)).split(100):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(X_tr[batch]), y_tr[batch]).backward()
            optimizer.step()
    with torch.no_grad():
        return float((model(X_va).argmax(1).numpy() == y_val).mean())


def test_mlp_learns_but_does_not_solve_the_task(shapes, one_torch_thread):
    # 500 validation images: the standard error of an accuracy p is
    # sqrt(p (1 - p) / 500) <= 0.022. Seen: 0.76 in ~0.5 s (chance 1/6 = 0.17);
    # the bounds 0.6 and 0.98 are each more than 6 standard errors away.
    accuracy = _mlp_accuracy(shapes.X_train, shapes.y_train, shapes.X_val, shapes.y_val)
    assert 0.6 < accuracy < 0.98, f"MLP validation accuracy {accuracy:.3f}"


def _mean_colour(X: np.ndarray) -> np.ndarray:
    return X.mean(axis=(1, 2))


def _colour_statistics(X: np.ndarray) -> np.ndarray:
    return np.concatenate([X.mean(axis=(1, 2)), X.std(axis=(1, 2)), X.min(axis=(1, 2)),
                           X.max(axis=(1, 2))], axis=1)


@pytest.mark.parametrize("features", [_mean_colour, _colour_statistics],
                         ids=["mean-colour", "colour-statistics"])
def test_colour_alone_is_not_enough(shapes, one_torch_thread, features):
    # The same MLP on colour statistics (per-channel mean, or mean, std, min and
    # max: where shapes are does not enter) stays near chance: seen 0.20..0.25
    # over seeds 0..2 (chance 0.17, standard error ~0.019); 0.35 is more than 5
    # standard errors above. Catches shapes whose colour depends on the class.
    accuracy = _mlp_accuracy(features(shapes.X_train), shapes.y_train,
                             features(shapes.X_val), shapes.y_val)
    assert accuracy < 0.35, f"{features.__name__} validation accuracy {accuracy:.3f}"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_train": -1}, "num_train must be a non-negative integer, got -1"),
        ({"num_val": 2.5}, "num_val must be a non-negative integer, got 2.5"),
        ({"seed": -3}, "seed must be a non-negative integer, got -3"),
        ({"seed": True}, "seed must be a non-negative integer, got True"),
    ],
    ids=["negative-size", "float-size", "negative-seed", "bool-seed"],
)
def test_load_shapes_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match="load_shapes: " + message):
        load_shapes(**kwargs)


# ---------------------------------------------------------------------- one_hot


def test_one_hot_values():
    out = one_hot(np.array([2, 0, 1, 2]), 4)
    assert out.shape == (4, 4) and out.dtype == np.float64
    np.testing.assert_array_equal(out, np.eye(4)[[2, 0, 1, 2]])
    assert one_hot(np.array([1]), 3, dtype=np.float32).dtype == np.float32
    assert one_hot(np.array([], dtype=np.int64), 3).shape == (0, 3)


@pytest.mark.parametrize(
    ("y", "num_classes", "message"),
    [
        (np.array([0, 3]), 3, r"labels must lie in \[0, 3\), got values from 0 to 3"),
        (np.array([-1, 0]), 3, r"labels must lie in \[0, 3\)"),
        (np.array([[0, 1]]), 3, r"y must be a 1-D integer array, got shape \(1, 2\)"),
        (np.array([0.0, 1.0]), 3, "y must be a 1-D integer array, got shape .* float64"),
        (np.array([0]), 0, "num_classes must be >= 1"),
    ],
    ids=["too-big", "negative", "2-d", "float", "no-classes"],
)
def test_one_hot_rejects_bad_input(y, num_classes, message):
    with pytest.raises(ValueError, match="one_hot: " + message):
        one_hot(y, num_classes)


# ------------------------------------------------------- a CIFAR-10 in miniature

CIFAR_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
N_PER_BATCH = 10
BATCH_NAMES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")


def known_image() -> np.ndarray:
    """(32, 32, 3) uint8 with R = row, G = column, B = 200: any transposition shows."""
    rows, cols = np.mgrid[0:32, 0:32]
    return np.stack([rows, cols, np.full((32, 32), 200)], axis=-1).astype(np.uint8)


def cifar_batches(seed: int = 0) -> dict[str, dict]:
    """The 7 pickled dicts of a CIFAR-10 with 10 images per batch, as the official files."""
    rng = np.random.default_rng(seed)
    batches = {}
    for name in BATCH_NAMES:
        data = rng.integers(0, 256, size=(N_PER_BATCH, 3072), dtype=np.uint8)
        batches[name] = {
            b"batch_label": name.encode(),
            b"labels": [int(label) for label in rng.integers(0, 10, N_PER_BATCH)],
            b"data": data,
            b"filenames": [f"img_{i}.png".encode() for i in range(N_PER_BATCH)],
        }
    # rows are channel-first: the R plane (row-major), then G, then B
    batches["data_batch_1"][b"data"][0] = known_image().transpose(2, 0, 1).reshape(-1)
    batches["batches.meta"] = {
        b"label_names": [name.encode() for name in CIFAR_NAMES],
        b"num_cases_per_batch": N_PER_BATCH,
        b"num_vis": 3072,
    }
    return batches


class Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle wrote the official files: bytes as py2 ``str``
    (opcodes SHORT_BINSTRING/BINSTRING, so they need ``encoding="bytes"`` to load as bytes)
    and numpy's functions under their numpy 1 names (``numpy.core.multiarray``)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes) -> None:
        n = len(obj)
        self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj if n < 256
                   else pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj: object, name: str | None = None) -> None:
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)


def python2_pickle(content: object) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(content)
    return buffer.getvalue()


def write_cifar_folder(parent: Path, batches: dict[str, object] | None = None,
                       dumps=python2_pickle) -> Path:
    folder = parent / CIFAR10_FOLDER
    folder.mkdir(parents=True)
    for name, content in (batches or cifar_batches()).items():
        (folder / name).write_bytes(dumps(content))
    return folder


def write_cifar_archive(path: Path, batches: dict[str, object] | None = None,
                        extra: list[tarfile.TarInfo | tuple[str, bytes]] = ()) -> Path:
    """A tar.gz like the official one, plus ``extra`` members ((name, content) or TarInfo)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    members = [(f"{CIFAR10_FOLDER}/{name}", python2_pickle(content))
               for name, content in (batches or cifar_batches()).items()]
    with tarfile.open(path, "w:gz") as tar:
        for member in [*members, *extra]:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
                continue
            info = tarfile.TarInfo(member[0])
            info.size = len(member[1])
            tar.addfile(info, io.BytesIO(member[1]))
    return path


def assert_is_mini_cifar(data) -> None:
    batches = cifar_batches()
    assert data.X_train.shape == (50, 32, 32, 3) and data.X_train.dtype == np.uint8
    assert data.y_train.shape == (50,) and data.y_train.dtype == np.int64
    assert data.X_test.shape == (10, 32, 32, 3) and data.X_test.dtype == np.uint8
    assert data.y_test.shape == (10,) and data.y_test.dtype == np.int64
    assert data.class_names == CIFAR_NAMES
    expected_y = np.concatenate([batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)])
    np.testing.assert_array_equal(data.y_train, expected_y)
    np.testing.assert_array_equal(data.y_test, batches["test_batch"][b"labels"])
    np.testing.assert_array_equal(data.X_train[0], known_image())
    np.testing.assert_array_equal(
        data.X_test.transpose(0, 3, 1, 2).reshape(10, -1), batches["test_batch"][b"data"])


@pytest.mark.parametrize(
    "layout", ["archive-file", "folder-with-archive", "extracted-folder", "folder-with-extracted"]
)
def test_load_cifar10_from_root(tmp_path, layout):
    if layout.startswith("archive") or layout == "folder-with-archive":
        archive = write_cifar_archive(tmp_path / "data" / CIFAR10_ARCHIVE)
        root = archive if layout == "archive-file" else archive.parent
    else:
        folder = write_cifar_folder(tmp_path / "data")
        root = folder if layout == "extracted-folder" else folder.parent
    assert_is_mini_cifar(load_cifar10(root))
    assert_is_mini_cifar(load_cifar10(str(root)))


@pytest.mark.parametrize("kind", ["archive", "extracted-folder"])
def test_load_cifar10_from_environment_variable(tmp_path, monkeypatch, kind):
    path = (write_cifar_archive(tmp_path / "course" / CIFAR10_ARCHIVE) if kind == "archive"
            else write_cifar_folder(tmp_path / "course"))
    monkeypatch.setenv("NNLAB_CIFAR10", str(path))
    assert_is_mini_cifar(load_cifar10())


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_load_cifar10_pickled_by_python3(tmp_path, protocol):
    # a course may re-pickle the batches with Python 3 (bytes via _codecs.encode in protocol 2)
    folder = write_cifar_folder(tmp_path, dumps=partial(pickle.dumps, protocol=protocol))
    assert_is_mini_cifar(load_cifar10(folder))


def test_environment_variable_to_a_wrong_path_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_CIFAR10", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="NNLAB_CIFAR10 is set to .*nowhere"):
        load_cifar10()


def test_load_cifar10_from_cache(isolated_env):
    write_cifar_folder(isolated_env)
    assert_is_mini_cifar(load_cifar10())


def test_pixel_layout_is_height_width_rgb(tmp_path):
    image = load_cifar10(write_cifar_folder(tmp_path)).X_train[0]
    assert image[5, 17].tolist() == [5, 17, 200]  # R = row, G = column, B = 200
    assert image[31, 0].tolist() == [31, 0, 200]


def test_as_float(tmp_path):
    data = load_cifar10(write_cifar_folder(tmp_path))
    floats = data.as_float()
    assert floats.X_train.dtype == np.float32 and floats.X_test.dtype == np.float32
    np.testing.assert_allclose(floats.X_train, data.X_train / 255, rtol=1e-6)
    assert 0.0 <= floats.X_train.min() and floats.X_train.max() <= 1.0
    assert floats.y_train is data.y_train and data.X_train.dtype == np.uint8


def test_not_found_says_what_to_do(isolated_env):
    with pytest.raises(FileNotFoundError) as error:
        load_cifar10()
    message = str(error.value)
    for hint in (str(isolated_env), "NNLAB_CIFAR10", "download=True", "load_shapes"):
        assert hint in message, f"{hint!r} missing from: {message}"


# ---------------------------------------------------------------- download


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A local HTTP server: (folder it serves, its base URL)."""
    root = tmp_path / "www"
    root.mkdir()

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_verifies_extracts_and_loads(web, isolated_env):
    served, base = web
    archive = write_cifar_archive(served / CIFAR10_ARCHIVE)
    data = load_cifar10(download=True, url=f"{base}/{CIFAR10_ARCHIVE}", md5=_md5(archive))
    assert_is_mini_cifar(data)
    assert (isolated_env / CIFAR10_ARCHIVE).is_file()
    assert (isolated_env / CIFAR10_FOLDER / "batches.meta").is_file()
    assert {p.name for p in isolated_env.iterdir()} == {CIFAR10_ARCHIVE, CIFAR10_FOLDER}
    archive.unlink()  # now served from the cache, without the network
    assert_is_mini_cifar(load_cifar10())


def test_download_into_explicit_root(web, tmp_path):
    served, base = web
    archive = write_cifar_archive(served / CIFAR10_ARCHIVE)
    root = tmp_path / "mine"
    load_cifar10(root, download=True, url=f"{base}/{CIFAR10_ARCHIVE}", md5=_md5(archive))
    assert (root / CIFAR10_FOLDER / "batches.meta").is_file()


def test_download_with_wrong_md5_is_refused_and_deleted(web, isolated_env):
    served, base = web
    write_cifar_archive(served / CIFAR10_ARCHIVE)
    with pytest.raises(DownloadError, match="has MD5 [0-9a-f]{32}, expected 0{32}; it was deleted"):
        load_cifar10(download=True, url=f"{base}/{CIFAR10_ARCHIVE}", md5="0" * 32)
    assert list(isolated_env.iterdir()) == []


def test_failed_download_leaves_nothing(web, isolated_env):
    _, base = web
    with pytest.raises(DownloadError, match="download from .* failed: HTTP Error 404"):
        load_cifar10(download=True, url=f"{base}/missing.tar.gz", md5="0" * 32)
    assert list(isolated_env.iterdir()) == []


class _InterruptedResponse:
    """An HTTP response that delivers one chunk, then the student presses Ctrl-C."""

    headers = {"Content-Length": "2000000"}

    def __init__(self) -> None:
        self.chunks = 0

    def __enter__(self) -> _InterruptedResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def read(self, size: int) -> bytes:
        self.chunks += 1
        if self.chunks > 1:
            raise KeyboardInterrupt
        return b"x" * 1000


def test_interrupted_download_leaves_nothing(monkeypatch, isolated_env):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: _InterruptedResponse())
    with pytest.raises(KeyboardInterrupt):
        load_cifar10(download=True, url="http://example.invalid/c.tar.gz", md5="0" * 32)
    assert list(isolated_env.iterdir()) == []


@pytest.mark.parametrize(
    "member",
    ["../evil.txt", f"{CIFAR10_FOLDER}/../../evil.txt", "/tmp/nnlab-evil.txt"],
    ids=["dot-dot", "nested-dot-dot", "absolute"],
)
def test_path_traversal_archive_is_rejected(web, tmp_path, isolated_env, member):
    served, base = web
    archive = write_cifar_archive(served / CIFAR10_ARCHIVE, extra=[(member, b"pwned")])
    with pytest.raises(ValueError, match="refusing unsafe archive"):
        load_cifar10(archive)
    with pytest.raises(ValueError, match="refusing unsafe archive"):
        load_cifar10(download=True, url=f"{base}/{CIFAR10_ARCHIVE}", md5=_md5(archive))
    assert not (tmp_path / "evil.txt").exists() and not (isolated_env.parent / "evil.txt").exists()
    assert not Path("/tmp/nnlab-evil.txt").exists()
    assert list(isolated_env.iterdir()) == []  # the unusable archive was removed


def test_symlink_member_is_rejected(tmp_path):
    link = tarfile.TarInfo(f"{CIFAR10_FOLDER}/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive = write_cifar_archive(tmp_path / CIFAR10_ARCHIVE, extra=[link])
    with pytest.raises(ValueError, match="'cifar-10-batches-py/link' .* link"):
        load_cifar10(archive)


# -------------------------------------------------------------- malformed data


def _without(name: str) -> dict[str, object]:
    batches = cifar_batches()
    del batches[name]
    return batches


def _with(name: str, key: bytes, value: object) -> dict[str, object]:
    batches = cifar_batches()
    batches[name][key] = value
    return batches


@pytest.mark.parametrize(
    ("batches", "message"),
    [
        (_without("test_batch"), "lacks .*test_batch"),
        (_with("data_batch_2", b"data", np.zeros((10, 3071), np.uint8)),
         r"data_batch_2: b'data' should be \(N, 3072\) uint8, got \(10, 3071\) uint8"),
        (_with("data_batch_3", b"data", np.zeros((10, 3072), np.float32)),
         r"data_batch_3: b'data' should be \(N, 3072\) uint8, got \(10, 3072\) float32"),
        (_with("data_batch_4", b"labels", [0] * 9),
         r"data_batch_4: b'labels' should be 10 integers, got shape \(9,\)"),
        (_with("test_batch", b"labels", [10] * 10),
         r"test_batch: labels should lie in \[0, 10\), got 10..10"),
        (_with("batches.meta", b"label_names", None), "lacks a list b'label_names'"),
        ({**cifar_batches(), "data_batch_5": [1, 2, 3]}, "data_batch_5 should hold a dict"),
        ({**cifar_batches(), "data_batch_1": OrderedDict()},
         "unexpected object collections.OrderedDict"),
    ],
    ids=["missing-batch", "wrong-width", "wrong-dtype", "label-count", "label-range",
         "no-label-names", "not-a-dict", "foreign-object"],
)
@pytest.mark.parametrize("container", ["archive", "folder"])
def test_malformed_data_gives_clear_error(tmp_path, batches, message, container):
    root = (write_cifar_archive(tmp_path / CIFAR10_ARCHIVE, batches) if container == "archive"
            else write_cifar_folder(tmp_path, batches))
    with pytest.raises(ValueError, match=message):
        load_cifar10(root)


def test_not_an_archive_gives_clear_error(tmp_path):
    bogus = tmp_path / CIFAR10_ARCHIVE
    bogus.write_bytes(b"<html>not found</html>")
    with pytest.raises(ValueError, match="is not a readable tar.gz archive"):
        load_cifar10(bogus)

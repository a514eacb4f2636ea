"""The digitnet command, run as a real subprocess."""

import functools
import io
import json
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.data.mnist import load_mnist
from model.serialize import load_model
from tests.app.conftest import WEIGHTS, drawn_one, mnist_png, png_bytes

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "weights" / "digitnet.npz"


def digitnet(*args: str, env_data: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "app.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory, mnist_dir) -> Path:
    out = tmp_path_factory.mktemp("cli") / "small.npz"
    result = digitnet("train", "--hidden", "32", "--epochs", "2", "--limit", "3000", "--lr", "0.5",
                      "--seed", "3", "--data", str(mnist_dir), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "epoch 2/2" in result.stderr and "saved" in result.stderr
    return out


def test_train_saves_a_model_with_its_metadata(small_model: Path) -> None:
    assert small_model.stat().st_mode & 0o777 == 0o644
    saved = load_model(small_model)
    assert saved.network.arch.sizes == (784, 32, 10)
    meta = saved.meta
    assert meta["config"]["lr"] == 0.5 and meta["seed"] == 3 and len(meta["history"]) == 2
    assert meta["command"].startswith("digitnet train") and "--limit 3000" in meta["command"]
    assert len(meta["data_sha256"]) == 4 and meta["test_accuracy"] > 0.8


def test_train_a_conv_network_by_its_layers_then_read_a_drawing(tmp_path: Path, mnist_dir: Path) -> None:
    out = tmp_path / "conv.npz"
    trained = digitnet("train", "--layers", "conv3x3x4, pool, dense16, dense10", "--epochs", "1", "--limit",
                       "500", "--lr", "0.3", "--data", str(mnist_dir), "--out", str(out))
    assert trained.returncode == 0, trained.stderr
    saved = load_model(out)
    assert saved.network.arch.layers() == ["conv3x3x4", "pool", "dense16", "dense10"]
    assert saved.meta["config"]["image_layers"] == ["conv3x3x4", "pool"]
    png = tmp_path / "one.png"
    png.write_bytes(drawn_one())
    read = digitnet("predict", "--weights", str(out), str(png))
    assert read.returncode == 0 and read.stdout.strip(), read.stderr


def test_evaluate_json(small_model: Path, mnist_dir: Path) -> None:
    result = digitnet("evaluate", "--weights", str(small_model), "--data", str(mnist_dir), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 10000 and report["accuracy"] == pytest.approx(
        load_model(small_model).meta["test_accuracy"])
    confusion = np.array(report["confusion"])
    assert confusion.sum() == 10000 and np.trace(confusion) == round(report["accuracy"] * 10000)


def _digit_png(mnist_dir: Path, index: int) -> tuple[bytes, int]:
    """A test digit as a photo-like 280x280 PNG: dark ink on white paper, off-centre."""
    mnist = load_mnist(mnist_dir)
    ink = Image.fromarray(255 - mnist.test_images[index].reshape(28, 28)).resize((140, 140))
    page = Image.new("L", (280, 280), 255)
    page.paste(ink, (100, 30))
    buf = io.BytesIO()
    page.save(buf, format="PNG")
    return buf.getvalue(), int(mnist.test_labels[index])


def test_shipped_model_reads_a_png(tmp_path: Path, mnist_dir: Path) -> None:
    assert SHIPPED.exists()
    right = 0
    for index in range(10):
        png, label = _digit_png(mnist_dir, index)
        path = tmp_path / f"{index}.png"
        path.write_bytes(png)
        result = digitnet("predict", str(path), "--json")
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert sum(answer["probabilities"]) == pytest.approx(1.0, abs=1e-4)
        right += answer["digit"] == label
    assert right >= 9


@pytest.mark.parametrize("drawing", ["one", "mnist", "blank"])
def test_predict_answers_as_the_api_does(drawing: str, tmp_path: Path, client, mnist_samples) -> None:
    """One file through the command and through POST /predict on the app: the same digit and the same
    probabilities (rounded to 6 places both ways); a blank drawing is None and ten 0.1s in both."""
    png = {"one": drawn_one, "mnist": lambda: mnist_png(mnist_samples[0][0]),
           "blank": lambda: png_bytes(Image.new("L", (280, 280), 255))}[drawing]()
    path = tmp_path / "drawing.png"
    path.write_bytes(png)
    read = digitnet("predict", str(path), "--weights", str(WEIGHTS), "--json")
    assert read.returncode == 0, read.stderr
    by_cli = json.loads(read.stdout)
    by_api = client.post("/predict", content=png, headers={"content-type": "image/png"}).json()
    assert by_cli["digit"] == by_api["digit"]
    assert by_cli["probabilities"] == pytest.approx(by_api["probabilities"], abs=1e-6)
    if drawing == "blank":
        assert by_cli == {"digit": None, "probabilities": [0.1] * 10}
        assert digitnet("predict", str(path), "--weights", str(WEIGHTS)).stdout == (
            "no digit found (the image is blank)\n")
    else:
        assert by_cli["digit"] is not None


@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluate", "--weights", "/nonexistent/m.npz"], "does not exist"),
        (["train", "--lr", "-1"], "lr must be positive"),
        (["train", "--data", "/nonexistent/mnist"], "does not exist"),
        (["predict", "/nonexistent.png"], "cannot read"),
        (["predict", "README.md"], "cannot decode"),
        (["predict", "/dev/null"], "the image is empty"),
        (["predict", "weights/digitnet.npz"], "not a PNG or JPEG"),
        (["train", "--layers", "conv5x5x16, pool, dense5"], "dense10, not dense5"),
        (["train", "--layers", "conv5x5x16, bogus, dense10"], "unknown image layer 'bogus'"),
    ],
)
def test_bad_input_gives_a_message_and_nonzero_exit(args: list[str], message: str) -> None:
    result = digitnet(*args)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """No request log in the test output."""


def test_data_download_from_a_local_mirror_then_verify(tmp_path: Path, mnist_dir: Path) -> None:
    handler = functools.partial(_QuietHandler, directory=str(mnist_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        mirror = f"http://127.0.0.1:{server.server_address[1]}/"
        target = tmp_path / "mnist"
        result = digitnet("data", "download", "--data", str(target), "--mirror", mirror)
        assert result.returncode == 0, result.stderr
        assert "SHA-256 verified" in result.stderr
        assert sorted(p.name for p in target.iterdir()) == sorted(
            p.name for p in mnist_dir.glob("*.gz"))
        assert digitnet("data", "verify", "--data", str(target)).returncode == 0
    finally:
        server.shutdown()


def test_data_verify_names_a_corrupt_file(tmp_path: Path, mnist_dir: Path) -> None:
    for f in mnist_dir.glob("*.gz"):
        shutil.copy(f, tmp_path / f.name)
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(bad.read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    result = digitnet("data", "verify", "--data", str(tmp_path))
    assert result.returncode == 1
    assert "t10k-labels-idx1-ubyte.gz is corrupt" in result.stderr and "Traceback" not in result.stderr


def test_data_download_offline_says_so(tmp_path: Path) -> None:
    result = digitnet("data", "download", "--data", str(tmp_path), "--mirror", "http://127.0.0.1:9/")
    assert result.returncode == 1
    assert "offline" in result.stderr and "Traceback" not in result.stderr


def test_the_choices_are_model_names() -> None:
    """The parser takes the names from model.names, in its order (the registries' own, test_names.py)."""
    from app.cli.arguments import build_parser
    from model import names

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    choices = {a.dest: list(a.choices) for a in train._actions if a.choices}
    assert choices == {"preset": list(names.PRESETS), "activation": list(names.HIDDEN_ACTIVATIONS),
                       "cost": list(names.COSTS), "optimizer": list(names.OPTIMIZERS),
                       "schedule": list(names.SCHEDULES)}
    assert train.get_default("preset") == names.DEFAULT_PRESET
    help_text = " ".join(digitnet("train", "--help").stdout.split())
    assert names.LAYER_FORMS in help_text and ", ".join(names.LAYER_PRESETS) in help_text


def test_the_arguments_are_parsed_before_numpy_loads() -> None:
    """``serve`` sets BLAS's thread count after parsing, which is too late once NumPy is loaded."""
    probe = ("import sys; from app.cli.arguments import build_parser; "
             "build_parser().parse_args(['train', '--preset', 'conv', '--optimizer', 'adam']); "
             "build_parser().parse_args(['serve', '--port', '8001']); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'numpy'))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

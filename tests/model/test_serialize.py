import io
import json
import zipfile

import numpy as np
import pytest

from model.architecture import Architecture
from model.network import Network
from model.serialize import ModelFileError, load_model, save_model


def _net() -> Network:
    net = Network(Architecture((6, 5, 3)))
    net.initialize(np.random.default_rng(0))
    return net


def test_round_trip_keeps_theta_architecture_and_meta(tmp_path) -> None:
    net = _net()
    path = save_model(tmp_path / "m.npz", net, {"seed": 4, "test_accuracy": 0.5})
    saved = load_model(path)
    assert saved.network.theta.tobytes() == net.theta.tobytes()
    assert saved.network.arch == net.arch
    assert saved.meta["seed"] == 4 and saved.meta["architecture"]["sizes"] == [6, 5, 3]
    x = np.random.default_rng(1).normal(size=(2, 6)).astype(np.float32)
    np.testing.assert_array_equal(saved.network.predict_proba(x), net.predict_proba(x))
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temp file left


def _write_npz(path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _meta(sizes=(6, 5, 3)) -> np.ndarray:
    arch = {"sizes": list(sizes), "hidden_activation": "relu", "output_activation": "softmax",
            "cost": "cross_entropy"}
    return np.array(json.dumps({"architecture": arch}))


def test_pickle_inside_is_refused(tmp_path) -> None:
    path = tmp_path / "evil.npz"
    _write_npz(path, theta=np.array([{"x": 1}], dtype=object), meta=_meta())
    with pytest.raises(ModelFileError, match="pickle"):
        load_model(path)


def test_wrong_shape_is_refused(tmp_path) -> None:
    path = tmp_path / "shape.npz"
    _write_npz(path, theta=np.zeros(10, dtype=np.float32), meta=_meta())
    with pytest.raises(ModelFileError, match=r"shape \(10,\).*\(53,\)"):
        load_model(path)


def test_nan_is_refused(tmp_path) -> None:
    theta = np.zeros(53, dtype=np.float32)
    theta[7] = np.nan
    path = tmp_path / "nan.npz"
    _write_npz(path, theta=theta, meta=_meta())
    with pytest.raises(ModelFileError, match="NaN"):
        load_model(path)


@pytest.mark.parametrize(
    "content, message",
    [(b"not a zip at all", "readable"), (b"", "readable")],
)
def test_garbage_and_empty_files_are_refused(tmp_path, content, message) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_missing_file_and_bad_meta_and_extra_arrays(tmp_path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nope.npz")
    _write_npz(tmp_path / "meta.npz", theta=np.zeros(53, np.float32), meta=np.array("{not json"))
    with pytest.raises(ModelFileError, match="metadata"):
        load_model(tmp_path / "meta.npz")
    _write_npz(tmp_path / "extra.npz", theta=np.zeros(53, np.float32), meta=_meta(), x=np.zeros(1))
    with pytest.raises(ModelFileError, match="exactly"):
        load_model(tmp_path / "extra.npz")


def test_truncated_file_is_refused(tmp_path) -> None:
    good = save_model(tmp_path / "good.npz", _net(), {})
    data = good.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "cut.npz")


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    path = save_model(tmp_path / "m.npz", _net(), {"version": "old"})
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, _net(), {"version": "new"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert zipfile.is_zipfile(io.BytesIO(before))

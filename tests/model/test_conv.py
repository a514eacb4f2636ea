"""The convolution layer (model/conv.py): a worked example, the plain forms, central differences."""

import numpy as np
import pytest

from model.conv import Conv2D
from model.patches import col2im, im2col, padding_of
from tests.model.gradcheck import numerical_gradient, relative_error


def _conv(k: int, c_in: int, c_out: int, padding: str, activation: str = "tanh", seed: int = 0) -> Conv2D:
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 0.5, k * k * c_in * c_out + c_out)
    grad = np.zeros_like(theta)
    n_w = k * k * c_in * c_out
    shape = (k, k, c_in, c_out)
    return Conv2D(theta[:n_w].reshape(shape), theta[n_w:], grad[:n_w].reshape(shape), grad[n_w:],
                  activation, padding)


def plain_correlation(x: np.ndarray, W: np.ndarray, b: np.ndarray, pad: int) -> np.ndarray:
    """z[n, i, j, o] = b[o] + sum over p, q, c of xp[n, i + p, j + q, c] W[p, q, c, o], pixel by pixel."""
    k = W.shape[0]
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    n, hp, wp, _ = xp.shape
    z = np.empty((n, hp - k + 1, wp - k + 1, W.shape[3]))
    for i in range(z.shape[1]):
        for j in range(z.shape[2]):
            z[:, i, j, :] = np.tensordot(xp[:, i : i + k, j : j + k, :], W, axes=3) + b
    return z


def full_convolution_with_flipped_kernel(dz: np.ndarray, W: np.ndarray, pad: int) -> np.ndarray:
    """dx as docs/math.md writes it: dz padded by k - 1 zeros, correlated with W flipped in p and q
    (and its channels swapped), then the forward step's padding cut away."""
    k = W.shape[0]
    flipped = W[::-1, ::-1].transpose(0, 1, 3, 2)  # (k, k, C_out, C_in)
    dxp = plain_correlation(dz, flipped, np.zeros(W.shape[2]), k - 1)
    return dxp[:, pad : dxp.shape[1] - pad, pad : dxp.shape[2] - pad, :]


def test_hand_worked_4x4_input_2x2_kernel() -> None:
    """A 4x4 image, one channel, the kernel K = [[1, 0], [-1, 2]], b = 0.5, valid padding: 3x3 out.

    x = 1 2 0 1      z[i, j] = x[i, j] - x[i+1, j] + 2 x[i+1, j+1] + 0.5, e.g.
        0 1 3 1      z[0, 0] = 1 - 0 + 2*1 + 0.5 = 3.5     z[0, 1] = 2 - 1 + 2*3 + 0.5 = 7.5
        2 0 1 0      z[0, 2] = 0 - 3 + 2*1 + 0.5 = -0.5    z[1, 0] = 0 - 2 + 2*0 + 0.5 = -1.5
        1 1 0 2      z[2, 2] = 1 - 0 + 2*2 + 0.5 = 5.5, and so on.

    Backward with dz = 1 everywhere: db = 9 (nine outputs); dW[p, q] = sum over i, j of x[i+p, j+q],
    the sum of the 3x3 block of x at offset (p, q): [[10, 9], [9, 9]]. dx[r, s] is the sum of the
    kernel entries K[p, q] that pixel (r, s) met, i.e. those with 0 <= r - p <= 2 and 0 <= s - q <= 2:
    a corner meets one entry (dx[0, 0] = K[0, 0] = 1, dx[0, 3] = K[0, 1] = 0, dx[3, 0] = K[1, 0] = -1,
    dx[3, 3] = K[1, 1] = 2), an inner pixel all four (1 + 0 - 1 + 2 = 2), an edge pixel two.
    """
    x = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 0, 1, 0], [1, 1, 0, 2]], float).reshape(1, 4, 4, 1)
    conv = _conv(2, 1, 1, "valid", "relu")
    conv.W[...] = np.array([[1.0, 0.0], [-1.0, 2.0]]).reshape(2, 2, 1, 1)
    conv.b[...] = 0.5
    z, a = conv.step(x)
    np.testing.assert_array_equal(z[0, :, :, 0], [[3.5, 7.5, -0.5], [-1.5, 3.5, 2.5], [3.5, -0.5, 5.5]])
    np.testing.assert_array_equal(a, np.maximum(z, 0))
    conv.forward(x)
    dx = conv.backward(np.ones((1, 3, 3, 1)))
    assert dx is not None
    assert conv.db[0] == 9.0
    np.testing.assert_array_equal(conv.dW[:, :, 0, 0], [[10, 9], [9, 9]])
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 1, 1, 0], [0, 2, 2, 2], [0, 2, 2, 2], [-1, 1, 1, 2]])


@pytest.mark.parametrize("k, padding, shape", [(3, "same", (2, 5, 6, 3)), (5, "same", (3, 7, 7, 2)),
                                              (2, "valid", (2, 5, 4, 3)), (3, "valid", (1, 6, 5, 1)),
                                              (5, "same", (3, 6, 7, 1))])  # one channel: patch-major
def test_im2col_product_and_col2im_are_the_plain_forms(k, padding, shape) -> None:
    conv = _conv(k, shape[3], 4, padding, seed=k)
    pad = padding_of(k, padding)
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    z = conv.step(x)[0]
    np.testing.assert_allclose(z, plain_correlation(x, conv.W, conv.b, pad), rtol=1e-12, atol=1e-12)
    dz = rng.normal(size=z.shape)
    dx = col2im(dz, conv.W, pad)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, full_convolution_with_flipped_kernel(dz, conv.W, pad), atol=1e-12)
    # and the plain col2im: dcols = dz W^T, then k k slice additions of its columns
    dcols = (dz.reshape(-1, 4) @ conv.W.reshape(-1, 4).T).reshape(*z.shape[:3], k, k, shape[3])
    dxp = np.zeros((shape[0], z.shape[1] + k - 1, z.shape[2] + k - 1, shape[3]))
    for p in range(k):
        for q in range(k):
            dxp[:, p : p + z.shape[1], q : q + z.shape[2]] += dcols[:, :, :, p, q]
    np.testing.assert_allclose(dx, dxp[:, pad : pad + shape[1], pad : pad + shape[2]], atol=1e-12)
    assert im2col(x, k, pad).shape == (z.shape[0] * z.shape[1] * z.shape[2], k * k * shape[3])


def _probe(conv: Conv2D, x: np.ndarray, r: np.ndarray) -> float:
    """C = sum of a * r: a scalar whose dC/da is r."""
    return float((conv.step(x)[1] * r).sum())


@pytest.mark.parametrize("k, padding, activation", [(3, "same", "tanh"), (2, "valid", "sigmoid"),
                                                    (5, "same", "leaky_relu"), (3, "valid", "tanh")])
def test_conv_gradients_match_central_differences(k, padding, activation) -> None:
    conv = _conv(k, 2, 3, padding, activation, seed=k)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 6, 5, 2))
    r = rng.normal(size=conv.step(x)[1].shape)
    conv.forward(x)
    dx = conv.backward(conv.activation_backward(r))
    assert dx is not None
    # W and b are views of the layer's theta: perturbing them in place moves the layer
    numeric_w = numerical_gradient(lambda _: _probe(conv, x, r), conv.W)
    numeric_b = numerical_gradient(lambda _: _probe(conv, x, r), conv.b)
    numeric_x = numerical_gradient(lambda x_: _probe(conv, x_, r), x.copy())
    assert relative_error(conv.dW, numeric_w) < 1e-7
    assert relative_error(conv.db, numeric_b) < 1e-7
    assert relative_error(dx, numeric_x) < 1e-7
    # input_grad scatters back (col2im); backward takes the full convolution: the same sums
    np.testing.assert_allclose(conv.input_grad(conv.activation_backward(r)), dx, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k, padding", [(3, "full"), (2, "same")])
def test_a_padding_that_is_not_same_or_valid_with_odd_k_is_refused(k: int, padding: str) -> None:
    with pytest.raises(ValueError, match="padding must be one of"):
        _conv(k, 1, 1, padding)


def test_backward_without_input_gradient_writes_dw_and_db_only() -> None:
    conv = _conv(3, 1, 2, "same")
    x = np.random.default_rng(3).normal(size=(2, 4, 4, 1))
    conv.forward(x)
    dz = np.ones((2, 4, 4, 2))
    assert conv.backward(dz, need_input_grad=False) is None
    np.testing.assert_allclose(conv.db, [32.0, 32.0])
    np.testing.assert_allclose(conv.dW[1, 1, 0, :], [x.sum(), x.sum()])  # the centre sees every pixel


def test_the_bias_gradient_as_a_product_is_the_plain_sum() -> None:
    """db = 1^T dz (the form written, as a matrix-vector product) is db = sum of dz over n, i, j."""
    conv = _conv(3, 2, 4, "same")
    rng = np.random.default_rng(4)
    conv.forward(rng.normal(size=(3, 5, 6, 2)))
    dz = rng.normal(size=(3, 5, 6, 4))
    conv.backward(dz, need_input_grad=False)
    np.testing.assert_allclose(conv.db, dz.sum(axis=(0, 1, 2)), rtol=1e-12)


def test_reused_arrays_give_the_answers_of_fresh_ones_step_after_step() -> None:
    """forward and backward reuse their patches, padded image and products (``Scratch``): batches of
    other sizes and values in turn must read as ``step`` and ``input_grad`` read them afresh."""
    conv = _conv(3, 2, 3, "same")
    rng = np.random.default_rng(4)
    for n in (3, 2, 3, 3):
        x, dz = rng.normal(size=(n, 5, 4, 2)), rng.normal(size=(n, 5, 4, 3))
        np.testing.assert_array_equal(conv.forward(x), conv.step(x)[1])
        dx = conv.backward(dz)
        np.testing.assert_allclose(dx, conv.input_grad(dz), rtol=1e-12, atol=1e-15)
        assert dx is not None
        assert not any(np.shares_memory(dx, kept) for kept in conv.scratch.arrays.values())


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize(("c_in", "c_out"), [(2, 3), (1, 3), (2, 1)])
def test_training_steps_in_runs_of_examples_match_the_whole_batch_at_once(
    padding: str, c_in: int, c_out: int
) -> None:
    """forward and backward go through the batch a few examples at a time (``chunk_numbers``): with
    runs of 2 examples (and a shorter last run), z, a, dW, db and dx are those of the plain forms,
    which take the whole batch's patches at once; one channel in or out copies its patches
    patch-major."""
    conv = _conv(3, c_in, c_out, padding)
    h_out, w_out = conv.out_size(6, 5)
    assert conv.patch_numbers(6, 5) == max(h_out * w_out * 3 * 3 * c_in, 6 * 5 * 3 * 3 * c_out)
    conv.chunk_numbers = 2 * conv.patch_numbers(6, 5) + 1  # two examples a run: 2, 2, 1
    assert [r.stop - r.start for r in conv.chunks(5, 6, 5)] == [2, 2, 1]
    rng = np.random.default_rng(5)
    x = rng.normal(size=(5, 6, 5, c_in))
    z, a = conv.step(x)
    np.testing.assert_allclose(conv.forward(x), a, rtol=1e-12)
    dz = rng.normal(size=z.shape)
    dx = conv.backward(dz)
    cols = im2col(x, 3, conv.pad)
    np.testing.assert_allclose(conv.dW.reshape(-1, c_out), cols.T @ dz.reshape(-1, c_out), rtol=1e-12)
    np.testing.assert_allclose(conv.db, dz.sum(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(dx, col2im(dz, conv.W, conv.pad), rtol=1e-12)
    np.testing.assert_allclose(dx, full_convolution_with_flipped_kernel(dz, conv.W, conv.pad), rtol=1e-10)

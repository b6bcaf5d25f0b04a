"""The int8 logit offset: fitted to take a shared shift of int8 logits back out."""

import numpy as np

from voxlens.models.int8_offset import cross_entropy, fit_offset, softmax


def test_fit_offset_recovers_a_shared_shift_under_noise():
    rng = np.random.default_rng(0)
    fp32 = rng.normal(0, 2, size=(2000, 3))
    shift = np.array([0.0, -0.4, 0.15])
    int8 = fp32 + shift + rng.normal(0, 0.05, size=fp32.shape)
    offset = fit_offset(fp32, int8)
    assert offset[0] == 0.0
    np.testing.assert_allclose(offset[1:], -shift[1:], atol=0.02)
    targets = softmax(fp32)
    assert cross_entropy(targets, int8 + offset) < cross_entropy(targets, int8)


def test_fit_offset_is_zero_without_a_shift():
    fp32 = np.random.default_rng(1).normal(0, 2, size=(500, 3))
    np.testing.assert_allclose(fit_offset(fp32, fp32.copy()), 0.0, atol=1e-3)

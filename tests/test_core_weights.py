import numpy as np
from safetensors.numpy import load_file
import paddle
import pytest

from hubcore.errors import ArtifactError
from hubcore.weights import load_state, save_weights, set_trainable


def small_net() -> paddle.nn.Layer:
    return paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3), paddle.nn.BatchNorm2D(4), paddle.nn.ReLU())


def test_set_trainable_never_unfreezes_batch_norm_statistics():
    net = set_trainable(small_net(), True)
    bn = net[1]
    assert net.training and not net[0].weight.stop_gradient and not bn.weight.stop_gradient
    assert bn._mean.stop_gradient and bn._variance.stop_gradient
    set_trainable(net, False)
    assert not net.training and all(p.stop_gradient for p in net.parameters())


def test_saved_weights_load_strictly(tmp_path):
    source, target = small_net(), small_net()
    path = save_weights(source, tmp_path / "w.safetensors")
    load_state(target, load_file(str(path)), path, what="test")
    assert np.array_equal(source[0].weight.numpy(), target[0].weight.numpy())
    other = paddle.nn.Sequential(paddle.nn.Conv2D(3, 5, 3))
    with pytest.raises(ArtifactError, match="does not fit this network"):
        load_state(other, load_file(str(path)), path, what="test")

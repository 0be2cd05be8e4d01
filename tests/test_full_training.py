"""The one integration test that trains for real: a full epoch on all 60,000 training images."""
import pytest

from mnist_cnn.data import load_mnist
from mnist_cnn.training import TrainingConfig, train


@pytest.mark.slow
def test_one_epoch_on_the_full_training_set_reaches_98_5_percent(mnist_npz_path, tmp_path):
    config = TrainingConfig.for_preset("tutorial", epochs=1)
    result = train(config, data=load_mnist(mnist_npz_path), runs_root=tmp_path)
    assert result.record.test_size == 10000
    assert result.record.test_accuracy >= 0.985

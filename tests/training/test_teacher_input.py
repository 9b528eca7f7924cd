import torch

from models.export import MEAN, STD
from training.teacher import MobileNetV2Teacher


def test_the_teacher_sees_the_minus_one_to_one_pixels_its_weights_were_trained_on():
    """Our batches are (rgb - MEAN) / STD; the TFLite MobileNetV2 expects 2 * rgb - 1."""
    teacher = MobileNetV2Teacher()
    rgb = torch.rand(2, 3, 4, 5)
    image = (rgb - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    assert torch.allclose(image * teacher.scale + teacher.shift, 2 * rgb - 1, atol=1e-6)

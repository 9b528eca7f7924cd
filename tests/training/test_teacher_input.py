import torch

from models.export import MEAN, STD
from training.teacher import MobileNetV2Teacher


def test_the_teacher_sees_the_minus_one_to_one_pixels_its_weights_were_trained_on():
    """Our batches are (rgb - MEAN) / STD; the TFLite MobileNetV2 expects 2 * rgb - 1."""
    teacher = MobileNetV2Teacher()
    rgb = torch.rand(2, 3, 4, 5)
    image = (rgb - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    assert torch.allclose(image * teacher.scale + teacher.shift, 2 * rgb - 1, atol=1e-6)


def test_the_teacher_is_mobilenetv2_residual_blocks_relu6_and_features_13_last():
    teacher = MobileNetV2Teacher().eval()
    generator = torch.Generator().manual_seed(0)
    block = teacher.features[13]  # 96 -> 96 channels at stride 1: a residual block
    x = torch.randn(1, 96, 4, 4, generator=generator)
    with torch.no_grad():
        assert torch.allclose(block(x), x + block.conv(x))
        assert block.conv[0](100 * x).max().item() == 6.0  # the expansion is clipped by ReLU6
        image = torch.randn(1, 3, 64, 64, generator=generator)
        last = teacher.features[:14](image * teacher.scale + teacher.shift)
        assert torch.equal(teacher(image)[-1], last)

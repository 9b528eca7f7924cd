import numpy as np

from training.augment import jitter_colours


def _scene() -> np.ndarray:
    """A red square on a mid-grey background with a green stripe (BGR)."""
    image = np.full((64, 64, 3), 110, np.uint8)
    image[20:40, 24:44] = (30, 40, 220)
    image[50:54, :] = (40, 200, 60)
    return image


def test_jittered_colours_stay_in_place():
    image = _scene()
    square = np.zeros((64, 64), bool)
    square[20:40, 24:44] = True
    for seed in range(40):
        out = jitter_colours(image, np.random.default_rng(seed))
        assert out.shape == image.shape and out.dtype == np.uint8
        diff = np.abs(out.astype(np.int16) - out[5, 5].astype(np.int16)).sum(axis=2)  # distance from background
        inside, outside = diff[26:34, 30:38].mean(), diff[5:15, 5:60].mean()
        assert inside > outside + 10, seed  # the square still stands out where it was


def test_jitter_varies_light_and_colour_and_sometimes_drops_colour():
    image = _scene()
    outs = [jitter_colours(image, np.random.default_rng(seed)).astype(np.int16) for seed in range(200)]
    brightness = np.array([o.mean() for o in outs])
    assert brightness.min() < 0.8 * image.mean() and brightness.max() > 1.2 * image.mean()
    spread = np.array([(o.max(axis=2) - o.min(axis=2)).max() for o in outs])  # 0 for a grey image
    grey = np.mean(spread <= 2)
    assert 0.03 < grey < 0.2  # one time in ten
    hues = {int(np.argmax(o[30, 34])) for o in outs if (o[30, 34].max() - o[30, 34].min()) > 40}
    assert hues == {2}  # hue moves by at most 18 degrees: the red square stays red

"""Bootstrap intervals over images: redraws copy images with their people, and AP survives exact copies."""

import json

import numpy as np
import pytest

from core.annotations import load_annotations
from core.bootstrap import bootstrap, interval, resample
from core.evaluation import STAT_NAMES, score_results
from models.schemas import COCO17

COCO_SIGMAS = COCO17.sigmas


@pytest.fixture
def dev(shared_data):
    return load_annotations(shared_data / "val" / "annotations.json")


def _results(data: dict, shift_every: int = 0) -> list[dict]:
    """The labelled people as results; every ``shift_every``-th moved 30 px so that AP falls below 1."""
    people = [a for a in data["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0]
    results = []
    for n, ann in enumerate(people):
        kps = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
        if shift_every and n % shift_every == 0:
            kps[:, :2] += 30
        results.append(
            {"image_id": ann["image_id"], "category_id": 1, "keypoints": kps.ravel().tolist(), "score": 1.0 - n / 1000}
        )
    return results


def test_every_image_drawn_once_or_twice_keeps_the_ap(dev):
    results = _results(dev, shift_every=3)
    full = score_results(results, dev, COCO_SIGMAS)["AP"]
    assert 0.2 < full < 0.9
    n = len(dev["images"])
    for picks in (np.arange(n), np.repeat(np.arange(n), 2)):
        data, (drawn,) = resample(dev, [results], picks)
        assert len(data["images"]) == len(picks) and len(drawn) == len(results) * len(picks) // n
        assert score_results(drawn, data, COCO_SIGMAS)["AP"] == pytest.approx(full)


def test_a_redraw_copies_each_drawn_image_with_its_people_and_results(dev):
    before = json.dumps(dev)
    results = [_results(dev), _results(dev, shift_every=2)]
    first, second = dev["images"][0]["id"], dev["images"][1]["id"]
    people = {i: sum(a["image_id"] == i for a in dev["annotations"]) for i in (first, second)}
    data, drawn = resample(dev, results, np.array([0, 0, 1]))
    assert [image["id"] for image in data["images"]] == [1, 2, 3]
    assert [sum(a["image_id"] == i for a in data["annotations"]) for i in (1, 2, 3)] == [
        people[first],
        people[first],
        people[second],
    ]
    assert len({a["id"] for a in data["annotations"]}) == len(data["annotations"])
    for model_results, model_drawn in zip(results, drawn, strict=True):
        found = sum(r["image_id"] == first for r in model_results)
        assert [sum(r["image_id"] == i for r in model_drawn) for i in (1, 2)] == [found, found]
    assert json.dumps(dev) == before  # the caller's dataset and results are not touched


def test_paired_redraws_give_identical_models_no_difference_and_truth_ap_one(dev):
    truth, worse = _results(dev), _results(dev, shift_every=2)
    scores = bootstrap(dev, [truth, worse, truth], COCO_SIGMAS, resamples=12, seed=1)
    assert scores.shape == (12, 3, 6)
    assert (scores[:, 0, 0] == pytest.approx(1.0)) and interval(scores[:, 0, 0]) == pytest.approx((1.0, 1.0))
    assert (scores[:, 0] == scores[:, 2]).all()
    assert (scores[:, 1, 0] < 1.0).all() and np.ptp(scores[:, 1, 0]) > 0  # redraws move a model's AP
    again = bootstrap(dev, [worse], COCO_SIGMAS, resamples=12, seed=1)
    assert (again[:, 0] == scores[:, 1]).all()  # the same seed draws the same images


def test_interval_is_the_central_percentile_range():
    assert interval(np.arange(101.0)) == pytest.approx((2.5, 97.5))


def test_each_redraw_draws_as_many_images_as_the_set_has_from_all_of_them(monkeypatch):
    """A redraw of n images is n picks from all n: one that never drew the last image, or drew fewer, would
    give every interval a bias no other test saw (an AP computed without the last image of the set)."""
    drawn = []
    monkeypatch.setattr("core.bootstrap.resample", lambda data, results, picks: drawn.append(picks) or (data, results))
    monkeypatch.setattr("core.bootstrap.score_results", lambda *args, **kwargs: dict.fromkeys(STAT_NAMES, 0.5))
    data = {"images": [{"id": i} for i in range(3)], "annotations": []}
    scores = bootstrap(data, [[]], COCO_SIGMAS, resamples=40)
    assert scores.shape == (40, 1, len(STAT_NAMES)) and (scores == 0.5).all()
    assert all(len(picks) == 3 for picks in drawn) and set(np.concatenate(drawn).tolist()) == {0, 1, 2}


def test_redraws_with_nobody_to_count_are_left_out_of_the_interval():
    """A redraw without medium-sized people has AP_M NaN: the others still give the interval, not NaN."""
    assert interval(np.array([np.nan, *range(101), np.nan])) == pytest.approx((2.5, 97.5))


def test_a_redraw_of_images_without_people_has_nobody_to_count(dev):
    """A set with images nobody is in redraws some of them alone (3 images, 2 empty: 30 % of redraws): that redraw's
    scores are NaN, left out of the interval; it stopped `eval --bootstrap` as a file of "0 keypoints per person"."""
    first = dev["images"][0]["id"]
    people = [a for a in dev["annotations"] if a["image_id"] == first]
    data = {**dev, "images": dev["images"][:3], "annotations": people}
    drawn_data, (drawn,) = resample(data, [_results(data)], np.array([1, 2, 2]))
    assert drawn_data["annotations"] == [] and drawn == []
    stats = score_results(drawn, drawn_data, COCO_SIGMAS)
    assert all(np.isnan(stats[name]) for name in STAT_NAMES)

"""Bootstrap intervals over images: a redraw scores as its images would as a set of their own, and AP survives
exact copies."""

import json

import numpy as np
import pytest

from core.annotations import load_annotations
from core.bootstrap import bootstrap, interval
from core.errors import WLitePoseError
from core.evaluation import STAT_NAMES, ImageMatches, score_results
from models.schemas import COCO17, CROWDPOSE14

COCO_SIGMAS = COCO17.sigmas


@pytest.fixture
def dev(shared_data):
    return load_annotations(shared_data / "val" / "annotations.json")


def _results(data: dict, shift_every: int = 0, tied: bool = False) -> list[dict]:
    """The labelled people as results; every ``shift_every``-th moved 30 px so that AP falls below 1; ``tied``: three
    scores among them all, so that tied people's order (across images: the draw order) decides which ones rank first."""
    people = [a for a in data["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0]
    results = []
    for n, ann in enumerate(people):
        kps = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
        if shift_every and n % shift_every == 0:
            kps[:, :2] += 30
        results.append(
            {
                "image_id": ann["image_id"],
                "category_id": 1,
                "keypoints": kps.ravel().tolist(),
                "score": (n % 3 + 1) / 4 if tied else 1.0 - n / 1000,
            }
        )
    return results


def _redrawn(data: dict, results: list[dict], picks) -> tuple[dict, list[dict]]:
    """The images ``picks`` as a dataset of their own, under new ids in draw order, with their people and results
    copied (an image drawn twice is there twice): what a redraw was scored as before it reused each image's matches."""
    images, annotations, drawn = [], [], []
    for new_id, pick in enumerate(picks, start=1):
        image = data["images"][pick]
        images.append({**image, "id": new_id})
        people = [ann for ann in data["annotations"] if ann["image_id"] == image["id"]]
        annotations += [{**ann, "image_id": new_id, "id": len(annotations) + n} for n, ann in enumerate(people, 1)]
        drawn += [{**result, "image_id": new_id} for result in results if result["image_id"] == image["id"]]
    return {**data, "images": images, "annotations": annotations}, drawn


def _scored_from_scratch(data: dict, results: list[dict], picks, sigmas) -> list[float]:
    drawn_data, drawn = _redrawn(data, results, picks)
    stats = score_results(drawn, drawn_data, sigmas, crowd_splits=False)
    return [stats[name] for name in STAT_NAMES]


def _scored_by_matches(data: dict, results: list[dict], picks, sigmas) -> list[float]:
    stats = ImageMatches(results, data, sigmas).scores(np.asarray(picks))
    return [stats[name] for name in STAT_NAMES]


def _with_bare_image(data: dict) -> tuple[dict, list[dict]]:
    """``data`` with an image of nobody added last, and results with a false person on it (each counted false)."""
    bare = {**data["images"][0], "id": 10**6, "file_name": "bare.jpg"}
    false = {**_results(data)[0], "image_id": bare["id"], "score": 0.5}
    return {**data, "images": [*data["images"], bare]}, [*_results(data, shift_every=3, tied=True), false]


def test_a_redraw_scores_exactly_as_its_images_scored_from_scratch(dev, shared_data):
    """Each image's matches, computed once, give a redraw the stats pycocotools gives the redrawn set scored from
    scratch, to the last bit: images drawn twice, in any order, with tied scores across images (ranked in draw
    order), crowd regions, an image of nobody, a model that found nobody, CrowdPose's people without an area."""
    data, results = _with_bare_image(dev)
    n = len(data["images"])
    crowd_images = {a["image_id"] for a in data["annotations"] if a["iscrowd"]}
    crowded = [i for i, image in enumerate(data["images"]) if image["id"] in crowd_images]
    rng = np.random.default_rng(3)
    draws = [rng.integers(0, n, size=n) for _ in range(3)] + [np.arange(n)[::-1], np.repeat(crowded, 2), [n - 1, 0]]
    path = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    assert not any("area" in a for a in json.loads(path.read_text())["annotations"])  # 0.53 x box area, filled in
    crowdpose = load_annotations(path)
    cases = (
        [(data, results, picks, COCO_SIGMAS) for picks in draws]
        + [(data, [], draws[0], COCO_SIGMAS)]
        + [
            (crowdpose, _results(crowdpose, shift_every=2, tied=True), picks, CROWDPOSE14.sigmas)
            for picks in ([0, 1], [1, 1], [1, 0])
        ]
    )
    for case in cases:  # NaN (nobody to count) equal to NaN, every other stat bit for bit
        np.testing.assert_array_equal(_scored_by_matches(*case), _scored_from_scratch(*case))


def _crowdpose_of_every_split(shared_data) -> dict:
    """CrowdPose's sample with its first image made easy (crowd index 0.1): one image easy, one medium, none hard."""
    data = load_annotations(shared_data / "crowdpose_sample" / "test_crowdpose.json")
    return {**data, "images": [{**data["images"][0], "crowdIndex": 0.1}, *data["images"][1:]]}


def test_the_whole_sets_stats_from_the_matches_are_pycocotools_own(dev, shared_data):
    """`eval --bootstrap` takes the headline from the matches its redraws add up, not from a second matching: every
    stat score_results gives, to the last bit (NaN equal to NaN), CrowdPose's splits too. The images listed in
    another order than their ids, so that tied detections of two images rank as COCOeval ranks them (by id)."""
    data, results = _with_bare_image(dev)
    shuffled = {**data, "images": data["images"][::-1]}
    crowdpose = _crowdpose_of_every_split(shared_data)
    cases = [
        (results, shuffled, COCO_SIGMAS),
        ([], shuffled, COCO_SIGMAS),
        (_results(crowdpose, shift_every=2, tied=True), crowdpose, CROWDPOSE14.sigmas),
        ([], crowdpose, CROWDPOSE14.sigmas),
        ([], {**data, "images": [], "annotations": []}, COCO_SIGMAS),  # nobody to count: NaN, not a ValueError
    ]
    for case in cases:
        expected, given = score_results(*case), ImageMatches(*case).stats()
        assert list(given) == list(expected)
        np.testing.assert_array_equal(list(given.values()), list(expected.values()))
    splits = score_results(*cases[2])  # the case has an easy image and a medium one, and no hard one
    assert not np.isnan(splits["AP_easy"]) and not np.isnan(splits["AP_medium"]) and np.isnan(splits["AP_hard"])


def test_results_of_an_image_not_in_the_set_are_refused_in_words(dev):
    """pycocotools' loadRes asserted 'Results do not correspond to current coco set', a traceback."""
    stray = [*_results(dev), {**_results(dev)[0], "image_id": 999_999}]
    for score in (score_results, ImageMatches):
        with pytest.raises(WLitePoseError, match="^results name image 999999, which a.json does not have$"):
            score(stray, dev, COCO_SIGMAS, "a.json")


def test_every_image_drawn_once_or_twice_keeps_the_ap(dev):
    results = _results(dev, shift_every=3)
    full = score_results(results, dev, COCO_SIGMAS)["AP"]
    assert 0.2 < full < 0.9
    matches = ImageMatches(results, dev, COCO_SIGMAS)
    n = len(dev["images"])
    for picks in (np.arange(n), np.repeat(np.arange(n), 2)):
        assert matches.scores(picks)["AP"] == pytest.approx(full)


def test_matching_leaves_the_callers_dataset_and_results_as_they_were(dev):
    before = json.dumps(dev)
    results = _results(dev, shift_every=2)
    given = json.dumps(results)
    ImageMatches(results, dev, COCO_SIGMAS).scores(np.array([0, 0, 1]))
    assert json.dumps(dev) == before and json.dumps(results) == given


def test_the_bootstrap_gives_the_scores_of_the_redrawn_sets_scored_from_scratch(dev):
    """bootstrap's (redraws, models, stats) for a seed: each model's stats of the images that seed draws."""
    models = [_results(dev, shift_every=2, tied=True), _results(dev, shift_every=3)]
    scores = bootstrap([ImageMatches(results, dev, COCO_SIGMAS) for results in models], resamples=3, seed=5)
    rng = np.random.default_rng(5)
    for redraw in scores:
        picks = rng.integers(0, len(dev["images"]), size=len(dev["images"]))
        np.testing.assert_array_equal(
            redraw, [_scored_from_scratch(dev, results, picks, COCO_SIGMAS) for results in models]
        )


def test_paired_redraws_give_identical_models_no_difference_and_truth_ap_one(dev):
    truth, worse = _results(dev), _results(dev, shift_every=2)
    truth_matches, worse_matches = ImageMatches(truth, dev, COCO_SIGMAS), ImageMatches(worse, dev, COCO_SIGMAS)
    scores = bootstrap([truth_matches, worse_matches, ImageMatches(truth, dev, COCO_SIGMAS)], resamples=12, seed=1)
    assert scores.shape == (12, 3, 6)
    assert (scores[:, 0, 0] == pytest.approx(1.0)) and interval(scores[:, 0, 0]) == pytest.approx((1.0, 1.0))
    assert (scores[:, 0] == scores[:, 2]).all()
    assert (scores[:, 1, 0] < 1.0).all() and np.ptp(scores[:, 1, 0]) > 0  # redraws move a model's AP
    again = bootstrap([worse_matches], resamples=12, seed=1)
    assert (again[:, 0] == scores[:, 1]).all()  # the same seed draws the same images


def test_interval_is_the_central_percentile_range():
    assert interval(np.arange(101.0)) == pytest.approx((2.5, 97.5))


def test_each_redraw_draws_as_many_images_as_the_set_has_from_all_of_them():
    """A redraw of n images is n picks from all n: one that never drew the last image, or drew fewer, would
    give every interval a bias no other test saw (an AP computed without the last image of the set)."""
    drawn = []

    class Recorded:
        def __len__(self):
            return 3

        def scores(self, picks):
            drawn.append(picks)
            return dict.fromkeys(STAT_NAMES, 0.5)

    scores = bootstrap([Recorded()], resamples=40)
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
    stats = ImageMatches(_results(data), data, COCO_SIGMAS).scores(np.array([1, 2, 2]))
    assert all(np.isnan(stats[name]) for name in STAT_NAMES)

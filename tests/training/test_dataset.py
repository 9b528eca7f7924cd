import gc
import json
import pickle
import tracemalloc

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from torch.utils.data import DataLoader

from core.errors import WLitePoseError
from models.export import MEAN, STD
from models.schemas import COCO17, CROWDPOSE14
from training.augment import AugmentConfig
from training.dataset import KeypointDataset, PackedItems, network_batch
from training.targets import build_targets


def test_crowdpose_sample_loads_with_14_keypoints(shared_data):
    folder = shared_data / "crowdpose_sample"
    data = KeypointDataset(folder / "test_crowdpose.json", folder, CROWDPOSE14, 128)
    sample = data[0]
    assert sample["image"].shape == (3, 128, 128)
    assert sample["heatmaps_4"].shape == (14, 32, 32) and sample["heatmaps_2"].shape == (14, 64, 64)
    assert sample["joints"].shape[-2:] == (14, 2) and sample["joints"][..., 1].sum() > 0
    assert float(sample["heatmaps_2"].max()) == pytest.approx(1.0, abs=0.05)


def test_samples_travel_compact_and_become_the_networks_input_on_the_device(shared_data):
    folder = shared_data / "val"
    data = KeypointDataset(folder / "annotations.json", folder / "images", COCO17, 128)
    sample = data[5]
    dtypes = {k: sample[k].dtype for k in ("image", "heatmaps_4", "heatmaps_2", "mask_4", "mask_2")}
    assert dtypes == dict(
        image=torch.uint8, heatmaps_4=torch.float16, heatmaps_2=torch.float16, mask_4=torch.uint8, mask_2=torch.uint8
    )
    batch = network_batch({k: v[None] for k, v in sample.items()}, torch.device("cpu"))
    image, keypoints, weights, valid = data.view(5, 128, None, None)
    rgb = (image[:, :, ::-1].astype(np.float32) / 255 - np.float32(MEAN)) / np.float32(STD)  # as inference does
    np.testing.assert_array_equal(batch["image"][0].permute(1, 2, 0).numpy(), rgb)
    assert batch["image"].is_contiguous(memory_format=torch.channels_last)
    heat4, heat2, mask4, _, _, _ = build_targets(keypoints, weights, valid, data.targets)
    np.testing.assert_allclose(batch["heatmaps_2"][0].numpy(), heat2, atol=5e-4)
    np.testing.assert_allclose(batch["heatmaps_4"][0].numpy(), heat4, atol=5e-4)
    assert batch["mask_4"].dtype == torch.float32 and np.array_equal(batch["mask_4"][0].numpy(), mask4)


def test_coco_schema_is_refused_for_a_crowdpose_file(shared_data):
    folder = shared_data / "crowdpose_sample"
    with pytest.raises(WLitePoseError, match="14 keypoints"):
        KeypointDataset(folder / "test_crowdpose.json", folder, COCO17, 128)


def test_a_file_of_another_keypoint_set_is_told_which_sets_training_knows(tmp_path, shared_data):
    """A 7-keypoint file was refused with only "the coco schema has 17", where the training guide promised any
    keypoint set: the refusal names the sets `--schema` offers."""
    folder = shared_data / "crowdpose_sample"
    data = json.loads((folder / "test_crowdpose.json").read_text())
    for person in data["annotations"]:
        person["keypoints"] = person["keypoints"][:21]
    data["categories"][0]["keypoints"] = data["categories"][0]["keypoints"][:7]
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(WLitePoseError, match=r"has 7 keypoints.*coco \(17 keypoints\), crowdpose \(14 keypoints\)"):
        KeypointDataset(tmp_path / "a.json", folder, COCO17, 128)


def test_a_crowdpose_file_in_its_own_names_listing_the_joints_in_another_order_is_refused(tmp_path, shared_data):
    """CrowdPose's files call the top of the head "head" (the schema "top_head"): the same joints listed head and
    neck first were trained on with the flip map and sigmas of other joints, where "top_head" was refused."""
    folder = shared_data / "crowdpose_sample"
    data = json.loads((folder / "test_crowdpose.json").read_text())
    assert data["categories"][0]["keypoints"][12:] == ["head", "neck"]  # CrowdPose's own names
    order = [12, 13, *range(12)]
    data["categories"][0]["keypoints"] = [data["categories"][0]["keypoints"][i] for i in order]
    for person in data["annotations"]:
        person["keypoints"] = [v for i in order for v in person["keypoints"][3 * i : 3 * i + 3]]
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(WLitePoseError, match="in another order than the crowdpose schema"):
        KeypointDataset(tmp_path / "a.json", folder, CROWDPOSE14, 128)
    KeypointDataset(folder / "test_crowdpose.json", folder, CROWDPOSE14, 128)  # in CrowdPose's order: accepted


def test_crowd_regions_and_unlabelled_people_are_masked_out(tmp_path, shared_data):
    source = json.loads((shared_data / "val" / "annotations.json").read_text())
    image = next(
        i for i in source["images"] if any(a["iscrowd"] for a in source["annotations"] if a["image_id"] == i["id"])
    )
    anns = [a for a in source["annotations"] if a["image_id"] == image["id"]]
    (tmp_path / "a.json").write_text(json.dumps({**source, "images": [image], "annotations": anns}))
    data = KeypointDataset(tmp_path / "a.json", shared_data / "val" / "images", COCO17, 256)
    _, keypoints, _, valid = data.load(0)
    crowd = next(a for a in anns if a["iscrowd"])
    rle = mask_utils.frPyObjects(crowd["segmentation"], image["height"], image["width"])
    region = mask_utils.decode(rle).astype(bool)
    assert region.sum() > 100 and valid[region].max() == 0 and valid[~region].mean() > 0.9
    assert len(keypoints) == sum(1 for a in anns if not a["iscrowd"] and a["num_keypoints"] > 0)
    assert np.all(np.isin(data[0]["mask_4"].numpy(), (0.0, 1.0)))
    crowd["segmentation"] = {"size": [image["height"] * 2, image["width"] * 2], "counts": [0, 10]}  # made before
    (tmp_path / "a.json").write_text(json.dumps({**source, "images": [image], "annotations": anns}))  # a resize
    data = KeypointDataset(tmp_path / "a.json", shared_data / "val" / "images", COCO17, 256)
    with pytest.raises(WLitePoseError, match=f"annotation {crowd['id']} is a mask of .* made for another size"):
        data.load(0)  # was a numpy broadcast traceback, hours into a run
    for counts in ([0, image["height"] * image["width"] + 1], "!!"):  # past its size; text of no RLE
        crowd["segmentation"] = {"size": [image["height"], image["width"]], "counts": counts}
        (tmp_path / "a.json").write_text(json.dumps({**source, "images": [image], "annotations": anns}))
        data = KeypointDataset(tmp_path / "a.json", shared_data / "val" / "images", COCO17, 256)
        with pytest.raises(WLitePoseError, match=f"annotation {crowd['id']} is a mask .RLE. that does not decode"):
            data.load(0)  # was pycocotools' ValueError traceback from a loader worker


def test_a_mosaic_puts_four_augmented_views_in_the_quarters_with_their_people(shared_data):
    still = AugmentConfig(max_rotation=0, min_scale=1, max_scale=1, max_translate=0, flip=0, mosaic=1)
    folder = shared_data / "val"
    data = KeypointDataset(folder / "annotations.json", folder / "images", COCO17, 128, augment=still)
    image, keypoints, weights, valid = data.mosaic(3, np.random.default_rng(7))
    picks = [3, *np.random.default_rng(7).integers(0, len(data), size=3).tolist()]
    assert image.shape == (128, 128, 3) and valid.shape == (128, 128) and len(weights) == len(keypoints)
    start = 0
    assert not valid.all()  # a crowd region among the picks
    for quarter, pick in enumerate(picks):
        tile, tile_keypoints, _, tile_valid = data.view(pick, 64, still, np.random.default_rng(0))
        y, x = divmod(quarter, 2)
        assert np.array_equal(image[y * 64 : (y + 1) * 64, x * 64 : (x + 1) * 64], tile)
        assert np.array_equal(valid[y * 64 : (y + 1) * 64, x * 64 : (x + 1) * 64], tile_valid)
        placed = keypoints[start : start + len(tile_keypoints)]
        assert np.allclose(placed[..., :2] - (x * 64, y * 64), tile_keypoints[..., :2])
        assert np.array_equal(placed[..., 2], tile_keypoints[..., 2])
        start += len(tile_keypoints)
    assert start == len(keypoints)


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda d: d["annotations"][0].pop("image_id"), "missing field 'image_id'"),
        (lambda d: d["images"][0].pop("file_name"), "image .* has no file_name"),
        (
            lambda d: d["annotations"][0].update(bbox=[1, 2, 3], iscrowd=1, segmentation=[]),
            "has a bbox that is not four numbers",
        ),
        (lambda d: d["images"][0].update(file_name="gone.jpg"), "1 image of .* is not in .*: gone.jpg"),
        (lambda d: d["images"][1].update(id=d["images"][0]["id"]), "lists the image id .* twice"),
        (  # its person was left out of training, unsaid
            lambda d: d["annotations"][0].update(image_id="106848"),
            "annotation 123803's image_id is \"106848\", where the images' ids are numbers",
        ),
        (
            lambda d: d["annotations"][0].update(keypoints=5),
            r"annotation \d+ has keypoints that are not a list of x, y, v",
        ),
        (
            lambda d: d["annotations"][0].update(bbox=["a"] * 4),
            r"annotation \d+ has a bbox that is not four numbers",
        ),
        (lambda d: [a.update(keypoints=[0] * 42) for a in d["annotations"]], "has no image with labelled people"),
    ],
)
def test_a_malformed_keypoint_file_is_one_clear_error(tmp_path, shared_data, change, words):
    folder = shared_data / "crowdpose_sample"
    data = json.loads((folder / "test_crowdpose.json").read_text())
    change(data)
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(WLitePoseError, match=words):
        KeypointDataset(tmp_path / "a.json", folder, CROWDPOSE14, 128)


@pytest.mark.parametrize("dropped", [(), ("keypoints",), ("keypoints", "bbox")])
def test_an_unlabelled_person_without_a_segmentation_masks_out_its_box(tmp_path, shared_data, dropped):
    """CrowdPose: a person with unlabelled keypoints, a bbox and no segmentation; an ignore region may also have
    no keypoints field at all, or nothing that places it (then nothing is masked)."""
    folder = shared_data / "crowdpose_sample"
    source = json.loads((folder / "test_crowdpose.json").read_text())
    for ann in source["annotations"]:
        if not any(ann["keypoints"][2::3]):
            box = ann["bbox"]
            for field in dropped:
                del ann[field]
    (tmp_path / "a.json").write_text(json.dumps(source))
    data = KeypointDataset(tmp_path / "a.json", folder, CROWDPOSE14, 128)
    assert sum(len(ignore) for _, _, ignore in data.items) == 1
    _, _, _, valid = data.load(0)
    x, y, w, h = (int(round(v)) for v in box)
    inside = np.zeros_like(valid, bool)
    inside[y : y + h, x : x + w] = "bbox" not in dropped
    assert valid[inside].max(initial=0) == 0 and valid[~inside].min() == 1


def _valid_with_ignore_box(tmp_path, shared_data, box) -> np.ndarray:
    """The loss mask of the CrowdPose sample's image whose unlabelled person (an ignore region) has ``box``."""
    folder = shared_data / "crowdpose_sample"
    source = json.loads((folder / "test_crowdpose.json").read_text())
    unlabelled = next(a for a in source["annotations"] if not any(a["keypoints"][2::3]))
    unlabelled["bbox"] = box
    (tmp_path / "a.json").write_text(json.dumps(source))
    data = KeypointDataset(tmp_path / "a.json", folder, CROWDPOSE14, 128)
    index = next(i for i, (_, _, ignore) in enumerate(data.items) if ignore)
    return data.load(index)[3]


def test_an_ignore_box_that_starts_outside_the_image_masks_its_part_inside(tmp_path, shared_data):
    valid = _valid_with_ignore_box(tmp_path, shared_data, [-20, -10, 60, 50])  # a person cut by the top-left corner
    assert not valid[:40, :40].any() and valid[40:].all() and valid[:, 40:].all()


@pytest.mark.parametrize("box", [[-30, -30, 10, 10], [-30, 20, 10, 10], [20, -30, 10, 10]])
def test_an_ignore_box_wholly_outside_the_image_masks_nothing(tmp_path, shared_data, box):
    """A box above-left of the image, left of it or above it, ends before pixel 0: its end is not counted from the
    far side."""
    assert _valid_with_ignore_box(tmp_path, shared_data, box).all()


def test_source_weights_weigh_the_sample(shared_data):
    folder = shared_data / "crowdpose_sample"
    data = KeypointDataset(folder / "test_crowdpose.json", folder, CROWDPOSE14, 64, source_weights={"": 0.25})
    assert float(data[0]["weight"]) == pytest.approx(0.25)
    others = KeypointDataset(folder / "test_crowdpose.json", folder, CROWDPOSE14, 64, source_weights={"teacher": 0.25})
    assert float(others[0]["weight"]) == 1.0  # a source the weights do not name keeps weight 1


def test_crowd_regions_are_masked_at_the_half_resolution_too(shared_data):
    folder = shared_data / "val"
    data = KeypointDataset(folder / "annotations.json", folder / "images", COCO17, 128)
    index = next(i for i, (_, _, ignore) in enumerate(data.items) if ignore)
    _, _, mask4, mask2, _, _ = build_targets(*data.view(index, 128, None, None)[1:], data.targets)
    sample = data[index]
    assert (mask2 == 0).any() and np.array_equal(sample["mask_2"].numpy(), mask2)
    assert np.array_equal(sample["mask_4"].numpy(), mask4)


def test_a_seed_repeats_the_augmented_samples_and_each_loader_worker_draws_its_own(shared_data):
    folder = shared_data / "val"
    data = KeypointDataset(folder / "annotations.json", folder / "images", COCO17, 64, augment=AugmentConfig())

    def images(seed):  # image 0 four times: two batches, one from each worker
        torch.manual_seed(seed)
        return [batch["image"] for batch in DataLoader(data, batch_size=2, sampler=[0] * 4, num_workers=2)]

    first, again, other = images(1), images(1), images(2)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])
    assert not torch.equal(first[0][0], first[1][0]) and not torch.equal(first[0][0], first[0][1])


@pytest.mark.parametrize("mosaic", [0.0, 1.0])
def test_training_samples_are_mosaics_as_often_as_asked(shared_data, mosaic):
    still = AugmentConfig(max_rotation=0, min_scale=1, max_scale=1, max_translate=0, flip=0, mosaic=mosaic)
    folder = shared_data / "crowdpose_sample"
    data = KeypointDataset(folder / "test_crowdpose.json", folder, CROWDPOSE14, 64, augment=still)
    counts = [len(people) for _, people, _ in data.items]
    for index in range(len(data)):
        people = int(data[index]["joints"][..., 1].any(dim=1).sum())  # with a tagged joint
        if mosaic:  # the people of four whole images
            assert people >= 4 * min(counts)
        else:
            assert people == counts[index]


def test_mosaic_tiles_translate_half_as_far_as_a_plain_sample(shared_data):
    from dataclasses import replace

    shift = AugmentConfig(max_rotation=0, min_scale=1, max_scale=1, max_translate=40, flip=0, mosaic=1)
    folder = shared_data / "val"
    data = KeypointDataset(folder / "annotations.json", folder / "images", COCO17, 128, augment=shift)
    image, _, _, _ = data.mosaic(3, np.random.default_rng(7))
    rng = np.random.default_rng(7)  # the same draws: the picks, then each tile's affine
    picks = [3, *rng.integers(0, len(data), size=3).tolist()]
    for quarter, pick in enumerate(picks):
        tile, _, _, _ = data.view(pick, 64, replace(shift, max_translate=20), rng)
        y, x = divmod(quarter, 2)
        assert np.array_equal(image[y * 64 : (y + 1) * 64, x * 64 : (x + 1) * 64], tile)


def test_annotations_of_other_categories_are_not_ignore_regions(tmp_path, shared_data):
    source = json.loads((shared_data / "val" / "annotations.json").read_text())
    image = source["images"][0]
    anns = [a for a in source["annotations"] if a["image_id"] == image["id"]]
    car = {"id": 10**7, "image_id": image["id"], "category_id": 3, "bbox": [10, 10, 100, 100], "iscrowd": 0}
    categories = [*source["categories"], {"id": 3, "name": "car"}]
    (tmp_path / "a.json").write_text(
        json.dumps({**source, "images": [image], "annotations": [*anns, car], "categories": categories})
    )
    data = KeypointDataset(tmp_path / "a.json", shared_data / "val" / "images", COCO17, 128)
    _, _, _, valid = data.load(0)
    assert valid[10:110, 10:110].all()  # a car is background to learn from, not a region to ignore


def test_people_with_only_occluded_joints_are_trained_on_and_thirty_get_tags(tmp_path, shared_data):
    folder = shared_data / "crowdpose_sample"
    source = json.loads((folder / "test_crowdpose.json").read_text())
    image = source["images"][0]
    person = next(a for a in source["annotations"] if a["image_id"] == image["id"] and a["num_keypoints"] > 0)
    values = person["keypoints"]
    occluded = [min(v, 1) if i % 3 == 2 else v for i, v in enumerate(values)]  # every labelled joint v = 1
    anns = [{**person, "id": i + 1, "keypoints": occluded} for i in range(30)]
    (tmp_path / "a.json").write_text(json.dumps({**source, "images": [image], "annotations": anns}))
    data = KeypointDataset(tmp_path / "a.json", folder, CROWDPOSE14, 128)
    ((_, people, ignore),) = data.items
    assert (len(people), len(ignore)) == (30, 0)
    assert int(data[0]["joints"][..., 1].any(dim=1).sum()) == 30  # the guide's "up to 30 people a sample"


def test_an_augmented_crowd_beyond_thirty_tags_a_fresh_draw_of_its_people_each_sample(tmp_path, shared_data):
    """The first 30 people of the annotation list were tagged in every sample (of a mosaic, its first tile's)."""
    folder = shared_data / "crowdpose_sample"
    source = json.loads((folder / "test_crowdpose.json").read_text())
    image = source["images"][0]
    person = next(a for a in source["annotations"] if a["image_id"] == image["id"] and a["num_keypoints"] > 0)
    single = [10.0, 10.0, 2] + [0] * (3 * 13)  # one labelled joint: each person is where its joint is
    anns = [{**person, "id": i + 1, "keypoints": single} for i in range(40)]
    for i, ann in enumerate(anns):  # 40 people a column apart, each on a cell of its own
        ann["keypoints"] = [10.0 + i * image["width"] / 41, 10.0, 2, *single[3:]]
    (tmp_path / "a.json").write_text(json.dumps({**source, "images": [image], "annotations": anns}))
    still = AugmentConfig(max_rotation=0, min_scale=1, max_scale=1, max_translate=0, flip=0)
    data = KeypointDataset(tmp_path / "a.json", folder, CROWDPOSE14, 256, augment=still)
    torch.manual_seed(0)
    tagged = set()
    for _ in range(8):
        joints = data[0]["joints"]
        assert int(joints[:, 0, 1].sum()) == 30
        tagged |= set(joints[:, 0, 0][joints[:, 0, 1] > 0].tolist())
    assert len(tagged) == 40


def test_source_weights_follow_each_annotations_source_not_its_images(tmp_path, shared_data):
    folder = shared_data / "crowdpose_sample"
    source = json.loads((folder / "test_crowdpose.json").read_text())
    image = {**source["images"][0], "source": "camera"}
    anns = [{**a, "source": "teacher"} for a in source["annotations"] if a["image_id"] == image["id"]]
    (tmp_path / "a.json").write_text(json.dumps({**source, "images": [image], "annotations": anns}))
    data = KeypointDataset(tmp_path / "a.json", folder, CROWDPOSE14, 64, source_weights={"teacher": 0.25})
    assert float(data[0]["weight"]) == pytest.approx(0.25)


def test_the_index_is_one_buffer_a_forked_loader_worker_shares_not_objects_per_image(shared_data):
    """Each image's info, people and ignore regions were Python objects: a loader worker forked with them copies
    every page whose refcounts it touches or its garbage collector walks (at COCO's size, a GB a worker). Now the
    index holds its items' pickles and little more an image, and reads back what it held. Counted in bytes, not in
    objects the garbage collector tracks: a dict or tuple of plain values kept per image is not tracked."""
    folder = shared_data / "train"
    KeypointDataset(folder / "annotations.json", folder / "images", COCO17, 128)  # its modules' caches filled
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        data = KeypointDataset(folder / "annotations.json", folder / "images", COCO17, 128)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        items = list(data.items)  # each item unpacked anew: objects made now, not kept by the dataset
        del items
        gc.collect()
        held_after_reading = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    pickles = sum(len(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)) for item in data.items)
    # measured: 91 B an image besides the pickles (the offsets' 8, the main process's source names' pointer and
    # ~60 B string); 112 is below the 91 + 36 of the least a kept object per image adds (8 B to point at an int of 28)
    assert (held - pickles) / len(data) < 112 and len(data) > 2000
    assert held_after_reading <= held + 10_000  # another test's thread may come or go meanwhile
    info, people, ignore = data.items[len(data) - 1]
    assert info == data.items[-1][0] and people[0].keypoints.shape == (17, 3)
    with pytest.raises(IndexError):
        data.items[len(data)]


def test_the_packed_index_is_read_as_a_list_is_or_refuses_the_index():
    """A slice was refused as "'<=' not supported between instances of 'int' and 'slice'", and 1.0 read as item 1
    by the check and refused by numpy as another kind of fault (IndexError)."""
    listed = [{"a": 1}, None, (np.zeros(2), "b")]
    items = PackedItems(listed)
    for index in (-3, -1, 0, 2, np.int64(1)):
        assert repr(items[index]) == repr(listed[index])
    for index in (3, -4):
        with pytest.raises(IndexError, match=f"item {index} of 3"):
            items[index]
    for index in (slice(0, 2), 1.0, "1"):
        with pytest.raises(TypeError, match="cannot be interpreted as an integer"):
            items[index]


def test_each_images_source_is_read_for_sample_weights_in_the_order_of_the_index(tmp_path, shared_data):
    """--sample-weights weighs each image by its ``source`` (kept beside the packed index): an image without one is
    "" (weight 1), and an image without people is not in the index, nor among the sources."""
    folder = shared_data / "crowdpose_sample"
    source = json.loads((folder / "test_crowdpose.json").read_text())
    first, second = source["images"][:2]
    empty = {**first, "id": 999, "source": "unused"}  # nobody labelled in it
    images = [{**first, "source": "teacher"}, second, empty]
    (tmp_path / "a.json").write_text(json.dumps({**source, "images": images}))
    data = KeypointDataset(tmp_path / "a.json", folder, CROWDPOSE14, 64)
    assert [info["id"] for info, _, _ in data.items] == [first["id"], second["id"]]
    assert data.image_sources() == ["teacher", ""]


@pytest.mark.parametrize("tool", ["roboflow", "coco-annotator", "label-studio"])
def test_each_tools_keypoint_export_trains_on_the_people_it_labels(tool, tool_export):
    """Roboflow's placeholder category and renamed images, Label Studio's "Left Eye" names beside boxes of a category
    of their own, and COCO Annotator's hands (21 keypoints, listed first: refused as "annotation 2 has 21
    keypoints, the coco schema has 17"): each trains on its people, and only on them, and validates on them."""
    import pickle

    from training.trainer import _validation_set

    path, images, people = tool_export(tool)
    data = KeypointDataset(path, images, COCO17, 128)
    assert sum(len(data.items[index][1]) for index in range(len(data))) == people
    validation = pickle.loads(_validation_set(str(path), str(images), COCO17))["annotations"]
    assert sum(1 for a in validation if not a["iscrowd"] and a["num_keypoints"] > 0) == people


@pytest.mark.parametrize(
    "tool, refusal",
    [
        ("label-studio-alphabetical", "in another order than the coco schema"),
        ("coco-annotator-alphabetical", "in another order than the coco schema"),  # hands listed first
        ("merged-reordered", 'category "other people" lists the keypoints of category "person" in another order'),
        ("merged-crowdpose", 'category "other people" lists 14 keypoints, some of them named as the 17 of'),
    ],
)
def test_people_of_other_keypoints_or_another_order_are_refused(tool, refusal, tool_export):
    """Label Studio names the keypoints as its project's labels ("Left Eye"), in their model_index order: listed
    alphabetically they were trained on as COCO's order (with the flip map of other joints), unsaid. People of a
    second category in another order, or of another keypoint set (CrowdPose's merged with COCO's), trained as
    background unsaid."""
    path, images, _ = tool_export(tool)
    with pytest.raises(WLitePoseError, match=refusal):
        KeypointDataset(path, images, COCO17, 128)


@pytest.mark.parametrize(
    "categories, labelled, said",
    [
        ([{"name": "person", "keypoints": list(COCO17.keypoints)}], True, ': every category needs an id ({"name"'),
        (5, False, " has no image with labelled people"),  # was a TypeError's traceback
    ],
)
def test_a_file_of_malformed_categories_is_refused_as_eval_refuses_it(categories, labelled, said, tmp_path):
    """A keypoint category without an id was refused by `eval` but trained on, a car as an ignore region."""
    person = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 9, 9], "keypoints": [5, 5, 2] * 17}
    car = {"id": 2, "image_id": 1, "category_id": 2, "bbox": [20, 20, 9, 9]}
    data = {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": categories}
    (tmp_path / "a.json").write_text(json.dumps({**data, "annotations": [person, car] if labelled else []}))
    with pytest.raises(WLitePoseError) as refused:
        KeypointDataset(tmp_path / "a.json", tmp_path, COCO17, 64)
    assert str(refused.value).startswith(f"{tmp_path / 'a.json'}{said}")

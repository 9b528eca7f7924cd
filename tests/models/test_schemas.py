"""The keypoint schemas training and export read: a flip map that swaps a joint with one of another side teaches
the network mirrored people wrong, half of all samples."""

import pytest

from models.schemas import SCHEMAS


def _mirrored(name: str) -> str:
    for side, other in (("left", "right"), ("right", "left")):
        if side in name:
            return name.replace(side, other)
    return name


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_the_flip_map_swaps_left_and_right_and_keeps_the_middle_joints(schema):
    names = schema.keypoints
    assert [names[schema.flip_map[j]] for j in range(len(names))] == [_mirrored(n) for n in names]


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_the_skeleton_is_its_own_mirror_image(schema):
    """A link one joint off (right knee to left ankle) has no mirror link: drawn and tracked as a limb of nobody."""
    links = {frozenset(link) for link in schema.skeleton}
    assert {frozenset(schema.flip_map[j] for j in link) for link in links} == links
    assert len(links) == len(schema.skeleton) and all(len(link) == 2 for link in links)

"""benchmarks/display.py: each way of showing a frame timed apart, and the figures it prints."""

import pytest


@pytest.mark.parametrize(
    "times, lines",
    [
        (  # BGR888 both: 5, 5 and 14 ms (median 5, mean 8); RGB32 2 ms: ratio 0.40
            {
                "BGR888 (before)": ([0.001, 0.001, 0.010], [0.004, 0.004, 0.004]),
                "RGB32 (to_qimage)": ([0.0, 0.0, 0.0], [0.002, 0.002, 0.002]),
            },
            [
                "  BGR888 (before)    convert  1.00  paint  4.00  both  5.00",
                "  RGB32 (to_qimage)  convert  0.00  paint  2.00  both  2.00",
                "  RGB32 over BGR888, both: 0.40x the time",
            ],
        ),
        (  # convert 1, 1, 10 ms and paint 4, 9, 4 ms: the frames take 5, 10 and 14 ms, median 10 (the medians add to 5)
            {"BGR888 (before)": ([0.001, 0.001, 0.010], [0.004, 0.009, 0.004]), "RGB32 (to_qimage)": ([0.0], [0.005])},
            [
                "  BGR888 (before)    convert  1.00  paint  4.00  both 10.00",
                "  RGB32 (to_qimage)  convert  0.00  paint  5.00  both  5.00",
                "  RGB32 over BGR888, both: 0.50x the time",
            ],
        ),
    ],
)
def test_display_figures_are_median_ms_of_each_frame_s_sum_and_the_ratio_is_rgb32_over_bgr888(
    times, lines, load_benchmark
):
    assert load_benchmark("display").describe(times).splitlines() == lines


def test_display_paints_the_frames_asked(tmp_path, run_benchmark):
    done = run_benchmark("display.py", "--frames", "2", "--size", "64x48", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("vtest_clip.mp4, 2 frames painted at 64x48"), done.stdout


def test_display_times_each_way_s_conversion_and_paint_apart(monkeypatch, load_benchmark, fake_clock):
    """Converting takes 1 ms as BGR888 and 2 ms as RGB32, painting 4 ms, on a clock that moves only then; 2 of 3
    frames asked."""
    display = load_benchmark("display")
    clock = fake_clock()

    def taking(seconds: float):
        def work(*args) -> None:
            clock.now += seconds

        return work

    monkeypatch.setattr(display, "as_bgr888", taking(0.001))
    monkeypatch.setattr(display, "to_qimage", taking(0.002))
    monkeypatch.setattr(display, "paint", taking(0.004))
    times = display.paint_times([None] * 3, 2, None, clock)
    ms = {name: [[round(s * 1e3, 6) for s in series] for series in pair] for name, pair in times.items()}
    assert ms == {"BGR888 (before)": [[1.0, 1.0], [4.0, 4.0]], "RGB32 (to_qimage)": [[2.0, 2.0], [4.0, 4.0]]}

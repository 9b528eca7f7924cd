"""The bundled model and sample clip: next to the code in a checkout and in an installed wheel alike."""

from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_MODEL = ASSETS / "wlitepose_xs_256.onnx"
SAMPLE_CLIP = ASSETS / "samples" / "vtest_clip.mp4"


def bundled_hint(missing: Path, bundled: Path, what: str) -> str:
    """For a ``missing`` path ending as the README names the ``bundled`` file (assets/samples/vtest_clip.mp4: its
    command run outside a checkout, as from an installed wheel, which keeps it in site-packages), where the bundled
    one is; nothing for another folder's file of that name (a user's own export in a mistyped folder)."""
    tail = bundled.relative_to(ASSETS.parent).parts
    if Path(missing).parts[-len(tail) :] == tail and bundled.is_file():
        return f" here; the bundled {what} is {bundled}"
    return ""

"""Local HLS playlists, checked before FFmpeg follows their entries."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from urllib.parse import unquote

from core.errors import WLitePoseError

LOCAL_PLAYLIST_SUFFIXES = (".m3u8", ".m3u")  # playlists on the disk, whose entries are checked
MAX_PLAYLIST_DEPTH = 4  # playlists listing playlists: a master one and its variants are 2
MAX_PLAYLIST_BYTES = 16 * 2**20  # a playlist's first 16 MB are checked (a day of 2-s segments is 2 MB)


def check_playlist(path: Path, depth: int = 0) -> None:
    """A local HLS playlist's entries (and those of the playlists it lists) must lie in its folder or below, or
    on the web: FFmpeg follows a playlist's local entries anywhere on the disk, so a playlist handed over could
    put the frames of any video whose path it guesses into the outputs made from it."""
    if path.suffix.lower() not in LOCAL_PLAYLIST_SUFFIXES:
        return
    if depth > MAX_PLAYLIST_DEPTH:
        raise WLitePoseError(f"the playlist {path} is listed {depth} playlists deep; players follow 2 at most")
    folder = path.resolve().parent
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the read until a writer came
            raise WLitePoseError(f"the playlist {path} is not a regular file (a FIFO or a device)")
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read(MAX_PLAYLIST_BYTES)
    except OSError:
        return  # the video reader says what is wrong with it
    entries = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    entries += re.findall(r'URI="([^"]*)"', text)  # an init segment (#EXT-X-MAP), a key, an audio playlist
    for entry in entries:
        if entry.lower().startswith(("http://", "https://")):
            continue
        local = unquote(re.sub(r"^file:(//)?", "", entry, flags=re.IGNORECASE))
        if "\0" in local:  # seg%00.ts: no file is named so, and resolve raises for it
            raise WLitePoseError(f"the playlist {path} lists {entry[:80]!r}, which no file is named (a NUL in it)")
        scheme = re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", local)  # another protocol (a drive letter is one letter)
        target = (folder / local).resolve()
        if scheme or folder not in target.parents:
            raise WLitePoseError(
                f"the playlist {path} lists {entry[:80]}, outside its own folder: only entries in its folder or "
                "on the web are read (a playlist from elsewhere could pull any video on this disk into the outputs)"
            )
        check_playlist(target, depth + 1)  # a variant playlist of a master one

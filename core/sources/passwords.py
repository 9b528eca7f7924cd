"""Stream URLs with their passwords and secret parameters masked, for files and messages others may read."""

from __future__ import annotations

import re
from urllib.parse import unquote


def without_password(spec: str | int) -> str:
    """A stream URL with its password masked (``rtsp://user:***@host/...``), and the values of parameters that
    carry secrets (``?pwd=***``, ``;password=***``, and in a path, as some cameras take them:
    ``/user=admin&password=***&channel=1``, ``/user=admin_password=***_channel=1``), for the files and messages
    others may read; any other source as it is."""
    spec = str(spec)
    scheme, sep, rest = spec.partition("://")
    if not sep:
        return spec
    # the address as typed, up to its first "/", "?" or "#" (urlsplit's netloc drops a tab or line break in a
    # password first, so it was not found in the URL and the password was shown whole)
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in netloc and "@" not in rest.partition(netloc)[2]:
        credentials, host = netloc.rpartition("@")[::2]
        rest = rest.replace(netloc, _masked(credentials) + "@" + host, 1)
    elif "@" in rest:  # a password with a "#", "/" or "?" typed as it is ends the address early: up to the last @
        credentials, host = rest.rpartition("@")[::2]  # (a host:port/path@... is masked too: better than a leak)
        rest = _masked(credentials) + "@" + host
    path, question, query = rest.partition("?")
    if not question:
        return scheme + sep + _masked_path(path)
    query, hash_, fragment = query.partition("#")
    fields = (field.partition("=") for field in query.split("&"))  # a value runs to the next &, "/" and ";" in it
    # a field that is no secret may hold one after a ";" (?user=admin;password=...): masked as in a path
    query = "&".join(key + eq + ("***" if eq and _secret(key) else _masked_path(value)) for key, eq, value in fields)
    return scheme + sep + _masked_path(path) + question + query + hash_ + fragment


# a key=value in a path, after one of /&;_ (a key may be percent-encoded: p%61ssword is password to the server)
PATH_KEY = re.compile(r"[/&;_]((?:[A-Za-z]|%[0-9A-Fa-f]{2})(?:[A-Za-z0-9-]|%[0-9A-Fa-f]{2})*)=")
# a key names a secret when its last word (or the whole key) is one of these: loginpas, X-Amz-Signature, apiKey,
# access_token; not keyframes, bypass or hotkey
SECRET_WORDS = frozenset(
    "password passwd passphrase pass pas loginpas pwd pw secret token auth authorization key apikey sig signature "
    "credential credentials".split()
)


def _secret(key: str) -> bool:
    key = unquote(key)  # the name the server reads: p%61ssword and api%5Fkey are password and api_key
    words = [word.lower() for word in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", key)]
    return bool(words) and (words[-1] in SECRET_WORDS or "".join(words) in SECRET_WORDS)


def _masked_path(path: str) -> str:
    """``path`` with each secret key's value masked: up to the next key of the path or its next "/"."""
    keys = list(PATH_KEY.finditer(path))
    kept, last = [], 0
    for n, match in enumerate(keys):
        if not _secret(match.group(1)):
            continue
        end = keys[n + 1].start() if n + 1 < len(keys) else len(path)
        cut = re.search(r"[/#]", path[match.end() : end])
        end = match.end() + cut.start() if cut else end
        kept.append(path[last : match.end()] + "***")
        last = end
    return "".join(kept) + path[last:]


def _masked(credentials: str) -> str:
    """``user:password`` as ``user:***``; a user name alone as it is."""
    user, colon, _ = credentials.partition(":")
    return user + colon + "***" * bool(colon)

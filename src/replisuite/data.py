"""External inputs: declared once in ``config/sources.yaml``, fetched with a verified hash.

Every input is a :class:`Source` (name, URL, SHA-256, licence, citation).  :func:`fetch_source`
reads it from a local mirror when ``REPLISUITE_MIRROR`` names one (laid out as
``<mirror>/<host>/<URL path, percent-decoded>``) and otherwise downloads it.  Either way the
bytes are hashed while they are copied into a temporary file beside the destination, and the
file appears under its final name only when the hash matches.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import yaml

from replisuite.atomic import atomic_open, atomic_path

MIRROR_ENV = "REPLISUITE_MIRROR"
_CHUNK = 1 << 20
_REQUIRED = ("name", "url", "sha256", "licence", "citation")


class SourceError(RuntimeError):
    """A source could not be read, or its bytes are not the declared ones."""


@dataclass(frozen=True)
class Source:
    """One external input file.

    Attributes
    ----------
    name
        Identifier used in rules and paths (``data/raw/<name>/<file_name>``).
    url
        Canonical HTTPS URL, percent-encoded.
    sha256
        Expected SHA-256 of the file's bytes, lowercase hex.
    licence, citation
        What the file may be used for and whom to cite.
    study
        The study that reads it (informational; used to group outputs).
    on_demand
        Not part of ``data.fetch: all``: fetched only when a rule asks for it (large published
        collections a study selects from, e.g. PsychEval's 369 case files).
    """

    name: str
    url: str
    sha256: str
    licence: str
    citation: str
    study: str = ""
    bytes: int | None = None
    on_demand: bool = False

    @property
    def file_name(self) -> str:
        """The URL's last path segment, percent-decoded."""
        return urllib.parse.unquote(urllib.parse.urlsplit(self.url).path.rsplit("/", 1)[-1])

    def raw_path(self, raw_dir: str | os.PathLike[str] = "data/raw") -> Path:
        """Where :func:`fetch_source` puts this source under ``raw_dir``."""
        return Path(raw_dir) / self.name / self.file_name


def load_sources(path: str | os.PathLike[str]) -> dict[str, Source]:
    """Read a sources file into ``{name: Source}``, refusing incomplete or duplicate entries."""
    path = Path(path)
    document = yaml.safe_load(path.read_text()) or {}
    entries = document.get("sources")
    if not isinstance(entries, list):
        raise SourceError(f"{path}: expected a top-level 'sources:' list")
    citations = document.get("citations", {}) or {}
    sources: dict[str, Source] = {}
    for index, entry in enumerate(entries):
        where = f"{path}: sources[{index}]"
        missing = [key for key in _REQUIRED if entry.get(key) in (None, "")]
        if missing:
            raise SourceError(f"{where} ({entry.get('name', '?')}): missing {', '.join(missing)}")
        unknown = set(entry) - set(Source.__dataclass_fields__)
        if unknown:
            raise SourceError(f"{where} ({entry['name']}): unknown field(s) {sorted(unknown)}")
        if entry["name"] in sources:
            raise SourceError(f"{where}: duplicate source name {entry['name']!r}")
        digest = entry["sha256"]
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest.lower()):
            raise SourceError(
                f"{where} ({entry['name']}): sha256 must be a quoted string of 64 hex digits, "
                f"got {digest!r}"
            )
        digest = digest.lower()
        if entry["citation"] in citations:
            entry = {**entry, "citation": " ".join(str(citations[entry["citation"]]).split())}
        sources[entry["name"]] = Source(**{**entry, "sha256": digest})
    for index, listing in enumerate(document.get("source_lists") or []):
        for source in _listed_sources(listing, where=f"{path}: source_lists[{index}]", base=path.parent,
                                      citations=citations):
            if source.name in sources:
                raise SourceError(f"{path}: source_lists[{index}]: duplicate source name {source.name!r}")
            sources[source.name] = source
    return sources


_LIST_REQUIRED = ("prefix", "url_base", "files", "licence", "citation")


def _listed_sources(listing: dict, *, where: str, base: Path, citations: dict) -> list[Source]:
    """Sources declared by a checksum listing (a TSV of path, bytes, sha256 under a URL base).

    Each file becomes ``<prefix>_<path with / as _, extension dropped>``, on demand by default.
    """
    missing = [key for key in _LIST_REQUIRED if not listing.get(key)]
    if missing:
        raise SourceError(f"{where}: missing {', '.join(missing)}")
    table = base / listing["files"]
    if not table.exists():
        raise SourceError(f"{where}: listing file {table} does not exist")
    citation = " ".join(str(citations.get(listing["citation"], listing["citation"])).split())
    sources = []
    lines = table.read_text().splitlines()
    if not lines or lines[0].split("\t") != ["path", "bytes", "sha256"]:
        raise SourceError(f"{table}: expected a header 'path<TAB>bytes<TAB>sha256'")
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 3 or not re.fullmatch(r"[0-9a-f]{64}", fields[2]) or not fields[1].isdigit():
            raise SourceError(f"{table}: line {number}: expected path, bytes and a 64-hex sha256")
        file_path, size, digest = fields
        stem = file_path.rsplit(".", 1)[0].replace("/", "_")
        url = listing["url_base"].rstrip("/") + "/" + urllib.parse.quote(file_path)
        sources.append(Source(name=f"{listing['prefix']}_{stem}", url=url, sha256=digest, licence=listing["licence"],
                              citation=citation, study=listing.get("study", ""), bytes=int(size),
                              on_demand=bool(listing.get("on_demand", True))))
    return sources


def mirror_path(url: str, mirror: str | os.PathLike[str]) -> Path:
    """Map ``https://host/a%3Db/c`` to ``<mirror>/host/a=b/c``.

    Raises
    ------
    SourceError
        If the decoded path would leave the mirror folder (``..`` segments).
    """
    parts = urllib.parse.urlsplit(url)
    segments = [urllib.parse.unquote(s) for s in parts.path.split("/") if s]
    if not parts.netloc or any(s in ("..", ".") or "/" in s for s in segments):
        raise SourceError(f"{url}: not a URL that maps into a mirror folder")
    return Path(mirror, parts.netloc, *segments)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


VERIFIED_DIR = ".snakemake/replisuite/verified"


def _hash_record(path: Path, folder: str | os.PathLike[str]) -> Path:
    return Path(folder) / f"{hashlib.sha256(str(path).encode()).hexdigest()[:24]}.json"


def remember_hash(path: str | os.PathLike[str], digest: str, *, folder: str | os.PathLike[str] = VERIFIED_DIR) -> None:
    """Note that ``path``, as it is now (size, modification time), has SHA-256 ``digest``: one small
    file per path, written atomically, so concurrent fetch jobs never lose each other's notes.
    """
    path = Path(path)
    stat = path.stat()
    with contextlib.suppress(OSError), atomic_open(_hash_record(path, folder)) as handle:
        json.dump([str(path), stat.st_size, stat.st_mtime_ns, digest], handle)


def _remembered(path: Path, folder: str | os.PathLike[str]) -> tuple[list[int], str] | None:
    """The size and modification time ``path`` had when its hash was noted, and that hash."""
    with contextlib.suppress(OSError, ValueError):
        name, size, mtime_ns, digest = json.loads(_hash_record(path, folder).read_text())
        if name == str(path):
            return [size, mtime_ns], digest
    return None


def verify_present_sources(sources: Iterable[Source], raw_dir: str | os.PathLike[str], *,
                           folder: str | os.PathLike[str] = VERIFIED_DIR) -> list[Path]:
    """Check every source already under ``raw_dir`` against its declared SHA-256.

    A file fetched earlier and edited (or replaced) since would otherwise be used as it is, since
    nothing reruns the fetch. The fetch notes each file's hash (:func:`remember_hash`, in
    ``folder``) with its size and modification time, so an unchanged file is not read again. A
    file whose bytes are still those fetched but whose declaration has changed since is left to
    the fetch, which reruns on the new hash (it is a param of the rule).

    Returns
    -------
    list of pathlib.Path
        The files checked.

    Raises
    ------
    SourceError
        A file changed after its fetch and its bytes differ from the declaration: the message
        names the file, the source and both hashes, and says how to fetch it again.
    """
    checked = []
    for source in sources:
        path = source.raw_path(raw_dir)
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        checked.append(path)
        noted = _remembered(path, folder)
        if noted is not None and noted[0] == [stat.st_size, stat.st_mtime_ns]:
            continue                                   # unchanged since it was hashed
        digest = sha256_file(path)
        as_fetched = noted is not None and digest == noted[1]
        if digest != source.sha256 and not as_fetched:
            raise SourceError(
                f"{path}: its SHA-256 is {digest}, but source {source.name!r} declares {source.sha256}; "
                "the file changed after it was fetched. Delete it to fetch it again (or correct the declaration)")
        remember_hash(path, digest, folder=folder)
    return checked


def fetch_source(
    source: Source,
    destination: str | os.PathLike[str],
    *,
    mirror: str | os.PathLike[str] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Materialise ``source`` at ``destination`` with its hash verified.

    Parameters
    ----------
    source
        What to fetch.
    destination
        Final file path.  Written atomically: on any error nothing is left there.
    mirror
        Folder laid out as ``<host>/<url path>``.  Defaults to ``$REPLISUITE_MIRROR``; when
        neither is set the URL is downloaded.
    timeout
        Seconds to wait for a network connection.

    Returns
    -------
    pathlib.Path
        ``destination``.

    Raises
    ------
    SourceError
        The file is missing from the mirror, the URL cannot be reached, or the hash differs; the
        message names the source, the URL and (for a mismatch) both hashes.
    """
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    return _fetch(source, Path(destination), mirror=mirror, timeout=timeout)


def _fetch(source: Source, destination: Path, *, mirror, timeout: float) -> Path:
    """fetch_source without the environment: ``mirror=None`` downloads the URL."""
    with atomic_path(destination) as tmp:
        with open(tmp, "wb") as out, _open_source(source, mirror=mirror, timeout=timeout) as stream:
            actual = _copy_hashing(stream, out)
        if actual != source.sha256:
            raise SourceError(
                f"source {source.name!r} ({source.url}): SHA-256 mismatch: "
                f"expected {source.sha256}, got {actual}; nothing was written to {destination}"
            )
    return destination


def fetch_all(
    sources: Iterable[Source], raw_dir: str | os.PathLike[str], **options
) -> list[Path]:
    """Fetch several sources into ``raw_dir``; already-verified files are not fetched again."""
    paths = []
    for source in sources:
        path = source.raw_path(raw_dir)
        if not (path.exists() and sha256_file(path) == source.sha256):
            fetch_source(source, path, **options)
        paths.append(path)
    return paths


def fill_mirror(sources: Iterable[Source], mirror: str | os.PathLike[str], *, timeout: float = 60.0) -> Path:
    """Download sources from their URLs into a folder laid out as a mirror (``<host>/<url path>``).

    Hashes are verified; files already there and verified are not downloaded again. A machine
    with network access builds its own mirror this way (the tests do, when ``$REPLISUITE_MIRROR``
    is not set). Returns the mirror folder.
    """
    for source in sources:
        local = mirror_path(source.url, mirror)
        if not (local.is_file() and sha256_file(local) == source.sha256):
            _fetch(source, local, mirror=None, timeout=timeout)
    return Path(mirror)


def _open_source(source: Source, *, mirror, timeout: float) -> BinaryIO:
    if mirror is not None:
        local = mirror_path(source.url, mirror)
        if not local.is_file():
            raise SourceError(
                f"source {source.name!r} ({source.url}): not in the mirror {mirror} "
                f"(looked for {local}); expected SHA-256 {source.sha256}"
            )
        return open(local, "rb")
    request = urllib.request.Request(source.url, headers={"User-Agent": "replisuite"})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except (urllib.error.URLError, OSError) as error:
        raise SourceError(
            f"source {source.name!r} ({source.url}): cannot download ({error}); "
            f"expected SHA-256 {source.sha256}. Without network access set {MIRROR_ENV} "
            "to a mirror folder."
        ) from error


def _copy_hashing(stream: BinaryIO, out: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(_CHUNK), b""):
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()



def sources_schema() -> dict:
    """Columns and types of the sources table (polars is imported only when a table is made)."""
    import polars as pl

    return {
        "name": pl.String, "study": pl.String, "file": pl.String, "bytes": pl.Int64, "sha256": pl.String,
        "verified": pl.Boolean, "licence": pl.String, "citation": pl.String, "url": pl.String,
    }


def sources_table(sources: Iterable[Source], paths: Iterable[str | os.PathLike[str]]):
    """One row per fetched source: its file, size, hash (re-checked now) and attribution."""
    import polars as pl

    rows = []
    for source, path in zip(sources, paths, strict=True):
        actual = sha256_file(path)
        rows.append(
            {
                "name": source.name,
                "study": source.study,
                "file": str(path),
                "bytes": os.path.getsize(path),
                "sha256": actual,
                "verified": actual == source.sha256,
                "licence": source.licence,
                "citation": source.citation,
                "url": source.url,
            }
        )
    return pl.DataFrame(rows, schema=sources_schema())

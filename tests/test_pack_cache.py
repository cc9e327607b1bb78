"""The compiled knowledge pack kept in KETAGUIDE_CACHE_DIR: read back equal, and any file that is not exactly the
one this code and this content would write is a miss, rebuilt from the YAML; never a crash or a stale answer."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ketaguide.knowledge.loader
from ketaguide import cache_files
from ketaguide.domain.errors import KnowledgePackError
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge import pack_cache
from ketaguide.knowledge.pack_cache import KEEP, CompiledPack, PackCache
from ketaguide.knowledge.snapshot import content_hash, content_root, load_snapshot

BUNDLED = Path(str(content_root()))


class Reports(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)


@pytest.fixture(scope="module")
def bundled_hash() -> str:
    return content_hash(content_root())


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(BUNDLED, copy, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    return copy


@pytest.fixture
def yaml_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the packs loaded from the YAML (the cache's misses)."""
    loads: list[int] = []
    real = ketaguide.knowledge.loader.load_pack

    def counting(*args: object, **kwargs: object) -> KnowledgePack:
        loads.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ketaguide.knowledge.loader, "load_pack", counting)
    return loads


def cache_file(cache_dir: Path) -> Path:
    [path] = (cache_dir / "knowledge").glob("pack-*.json")
    return path


def test_a_compiled_pack_is_the_pack(pack: KnowledgePack) -> None:
    """Equal sources (with reliability), claims, conflicts, concepts and phrasebook (its patterns compiled again)."""
    again = CompiledPack.model_validate_json(CompiledPack.of(pack).model_dump_json()).pack()
    assert again == pack
    assert again.lexicon.phrasebook == pack.lexicon.phrasebook
    assert again.lexicon.concepts_in("special k and ketamine bladder") == pack.lexicon.concepts_in(
        "special k and ketamine bladder"
    )


def test_the_second_load_reads_the_cache(tmp_path: Path, pack: KnowledgePack, yaml_loads: list[int]) -> None:
    first = load_snapshot(cache_dir=tmp_path)
    second = load_snapshot(cache_dir=tmp_path)
    assert yaml_loads == [1]
    assert second.pack == first.pack == pack and second.pack is not first.pack
    assert second.content_hash == first.content_hash


def test_without_a_cache_folder_nothing_is_written(tmp_path: Path, yaml_loads: list[int]) -> None:
    load_snapshot()
    load_snapshot()
    assert yaml_loads == [1, 1]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: data[: len(data) // 2], id="torn"),
        pytest.param(lambda data: data.split(b"\n", 1)[0], id="header only"),
        pytest.param(lambda data: b"not json\n" + data.split(b"\n", 1)[1], id="bad header"),
        pytest.param(lambda data: data.replace(b"lamotrigine", b"lamotrigina", 1), id="payload edited"),
        pytest.param(lambda data: b"\xff\xfe" + data, id="not UTF-8"),
    ],
)
def test_a_damaged_file_is_a_miss_then_rewritten(
    tmp_path: Path, pack: KnowledgePack, yaml_loads: list[int], damage: object
) -> None:
    load_snapshot(cache_dir=tmp_path)
    path = cache_file(tmp_path)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    assert load_snapshot(cache_dir=tmp_path).pack == pack
    assert load_snapshot(cache_dir=tmp_path).pack == pack
    assert yaml_loads == [1, 1]  # the damaged file was rebuilt once, then read


def test_a_well_formed_file_that_does_not_validate_is_a_miss(tmp_path: Path, bundled_hash: str) -> None:
    """A header that matches its payload, but the payload is not a pack (a hand-made or foreign file)."""
    cache = PackCache(tmp_path)
    cache.path(pack_cache.cache_key(bundled_hash)).parent.mkdir(parents=True)
    payload = b'{"version": "x"}'
    header = pack_cache.json.dumps(
        {"key": pack_cache.cache_key(bundled_hash), "sha256": pack_cache.hashlib.sha256(payload).hexdigest()}
    )
    cache.path(pack_cache.cache_key(bundled_hash)).write_bytes(header.encode() + b"\n" + payload)
    assert cache.read(bundled_hash) is None


def test_another_version_or_code_never_reads_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pack: KnowledgePack, yaml_loads: list[int]
) -> None:
    load_snapshot(cache_dir=tmp_path)
    written = cache_file(tmp_path)
    monkeypatch.setattr(pack_cache, "__version__", "9.9.9")
    assert load_snapshot(cache_dir=tmp_path).pack == pack
    monkeypatch.setattr(pack_cache, "_code_hash", lambda: "edited loader")
    assert load_snapshot(cache_dir=tmp_path).pack == pack
    assert yaml_loads == [1, 1, 1]
    assert len(list((tmp_path / "knowledge").glob("pack-*.json"))) == 3 and written.exists()


def test_a_file_renamed_to_another_key_is_refused(tmp_path: Path, bundled_hash: str, pack: KnowledgePack) -> None:
    """The header names the key: a file under another key's name (copied, or a digest collision) is a miss."""
    cache = PackCache(tmp_path)
    cache.write(bundled_hash, pack)
    other = "sha256:" + "0" * 64
    shutil.copy(cache.path(pack_cache.cache_key(bundled_hash)), cache.path(pack_cache.cache_key(other)))
    assert cache.read(other) is None and cache.read(bundled_hash) == pack


def test_edited_content_is_loaded_and_cached_anew(
    tmp_path: Path, content_copy: Path, yaml_loads: list[int], pack: KnowledgePack
) -> None:
    cache_dir = tmp_path / "cache"
    assert load_snapshot(content_copy, cache_dir=cache_dir).pack == pack
    sources = content_copy / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8").replace("version:", "version: edited-", 1), "utf-8")
    edited = load_snapshot(content_copy, cache_dir=cache_dir)
    assert edited.version.startswith("edited-") and edited.content_hash != content_hash(content_root())
    assert load_snapshot(content_copy, cache_dir=cache_dir).version == edited.version
    assert yaml_loads == [1, 1]  # the edit was loaded from the YAML once, then from the cache


def test_an_edited_source_is_checked_again(tmp_path: Path, content_copy: Path, yaml_loads: list[int]) -> None:
    """Quotes must be verbatim in their source: a source edited after its pack was cached is checked again (and
    here refused), never served from the cache."""
    cache_dir = tmp_path / "cache"
    load_snapshot(content_copy, cache_dir=cache_dir)
    source = sorted((content_copy / "sources").iterdir())[0]
    source.write_text("Edited. " + source.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(KnowledgePackError, match="not verbatim"):
        load_snapshot(content_copy, cache_dir=cache_dir)
    assert yaml_loads == [1, 1]


def test_a_pack_with_problems_is_never_written(tmp_path: Path, content_copy: Path) -> None:
    (content_copy / "conflicts.yaml").write_text("conflicts: [{id: x}]\n", encoding="utf-8")
    with pytest.raises(KnowledgePackError):
        load_snapshot(content_copy, cache_dir=tmp_path)
    assert not list(tmp_path.rglob("pack-*.json"))


def test_an_unwritable_cache_is_reported_once_and_the_pack_still_loads(
    tmp_path: Path, bundled_hash: str, pack: KnowledgePack
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    reports = Reports()
    cache = PackCache(blocker, report=reports)
    cache.write(bundled_hash, pack)
    cache.write(bundled_hash, pack)
    assert len(reports) == 1 and "knowledge pack cache not written" in reports[0]
    assert cache.read(bundled_hash) is None
    assert load_snapshot(cache_dir=blocker).pack == pack


def test_a_failed_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bundled_hash: str, pack: KnowledgePack
) -> None:
    def full_disk(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_files.os, "replace", full_disk)
    reports = Reports()
    PackCache(tmp_path, report=reports).write(bundled_hash, pack)
    assert list((tmp_path / "knowledge").iterdir()) == [] and len(reports) == 1


def test_old_packs_are_pruned(tmp_path: Path, pack: KnowledgePack) -> None:
    cache = PackCache(tmp_path)
    hashes = [f"sha256:{n:064x}" for n in range(KEEP + 3)]
    for digest in hashes:
        cache.write(digest, pack)
        time.sleep(0.002)  # distinct modification times
    kept = sorted((tmp_path / "knowledge").glob("pack-*.json"))
    assert len(kept) == KEEP
    assert cache.read(hashes[-1]) == pack and cache.read(hashes[0]) is None


WRITER = """
import sys
from pathlib import Path
from ketaguide.knowledge.loader import load_pack
from ketaguide.knowledge.pack_cache import PackCache
from ketaguide.knowledge.snapshot import content_hash, content_root
cache, digest, pack = PackCache(Path(sys.argv[1])), content_hash(content_root()), load_pack()
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[2])):
    cache.write(digest, pack)
"""


def test_two_processes_writing_at_once_leave_a_whole_file(
    tmp_path: Path, bundled_hash: str, pack: KnowledgePack
) -> None:
    """Each writer renames a whole temporary file over the target: a reader between and after sees a whole pack."""
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), "40"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    for writer in writers:  # both start writing together
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    cache, reads, seen = PackCache(tmp_path), 0, False
    while any(w.poll() is None for w in writers):
        read = cache.read(bundled_hash)
        seen = seen or read is not None
        assert read == pack or (read is None and not seen)  # once there, the file is always whole
        reads += 1
    assert [w.wait() for w in writers] == [0, 0] and reads > 0
    assert cache.read(bundled_hash) == pack
    assert [p.name for p in (tmp_path / "knowledge").iterdir()] == [cache_file(tmp_path).name]  # no temp files

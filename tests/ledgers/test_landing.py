import os

import pytest

from ledgers.landing import LandingError, describe, find_drop, list_candidates, settled
from tests.conftest import write_jsonl, write_tree


def test_drop_ids_follow_content_not_time(settings):
    landing = settings.landing.path
    path = write_jsonl(landing / "d.jsonl")
    first = describe(list_candidates(landing)[0][0])
    os.utime(path, (1_000_000, 1_000_000))
    again = describe(list_candidates(landing)[0][0])
    assert again.drop_id == first.drop_id and again.drop_id.startswith("d.jsonl-")
    path.write_bytes(path.read_bytes() + b'{"text": "more"}\n')
    assert describe(list_candidates(landing)[0][0]).drop_id != first.drop_id


def test_entries_that_are_not_drops_are_reported_and_partials_ignored(settings):
    landing = settings.landing.path
    write_tree(landing / "repo")
    (landing / "notes.docx").write_bytes(b"x")
    (landing / "big.jsonl.partial").write_bytes(b"x")
    candidates, notes = list_candidates(landing)
    assert [c.name for c in candidates] == ["repo"]
    assert len(notes) == 1 and notes[0].startswith("notes.docx: not a drop")


def test_a_drop_still_being_written_is_not_settled(settings):
    write_jsonl(settings.landing.path / "d.jsonl")
    candidate = list_candidates(settings.landing.path)[0][0]
    assert not settled(candidate, 60, now=candidate.newest_mtime + 1)
    assert settled(candidate, 60, now=candidate.newest_mtime + 61)


def test_find_drop_refuses_a_drop_that_changed_since_it_was_detected(settings):
    path = write_jsonl(settings.landing.path / "d.jsonl")
    drop_id = describe(list_candidates(settings.landing.path)[0][0]).drop_id
    assert find_drop(settings.landing.path, drop_id).path == str(path)
    path.write_bytes(b'{"text": "changed"}\n')
    with pytest.raises(LandingError, match="removed or changed"):
        find_drop(settings.landing.path, drop_id)

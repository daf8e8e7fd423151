"""Golden files: every file in a golden directory is one a test reads (an orphan would go stale unseen).

Whether each golden is current is tested where it is read: tests/test_quality_gates.py (templates/),
tests/test_service_files.py (tests/golden/render/) and tests/test_review.py (tests/golden/review/).
"""

from __future__ import annotations

from tests.goldens import ROOT, all_goldens, files_on_disk


def test_every_golden_directory_holds_the_goldens_and_nothing_else() -> None:
    expected = set(all_goldens())
    on_disk = files_on_disk()
    orphans = sorted(str(path.relative_to(ROOT)) for path in on_disk - expected)
    missing = sorted(str(path.relative_to(ROOT)) for path in expected if not path.is_file())
    assert (orphans, missing) == ([], []), "run `make goldens` (it deletes orphans and writes missing goldens)"

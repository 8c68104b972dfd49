from __future__ import annotations

from pathlib import Path

import pytest

from neuralab.errors import UserError, require_file


def test_require_file_names_a_missing_path_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^CSV file .*nope\.csv does not exist$"):
        require_file(tmp_path / "nope.csv", "CSV file")
    with pytest.raises(UserError, match=r"^CSV file .* is a folder, not a file$"):
        require_file(tmp_path, "CSV file")
    (tmp_path / "rows.csv").write_text("a\n1\n", encoding="utf-8")
    require_file(tmp_path / "rows.csv", "CSV file")

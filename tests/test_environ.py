"""The one way the project gives a background process its environment and private folder, and cleans them up
(``helpers.core.environ``). The background processes themselves (render service, kernel fork server) are tested in
``tests/test_renderer.py`` and ``tests/test_kernels.py``."""

from __future__ import annotations

import pytest

from helpers.core.environ import PRIVATE_PREFIX, private_folder, remove_private_folder


def test_a_private_folder_is_removed_only_when_it_is_one(tmp_path):
    """What an orphaned server removes is the private folder holding its socket, never another folder: a folder
    whose name lacks the private prefix is refused, and so is a prefix that would make one."""
    other = tmp_path / "results"
    other.mkdir()
    (other / "socket").write_text("")
    with pytest.raises(ValueError, match="is not a private folder"):
        remove_private_folder(other / "socket")
    assert (other / "socket").exists()
    with pytest.raises(ValueError, match="prefix"), private_folder("results-"):
        pass
    with private_folder(PRIVATE_PREFIX + "test-") as folder:
        (folder / "socket").write_text("")
        remove_private_folder(folder / "socket")
        assert not folder.exists()

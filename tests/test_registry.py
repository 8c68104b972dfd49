from __future__ import annotations

import pytest

from neuralab.errors import UserError
from neuralab.registry import Registry


def test_duplicates_raise_and_misses_list_the_choices() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.add("a", 2)
    with pytest.raises(UserError) as err:
        reg.get("b")
    assert "unknown widget 'b'" in str(err.value) and "a" in (err.value.hint or "")
    assert "a" in reg and reg.names() == ["a"] and len(reg) == 1

"""Vietnamese names: Unicode collation order (pyuca) and accent-insensitive matching."""

from __future__ import annotations

import unicodedata

from app.status.collate import fold, matches, sort_key


def test_unicode_collation_not_code_points() -> None:
    names = ["Bình Định", "Ấp Bắc", "Bắc Thái Ninh", "Zô", "An Lão", "Ba Đình"]
    assert sorted(names) != sorted(names, key=sort_key)  # code points put Ấp and Bắc after Z
    assert sorted(names, key=sort_key) == [
        "An Lão",
        "Ấp Bắc",
        "Ba Đình",
        "Bắc Thái Ninh",
        "Bình Định",
        "Zô",
    ]


def test_decomposed_input_sorts_like_composed() -> None:
    composed = "Hoàng Hoa Thám"
    assert sort_key(unicodedata.normalize("NFD", composed)) == sort_key(composed)


def test_fold_and_match() -> None:
    assert fold("  Hoàng   Hoa THÁM ") == "hoang hoa tham"
    assert fold("Đắk Lắk") == "dak lak"
    assert matches("hoang hoa tham", "Xã Hoàng Hoa Thám")
    assert matches("HOÀNG tham", "Xã Hoàng Hoa Thám")  # words in any order
    assert matches("12337", "Xã Hoàng Hoa Thám", "12337")
    assert not matches("hoang hoa thanh", "Xã Hoàng Hoa Thám")

"""The languages people read thongsuot in: Vietnamese (the default) and English."""

from __future__ import annotations

from typing import Literal

Lang = Literal["vi", "en"]

DEFAULT_LANG: Lang = "vi"

"""A typed query for Grafana's PostgreSQL datasource, in grafana-foundation-sdk's terms.

The SDK (11.6) has query models for Prometheus, Loki, Elasticsearch, CloudWatch and
others, but none for ``grafana-postgresql-datasource``: that plugin's query type is
TypeScript in Grafana's frontend (``SQLQuery``, package @grafana/sql), with no CUE
schema for the SDK to be generated from. So this module writes the small part of
that type the dashboards use, as the SDK's own generated types are written: a
``cogvariants.Dataquery`` with ``to_json``/``from_json``, a ``cogbuilder.Builder`` for
it, and a registration with the SDK's runtime so ``Dashboard.from_json`` reads these
targets back as this type instead of an untyped ``UnknownDataquery``.

Fields (Grafana 11.6, SQLQuery): ``refId``, ``hide``, ``datasource``, ``format``
(``time_series`` | ``table``), ``rawQuery``, ``editorMode`` (``code`` | ``builder``) and
``rawSql``. The visual builder's ``dataset``/``table``/``sql`` fields are left out:
every panel here is raw SQL in code mode.
"""

from __future__ import annotations

import enum
import typing

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

TYPE = "grafana-postgresql-datasource"


class SqlFormat(enum.StrEnum):
    TIME_SERIES = "time_series"
    TABLE = "table"


class SqlEditorMode(enum.StrEnum):
    CODE = "code"
    BUILDER = "builder"


class Dataquery(cogvariants.Dataquery):
    ref_id: str
    hide: bool | None
    datasource: dashboard.DataSourceRef | None
    format_val: SqlFormat
    raw_query: bool
    editor_mode: SqlEditorMode
    raw_sql: str

    def __init__(
        self,
        ref_id: str = "",
        hide: bool | None = None,
        datasource: dashboard.DataSourceRef | None = None,
        format_val: SqlFormat = SqlFormat.TABLE,
        raw_query: bool = True,
        editor_mode: SqlEditorMode = SqlEditorMode.CODE,
        raw_sql: str = "",
    ) -> None:
        self.ref_id = ref_id
        self.hide = hide
        self.datasource = datasource
        self.format_val = format_val
        self.raw_query = raw_query
        self.editor_mode = editor_mode
        self.raw_sql = raw_sql

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {"refId": self.ref_id}
        if self.hide is not None:
            payload["hide"] = self.hide
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        payload |= {
            "format": self.format_val,
            "rawQuery": self.raw_query,
            "editorMode": self.editor_mode,
            "rawSql": self.raw_sql,
        }
        return payload

    @classmethod
    def from_json(cls, data: dict[str, typing.Any]) -> typing.Self:
        """Like the SDK's models: known fields only (an unknown one is dropped)."""
        args: dict[str, typing.Any] = {}
        if "refId" in data:
            args["ref_id"] = data["refId"]
        if "hide" in data:
            args["hide"] = data["hide"]
        if "datasource" in data:
            args["datasource"] = dashboard.DataSourceRef.from_json(data["datasource"])
        if "format" in data:
            args["format_val"] = SqlFormat(data["format"])
        if "rawQuery" in data:
            args["raw_query"] = data["rawQuery"]
        if "editorMode" in data:
            args["editor_mode"] = SqlEditorMode(data["editorMode"])
        if "rawSql" in data:
            args["raw_sql"] = data["rawSql"]
        return cls(**args)


class DataqueryBuilder(cogbuilder.Builder[Dataquery]):
    """Raw SQL in code mode, as a table, unless told otherwise."""

    _internal: Dataquery

    def __init__(self) -> None:
        self._internal = Dataquery()

    def build(self) -> Dataquery:
        return self._internal

    def ref_id(self, ref_id: str) -> typing.Self:
        self._internal.ref_id = ref_id
        return self

    def hide(self, hide: bool) -> typing.Self:
        self._internal.hide = hide
        return self

    def datasource(self, datasource: dashboard.DataSourceRef) -> typing.Self:
        self._internal.datasource = datasource
        return self

    def format(self, format_val: SqlFormat) -> typing.Self:
        self._internal.format_val = format_val
        return self

    def editor_mode(self, editor_mode: SqlEditorMode) -> typing.Self:
        self._internal.editor_mode = editor_mode
        return self

    def raw_sql(self, raw_sql: str) -> typing.Self:
        self._internal.raw_sql = raw_sql
        self._internal.raw_query = True
        return self


def register() -> None:
    """Have the SDK's runtime read ``grafana-postgresql-datasource`` targets as
    :class:`Dataquery` (``Dashboard.from_json``, tests/deploy/test_dashboard_schema.py)."""
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier=TYPE, from_json_hook=Dataquery.from_json)
    )

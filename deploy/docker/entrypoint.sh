#!/bin/sh
# Container entrypoint: bring the schema to head, then serve. Arguments are
# passed on to `thongsuot serve`.
set -eu
thongsuot db upgrade
exec thongsuot serve "$@"

"""The remote probe agent (issue 14): ``thongsuot agent run --config agent.toml``.

A small process inside a commune's network. It pulls its checks from the central
thongsuot, runs them with the same ``probes`` library on the checks' slots, queues
every result in an on-disk spool (SQLite, WAL) and pushes batches to the central
over outbound HTTPS. It imports nothing of the server's runtime (docs/design.md §5):
``config`` (its TOML file and the pulled assignments), ``spool``, ``central`` (the
HTTP client and its retry rules), ``runner`` (scheduling, pulling, pushing) and
``cli``.
"""

from app import __version__

USER_AGENT = f"thongsuot-agent/{__version__}"

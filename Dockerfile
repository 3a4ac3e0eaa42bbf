# syntax=docker/dockerfile:1
# thongsuot: multi-stage image. The builder installs the package and its
# dependencies into a virtualenv; the runtime stage copies that venv onto a
# slim Python and runs as an unprivileged user.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml alembic.ini README.md ./
COPY app ./app
COPY probes ./probes
COPY alembic ./alembic
# Editable: app.migrate finds alembic.ini and alembic/ next to the app package
# (/app), which a plain site-packages install would not carry.
RUN pip install --upgrade pip setuptools wheel && pip install -e .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    THONGSUOT_HOST=0.0.0.0 \
    THONGSUOT_PORT=8080
RUN groupadd --system --gid 10001 thongsuot \
 && useradd --system --uid 10001 --gid thongsuot --home-dir /app --shell /usr/sbin/nologin thongsuot
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY --from=builder /app /app
COPY deploy/docker/entrypoint.sh /usr/local/bin/thongsuot-entrypoint
RUN chmod 0755 /usr/local/bin/thongsuot-entrypoint && mkdir -p /var/lib/thongsuot \
 && chown thongsuot:thongsuot /var/lib/thongsuot
USER thongsuot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('THONGSUOT_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["thongsuot-entrypoint"]
CMD []

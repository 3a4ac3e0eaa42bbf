# syntax=docker/dockerfile:1
# thongsuot: multi-stage image. The builder installs the locked dependencies
# (requirements/runtime.txt, every file hash-checked) into a virtualenv, builds
# thongsuot's wheel with the locked build backend (requirements/build.txt) and
# installs it there; the wheel carries the migrations (alembic/ as
# app.migrations), so the runtime stage needs only that venv, on a slim Python,
# run by an unprivileged user. tests/test_packaging.py takes the same steps.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements ./requirements
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes -r requirements/build.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes -r requirements/runtime.txt
COPY pyproject.toml setup.py README.md ./
COPY app ./app
COPY probes ./probes
COPY alembic ./alembic
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation -w /wheels . \
 && /opt/venv/bin/pip install --no-deps /wheels/thongsuot-*.whl

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    THONGSUOT_HOST=0.0.0.0 \
    THONGSUOT_PORT=8080 \
    THONGSUOT_DATA_DIR=/var/lib/thongsuot
# DejaVu Serif for the PDF report (app/reports/pdf.py embeds it; Vietnamese glyphs);
# fonts-dejavu-extra brings the italic.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-dejavu-extra \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 thongsuot \
 && useradd --system --uid 10001 --gid thongsuot --home-dir /var/lib/thongsuot \
      --shell /usr/sbin/nologin thongsuot
# No source tree: the package, its migrations included, is in /opt/venv.
COPY --from=builder /opt/venv /opt/venv
WORKDIR /var/lib/thongsuot
COPY deploy/docker/entrypoint.sh /usr/local/bin/thongsuot-entrypoint
RUN chmod 0755 /usr/local/bin/thongsuot-entrypoint && mkdir -p /var/lib/thongsuot \
 && chown thongsuot:thongsuot /var/lib/thongsuot
USER thongsuot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('THONGSUOT_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["thongsuot-entrypoint"]
CMD []

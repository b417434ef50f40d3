# The clinic service: one image for `clinic serve`, `clinic migrate` and `clinic seed`.
#
#   docker build -t clinic .
#   docker run --rm -p 8000:8000 -e DATABASE_URL=postgresql://... clinic
#
# Stages: Node builds the MiniApp; a Python stage builds a virtualenv with the
# package's runtime dependencies only (no [dev] extra) and the package's wheel, which
# carries sql/ and migrations/; the final stage is a slim Python with that venv and
# the MiniApp at /app/miniapp/dist.
# Plain Dockerfile syntax (no BuildKit-only flags), so hosted builders take it too.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# --- 1. the MiniApp bundle -----------------------------------------------------
FROM ${NODE_IMAGE} AS miniapp
WORKDIR /src/miniapp
# The lock file first: the npm layer is rebuilt only when dependencies change.
COPY miniapp/package.json miniapp/package-lock.json miniapp/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY miniapp/ ./
RUN npm run build

# --- 2. the virtualenv -----------------------------------------------------------
FROM ${PYTHON_IMAGE} AS python-build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
# Runtime dependencies from pyproject.toml alone: this layer survives code changes.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt
# Then the package itself: its wheel holds the code, sql/ and migrations/ (read through
# importlib.resources) and gives the venv the `clinic` script.
COPY clinic/ clinic/
COPY sql/ sql/
COPY migrations/ migrations/
RUN /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps /wheels/clinic-*.whl \
    && /opt/venv/bin/pip check

# --- 3. the runtime --------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# USER: yoyo logs getpass.getuser(), which looks the uid up in /etc/passwd unless USER
# is set; set, the image runs under any uid (OpenShift, `docker run --user`).
ENV PATH=/opt/venv/bin:$PATH \
    USER=clinic \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    MINIAPP_DIST=/app/miniapp/dist
RUN groupadd --system --gid 10001 clinic \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin clinic \
    && mkdir -p /data \
    && chown 10001:10001 /data
WORKDIR /app
COPY --from=python-build /opt/venv /opt/venv
COPY --from=miniapp /src/miniapp/dist miniapp/dist
COPY deploy/docker-entrypoint.sh /usr/local/bin/clinic-entrypoint
# Code stays root-owned and read-only to the app user. `clinic --help` imports the
# whole command line (and loads the queries): a broken wheel fails the build.
RUN chmod 0755 /usr/local/bin/clinic-entrypoint \
    && clinic --help > /dev/null

USER 10001:10001
EXPOSE 8000
# DATA_DIR (/data) holds the embedded PostgreSQL only when DATABASE_URL is unset.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=3)"]
ENTRYPOINT ["clinic-entrypoint"]
CMD ["clinic", "serve"]

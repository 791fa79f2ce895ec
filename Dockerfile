# One image, three roles: gunicorn (default CMD), `celery -A config worker`, `celery -A config beat`.
# docker-compose.yml wires them to PostgreSQL and Redis. Build: docker build -t crowdloop .

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: a virtualenv with the dependencies and the project, installed from pyproject.toml ---------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Dependencies first, listed by pyproject.toml itself, so this slow layer is rebuilt only when pyproject.toml
# changes, not on every code change. Every dependency ships wheels for python:3.11-slim: no compiler needed.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt
COPY . .
RUN pip install --no-deps .

# --- runtime -----------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# PYTHONPATH=/app: the code runs from the source tree in /app, not from the copy `pip install .` put in
# site-packages. Settings find templates/ and staticfiles/ relative to their own file (BASE_DIR), and the wheel
# carries only Python modules, so importing the site-packages copy would lose the templates.
# WEB_CONCURRENCY is read by gunicorn as its worker count; override it per host (about 2 x CPU cores).
# CROWDLOOP_RUNTIME_DIR holds runtime state such as Celery beat's schedule file: writable, outside /app.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    WEB_CONCURRENCY=3 \
    CROWDLOOP_RUNTIME_DIR=/tmp/crowdloop

RUN groupadd --system --gid 10001 crowdloop \
    && useradd --system --uid 10001 --gid crowdloop --home-dir /app --no-create-home --shell /usr/sbin/nologin crowdloop

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Code and collected static files stay owned by root: the app user can read them, not rewrite them.
COPY . .

# Production settings refuse to load without a secret key and allowed hosts. These throwaway values exist only
# for this RUN step (they are not ENV, so they are not in the image); collectstatic touches no database.
RUN DJANGO_SECRET_KEY=collectstatic-build-only-not-a-secret DJANGO_ALLOWED_HOSTS=build.invalid \
        DATABASE_URL=postgres://build.invalid/none REDIS_URL=redis://build.invalid:6379/0 \
        python manage.py collectstatic --noinput \
    && python -m config.catalogs --force \
    && python -m compileall -q /app \
    && mkdir -p /app/media \
    && chown crowdloop:crowdloop /app/media

USER crowdloop:crowdloop
EXPOSE 8000

# Passes once /healthz/ answers 200: the database answers (Redis down alone is `degraded`, still 200, because the
# web keeps serving without it; see config/health.py and HEALTH_REQUIRED).
# Worker and beat containers run this image too: docker-compose.yml gives them their own check.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["python", "-m", "config.health"]

# gthread workers: WEB_CONCURRENCY processes x 4 threads. /dev/shm for the worker heartbeat files, because the
# container's overlay filesystem can stall them. --max-requests recycles workers to cap slow memory growth.
CMD ["gunicorn", "config.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--threads", "4", \
     "--timeout", "60", \
     "--graceful-timeout", "30", \
     "--max-requests", "1000", \
     "--max-requests-jitter", "100", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", \
     "--error-logfile", "-"]

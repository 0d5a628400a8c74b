FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY leadrouter ./leadrouter
COPY workers ./workers
COPY migrations ./migrations
# The compiled catalogs (.mo) are not in git: build them before the package is installed.
RUN pip install "babel>=2.12" && pybabel compile -d leadrouter/translations \
    && pip install . && useradd --system --home /app leadrouter && mkdir -p /app/instance && chown leadrouter /app/instance
USER leadrouter
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--preload", "leadrouter.wsgi:app"]

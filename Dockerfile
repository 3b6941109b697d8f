# One image for the four services; docker-compose.yml picks the service by its command.
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# pg_dump/pg_restore for `dinsos-admin backup` and `restore`, of the major version of
# docker-compose.yml's PostgreSQL (an older pg_dump refuses a newer server), from the
# PostgreSQL project's Debian repository (Debian itself ships one major version).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-common \
    && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
    && apt-get install -y --no-install-recommends postgresql-client-16 \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
# Owned by the service user here, so the named volumes mounted on them start so too.
RUN pip install . && useradd --system --uid 10001 dinsos \
    && mkdir -p /app/data /app/users /app/photos \
    && chown dinsos /app/data /app/users /app/photos
USER dinsos
EXPOSE 8001 8002 8003 8004
CMD ["python", "-m", "services.intake"]

# The rotation app: one image for the worker, the feed, the gateway and the one-shot
# `rotation topics create`. Two stages: wheels are built in the first, only they are
# installed in the second (no compiler, no pip cache, no sources), which runs as an
# unprivileged user. The dependencies are the exact, hash-checked versions of
# requirements.lock, as `./run` installs them. .dockerignore keeps virtualenvs, data
# and caches out of the context.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN pip wheel --wheel-dir /wheels --require-hashes --no-deps -r requirements.lock \
 && pip wheel --wheel-dir /wheels --no-deps .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 rotation
COPY --from=build /wheels /wheels
RUN pip install --no-index --no-deps /wheels/*.whl && rm -rf /wheels
USER rotation
WORKDIR /home/rotation
ENTRYPOINT ["rotation"]
CMD ["--help"]

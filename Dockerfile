# The rotation app: one image for the worker, the feed and the gateway.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY streams streams
COPY agents agents
COPY gateway gateway
COPY monitor monitor
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 rotation
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER rotation
WORKDIR /home/rotation
ENV PYTHONUNBUFFERED=1
ENTRYPOINT ["rotation"]
CMD ["--help"]

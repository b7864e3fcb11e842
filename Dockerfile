# syntax=docker/dockerfile:1
# Multi-stage: build the bridge's wheel, run it in a slim image as a non-root user. Every dependency comes from
# the lock (requirements/bridge.lock, hashes checked), so the image holds the versions CI tested. The emulators
# (emulators/) are their own distribution and are not in the image.
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements/bridge.lock ./requirements/bridge.lock
RUN pip install --no-cache-dir --require-hashes -r requirements/bridge.lock
COPY pyproject.toml README.md ./
COPY bridge ./bridge
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 bridge \
 && mkdir -p /app/config /app/data && chown -R bridge /app
COPY requirements/bridge.lock /tmp/bridge.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/bridge.lock && rm /tmp/bridge.lock
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels
COPY config /app/config
WORKDIR /app
USER bridge
ENV BRIDGE_CONFIG=/app/config/bridge.yaml \
    BRIDGE_DATA_DIR=/app/data \
    PYTHONUNBUFFERED=1
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"
CMD ["bridge", "run", "--host", "0.0.0.0"]

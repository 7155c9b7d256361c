# app_dl in a container, CPU or CUDA. Build with `docker buildx bake dl-cpu` or `dl-cuda` (see docker-bake.hcl).
#   docker run --rm shipbench/app-dl:dev-cpu --steps 200
#   docker run --rm --gpus all shipbench/app-dl:dev-cuda --device cuda      (needs the NVIDIA Container Toolkit)
# The CUDA image needs no nvidia/cuda base: PyPI's CUDA torch brings the CUDA runtime in its nvidia-* wheels;
# the host provides only the driver.
ARG BASE_IMAGE=python:3.11-slim

# --- dependencies: torch in a venv, reused for as long as the torch source does not change --------------------
FROM ${BASE_IMAGE} AS deps
ARG TORCH_INDEX=
ARG TORCH_USE_WHEELS=1
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
RUN python3 -m venv /opt/venv
# torch from docker/wheels/ when it holds a wheel (offline builds; TORCH_USE_WHEELS=0 ignores it), else from
# TORCH_INDEX (the CPU build) or PyPI (on Linux: the CUDA build).
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=docker/wheels,target=/wheels \
    --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    wheel=$([ "$TORCH_USE_WHEELS" = 1 ] && ls /wheels/torch-*.whl 2>/dev/null | sort -V | tail -n 1); \
    if [ -n "$wheel" ]; then \
        /opt/venv/bin/pip install flit_core "$wheel"; \
    elif [ -n "$TORCH_INDEX" ]; then \
        /opt/venv/bin/pip install flit_core torch --index-url "$TORCH_INDEX" --extra-index-url https://pypi.org/simple; \
    else \
        /opt/venv/bin/pip install flit_core torch; \
    fi

# --- runtime: the interpreter, the venv and the app; no compiler, no pip cache ---------------------------------
FROM ${BASE_IMAGE} AS runtime
RUN useradd --create-home --uid 10001 app
COPY --from=deps /opt/venv /opt/venv
RUN --mount=type=bind,source=app_dl,target=/tmp/app_dl,rw \
    /opt/venv/bin/pip install --no-deps --no-build-isolation --no-cache-dir /tmp/app_dl
USER app
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["python", "-m", "app_dl"]

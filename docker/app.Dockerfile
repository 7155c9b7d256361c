# Any Python app in a container, built by `docker buildx bake` from a context that shipbench stages for the app
# (build/bake/<app>/<variant>/context: this file, docker-bake.json, and the folders below). Copy that folder to
# build the same image without shipbench:  docker buildx bake --file docker-bake.json
#
#   deps/requirements.txt   the app's dependencies (from its pyproject.toml or its requirements file), and the
#                           build backend of a project; its own layer, rebuilt only when they change
#   deps/torch              present when the app uses torch: installed first, from wheels/ (TORCH_USE_WHEELS=1),
#                           TORCH_INDEX (the CPU build) or PyPI (on Linux the CUDA build, which brings the CUDA
#                           runtime in its nvidia-* wheels: no nvidia/cuda base is needed, only the host's driver)
#   app/                    the app: a project (installed without its dependencies) or a folder of scripts;
#                           copied to /app either way, the folder it starts in (as `python train.py` there)
#   start                   the app's start command (`exec python -m ...`, the entry point)
#
# No `# syntax=` line: that would pull a frontend image, and this must build where no registry is reachable.
ARG BASE_IMAGE=python:3.11-slim

# --- dependencies: a venv, reused for as long as deps/ does not change ---------------------------------------
FROM ${BASE_IMAGE} AS deps
ARG TORCH_INDEX=
ARG TORCH_USE_WHEELS=1
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
RUN python3 -m venv /opt/venv
COPY deps/ /tmp/deps/
# A CA bundle for TLS-intercepting proxies arrives as a BuildKit secret: used for this step, never stored.
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=wheels,target=/wheels \
    --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    if [ -e /tmp/deps/torch ]; then \
        wheel=$([ "$TORCH_USE_WHEELS" = 1 ] && ls /wheels/torch-*.whl 2>/dev/null | sort -V | tail -n 1); \
        if [ -n "$wheel" ]; then /opt/venv/bin/pip install "$wheel"; \
        elif [ -n "$TORCH_INDEX" ]; then \
            /opt/venv/bin/pip install torch --index-url "$TORCH_INDEX" --extra-index-url https://pypi.org/simple; \
        else /opt/venv/bin/pip install torch; fi; \
    fi \
    && /opt/venv/bin/pip install -r /tmp/deps/requirements.txt

# --- runtime: the interpreter, what the app needs from the OS, the venv, the app; nothing to build with -------
FROM ${BASE_IMAGE} AS runtime
ARG SYSTEM_PACKAGES=
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    if [ -n "$SYSTEM_PACKAGES" ]; then \
        rm -f /etc/apt/apt.conf.d/docker-clean \
        && apt-get update -q \
        && apt-get install -y -q --no-install-recommends $SYSTEM_PACKAGES; \
    fi
RUN useradd --create-home --uid 10001 app
COPY --from=deps /opt/venv /opt/venv
COPY start /usr/local/bin/app-start
# the app itself: its own small layer, so a code change rebuilds only this; /app is the app's user's, as the
# folder a user starts an app in is theirs (an app may write beside its data)
ARG APP_IS_PROJECT=1
RUN --mount=type=bind,source=app,target=/tmp/app,rw \
    if [ "$APP_IS_PROJECT" = 1 ]; then \
        /opt/venv/bin/pip install --no-deps --no-build-isolation --no-cache-dir /tmp/app; \
    fi \
    && cp -r /tmp/app /app && rm -rf /app/build && chown -R app:app /app
USER app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["app-start"]

# --- distroless: the runtime's interpreter, libraries, venv and app on an empty image; no shell, no apt -------
# (the `distroless` target; docker-bake.json names the stage it builds). distroless-closure.py takes what the app
# runs on from the finished runtime image, as distroless assembles its images from Debian packages.
FROM runtime AS closure
USER root
ARG SYSTEM_PACKAGES=
COPY start.py /usr/local/lib/app-start.py
COPY distroless-closure.py /tmp/distroless-closure.py
RUN /opt/venv/bin/python /tmp/distroless-closure.py /rootfs "$SYSTEM_PACKAGES"

FROM scratch AS distroless
COPY --from=closure /rootfs /
USER app
WORKDIR /app
ENV PATH=/opt/venv/bin PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8
ENTRYPOINT ["/opt/venv/bin/python", "/usr/local/lib/app-start.py"]

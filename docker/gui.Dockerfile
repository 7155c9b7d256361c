# app_gui in a container. Build with `docker buildx bake gui` (see docker-bake.hcl); run it against an X server:
#   docker run --rm -v /tmp/.X11-unix:/tmp/.X11-unix:ro -e DISPLAY=$DISPLAY shipbench/app-gui:dev
# or without one:
#   docker run --rm -e QT_QPA_PLATFORM=offscreen shipbench/app-gui:dev --probe
# No `# syntax=` line: that would pull a frontend image, and this must build where no registry is reachable.
ARG BASE_IMAGE=python:3.11-slim

# --- dependencies: a venv with PySide6, reused for as long as pyproject.toml does not change ---------------------
FROM ${BASE_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
RUN python3 -m venv /opt/venv
COPY app_gui/pyproject.toml /tmp/app_gui/pyproject.toml
# A CA bundle for TLS-intercepting proxies arrives as a BuildKit secret: used for this step, never stored.
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    /opt/venv/bin/pip install flit_core \
    && /opt/venv/bin/python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/app_gui/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt

# --- runtime: the interpreter, the libraries Qt loads, the venv, the app; nothing to build with ----------------
FROM ${BASE_IMAGE} AS runtime
# Qt's xcb platform plugin and its fonts: what a desktop has and a slim image lacks
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
        libglib2.0-0 libgl1 libegl1 libfontconfig1 fontconfig-config fonts-dejavu-core libdbus-1-3 libxkbcommon0 \
        libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
        libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-xinerama0
RUN useradd --create-home --uid 10001 app
COPY --from=deps /opt/venv /opt/venv
# the app itself: its own small layer, so a code change rebuilds only this
RUN --mount=type=bind,source=app_gui,target=/tmp/app_gui,rw \
    /opt/venv/bin/pip install --no-deps --no-build-isolation --no-cache-dir /tmp/app_gui
USER app
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["python", "-m", "app_gui"]

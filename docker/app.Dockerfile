# Any Python app in a container: the image docker-bake.hcl describes. `docker buildx bake` at the repository root
# builds the samples from this folder and theirs; shipbench stages the same layout for any project's app
# (build/bake/<app>/<variant>/context: copy it, and `docker buildx bake -f docker-bake.hcl -f app.hcl` builds the
# same image without shipbench).
#
# The build context holds:
#   docker/               this file, app-requirements.py, app-start.py, distroless-closure.py
#   docker/wheels/        torch wheels to install instead of fetching one (offline builds); usually empty
#   ${APP_DIR}/           the app: a project (installed without its dependencies) or a folder of scripts; copied to
#                         /app either way, the folder it starts in (as `python train.py` there)
# Build args (docker-bake.hcl sets each from its variables):
#   APP_DIR, APP_START    the app's folder in the context; its start command in the image, as shell words
#   APP_IS_PROJECT        1: pip-install the folder (no dependencies); 0: scripts run from /app
#   APP_REQUIREMENTS, APP_EXTRAS
#                         a requirements file in the folder, else the project's dependencies and these extras
#   APP_TORCH             1: torch is installed first, from docker/wheels (TORCH_USE_WHEELS=1), TORCH_INDEX (the CPU
#                         build) or PyPI (on Linux the CUDA build, which brings the CUDA runtime in its nvidia-*
#                         wheels: no nvidia/cuda base is needed, only the host's driver)
#   SYSTEM_PACKAGES       Debian packages the app needs at run time (a window's libraries)
#   BASE_IMAGE            python:X.Y-slim, or any Debian/Ubuntu image with python3 and its venv module
#
# No `# syntax=` line: that would pull a frontend image, and this must build where no registry is reachable.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS python-venv
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
RUN python3 -m venv /opt/venv

# --- the dependencies as a requirements file: this stage reads the whole app, so it runs again on any change to
# it, but its one output file changes only with the dependencies, and the layers after it are reused until then
FROM python-venv AS requirements
ARG APP_DIR=app
ARG APP_REQUIREMENTS=
ARG APP_EXTRAS=
COPY docker/app-requirements.py /tmp/app-requirements.py
COPY ${APP_DIR}/ /tmp/app/
RUN /opt/venv/bin/python /tmp/app-requirements.py /tmp/app /deps/requirements.txt \
        --requirements "$APP_REQUIREMENTS" --extras "$APP_EXTRAS"

# --- dependencies: a venv, reused for as long as they do not change --------------------------------------------
FROM python-venv AS deps
ARG APP_TORCH=0
ARG TORCH_INDEX=
ARG TORCH_USE_WHEELS=1
COPY --from=requirements /deps/requirements.txt /tmp/requirements.txt
# A CA bundle for TLS-intercepting proxies arrives as a BuildKit secret: used for this step, never stored.
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=docker/wheels,target=/wheels \
    --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi; \
    if [ "$APP_TORCH" = 1 ]; then \
        wheel=$([ "$TORCH_USE_WHEELS" = 1 ] && ls /wheels/torch-*.whl 2>/dev/null | sort -V | tail -n 1); \
        if [ -n "$wheel" ]; then /opt/venv/bin/pip install "$wheel"; \
        elif [ -n "$TORCH_INDEX" ]; then \
            /opt/venv/bin/pip install torch --index-url "$TORCH_INDEX" --extra-index-url https://pypi.org/simple; \
        else /opt/venv/bin/pip install torch; fi; \
    fi \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt

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
ARG APP_START=
RUN if [ -z "$APP_START" ]; then echo "APP_START is empty: the image needs the app's start command" >&2; exit 1; fi \
    && printf '#!/bin/sh\n# the app'"'"'s start command\nexec %s "$@"\n' "$APP_START" >/usr/local/bin/app-start \
    && printf '%s\n' "$APP_START" >/usr/local/lib/app-start.cmd \
    && chmod 755 /usr/local/bin/app-start
# the app itself: its own small layers, so a code change rebuilds only these; /app is the app's user's, as the
# folder a user starts an app in is theirs (an app may write beside its data)
ARG APP_DIR=app
ARG APP_IS_PROJECT=1
COPY --chown=app:app ${APP_DIR}/ /app/
RUN if [ "$APP_IS_PROJECT" = 1 ]; then \
        cp -r /app /tmp/app \
        && /opt/venv/bin/pip install --no-deps --no-build-isolation --no-cache-dir /tmp/app \
        && rm -rf /tmp/app; \
    fi
USER app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["app-start"]

# --- distroless: the runtime's interpreter, libraries, venv and app on an empty image; no shell, no apt -------
# (docker-bake.hcl's `distroless` targets build this stage). distroless-closure.py takes what the app runs on from
# the finished runtime image, as distroless assembles its images from Debian packages.
FROM runtime AS closure
USER root
ARG SYSTEM_PACKAGES=
COPY docker/app-start.py /usr/local/lib/app-start.py
COPY docker/distroless-closure.py /tmp/distroless-closure.py
RUN /opt/venv/bin/python /tmp/distroless-closure.py /rootfs "$SYSTEM_PACKAGES"

FROM scratch AS distroless
COPY --from=closure /rootfs /
USER app
WORKDIR /app
ENV PATH=/opt/venv/bin PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8
ENTRYPOINT ["/opt/venv/bin/python", "/usr/local/lib/app-start.py"]

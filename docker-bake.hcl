# The project's images: any Python app in a container, built from docker/app.Dockerfile by `docker buildx bake`.
#
#   docker buildx bake --print           the plan: the samples' cpu and cuda targets (gui-cpu, dl-cpu, dl-cuda)
#   docker buildx bake                   those images (the CUDA one, PyPI's torch with its CUDA runtime, is about
#                                        7 GB by estimate: none has been built on this project's hosts)
#   docker buildx bake cpu               the CPU images only; `distroless`, `cuda`: the other groups
#   docker buildx bake dl-cuda           one target
#   PYTHON=3.13 docker buildx bake       another Python (python:3.13-slim), or BASE_IMAGE=... any Debian image
#                                        with python3 and its venv module (where no registry is reachable)
#
# shipbench builds every project's app through this same file: it stages a context with a copy of it, the app's
# folder as app/ and app.hcl, which sets the APP_* variables below from the app's description (the samples' APP
# is empty: they are listed in SAMPLES). Behind a TLS-intercepting proxy, CA_BUNDLE=/path/to/ca.pem passes its CA
# to pip as a BuildKit secret, never stored in a layer.

variable "PYTHON" { default = "3.11" }
variable "BASE_IMAGE" { default = "python:${PYTHON}-slim" }
# PyTorch's CPU build for the cpu and distroless images (PyPI's Linux torch is the CUDA build, for cuda)
variable "TORCH_INDEX" { default = "https://download.pytorch.org/whl/cpu" }
variable "CA_BUNDLE" { default = "" }
variable "REVISION" { default = "" }
variable "TAG_PREFIX" { default = "shipbench/" }

# One app of any project, from its description ([tool.shipbench]); shipbench's app.hcl sets these
variable "APP" { default = "" }
variable "APP_DIR" { default = "app" }
variable "APP_START" { default = "" }             # its start command in the image, as shell words
variable "APP_IS_PROJECT" { default = "1" }       # 1: a project, pip-installed; 0: a folder of scripts
variable "APP_REQUIREMENTS" { default = "" }      # its requirements file, for a folder of scripts
variable "APP_EXTRAS" { default = "" }            # a project's extras, comma-separated
variable "APP_TORCH" { default = "0" }
variable "APP_SYSTEM_PACKAGES" { default = "" }   # Debian packages it needs at run time
variable "DOCKERFILE" { default = "docker/app.Dockerfile" }

# What a Qt window needs from Debian beyond a slim base: the xcb platform plugin's libraries, GL, fonts
variable "WINDOW_PACKAGES" {
  default = ["libglib2.0-0", "libgl1", "libegl1", "libfontconfig1", "fontconfig-config", "fonts-dejavu-core",
             "libdbus-1-3", "libxkbcommon0", "libxkbcommon-x11-0", "libx11-xcb1", "libxcb-cursor0",
             "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0", "libxcb-render-util0",
             "libxcb-shape0", "libxcb-xfixes0", "libxcb-xkb1", "libxcb-xinerama0"]
}

# The project's own apps, as pyproject.toml's [tool.shipbench.apps] describes them
variable "SAMPLES" {
  default = [
    { name = "gui", dir = "app_gui", start = "/opt/venv/bin/python -m app_gui", project = "1", requirements = "",
      extras = "", torch = "0", packages = join(" ", WINDOW_PACKAGES) },
    { name = "dl", dir = "app_dl", start = "/opt/venv/bin/python -m app_dl", project = "1", requirements = "",
      extras = "", torch = "1", packages = "" },
  ]
}

function "apps" {
  params = []
  result = APP == "" ? SAMPLES : [
    { name = APP, dir = APP_DIR, start = APP_START, project = APP_IS_PROJECT, requirements = APP_REQUIREMENTS,
      extras = APP_EXTRAS, torch = APP_TORCH, packages = APP_SYSTEM_PACKAGES },
  ]
}

function "args" {
  params = [app, wheels]
  result = {
    BASE_IMAGE = BASE_IMAGE, APP_DIR = app.dir, APP_START = app.start, APP_IS_PROJECT = app.project,
    APP_REQUIREMENTS = app.requirements, APP_EXTRAS = app.extras, APP_TORCH = app.torch,
    SYSTEM_PACKAGES = app.packages, TORCH_USE_WHEELS = wheels, TORCH_INDEX = wheels == "1" ? TORCH_INDEX : "",
  }
}

function "labels" {
  params = [app, variant]
  result = {
    "org.opencontainers.image.title" = "${app.name} (${variant})",
    "org.opencontainers.image.revision" = REVISION,
    "org.opencontainers.image.base.name" = BASE_IMAGE,
  }
}

function "torch_apps" {
  params = []
  result = [for app in apps() : app if app.torch == "1"]
}

# the CPU images, and the CUDA ones where an app uses torch (an empty matrix would be no target at all)
group "default" { targets = length(torch_apps()) > 0 ? ["cpu", "cuda"] : ["cpu"] }

target "_image" {
  context = "."
  dockerfile = DOCKERFILE
  secret = CA_BUNDLE == "" ? [] : ["id=ca,src=${CA_BUNDLE}"]
}

# the interpreter, the app's Debian packages, its venv and the app, as a non-root user; CPU torch
target "cpu" {
  name = "${app.name}-cpu"
  matrix = { app = apps() }
  inherits = ["_image"]
  target = "runtime"
  args = args(app, "1")
  labels = labels(app, "cpu")
  tags = ["${TAG_PREFIX}${app.name}:bench-cpu"]
}

# the same on an empty base: what the app runs on, and no shell, no apt
target "distroless" {
  name = "${app.name}-distroless"
  matrix = { app = apps() }
  inherits = ["_image"]
  target = "distroless"
  args = args(app, "1")
  labels = labels(app, "distroless")
  tags = ["${TAG_PREFIX}${app.name}:bench-distroless"]
}

# torch apps only: PyPI's torch, the CUDA build with its nvidia-* runtime wheels; needs the host's driver
target "cuda" {
  name = "${app.name}-cuda"
  matrix = { app = torch_apps() }
  inherits = ["_image"]
  target = "runtime"
  args = args(app, "0")
  labels = labels(app, "cuda")
  tags = ["${TAG_PREFIX}${app.name}:bench-cuda"]
}

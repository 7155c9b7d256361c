# Docker Bake: the shipbench sample apps as container images, CPU and CUDA.
#
#   docker buildx bake --print                 the resolved plan
#   docker buildx bake                         gui and dl-cpu (group "default", the same as "cpu")
#   docker buildx bake cuda                    dl-cuda: PyPI's CUDA torch, several GB
#
# Without a registry (air-gapped hosts, our CI), build a base image from Debian packages first and point
# BASE_IMAGE at it:  scripts/build-base-image.sh bookworm shipbench/python:3.11-bookworm python3,python3-venv
# Behind a TLS-intercepting proxy, hand pip the proxy's CA as a BuildKit secret (never stored in a layer):
#   CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt docker buildx bake

variable "PYTHON_VERSION" {
  default = "3.11" # the Dockerfiles read pyproject.toml with tomllib: 3.11 or newer
}
variable "BASE_IMAGE" {
  default = "python:${PYTHON_VERSION}-slim"
}
variable "TORCH_CPU_INDEX" {
  default = "https://download.pytorch.org/whl/cpu" # torch's own index of CPU builds
}
variable "CA_BUNDLE" {
  default = "" # a CA bundle file for pip behind a TLS-intercepting proxy
}
variable "TAG_PREFIX" {
  default = "shipbench/"
}
variable "VERSION" {
  default = "dev"
}
variable "SOURCE" {
  default = "https://github.com/shipbench/shipbench"
}
variable "REVISION" {
  default = "" # the git commit, e.g. REVISION=$(git rev-parse HEAD)
}
variable "CREATED" {
  default = "" # RFC 3339; empty means the time of the build
}

target "_common" {
  context = "."
  args = {
    BASE_IMAGE = BASE_IMAGE
  }
  secret = CA_BUNDLE != "" ? ["id=ca,src=${CA_BUNDLE}"] : []
  labels = {
    "org.opencontainers.image.source"   = SOURCE
    "org.opencontainers.image.revision" = REVISION
    "org.opencontainers.image.created"  = CREATED != "" ? CREATED : timestamp()
    "org.opencontainers.image.version"  = VERSION
    "org.opencontainers.image.base.name" = BASE_IMAGE
  }
}

target "gui" {
  inherits   = ["_common"]
  dockerfile = "docker/gui.Dockerfile"
  tags       = ["${TAG_PREFIX}app-gui:${VERSION}"]
  labels = {
    "org.opencontainers.image.title" = "shipbench app_gui"
  }
}

target "dl" {
  name       = "dl-${variant}"
  matrix     = { variant = ["cpu", "cuda"] }
  inherits   = ["_common"]
  dockerfile = "docker/dl.Dockerfile"
  tags       = ["${TAG_PREFIX}app-dl:${VERSION}-${variant}"]
  # cpu: a wheel put into docker/wheels/ (offline), else torch's CPU index; cuda: PyPI's torch, whose nvidia-*
  # wheels carry the CUDA runtime
  args = {
    TORCH_INDEX      = variant == "cpu" ? TORCH_CPU_INDEX : ""
    TORCH_USE_WHEELS = variant == "cpu" ? "1" : "0"
  }
  labels = {
    "org.opencontainers.image.title" = "shipbench app_dl (${variant})"
  }
}

group "default" {
  targets = ["cpu"]
}
group "cpu" {
  targets = ["gui", "dl-cpu"]
}
group "cuda" {
  targets = ["dl-cuda"]
}

# Shared by the install-*.sh scripts (sourced, not run): install Debian/Ubuntu packages that are missing.
#
#   apt_install_missing NAME PACKAGE...    NAME prefixes the messages
#
# Only what is not installed yet is fetched, without recommends; needrestart is told not to restart services
# (a running dockerd or libvirtd must survive an install).
apt_install_missing() {
    local name=$1 package sudo=""
    shift
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    local missing=()
    for package in "$@"; do
        # Ubuntu 24.04 renamed many libraries for 64-bit time (libglib2.0-0 -> libglib2.0-0t64): either counts
        # (dpkg-query fails for the name that does not exist: read its output, not its status)
        [[ $(dpkg-query -W -f='${Status}\n' "$package" "${package}t64" 2>/dev/null || true) == *"install ok installed"* ]] \
            || missing+=("$package")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    echo "$name: installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get -o DPkg::Lock::Timeout=600 update -q
    $sudo env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
        apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
}

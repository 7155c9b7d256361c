# shellcheck shell=bash
# Shared by the install-*.sh scripts (sourced, not run): Debian/Ubuntu packages by need, installed if missing.
#
#   apt_distribution                        "debian" or "ubuntu": which column of packages.txt applies here
#   packages_for NEED...                    this distribution's package names for those needs (packages.txt)
#   apt_install_missing NAME PACKAGE...     install those not installed yet; NAME prefixes the messages
#
# Only what is not installed yet is fetched, without recommends; needrestart is told not to restart services
# (a running dockerd or libvirtd must survive an install). OS_RELEASE names another os-release file (the tests).

APT_PACKAGES_TABLE="$(dirname "${BASH_SOURCE[0]}")/packages.txt"

apt_distribution() {
    local os_release=${OS_RELEASE:-/etc/os-release} id="" like=""
    if [ -r "$os_release" ]; then
        # shellcheck source=/dev/null
        id=$(. "$os_release" && echo "${ID:-}")
        # shellcheck source=/dev/null
        like=$(. "$os_release" && echo "${ID_LIKE:-}")
    fi
    case " $id $like " in
        *" ubuntu "*) echo ubuntu ;;
        *) echo debian ;;
    esac
}

distribution_python() {
    # the X.Y of the distribution's own python3 ({py} in packages.txt); empty when there is none
    if [ -x /usr/bin/python3 ]; then
        /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])'
    fi
}

packages_for() {
    local column py need
    column=$([ "$(apt_distribution)" = ubuntu ] && echo 3 || echo 2)
    py=$(distribution_python)
    for need in "$@"; do
        awk -v need="$need" -v column="$column" -v py="$py" '
            $1 == need && $column != "-" {
                name = $column
                if (name ~ /\{py\}/) { if (py == "") next; gsub(/\{py\}/, py, name) }
                print name
            }' "$APT_PACKAGES_TABLE"
    done
}

_apt() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get -o DPkg::Lock::Timeout=600 "$@"
}

_installed() {
    [[ $(dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null || true) == *"install ok installed"* ]]
}

_candidate() {
    # the package's installable version, empty when this release has none
    apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2 }'
}

_other_time64_name() {
    case $1 in
        *t64) echo "${1%t64}" ;;
        *) echo "${1}t64" ;;
    esac
}

apt_install_missing() {
    local name=$1 package other
    shift
    local missing=()
    for package in "$@"; do
        other=$(_other_time64_name "$package")
        _installed "$package" || _installed "$other" || missing+=("$package")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null && { [ ! -t 0 ] || ! command -v sudo >/dev/null; }; then
        # no root and no sudo that can ask (none, or no terminal to type a password): name every package, so
        # that one administrator's command installs them all
        echo "$name: not root and no sudo here; an administrator can install what is missing with:" >&2
        echo "    apt-get install --no-install-recommends ${missing[*]}" >&2
        echo "$name: (on Debian 13 and Ubuntu 24.04 a lib...-name may carry t64: libglib2.0-0t64)" >&2
        return 1
    fi
    _apt update -q
    local chosen=()
    for package in "${missing[@]}"; do
        other=$(_other_time64_name "$package")
        # a release between the two names (Debian 13: libglib2.0-0t64; Ubuntu 22.04: libpython3.10) has only one
        if [ -z "$(_candidate "$package")" ] && [ -n "$(_candidate "$other")" ]; then
            package=$other
        fi
        chosen+=("$package")
    done
    echo "$name: installing ${chosen[*]}"
    _apt install -y -q --no-install-recommends "${chosen[@]}"
}

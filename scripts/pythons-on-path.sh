# shellcheck shell=bash
# Source this file: it puts pyenv's Python 3.10-3.13 on PATH as python3.10 ... python3.13.
# pyenv's shims answer only for the active version(s); shipbench looks for `pythonX.Y` on PATH (see README).
# 3.11 goes first, so plain `python3` stays 3.11.
if [ -d "${PYENV_ROOT:-$HOME/.pyenv}/versions" ]; then
    for _minor in 3.13 3.12 3.10 3.11; do
        _bin=$(printf '%s\n' "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$_minor".*/bin | grep -v '\*' | sort -V | tail -n 1)
        [ -n "$_bin" ] && PATH="$_bin:$PATH"
    done
    export PATH
    unset _minor _bin
fi

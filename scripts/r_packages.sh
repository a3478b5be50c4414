# Sourced by the scripts that regenerate bundled data from Debian's R packages:
# `ensure_r_packages PKG...` installs r-base-core and the named packages when any is missing
# (as root or through sudo, without Recommends).
ensure_r_packages() {
  local sudo="" p
  [[ $(id -u) -ne 0 ]] && sudo=sudo
  for p in r-base-core "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        r-base-core "$@" >/dev/null
      return
    fi
  done
}

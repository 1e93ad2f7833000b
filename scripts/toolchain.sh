#!/usr/bin/env bash
# Makes the toolchain rust-toolchain.toml pins available. When the installed `stable` is that
# release (as on the machines CI runs on), it is linked under the pinned name: no download, the
# same compiler. Otherwise rustup installs the pinned release; where it cannot, the error names
# both releases. Another release is never linked in its place.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
if rustup toolchain list | grep -q "^${want}-"; then
  exit 0
fi
have=$(rustup run stable rustc --version 2>/dev/null || true)
case "$have" in
  "rustc ${want} "*)
    # rustup refuses a release number as a custom name for `toolchain link`; a link in its
    # toolchains folder is what an install would have put there.
    sysroot=$(rustup run stable rustc --print sysroot)
    host=$(rustup run stable rustc -vV | sed -n 's/^host: //p')
    ln -s "$sysroot" "$(dirname "$sysroot")/${want}-${host}"
    echo "linked toolchain ${want} to the installed stable (${have})"
    ;;
  *)
    if ! RUSTUP_AUTO_INSTALL=1 rustup toolchain install "$want" --profile minimal -c clippy -c rustfmt; then
      echo "error: rust-toolchain.toml pins ${want}, which rustup cannot install here, and stable is '${have:-missing}'" >&2
      exit 1
    fi
    ;;
esac

#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (system packages, the default model),
# then `swift test`. The real-model tests need Models/SmolLM2-135M-Instruct.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
[ -d /opt/swift/bin ] && export PATH="/opt/swift/bin:$PATH"
"$root/scripts/setup.sh"
cd "$root"
swift build --build-tests
swift test --skip-build "$@"

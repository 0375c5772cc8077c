#!/usr/bin/env bash
# CI: what tests/test_container.py needs to build and run the Docker image with podman on these machines
# (../shared/container/README.md): podman, runc (crun refuses this kernel's hybrid cgroups) and debootstrap
# (build-image.sh makes the Debian bookworm base image with it). Debian packages only; idempotent.
set -euo pipefail
missing=()
for tool in podman runc debootstrap curl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman runc debootstrap curl >/dev/null
fi
podman --version

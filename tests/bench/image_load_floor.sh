#!/usr/bin/env bash
# The floor under issue 15's "ten droplets as fast as one" on this machine: the Spark image
# loaded into N stand-in droplets' engines at once (each its own container with its own
# dockerd, as the DigitalOcean stand-in runs them), straight from a local archive: no SSH, no
# API, no swarm. What is left is the droplets' own work, which all N share this machine's
# cores and disk for.
#
# Usage: tests/bench/image_load_floor.sh [N...]   (default: 1 10; needs the images setup.sh builds)
set -euo pipefail
if [ $# -gt 0 ]; then counts=("$@"); else counts=(1 10); fi
image=sparkswarm/spark:4.0.1
work=$(mktemp -d)
containers=()
cleanup() {
  [ ${#containers[@]} -gt 0 ] && docker rm -fv "${containers[@]}" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

docker image inspect "$image" >/dev/null
start=$(date +%s.%N)
docker save "$image" | zstd -1 -q -T1 > "$work/image.tar.zst"
printf 'archive: %s MB zstd -1 of %s MB, saved in %.1f s\n' \
  "$(( $(stat -c %s "$work/image.tar.zst") / 1000000 ))" \
  "$(( $(docker image inspect -f '{{.Size}}' "$image") / 1000000 ))" \
  "$(echo "$(date +%s.%N) - $start" | bc)"

for n in "${counts[@]}"; do
  containers=()
  for i in $(seq 1 "$n"); do
    # The stand-in's flags (tests/do_standin/hosts.rs RUN_FLAGS): --privileged is refused here.
    containers+=("$(docker run -d --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
      --security-opt apparmor=unconfined --security-opt systempaths=unconfined --cgroupns host \
      -v /sys/fs/cgroup:/sys/fs/cgroup:rw --entrypoint sh sparkswarm/test-droplet:1 \
      -c 'exec dockerd >/var/log/dockerd.log 2>&1')")
  done
  for c in "${containers[@]}"; do
    until docker exec "$c" docker info >/dev/null 2>&1; do sleep 0.2; done
  done
  start=$(date +%s.%N)
  pids=()
  for c in "${containers[@]}"; do
    docker exec -i "$c" sh -c 'zstd -dcq | docker load -q >/dev/null' < "$work/image.tar.zst" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  took=$(echo "$(date +%s.%N) - $start" | bc)
  for c in "${containers[@]}"; do docker exec "$c" docker image inspect "$image" >/dev/null; done
  printf '%2d droplet(s): the image loaded into all of them in %.1f s\n' "$n" "$took"
  docker rm -fv "${containers[@]}" >/dev/null
  containers=()
done

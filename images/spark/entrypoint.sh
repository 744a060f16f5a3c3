#!/bin/sh
# The Spark image's contract (the swarm runtime relies on it):
#   master                      a standalone master (SPARK_MASTER_PORT, SPARK_MASTER_WEBUI_PORT)
#   worker <master-url>         a worker (SPARK_WORKER_CORES, SPARK_WORKER_MEMORY)
#   driver <spark-submit args>  spark-submit in client mode, from the working directory
#   anything else               executed as is
# Every daemon binds to the container's address on its (first) network, which is what
# /etc/hosts maps the container's hostname to: the overlay network on a swarm.
set -eu

own_ip() {
  python3 -c 'import socket; print(socket.gethostbyname(socket.gethostname()))'
}

# Until the master accepts connections (at most SPARKSWARM_MASTER_WAIT_SECS, 120 s): a worker
# whose first registration fails tries again only 5 to 15 s later (Spark's fixed, fuzzed
# retry interval), and on a swarm the workers' tasks often start before the master listens.
wait_for_master() {
  python3 - "$1" "${SPARKSWARM_MASTER_WAIT_SECS:-120}" <<'PY' || true
import socket, sys, time
masters = [m.rsplit(":", 1) for m in sys.argv[1].split("://", 1)[-1].split(",")]
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    for host, port in masters:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            sys.exit(0)
        except (OSError, ValueError):
            pass
    time.sleep(0.2)
PY
}

case "${1:-}" in
  master)
    shift
    ip=$(own_ip)
    exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
      --host "$ip" --port "${SPARK_MASTER_PORT:-7077}" --webui-port "${SPARK_MASTER_WEBUI_PORT:-8080}" "$@"
    ;;
  worker)
    shift
    [ $# -ge 1 ] || { echo "usage: worker <master-url>" >&2; exit 64; }
    url=$1
    shift
    wait_for_master "$url"
    ip=$(own_ip)
    exec "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
      --host "$ip" --cores "${SPARK_WORKER_CORES:-1}" --memory "${SPARK_WORKER_MEMORY:-1g}" \
      --webui-port "${SPARK_WORKER_WEBUI_PORT:-8081}" "$@" "$url"
    ;;
  driver)
    shift
    ip=$(own_ip)
    # Executors connect back to the driver: it must announce an address they can reach.
    exec "$SPARK_HOME/bin/spark-submit" --conf "spark.driver.host=$ip" "$@"
    ;;
  *)
    exec "$@"
    ;;
esac

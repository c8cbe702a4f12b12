#!/bin/bash
# A private copy of the six services for measurements that others' restarts cannot disturb:
# own database (fanout_perf), topic prefix (perf.), FANOUT_HOME (/var/lib/fanout-perf) and
# ports 8710-8715, on the shared Postgres server and Kafka broker of `fanout stack up`.
#
#   fanout_cli/bench/isolated_stack.sh up|down|restart [service...]  # services as module names
#   fanout_cli/bench/isolated_stack.sh purge                         # down, drop database, topics, home
#
# Then: FANOUT_HOME=/var/lib/fanout-perf FANOUT_TOPIC_PREFIX=perf. \
#       FANOUT_DATABASE_URL=postgresql://fanout:fanout@127.0.0.1:55432/fanout_perf \
#       FANOUT_CAMPAIGN_API_PORT=8710 FANOUT_REPORT_SINK_PORT=8712 FANOUT_ESP_SIMULATOR_PORT=8715 \
#       .venv/bin/fanout bench e2e --leads 200000
# Extra settings pass through the environment (e.g. FANOUT_SENDER_MAX_IN_FLIGHT=128).
# Pid files are named as `fanout stack` names them, so the benchmark's sampler finds them.
set -u
cd "$(dirname "$0")/../.."
H=/var/lib/fanout-perf
DB=postgresql://fanout:fanout@127.0.0.1:55432/fanout_perf
ADMIN=postgresql://postgres@127.0.0.1:55432/postgres
mkdir -p $H/run $H/logs
# its own secrets, generated once into $H/secrets.env (0600) like `fanout stack up` does
.venv/bin/python -c "from pathlib import Path; from fanout_cli.stack.secrets import \
ensure_secrets; ensure_secrets(Path('$H'))"
set -a; . "$H/secrets.env"; set +a
export FANOUT_WEBHOOK_INGEST_PROVIDERS='["simulator"]'
export FANOUT_HOME=$H FANOUT_DATABASE_URL=$DB FANOUT_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092
export FANOUT_TOPIC_PREFIX=perf. FANOUT_PUBLIC_BASE_URL=http://127.0.0.1:8711
export FANOUT_SENDER_RATE_BUDGETS=${FANOUT_SENDER_RATE_BUDGETS:-'{"simulator": 0, "ses": 14}'}
export FANOUT_SENDER_SIMULATOR_URL=http://127.0.0.1:8715
export FANOUT_DASHBOARD_REPORTS_URL=http://127.0.0.1:8712
export FANOUT_ESP_SIMULATOR_WEBHOOK_URL=http://127.0.0.1:8711/webhooks/simulator
# the simulator's DNS (which verifies the benchmark's sending domains) on a port of its own
export FANOUT_ESP_SIMULATOR_DNS_PORT=8716 FANOUT_CAMPAIGN_API_DNS_NAMESERVER_PORT=8716
export FANOUT_CAMPAIGN_API_DNS_NAMESERVERS='["127.0.0.1"]'
declare -A PORT=([esp_simulator]=8715 [webhook_ingest]=8711 [report_sink]=8712
                 [campaign_api]=8710 [lead_resolver]=8713 [sender]=8714)
ORDER="esp_simulator webhook_ingest sender report_sink campaign_api lead_resolver"
cmd=${1:-}; shift || true
svcs=${*:-$ORDER}

stop() {
  for s in $svcs; do
    f=$H/run/${s//_/-}.pid
    [ -f "$f" ] || continue
    p=$(cat "$f")
    kill "$p" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    rm -f "$f"
  done
}

start() {
  if ! psql -qtA $ADMIN -c "SELECT 1 FROM pg_database WHERE datname = 'fanout_perf'" | grep -q 1; then
    psql -q $ADMIN -c "CREATE DATABASE fanout_perf OWNER fanout"
    .venv/bin/python -c "import asyncio; from shared.migrations.postgres import upgrade_async; \
asyncio.run(upgrade_async('$DB'))"
  fi
  for s in $svcs; do
    up=$(echo "$s" | tr a-z A-Z)
    env "FANOUT_${up}_PORT=${PORT[$s]}" setsid .venv/bin/python -m "services.$s" \
      >> "$H/logs/$s.log" 2>&1 < /dev/null &
    echo $! > "$H/run/${s//_/-}.pid"
    ops=(-H "Authorization: Bearer $FANOUT_OPS_TOKEN")
    for _ in $(seq 1 150); do curl -sf "${ops[@]}" "localhost:${PORT[$s]}/readyz" > /dev/null && break; sleep 0.2; done
    echo "$s pid $(cat "$H/run/${s//_/-}.pid") readyz $(curl -s -o /dev/null -w '%{http_code}' "${ops[@]}" "localhost:${PORT[$s]}/readyz")"
  done
}

purge() {
  svcs=$ORDER stop
  .venv/bin/python - <<'PY'
import asyncio
from aiokafka.admin import AIOKafkaAdminClient

async def main() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:19092")
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith("perf.")]
        if topics:
            await admin.delete_topics(topics)
        print("deleted topics:", topics)
    finally:
        await admin.close()

asyncio.run(main())
PY
  psql -q $ADMIN -c "DROP DATABASE IF EXISTS fanout_perf WITH (FORCE)"
  rm -rf "$H"
}

case $cmd in
  up) start ;;
  down) stop ;;
  restart) stop; start ;;
  purge) purge ;;
  *) echo "usage: $0 up|down|restart [service...] | purge" >&2; exit 2 ;;
esac

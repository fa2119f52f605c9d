#!/usr/bin/env bash
# Local stack of the real services Parcel Exchange talks to: Apache Kafka (KRaft), a Confluent-API-compatible
# schema registry, Redis; plus the OPA CLI used to compile policies.
#
#   bash infra/local/stack.sh install          fetch/build every pinned component into the cache
#   bash infra/local/stack.sh up               install if needed, start what is not running, wait for health
#   bash infra/local/stack.sh up --monitoring  the same, plus Prometheus scraping the services, with the alert rules
#   bash infra/local/stack.sh down             stop exactly the processes this script started (pid files), Prometheus too
#   bash infra/local/stack.sh restart COMP     stop one component (e.g. registry) and start it again
#   bash infra/local/stack.sh status           per component: up / down
#   bash infra/local/stack.sh logs [component] tail of the logs
#   bash infra/local/stack.sh env              the environment that points the services at this stack
#   bash infra/local/stack.sh pid COMPONENT    the pid this script recorded for a component
#
# Versions: infra/local/versions.env. Downloads: $PX_CACHE_DIR. State (data, logs, pid files): $PX_STATE_DIR.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$HERE/versions.env"

PX_CACHE_DIR="${PX_CACHE_DIR:-$HOME/.cache/parcel-exchange}"
PX_STATE_DIR="${PX_STATE_DIR:-$HOME/.local/state/parcel-exchange}"
# Kafka: PX_KAFKA_NODES combined broker+controller nodes on loopback; node i listens on <base port> + i - 1 for
# clients (SASL_SSL, SCRAM-SHA-512), brokers (SSL with client certificates) and controllers (the same).
PX_KAFKA_NODES="${PX_KAFKA_NODES:-3}"
PX_KAFKA_PORT="${PX_KAFKA_PORT:-39092}"
PX_KAFKA_INTERNAL_PORT="${PX_KAFKA_INTERNAL_PORT:-39192}"
PX_KAFKA_CONTROLLER_PORT="${PX_KAFKA_CONTROLLER_PORT:-39292}"
PX_REGISTRY_PORT="${PX_REGISTRY_PORT:-38081}"
PX_REDIS_PORT="${PX_REDIS_PORT:-36379}"
# The registry's storage: a PostgreSQL cluster of the stack's own (Debian's postgresql), so schema ids survive restarts.
PX_POSTGRES_PORT="${PX_POSTGRES_PORT:-35432}"
PX_KAFKA_HEAP="${PX_KAFKA_HEAP:-768m}"
PX_HEALTH_TIMEOUT="${PX_HEALTH_TIMEOUT:-120}"
# Monitoring (up --monitoring): Debian's Prometheus on loopback, and the services' ports it scrapes.
PX_PROMETHEUS_PORT="${PX_PROMETHEUS_PORT:-9090}"
PX_PROMETHEUS_BIN="${PX_PROMETHEUS_BIN:-/usr/bin/prometheus}"
[[ "$PX_KAFKA_NODES" =~ ^[1-9]$ ]] || { echo "[stack] ERROR: PX_KAFKA_NODES='$PX_KAFKA_NODES' must be a node count from 1 to 9" >&2; exit 1; }

BIN_DIR="$PX_CACHE_DIR/bin"
KAFKA_LIBS="$PX_CACHE_DIR/kafka-$KAFKA_VERSION/libs"
OPA_BIN="$BIN_DIR/opa-$OPA_VERSION"
REGISTRY_BIN="$BIN_DIR/schema-registry-$SCHEMA_REGISTRY_VERSION"
TLS_DIR="$PX_STATE_DIR/tls"
CRED_DIR="$PX_STATE_DIR/credentials"
# Replication: 3 where there are 3 nodes or more, writes acknowledged by 2; a one-node stack (quick benchmarks) has 1/1.
if [ "$PX_KAFKA_NODES" -ge 3 ]; then KAFKA_RF=3; KAFKA_MIN_ISR=2; else KAFKA_RF="$PX_KAFKA_NODES"; KAFKA_MIN_ISR=1; fi
KAFKA_NODE_IDS=($(seq 1 "$PX_KAFKA_NODES"))
COMPONENTS=($(for i in "${KAFKA_NODE_IDS[@]}"; do echo "kafka-$i"; done) postgres registry redis)

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- install
install_kafka() {
  [ -f "$KAFKA_LIBS/kafka_${KAFKA_SCALA}-${KAFKA_VERSION}.jar" ] && return 0
  command -v java >/dev/null || die "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central"
  mvn -q -B -f "$HERE/kafka-pom.xml" -Dkafka.version="$KAFKA_VERSION" -Dscala.binary="$KAFKA_SCALA" \
    -Dmaven.repo.local="$PX_CACHE_DIR/m2" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS.tmp" -DincludeScope=runtime
  rm -rf "$KAFKA_LIBS" && mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
}

# Builds a Go main package of a pinned module from the module proxy, inside the module itself so that its own
# go.sum pins every dependency. (`go install pkg@version` also works, but needs the proxy's version list.)
go_build_pinned() { # module-root version package-subdir output
  local mod="$1" ver="$2" sub="$3" out="$4" dir
  command -v go >/dev/null || die "go not found: install Go >= 1.22"
  dir="$(GOFLAGS=-mod=mod go mod download -json "$mod@$ver" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] || die "could not download $mod@$ver from the Go module proxy"
  mkdir -p "$BIN_DIR"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$out.tmp" "./$sub") && mv "$out.tmp" "$out"
}

install_registry() {
  [ -x "$REGISTRY_BIN" ] && return 0
  log "building schema registry $SCHEMA_REGISTRY_VERSION (Go module proxy)"
  go_build_pinned "${SCHEMA_REGISTRY_MODULE%/cmd/*}" "$SCHEMA_REGISTRY_VERSION" "cmd/schema-registry" "$REGISTRY_BIN"
}

install_opa() {
  [ -x "$OPA_BIN" ] && return 0
  log "building OPA CLI $OPA_VERSION (Go module proxy)"
  go_build_pinned "$OPA_MODULE" "$OPA_VERSION" "." "$OPA_BIN"
}

install_redis() {
  command -v redis-server >/dev/null && return 0
  log "installing $REDIS_APT_PACKAGE from Debian"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$REDIS_APT_PACKAGE" >/dev/null
  else
    die "redis-server not found: run 'sudo apt-get install $REDIS_APT_PACKAGE'"
  fi
}

# Debian's PostgreSQL server binaries (postgres, initdb), newest major installed.
pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

install_postgres() {
  [ -n "$(pg_bindir)" ] && [ -x "$(pg_bindir)/postgres" ] && return 0
  log "installing $POSTGRES_APT_PACKAGE from Debian"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$POSTGRES_APT_PACKAGE" >/dev/null
  else
    die "PostgreSQL server not found: run 'sudo apt-get install $POSTGRES_APT_PACKAGE'"
  fi
}

install_all() {
  mkdir -p "$PX_CACHE_DIR" "$BIN_DIR"
  install_redis
  install_postgres
  install_kafka
  install_registry
  install_opa
  ln -sf "$OPA_BIN" "$BIN_DIR/opa"
}

# ---------------------------------------------------------------- process helpers
pidfile() { echo "$PX_STATE_DIR/run/$1.pid"; }
logfile() { echo "$PX_STATE_DIR/logs/$1.log"; }

running() { # component -> 0 when the pid in its pid file is alive
  local pf; pf="$(pidfile "$1")"
  [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

node_of() { echo "${1#kafka-}"; }

port_of() {
  case "$1" in
    kafka-*) echo $((PX_KAFKA_PORT + $(node_of "$1") - 1)) ;;
    registry) echo "$PX_REGISTRY_PORT" ;;
    postgres) echo "$PX_POSTGRES_PORT" ;;
    redis) echo "$PX_REDIS_PORT" ;;
    prometheus) echo "$PX_PROMETHEUS_PORT" ;;
  esac
}

bootstrap_servers() {
  local i out=()
  for i in "${KAFKA_NODE_IDS[@]}"; do out+=("127.0.0.1:$((PX_KAFKA_PORT + i - 1))"); done
  (IFS=,; echo "${out[*]}")
}

healthy() {
  case "$1" in
    kafka-*) port_open "$(port_of "$1")" && grep -q "Kafka Server started" "$(logfile "$1")" 2>/dev/null ;;
    registry) curl -fsS -m 2 "http://127.0.0.1:$PX_REGISTRY_PORT/" >/dev/null 2>&1 ;;
    redis) [ "$(redis-cli -h 127.0.0.1 -p "$PX_REDIS_PORT" ping 2>/dev/null)" = "PONG" ] ;;
    postgres) "$(pg_bindir)/pg_isready" -q -h 127.0.0.1 -p "$PX_POSTGRES_PORT" ;;
    prometheus) curl -fsS -m 2 "http://127.0.0.1:$PX_PROMETHEUS_PORT/-/ready" >/dev/null 2>&1 ;;
  esac
}

spawn() { # component command... : start detached in its own session, record the pid
  local c="$1"; shift
  mkdir -p "$PX_STATE_DIR/run" "$PX_STATE_DIR/logs"
  if port_open "$(port_of "$c")"; then
    die "$c: port $(port_of "$c") on 127.0.0.1 is taken by a process this stack did not start; stop it or move the stack's ports (PX_KAFKA_PORT, PX_REGISTRY_PORT, PX_POSTGRES_PORT, PX_REDIS_PORT, PX_PROMETHEUS_PORT)"
  fi
  : >"$(logfile "$c")"
  setsid nohup "$@" >>"$(logfile "$c")" 2>&1 </dev/null &
  echo $! >"$(pidfile "$c")"
}

# ---------------------------------------------------------------- secrets: CA, certificates, passwords
secret() { # file -> a random password, created once (mode 0600)
  local f="$1"
  if [ ! -s "$f" ]; then
    mkdir -p "$(dirname "$f")"; chmod 700 "$(dirname "$f")"
    (umask 077; openssl rand -base64 33 | tr -d '/+=\n' | head -c 40 >"$f")
  fi
  cat "$f"
}

# A local CA and one certificate per node (CN px-broker-<i>, SAN 127.0.0.1 and localhost), PEM, keys 0600.
# Brokers present them to each other and to the controllers (mutual TLS); clients verify them against ca.crt.
ensure_tls() {
  command -v openssl >/dev/null || die "openssl not found: install it (apt-get install openssl)"
  mkdir -p "$TLS_DIR"; chmod 700 "$TLS_DIR"
  if [ ! -s "$TLS_DIR/ca.crt" ]; then
    log "tls: creating the local CA ($TLS_DIR/ca.crt)"
    (umask 077; openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TLS_DIR/ca.key" 2>/dev/null)
    openssl req -x509 -new -key "$TLS_DIR/ca.key" -sha256 -days 3650 -subj "/CN=Parcel Exchange local CA/O=Parcel Exchange" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$TLS_DIR/ca.crt"
    rm -f "$TLS_DIR"/node-*.pem
  fi
  local i
  for i in "${KAFKA_NODE_IDS[@]}"; do
    [ -s "$TLS_DIR/node-$i.pem" ] && continue
    (umask 077
      openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TLS_DIR/node-$i.key" 2>/dev/null
      openssl req -new -key "$TLS_DIR/node-$i.key" -subj "/CN=px-broker-$i" -out "$TLS_DIR/node-$i.csr"
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$TLS_DIR/node-$i.ext"
      openssl x509 -req -in "$TLS_DIR/node-$i.csr" -CA "$TLS_DIR/ca.crt" -CAkey "$TLS_DIR/ca.key" -CAcreateserial \
        -days 825 -sha256 -extfile "$TLS_DIR/node-$i.ext" -out "$TLS_DIR/node-$i.crt" 2>/dev/null
      cat "$TLS_DIR/node-$i.key" "$TLS_DIR/node-$i.crt" >"$TLS_DIR/node-$i.pem"
      rm -f "$TLS_DIR/node-$i.csr" "$TLS_DIR/node-$i.ext" "$TLS_DIR/node-$i.key")
  done
}

# The admin principal (a Kafka super user, created at storage format time) and the registry's admin.
admin_password() { secret "$CRED_DIR/admin.kafka.password"; }
postgres_password() { secret "$CRED_DIR/registry.postgres.password"; }
registry_admin_password() { secret "$CRED_DIR/admin.registry.password"; }

# Client properties of the admin principal, for the Java tools (readiness probe, kafka-*.sh).
admin_client_properties() {
  local f="$CRED_DIR/admin.client.properties"
  (umask 077; cat >"$f" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(admin_password)";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.crt
PROPS
  )
  echo "$f"
}

# ---------------------------------------------------------------- start
start_kafka_node() {
  local i="$1" c="kafka-$1" dir="$PX_STATE_DIR/kafka/node-$1" props voters="" j super="User:admin"
  for j in "${KAFKA_NODE_IDS[@]}"; do
    voters+="${voters:+,}$j@127.0.0.1:$((PX_KAFKA_CONTROLLER_PORT + j - 1))"
    super+=";User:px-broker-$j"
  done
  props="$dir/server.properties"
  mkdir -p "$dir/data" "$PX_STATE_DIR/logs" "$PX_STATE_DIR/run"
  cat >"$props" <<PROPS
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=CLIENT://127.0.0.1:$((PX_KAFKA_PORT + i - 1)),INTERNAL://127.0.0.1:$((PX_KAFKA_INTERNAL_PORT + i - 1)),CONTROLLER://127.0.0.1:$((PX_KAFKA_CONTROLLER_PORT + i - 1))
advertised.listeners=CLIENT://127.0.0.1:$((PX_KAFKA_PORT + i - 1)),INTERNAL://127.0.0.1:$((PX_KAFKA_INTERNAL_PORT + i - 1))
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL
# Clients: TLS + SCRAM-SHA-512. Brokers and controllers: mutual TLS with the stack CA's node certificates (SCRAM
# is not available between KRaft controllers), loopback only; their principals px-broker-<i> are super users.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.client.ssl.client.auth=none
listener.name.internal.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/node-$i.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.crt
ssl.principal.mapping.rules=RULE:^CN=([a-z0-9-]+)$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=$super
log.dirs=$dir/data
num.partitions=3
default.replication.factor=$KAFKA_RF
min.insync.replicas=$KAFKA_MIN_ISR
unclean.leader.election.enable=false
offsets.topic.replication.factor=$KAFKA_RF
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=$KAFKA_RF
transaction.state.log.min.isr=$KAFKA_MIN_ISR
transaction.state.log.num.partitions=12
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
message.max.bytes=2097152
replica.fetch.max.bytes=2097152
log.retention.hours=168
log.segment.bytes=268435456
num.network.threads=2
num.io.threads=4
PROPS
  cat >"$dir/log4j.properties" <<'PROPS'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.kafka.coordinator=WARN
log4j.logger.kafka.server.KafkaApis=WARN
log4j.logger.kafka.authorizer.logger=WARN
PROPS
  local java_opts=(-Xms"$PX_KAFKA_HEAP" -Xmx"$PX_KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1
    -Djava.awt.headless=true -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$KAFKA_LIBS/*")
  if [ ! -f "$dir/data/meta.properties" ]; then
    log "$c: formatting KRaft storage (cluster $(cluster_id))"
    java "${java_opts[@]}" kafka.tools.StorageTool format -t "$(cluster_id)" -c "$props" --ignore-formatted \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$(admin_password)]" >"$PX_STATE_DIR/logs/$c-format.log" 2>&1 \
      || { tail -20 "$PX_STATE_DIR/logs/$c-format.log" >&2; die "$c: storage format failed"; }
  fi
  spawn "$c" java "${java_opts[@]}" kafka.Kafka "$props"
}

cluster_id() {
  local f="$PX_STATE_DIR/kafka/cluster.id"
  mkdir -p "$PX_STATE_DIR/kafka"
  [ -s "$f" ] || tr -d - </proc/sys/kernel/random/uuid | head -c 22 >"$f"
  cat "$f"
}

# PostgreSQL for the registry: a cluster in the state directory, listening on loopback only, password
# (SCRAM) authentication for its one role `px`, which owns the database `schemaregistry`. Run as the `postgres`
# system user when the stack runs as root (the server refuses root), as the caller otherwise.
# Its directory: in the state directory, except as root, whose home the `postgres` user cannot enter; then under
# /var/lib/parcel-exchange, one per state directory (PX_POSTGRES_DIR moves it). `down --purge` removes it too.
if [ -n "${PX_POSTGRES_DIR:-}" ]; then PG_DIR="$PX_POSTGRES_DIR"
elif [ "$(id -u)" = 0 ]; then PG_DIR="/var/lib/parcel-exchange/$(printf '%s' "$PX_STATE_DIR" | sha256sum | cut -c1-12)/postgres"
else PG_DIR="$PX_STATE_DIR/postgres"; fi
PG_AS=(); [ "$(id -u)" = 0 ] && PG_AS=(setpriv --reuid=postgres --regid=postgres --init-groups --)

start_postgres() {
  local bin; bin="$(pg_bindir)"
  mkdir -p "$PG_DIR"
  chmod 700 "$PG_DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DIR"; fi
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    local pw="$PG_DIR/initdb.pw"
    (umask 077; postgres_password >"$pw")
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$pw"; fi
    "${PG_AS[@]}" "$bin/initdb" -D "$PG_DIR/data" -U px --pwfile="$pw" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PX_STATE_DIR/logs/postgres-initdb.log" 2>&1 \
      || { rm -f "$pw"; tail -20 "$PX_STATE_DIR/logs/postgres-initdb.log" >&2; die "postgres: initdb failed"; }
    rm -f "$pw"
  fi
  spawn postgres "${PG_AS[@]}" "$bin/postgres" -D "$PG_DIR/data" -p "$PX_POSTGRES_PORT" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$PG_DIR" -c logging_collector=off
}

# The registry's database, created once (CREATE DATABASE is not transactional: checked first).
postgres_database() {
  local bin; bin="$(pg_bindir)"
  export PGPASSWORD; PGPASSWORD="$(postgres_password)"
  if ! "$bin/psql" -h 127.0.0.1 -p "$PX_POSTGRES_PORT" -U px -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'schemaregistry'" | grep -q 1; then
    "$bin/psql" -q -h 127.0.0.1 -p "$PX_POSTGRES_PORT" -U px -d postgres -c "CREATE DATABASE schemaregistry" >/dev/null || die "postgres: cannot create the registry's database"
    log "postgres: database schemaregistry created"
  fi
  unset PGPASSWORD
}

# The registry: basic auth on every request but the health check; RBAC with `readonly` for everyone but the
# admin (bootstrap user, super_admin). Users are created by provisioning (services/provision).
start_registry() {
  local dir="$PX_STATE_DIR/registry"
  mkdir -p "$dir"
  cat >"$dir/config.yaml" <<YAML
server:
  host: 127.0.0.1
  port: $PX_REGISTRY_PORT
storage:
  type: postgresql
  postgresql:
    host: 127.0.0.1
    port: $PX_POSTGRES_PORT
    database: schemaregistry
    user: px
    password: "$(postgres_password)"
    ssl_mode: disable
compatibility:
  default_level: BACKWARD
logging:
  level: warn
  format: json
security:
  auth:
    enabled: true
    methods: [basic]
    bootstrap:
      enabled: true
      username: admin
    rbac:
      enabled: true
      default_role: readonly
      super_admins: [admin]
YAML
  chmod 600 "$dir/config.yaml"
  # Its storage must be up first: the registry does not wait for its database.
  wait_healthy postgres
  postgres_database
  spawn registry env SCHEMA_REGISTRY_BOOTSTRAP_PASSWORD="$(registry_admin_password)" "$REGISTRY_BIN" -config "$dir/config.yaml"
}

start_redis() {
  mkdir -p "$PX_STATE_DIR/redis"
  spawn redis redis-server --bind 127.0.0.1 --port "$PX_REDIS_PORT" --dir "$PX_STATE_DIR/redis" \
    --save "" --appendonly yes --daemonize no --protected-mode yes
}

# ---------------------------------------------------------------- monitoring (up --monitoring)
# Prometheus scrapes the targets of $PX_STATE_DIR/prometheus/targets.json (file_sd, rewritten at each start from
# the services' configured ports) and of targets.d/*.json (kept: add a file there for a second router, a gateway
# elsewhere…; Prometheus picks it up within seconds), and evaluates infra/monitoring/alerts.yml.
PROMETHEUS_DIR="$PX_STATE_DIR/prometheus"
ALERT_RULES="$(dirname "$HERE")/monitoring/alerts.yml"

install_prometheus() {
  [ -x "$PX_PROMETHEUS_BIN" ] && return 0
  [ "$PX_PROMETHEUS_BIN" = /usr/bin/prometheus ] || die "PX_PROMETHEUS_BIN=$PX_PROMETHEUS_BIN is not an executable"
  log "installing prometheus from Debian"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
  else
    die "prometheus not found: run 'sudo apt-get install prometheus' (or set PX_PROMETHEUS_BIN)"
  fi
}

# One file_sd target group per service whose port is configured (0 disables the router's /metrics).
prometheus_targets() {
  local out=() job port
  for job in router policy gateway console; do
    case "$job" in
      router) port="${PX_METRICS_PORT:-9464}" ;;
      policy) port="${PX_POLICY_PORT:-8470}" ;;
      gateway) port="${PX_GATEWAY_PORT:-8480}" ;;
      console) port="${PX_CONSOLE_PORT:-8490}" ;;
    esac
    [[ "$port" =~ ^[0-9]+$ ]] || die "$job's port '$port' is not a number"
    [ "$port" -gt 0 ] || continue
    out+=("  {\"targets\": [\"127.0.0.1:$port\"], \"labels\": {\"job\": \"$job\"}}")
  done
  printf '[\n'; (IFS=$'\n'; printf '%s\n' "${out[*]}" | sed '$!s/$/,/'); printf ']\n'
}

start_prometheus() {
  mkdir -p "$PROMETHEUS_DIR/data" "$PROMETHEUS_DIR/targets.d" "$PX_STATE_DIR/logs"
  prometheus_targets >"$PROMETHEUS_DIR/targets.json.tmp" && mv "$PROMETHEUS_DIR/targets.json.tmp" "$PROMETHEUS_DIR/targets.json"
  cat >"$PROMETHEUS_DIR/prometheus.yml" <<YAML
# Generated by infra/local/stack.sh up --monitoring; rewritten at each start.
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $ALERT_RULES
scrape_configs:
  - job_name: parcel-exchange
    file_sd_configs:
      - files: ["$PROMETHEUS_DIR/targets.json", "$PROMETHEUS_DIR/targets.d/*.json"]
        refresh_interval: 5s
YAML
  if command -v promtool >/dev/null; then
    promtool check config "$PROMETHEUS_DIR/prometheus.yml" >"$PX_STATE_DIR/logs/prometheus-check.log" 2>&1 \
      || { cat "$PX_STATE_DIR/logs/prometheus-check.log" >&2; die "prometheus: the generated configuration or $ALERT_RULES does not check"; }
  fi
  spawn prometheus "$PX_PROMETHEUS_BIN" --config.file="$PROMETHEUS_DIR/prometheus.yml" --storage.tsdb.path="$PROMETHEUS_DIR/data" \
    --storage.tsdb.retention.time=2d --web.listen-address="127.0.0.1:$PX_PROMETHEUS_PORT"
}

start_component() {
  case "$1" in
    kafka-*) start_kafka_node "$(node_of "$1")" ;;
    postgres) start_postgres ;;
    registry) start_registry ;;
    redis) start_redis ;;
    prometheus) start_prometheus ;;
  esac
}

wait_healthy() {
  local c="$1" deadline=$((SECONDS + PX_HEALTH_TIMEOUT))
  until healthy "$c"; do
    if ! running "$c"; then
      tail -30 "$(logfile "$c")" >&2 || true
      die "$c exited during start-up (log above: $(logfile "$c"))"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -30 "$(logfile "$c")" >&2 || true
      die "$c not healthy after ${PX_HEALTH_TIMEOUT}s (log above: $(logfile "$c"))"
    fi
    sleep 0.5
  done
}

# The INTERNAL listener of node 1 with that node's certificate: a super user by mutual TLS, for the stack's own tools.
internal_client_properties() {
  local f="$CRED_DIR/internal.client.properties"
  (umask 077; printf 'security.protocol=SSL\nssl.keystore.type=PEM\nssl.keystore.location=%s\nssl.truststore.type=PEM\nssl.truststore.location=%s\n' "$TLS_DIR/node-1.pem" "$TLS_DIR/ca.crt" >"$f")
  echo "$f"
}

# Writes the admin's and every provisioned principal's SCRAM credential again (see ScramRestore.java for why).
scram_restore() {
  local out="$PX_STATE_DIR/logs/kafka-scram.log" f
  {
    printf 'admin\t%s\n' "$(admin_password)"
    for f in "$CRED_DIR"/*.env; do
      [ -f "$f" ] || continue
      # shellcheck disable=SC1090
      (. "$f"; [ -n "${KAFKA_SASL_USERNAME:-}" ] && printf '%s\t%s\n' "$KAFKA_SASL_USERNAME" "$KAFKA_SASL_PASSWORD")
    done
  } | java -Dlog4j.configuration="file:$PX_STATE_DIR/kafka/log4j-client.properties" -cp "$KAFKA_LIBS/*" \
      "$HERE/ScramRestore.java" "127.0.0.1:$PX_KAFKA_INTERNAL_PORT" "$(internal_client_properties)" >"$out" 2>&1 \
    || { tail -5 "$out" >&2; die "kafka: could not write the SCRAM credentials (log: $out)"; }
  log "$(tail -1 "$out")"
}

kafka_ready() {
  local out="$PX_STATE_DIR/logs/kafka-ready.log"
  if ! java -Dlog4j.configuration="file:$PX_STATE_DIR/kafka/log4j-client.properties" -cp "$KAFKA_LIBS/*" \
      "$HERE/KafkaReady.java" "$(bootstrap_servers)" "$PX_HEALTH_TIMEOUT" "$(admin_client_properties)" >"$out" 2>&1; then
    tail -5 "$out" >&2
    die "kafka: not ready to create and use topics after ${PX_HEALTH_TIMEOUT}s (probe log: $out; broker logs: $PX_STATE_DIR/logs/kafka-*.log)"
  fi
  log "$(tail -1 "$out")"
}

# ---------------------------------------------------------------- commands
cmd_up() {
  local monitoring=0 arg
  for arg in "$@"; do
    case "$arg" in
      --monitoring) monitoring=1 ;;
      *) die "up: unknown option '$arg' (usage: up [--monitoring])" ;;
    esac
  done
  install_all
  [ $monitoring = 0 ] || install_prometheus
  ensure_tls
  admin_password >/dev/null
  registry_admin_password >/dev/null
  mkdir -p "$PX_STATE_DIR/kafka"
  printf 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=[%%d] %%p %%m (%%c)%%n\n' >"$PX_STATE_DIR/kafka/log4j-client.properties"
  local c started=() kafka_started=0
  for c in "${COMPONENTS[@]}"; do
    if running "$c"; then continue; fi
    log "$c: starting"
    start_component "$c"
    started+=("$c")
    [[ "$c" == kafka-* ]] && kafka_started=1
  done
  for c in "${COMPONENTS[@]}"; do wait_healthy "$c"; done
  # A broker that was just started is "healthy" (listening, started) before it can serve a new topic: wait
  # until a topic can be created, written and read, so that whatever runs next can use Kafka at once.
  if [ $kafka_started = 1 ]; then scram_restore; kafka_ready; fi
  if [ $monitoring = 1 ]; then
    if ! running prometheus; then log "prometheus: starting"; start_prometheus; started+=(prometheus); fi
    wait_healthy prometheus
  elif ! running prometheus; then
    rm -f "$(pidfile prometheus)" # an earlier --monitoring's Prometheus that is gone: not asked for this time
  fi
  if [ ${#started[@]} -eq 0 ]; then log "already running and healthy; nothing to do"; else log "started: ${started[*]}"; fi
  cmd_status
}

stop_one() {
  local c="$1" pf pid i
  pf="$(pidfile "$c")"
  [ -f "$pf" ] || return 0
  pid="$(cat "$pf")"
  if kill -0 "$pid" 2>/dev/null; then
    log "$c: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "$c: did not stop in 30s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pf"
}

cmd_down() {
  local i pids=() c
  stop_one prometheus
  stop_one redis
  stop_one registry
  stop_one postgres
  # Brokers together: stopping them one by one makes each remaining one move leadership and wait for the quorum.
  for c in "${COMPONENTS[@]}"; do
    [[ "$c" == kafka-* ]] || continue
    if running "$c"; then log "$c: stopping (pid $(cat "$(pidfile "$c")"))"; kill -TERM "$(cat "$(pidfile "$c")")" 2>/dev/null || true; pids+=("$c"); fi
  done
  for c in "${pids[@]}"; do
    for i in $(seq 1 90); do running "$c" || break; sleep 0.5; done
    if running "$c"; then log "$c: did not stop in 45s, killing"; kill -KILL "$(cat "$(pidfile "$c")")" 2>/dev/null || true; fi
    rm -f "$(pidfile "$c")"
  done
  if [ "${1:-}" = "--purge" ]; then log "removing state $PX_STATE_DIR and $PG_DIR"; rm -rf "$PX_STATE_DIR" "$PG_DIR"; fi
}

cmd_status() {
  local c bad=0
  for c in "${COMPONENTS[@]}"; do
    if running "$c" && healthy "$c"; then
      printf '%-9s up    pid %-7s 127.0.0.1:%s\n' "$c" "$(cat "$(pidfile "$c")")" "$(port_of "$c")"
    elif running "$c"; then
      printf '%-9s unhealthy pid %s (see %s)\n' "$c" "$(cat "$(pidfile "$c")")" "$(logfile "$c")"; bad=1
    else
      printf '%-9s down\n' "$c"; bad=1
    fi
  done
  if [ -x "$OPA_BIN" ]; then printf '%-9s installed %s\n' opa "$OPA_BIN"; else printf '%-9s missing\n' opa; bad=1; fi
  # Prometheus only once started (up --monitoring), until down.
  if [ -f "$(pidfile prometheus)" ]; then
    if running prometheus && healthy prometheus; then
      printf '%-9s up    pid %-7s 127.0.0.1:%s (alerts: http://127.0.0.1:%s/alerts; targets: %s)\n' prometheus "$(cat "$(pidfile prometheus)")" "$PX_PROMETHEUS_PORT" "$PX_PROMETHEUS_PORT" "$PROMETHEUS_DIR/targets.json"
    elif running prometheus; then
      printf '%-9s unhealthy pid %s (see %s)\n' prometheus "$(cat "$(pidfile prometheus)")" "$(logfile prometheus)"; bad=1
    else
      printf '%-9s down  (started by up --monitoring; see %s)\n' prometheus "$(logfile prometheus)"; bad=1
    fi
  fi
  return $bad
}

cmd_logs() {
  local c
  for c in "${@:-${COMPONENTS[@]}}"; do echo "==> $(logfile "$c")"; tail -n "${PX_LOG_LINES:-40}" "$(logfile "$c")" 2>/dev/null || true; done
}

# The environment that aims a client at this stack: as the admin principal by default, or as a principal that
# provisioning created (`env <principal>`, e.g. `env px.zto`; its file is written by `npx px parties provision`).
cmd_env() {
  local who="${1:-admin}" kafka_user kafka_pass reg_user reg_pass f
  if [ "$who" = admin ]; then
    kafka_user=admin; kafka_pass="$(admin_password)"; reg_user=admin; reg_pass="$(registry_admin_password)"
  else
    f="$CRED_DIR/$who.env"
    [ -f "$f" ] || die "no credentials for '$who' in $CRED_DIR: provision it first (npx px parties provision), or use a principal such as px.zto"
    # shellcheck disable=SC1090
    kafka_user="$(. "$f"; echo "$KAFKA_SASL_USERNAME")"; kafka_pass="$(. "$f"; echo "$KAFKA_SASL_PASSWORD")"
    reg_user="$(. "$f"; echo "$SCHEMA_REGISTRY_USERNAME")"; reg_pass="$(. "$f"; echo "$SCHEMA_REGISTRY_PASSWORD")"
  fi
  cat <<ENV
export KAFKA_BROKERS=$(bootstrap_servers)
export KAFKA_SSL=true
export KAFKA_SSL_CA_FILE=$TLS_DIR/ca.crt
export KAFKA_SASL_MECHANISM=scram-sha-512
export KAFKA_SASL_USERNAME=$kafka_user
export KAFKA_SASL_PASSWORD=$kafka_pass
export SCHEMA_REGISTRY_URL=http://127.0.0.1:$PX_REGISTRY_PORT
export SCHEMA_REGISTRY_USERNAME=$reg_user
export SCHEMA_REGISTRY_PASSWORD=$reg_pass
export REDIS_URL=redis://127.0.0.1:$PX_REDIS_PORT
export OPA_BIN=$BIN_DIR/opa
export PX_REPLICATION_FACTOR=$KAFKA_RF
ENV
}

case "${1:-}" in
  install) install_all ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  env) shift; cmd_env "$@" ;;
  pid) cat "$(pidfile "${2:?usage: $0 pid COMPONENT}")" ;;
  # One component stopped and started again (the others untouched), e.g. the registry for the durability test.
  restart) c="${2:?usage: $0 restart COMPONENT}"; [[ " ${COMPONENTS[*]} " == *" $c "* ]] || die "restart: unknown component '$c' (${COMPONENTS[*]})"; stop_one "$c"; cmd_up ;;
  *) echo "usage: $0 install|up [--monitoring]|down [--purge]|restart COMPONENT|status|logs [kafka-<i>|postgres|registry|redis|prometheus]|env [principal]" >&2; exit 2 ;;
esac

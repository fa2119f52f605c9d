#!/usr/bin/env bash
# Local stack of the real services Parcel Exchange talks to: Apache Kafka (KRaft), a Confluent-API-compatible
# schema registry, Redis; plus the OPA CLI used to compile policies.
#
#   bash infra/local/stack.sh install          fetch/build every pinned component into the cache
#   bash infra/local/stack.sh up               install if needed, start what is not running, wait for health
#   bash infra/local/stack.sh down             stop exactly the processes this script started (pid files)
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
PX_KAFKA_PORT="${PX_KAFKA_PORT:-39092}"
PX_KAFKA_CONTROLLER_PORT="${PX_KAFKA_CONTROLLER_PORT:-39093}"
PX_REGISTRY_PORT="${PX_REGISTRY_PORT:-38081}"
PX_REDIS_PORT="${PX_REDIS_PORT:-36379}"
PX_KAFKA_HEAP="${PX_KAFKA_HEAP:-1G}"
PX_HEALTH_TIMEOUT="${PX_HEALTH_TIMEOUT:-90}"

BIN_DIR="$PX_CACHE_DIR/bin"
KAFKA_LIBS="$PX_CACHE_DIR/kafka-$KAFKA_VERSION/libs"
OPA_BIN="$BIN_DIR/opa-$OPA_VERSION"
REGISTRY_BIN="$BIN_DIR/schema-registry-$SCHEMA_REGISTRY_VERSION"
COMPONENTS=(kafka registry redis)

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

install_all() {
  mkdir -p "$PX_CACHE_DIR" "$BIN_DIR"
  install_redis
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

port_of() {
  case "$1" in kafka) echo "$PX_KAFKA_PORT" ;; registry) echo "$PX_REGISTRY_PORT" ;; redis) echo "$PX_REDIS_PORT" ;; esac
}

healthy() {
  case "$1" in
    kafka) port_open "$PX_KAFKA_PORT" && grep -q "Kafka Server started" "$(logfile kafka)" 2>/dev/null ;;
    registry) curl -fsS -m 2 "http://127.0.0.1:$PX_REGISTRY_PORT/subjects" >/dev/null 2>&1 ;;
    redis) [ "$(redis-cli -h 127.0.0.1 -p "$PX_REDIS_PORT" ping 2>/dev/null)" = "PONG" ] ;;
  esac
}

spawn() { # component command... : start detached in its own session, record the pid
  local c="$1"; shift
  mkdir -p "$PX_STATE_DIR/run" "$PX_STATE_DIR/logs"
  if port_open "$(port_of "$c")"; then
    die "$c: port $(port_of "$c") on 127.0.0.1 is taken by a process this stack did not start; stop it or set PX_${c^^}_PORT"
  fi
  : >"$(logfile "$c")"
  setsid nohup "$@" >>"$(logfile "$c")" 2>&1 </dev/null &
  echo $! >"$(pidfile "$c")"
}

start_kafka() {
  local dir="$PX_STATE_DIR/kafka" props="$PX_STATE_DIR/kafka/server.properties"
  mkdir -p "$dir/data" "$PX_STATE_DIR/logs" "$PX_STATE_DIR/run"
  cat >"$props" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$PX_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PX_KAFKA_PORT,CONTROLLER://127.0.0.1:$PX_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PX_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=6
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=12
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
message.max.bytes=2097152
log.retention.hours=168
log.segment.bytes=268435456
EOF
  cat >"$dir/log4j.properties" <<'EOF'
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
EOF
  printf 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=[%%d] %%p %%m (%%c)%%n\n' >"$dir/log4j-client.properties"
  local java_opts=(-Xms"$PX_KAFKA_HEAP" -Xmx"$PX_KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -Djava.awt.headless=true -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$KAFKA_LIBS/*")
  if [ ! -f "$dir/data/meta.properties" ]; then
    log "kafka: formatting KRaft storage"
    java "${java_opts[@]}" kafka.tools.StorageTool format -t "$(cat /proc/sys/kernel/random/uuid | tr -d - | head -c 22)" \
      -c "$props" --ignore-formatted >"$PX_STATE_DIR/logs/kafka-format.log" 2>&1 \
      || { tail -20 "$PX_STATE_DIR/logs/kafka-format.log" >&2; die "kafka: storage format failed"; }
  fi
  spawn kafka java "${java_opts[@]}" kafka.Kafka "$props"
}

start_registry() {
  mkdir -p "$PX_STATE_DIR/registry"
  spawn registry env SCHEMA_REGISTRY_HOST=127.0.0.1 SCHEMA_REGISTRY_PORT="$PX_REGISTRY_PORT" \
    SCHEMA_REGISTRY_STORAGE_TYPE=memory SCHEMA_REGISTRY_COMPATIBILITY_LEVEL=BACKWARD "$REGISTRY_BIN"
}

start_redis() {
  mkdir -p "$PX_STATE_DIR/redis"
  spawn redis redis-server --bind 127.0.0.1 --port "$PX_REDIS_PORT" --dir "$PX_STATE_DIR/redis" \
    --save "" --appendonly yes --daemonize no --protected-mode yes
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

kafka_ready() {
  local out="$PX_STATE_DIR/logs/kafka-ready.log"
  if ! java -Dlog4j.configuration="file:$PX_STATE_DIR/kafka/log4j-client.properties" -cp "$KAFKA_LIBS/*" \
      "$HERE/KafkaReady.java" "127.0.0.1:$PX_KAFKA_PORT" "$PX_HEALTH_TIMEOUT" >"$out" 2>&1; then
    tail -5 "$out" >&2
    die "kafka: not ready to create and use topics after ${PX_HEALTH_TIMEOUT}s (probe log: $out; broker log: $(logfile kafka))"
  fi
  log "$(tail -1 "$out")"
}

# ---------------------------------------------------------------- commands
cmd_up() {
  install_all
  local c started=()
  for c in "${COMPONENTS[@]}"; do
    if running "$c"; then continue; fi
    log "$c: starting"
    "start_$c"
    started+=("$c")
  done
  for c in "${COMPONENTS[@]}"; do wait_healthy "$c"; done
  # A broker that was just started is "healthy" (listening, started) before it can serve a new topic: wait
  # until a topic can be created, written and read, so that whatever runs next can use Kafka at once.
  if [[ " ${started[*]} " == *" kafka "* ]]; then kafka_ready; fi
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
  local i
  # Reverse order: the broker last, so clients of the registry/redis do not outlive it.
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop_one "${COMPONENTS[$i]}"; done
  if [ "${1:-}" = "--purge" ]; then log "removing state $PX_STATE_DIR"; rm -rf "$PX_STATE_DIR"; fi
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
  return $bad
}

cmd_logs() {
  local c
  for c in "${@:-${COMPONENTS[@]}}"; do echo "==> $(logfile "$c")"; tail -n "${PX_LOG_LINES:-40}" "$(logfile "$c")" 2>/dev/null || true; done
}

cmd_env() {
  cat <<EOF
export KAFKA_BROKERS=127.0.0.1:$PX_KAFKA_PORT
export SCHEMA_REGISTRY_URL=http://127.0.0.1:$PX_REGISTRY_PORT
export REDIS_URL=redis://127.0.0.1:$PX_REDIS_PORT
export OPA_BIN=$BIN_DIR/opa
EOF
}

case "${1:-}" in
  install) install_all ;;
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  logs) shift; cmd_logs "$@" ;;
  env) cmd_env ;;
  pid) cat "$(pidfile "${2:?usage: $0 pid COMPONENT}")" ;;
  *) echo "usage: $0 install|up|down [--purge]|status|logs [kafka|registry|redis]|env" >&2; exit 2 ;;
esac

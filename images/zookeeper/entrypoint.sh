#!/bin/sh
# ZooKeeper 3.8 with dynamic reconfiguration.
#
# The configuration is generated on the first start only and kept on the data volume:
# ZooKeeper rewrites zoo.cfg and writes zoo.cfg.dynamic.<version> itself after every
# reconfig, so regenerating it on a restart would undo committed membership changes.
#
# First start needs: ZK_SERVER_ID, ZK_ENSEMBLE ("id=address,id=address,...": the committed
# members plus this server; just this server to bootstrap an ensemble of one), ZK_ADDRESS,
# and the ports ZK_CLIENT_PORT, ZK_PEER_PORT, ZK_ELECTION_PORT, ZK_ADMIN_PORT.
# The super-user digest (never in the environment, which `docker inspect` shows) is read
# from /run/mesos-operator/zk-super-digest at EVERY start, not only the first: the operator
# rotates it by replacing the containers one at a time with the new file, and a server that
# kept the digest of its first start would refuse the new credential for good (every
# reconfig NoAuth). Only that one line of the kept zoo.cfg is rewritten (atomically, by a
# rename), so the membership ZooKeeper wrote after its reconfigs stays as it is; no file (or
# an empty one) removes the line: the cluster no longer names a super user.
set -eu
DATA=/var/lib/zookeeper
CONF=$DATA/conf
mkdir -p "$CONF" "$DATA/data"
# A zoo.cfg left empty (a power loss between its write and the disk) is not a config to
# start from, nor a first start: say so and stop, rather than start with no membership.
if [ -f "$CONF/zoo.cfg" ] && [ ! -s "$CONF/zoo.cfg" ]; then
  echo "$CONF/zoo.cfg is empty (a write cut short?): restore it from another server's, or remove the data volume to start this server afresh" >&2
  exit 1
fi
if [ ! -f "$CONF/zoo.cfg" ]; then
  : "${ZK_SERVER_ID:?ZK_SERVER_ID is required on first start}"
  : "${ZK_ENSEMBLE:?ZK_ENSEMBLE is required on first start}"
  : "${ZK_ADDRESS:?ZK_ADDRESS is required on first start}"
  client=${ZK_CLIENT_PORT:-2181}; peer=${ZK_PEER_PORT:-2888}; election=${ZK_ELECTION_PORT:-3888}
  echo "$ZK_SERVER_ID" > "$DATA/data/myid"
  {
    echo "tickTime=2000"
    echo "initLimit=10"
    echo "syncLimit=5"
    echo "dataDir=$DATA/data"
    echo "reconfigEnabled=true"
    echo "standaloneEnabled=false"
    echo "4lw.commands.whitelist=*"
    echo "admin.enableServer=true"
    echo "admin.serverAddress=$ZK_ADDRESS"
    echo "admin.serverPort=${ZK_ADMIN_PORT:-8081}"
    echo "dynamicConfigFile=$CONF/zoo.cfg.dynamic"
  } > "$CONF/zoo.cfg.tmp"
  : > "$CONF/zoo.cfg.dynamic"
  echo "$ZK_ENSEMBLE" | tr ',' '\n' | while IFS='=' read -r id addr; do
    [ -n "$id" ] || continue
    echo "server.$id=$addr:$peer:$election:participant;0.0.0.0:$client" >> "$CONF/zoo.cfg.dynamic"
  done
  sync "$CONF/zoo.cfg.tmp" "$CONF/zoo.cfg.dynamic"
  mv "$CONF/zoo.cfg.tmp" "$CONF/zoo.cfg"
fi
# The digest of this start: every other line as ZooKeeper last wrote it, then the digest.
DIGEST_FILE=/run/mesos-operator/zk-super-digest
KEY=DigestAuthenticationProvider.superDigest
(
  umask 077
  sed "/^[[:space:]]*$KEY[[:space:]]*=/d" "$CONF/zoo.cfg" > "$CONF/zoo.cfg.digest-tmp"
  if [ -s "$DIGEST_FILE" ]; then
    printf '%s=%s\n' "$KEY" "$(head -n 1 "$DIGEST_FILE" | tr -d '\r')" >> "$CONF/zoo.cfg.digest-tmp"
  fi
)
if cmp -s "$CONF/zoo.cfg.digest-tmp" "$CONF/zoo.cfg"; then
  rm -f "$CONF/zoo.cfg.digest-tmp"
else
  sync "$CONF/zoo.cfg.digest-tmp"
  mv "$CONF/zoo.cfg.digest-tmp" "$CONF/zoo.cfg"
fi
CP=/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar
for j in slf4j-api slf4j-log4j12 log4j-1.2 servlet-api jetty9-server jetty9-servlet jetty9-util jetty9-http jetty9-io jetty9-security jackson-databind jackson-core jackson-annotations netty commons-cli metrics-core snappy-java jline; do
  for f in /usr/share/java/$j.jar /usr/share/java/$j*.jar; do
    [ -f "$f" ] && CP="$CP:$f" && break
  done
done
exec java -Xmx${ZK_HEAP:-64m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
  -Dzookeeper.log.dir=/tmp -Dlog4j.configuration=file:/etc/zookeeper/log4j-console.properties \
  -cp "$CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$CONF/zoo.cfg"

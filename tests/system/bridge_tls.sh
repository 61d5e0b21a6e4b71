#!/usr/bin/env bash
# bridge_tls.sh - the bridge toward a broker that wants TLS with a client
# certificate (cafile, certfile, keyfile, tls_insecure) and that wants a
# user name and password (username, password). The certificates are
# made here with openssl: a CA, a server certificate for 127.0.0.1 and
# localhost, the bridge's and a subscriber's client certificates, one from
# another, untrusted CA, and a server certificate for another name. One
# mosquitto has three listeners: TLS requiring a client certificate (the
# certificate's CN is the user name), the same with the wrong server name,
# and plain TCP with allow_anonymous false and a password file. For each
# configuration the bridge is restarted and must exit 0 on SIGTERM; a
# refused broker connection is CONNACK congestion (rc 1) with a clear log
# line, and the bridge keeps serving.
. "$(dirname "$0")/lib.sh"

require_tools
command -v openssl >/dev/null 2>&1 || bail "openssl is not installed"
command -v mosquitto_passwd >/dev/null 2>&1 || bail "mosquitto_passwd is not installed"

# ---------------------------------------------------------------- the PKI

PKI=$T/pki
mkdir -p "$PKI"
cat >"$PKI/openssl.cnf" <<'EOF2'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[othername]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:elsewhere.invalid
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
EOF2

# pki_key NAME: an EC P-256 key, unencrypted (quick to make).
pki_key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$1.key"
}

# pki_ca NAME CN: a self-signed CA.
pki_ca() {
	pki_key "$1" &&
		openssl req -config "$PKI/openssl.cnf" -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" \
			-days 2 -extensions ca -out "$PKI/$1.crt"
}

# pki_leaf NAME CN EXTENSIONS CA: a certificate signed by CA.
PKI_SERIAL=100
pki_leaf() {
	PKI_SERIAL=$((PKI_SERIAL + 1))
	pki_key "$1" &&
		openssl req -config "$PKI/openssl.cnf" -new -key "$PKI/$1.key" -subj "/CN=$2" \
			-out "$PKI/$1.csr" &&
		openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$4.crt" -CAkey "$PKI/$4.key" \
			-set_serial "$PKI_SERIAL" -days 2 -extfile "$PKI/openssl.cnf" -extensions "$3" \
			-out "$PKI/$1.crt"
}

{
	pki_ca ca "snbridge test CA" &&
		pki_ca rogue "rogue CA" &&
		pki_leaf server 127.0.0.1 server ca &&
		pki_leaf othername elsewhere.invalid othername ca &&
		pki_leaf bridge sn-bridge client ca &&
		pki_leaf sub sn-test-sub client ca &&
		pki_leaf evil sn-bridge client rogue
} >"$T/pki.out" 2>&1 || { show "openssl" "$T/pki.out"; bail "could not make the certificates"; }

# fails COMMAND...: COMMAND exits non-zero.
fails() {
	! "$@"
}

# verifies CERT...: every CERT verifies against the test CA.
verifies() {
	openssl verify -CAfile "$PKI/ca.crt" "$@" >/dev/null 2>&1
}
check "the test PKI: the server and client certificates verify against the CA" \
	verifies "$PKI/server.crt" "$PKI/othername.crt" "$PKI/bridge.crt" "$PKI/sub.crt"
check "the test PKI: the rogue CA's client certificate does not" fails verifies "$PKI/evil.crt"

# ---------------------------------------------------------------- the broker

# The bridge's password has a '#' and a blank inside: the configuration
# file keeps both.
BRIDGE_USER=snbridge
BRIDGE_PASS='sn p#ss'
mosquitto_passwd -c -b "$T/passwd" "$BRIDGE_USER" "$BRIDGE_PASS" >/dev/null 2>&1 ||
	bail "mosquitto_passwd could not write $T/passwd"

# Three distinct free TCP ports.
new_port() {
	local p
	while :; do
		p=$(freeport tcp) || bail "no free TCP port"
		case " $* " in *" $p "*) ;; *) echo "$p"; return 0 ;; esac
	done
}
TLS_PORT=$(new_port)
NAME_PORT=$(new_port "$TLS_PORT")
BROKER_PORT=$(new_port "$TLS_PORT" "$NAME_PORT")
export TLS_PORT NAME_PORT BROKER_PORT PKI

# lib.sh's start_broker writes allow_anonymous before any line of ours,
# and per_listener_settings must come before it: a broker of our own.
# BROKER_PORT is the password listener, so that the bridge's base
# configuration points there; the TLS cases give "broker" again (the last
# one wins).
secure_broker_answers() {
	mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$PKI/ca.crt" \
		--cert "$PKI/sub.crt" --key "$PKI/sub.key" -i "sn-ping-$$" -t sn-test/ping -n \
		>/dev/null 2>&1 &&
		mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -u "$BRIDGE_USER" -P "$BRIDGE_PASS" \
			-i "sn-ping-$$" -t sn-test/ping -n >/dev/null 2>&1
}

start_secure_broker() {
	cat >"$T/mosquitto.conf" <<EOF2
per_listener_settings true
persistence false
log_dest file $T/mosquitto.log
log_type all
log_timestamp_format %H:%M:%S
user $(id -un)

listener $TLS_PORT 127.0.0.1
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
require_certificate true
use_identity_as_username true

listener $NAME_PORT 127.0.0.1
cafile $PKI/ca.crt
certfile $PKI/othername.crt
keyfile $PKI/othername.key
require_certificate true
use_identity_as_username true

listener $BROKER_PORT 127.0.0.1
allow_anonymous false
password_file $T/passwd
EOF2
	mosquitto -c "$T/mosquitto.conf" >>"$T/mosquitto.out" 2>&1 &
	BROKER_PID=$!
	track "$BROKER_PID"
	if ! wait_until 10 secure_broker_answers; then
		show "mosquitto output" "$T/mosquitto.out"
		bail "mosquitto with TLS and password listeners did not start within 10 s"
	fi
}

# tls_sub_start FILE TOPIC: mosquitto_sub over TLS with its own client
# certificate, "topic qos payload" lines to FILE.
tls_sub_start() {
	local file=$1 topic=$2 id="sn-tls-sub-$$"
	: >"$file"
	stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$PKI/ca.crt" \
		--cert "$PKI/sub.crt" --key "$PKI/sub.key" -i "$id" -q 2 -F '%t %q %p' -t "$topic" \
		>"$file" 2>>"$T/sub.err" &
	track "$!"
	wait_grep "$T/mosquitto.log" "Sending SUBACK to $id" 10 ||
		bail "mosquitto_sub over TLS was not subscribed within 10 s"
}

# tls_pub TOPIC MESSAGE: mosquitto_pub over TLS with a client certificate.
tls_pub() {
	mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$PKI/ca.crt" \
		--cert "$PKI/sub.crt" --key "$PKI/sub.key" -q 1 -t "$1" -m "$2"
}
export -f tls_pub

start_secure_broker
tls_sub_start "$T/up.txt" 'tls/#'

check "sanity: the broker refuses a TLS client with the rogue CA's certificate" \
	fails mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$PKI/ca.crt" \
	--cert "$PKI/evil.crt" --key "$PKI/evil.key" -t sn-test/x -n -q 0 --quiet
check "sanity: the broker refuses a wrong password" \
	fails mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -u "$BRIDGE_USER" -P wrong \
	-t sn-test/x -n -q 0 --quiet

# ---------------------------------------------------------------- the bridge

# bridge_case NAME CONFIG-LINE...: stop the running bridge (it must exit 0
# on SIGTERM) and start one with the base configuration plus these lines.
# The log is kept whole; case_has and wait_case look at this run's part.
CASE=
CASE_LINE=0
bridge_case() {
	local rc
	if [ -n "$BRIDGE_PID" ]; then
		stop_bridge
		rc=$?
		check "$CASE: sn-bridge exits 0 on SIGTERM (exit $rc)" test "$rc" -eq 0
	fi
	CASE=$1
	shift
	: >"$T/extra.conf"
	bridge_conf "$@"
	CASE_LINE=0
	[ -f "$BRIDGE_LOG" ] && CASE_LINE=$(wc -l <"$BRIDGE_LOG")
	start_bridge
}

# case_has PATTERN [N]: at least N (default 1) lines of this run's log match.
case_has() {
	[ "$(case_count "$1")" -ge "${2:-1}" ]
}

case_count() {
	tail -n +"$((CASE_LINE + 1))" "$BRIDGE_LOG" | grep -c -e "$1"
}

# wait_case SECONDS PATTERN [N]
wait_case() {
	wait_until "$1" case_has "$2" "${3:-1}"
}

# refused_checks ID CAUSE-PATTERN: after CONNACK congestion for client ID:
# one warn line says the client was refused, a warn line names the cause,
# the broker never accepted it; the bridge still answers SEARCHGW and
# refuses the next client alike, again with the cause in its log.
refused_checks() {
	local id=$1 cause=$2 n
	check "$CASE: one warn line says client $id was refused" \
		wait_case 10 "warn: client $id: broker refused"
	n=$(case_count "client $id: broker refused")
	check "$CASE: ... exactly one such line (was $n)" test "$n" -eq 1
	check "$CASE: a warn line names the cause for $id ($cause)" \
		case_has "warn: .*($id).*\($cause\)"
	check "$CASE: the broker never accepted $id" \
		lacks "$T/mosquitto.log" "New client connected from .* as $id "
	probe_check "$CASE: the bridge keeps serving: SEARCHGW, and the next CONNECT is refused alike" \
		"$id-again" <<EOF2
send SEARCHGW radius=0
expect GWINFO
send CONNECT clean=1 duration=60 id=$id-2
expect CONNACK rc=1 within=10
EOF2
	check "$CASE: a warn line names the cause for $id-2 too" \
		wait_case 10 "warn: .*($id-2).*\($cause\)"
	check "$CASE: sn-bridge is still running" bridge_alive
}

# ---- TLS with the right CA and client certificate, transparent mode.
bridge_case "tls" "broker 127.0.0.1:$TLS_PORT" "cafile $PKI/ca.crt" \
	"certfile $PKI/bridge.crt" "keyfile $PKI/bridge.key"
check "tls: the bridge says it talks to the broker over TLS" \
	case_has "info: broker 127.0.0.1:$TLS_PORT, MQTT .* over TLS"
probe_check "tls: CONNECT gets CONNACK rc 0; QoS 1 PUBLISH gets PUBACK rc 0; downlink works" t1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-tls
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=tls/up
expect REGACK msg_id=1 rc=0 topic_id=!0 save=tid
send PUBLISH qos=1 topic_id=$tid msg_id=2 data=over-tls
expect PUBACK msg_id=2 topic_id=$tid rc=0
exec wait_grep $T/up.txt "^tls/up 1 over-tls$" 10
send SUBSCRIBE qos=1 msg_id=3 topic=tls/down
expect SUBACK msg_id=3 rc=0
exec tls_pub tls/down from-a-tls-client
expect PUBLISH qos=1 data=from-a-tls-client
ack
EOF2
check "tls: the TLS subscriber got the PUBLISH once, at QoS 1" \
	test "$(count_exact "$T/up.txt" "tls/up 1 over-tls")" -eq 1
check "tls: the broker knows the bridge's connection by its certificate (u'sn-bridge')" \
	grep -q "New client connected from .* as st-tls (p[0-9], c1, k60, u'sn-bridge')" \
	"$T/mosquitto.log"

# ---- the same in aggregating mode: the shared connection over TLS.
bridge_case "tls-aggregating" "mode aggregating" "client_id st-tls-agg" \
	"broker 127.0.0.1:$TLS_PORT" "cafile $PKI/ca.crt" \
	"certfile $PKI/bridge.crt" "keyfile $PKI/bridge.key"
check "tls-aggregating: the shared connection comes up" wait_case 10 "shared broker connection up"
probe_check "tls-aggregating: CONNECT rc 0, QoS 1 PUBLISH reaches the TLS subscriber" ta1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-tls-a1
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=tls/agg
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=1 topic_id=$tid msg_id=2 data=shared-tls
expect PUBACK msg_id=2 rc=0
exec wait_grep $T/up.txt "^tls/agg 1 shared-tls$" 10
EOF2
check "tls-aggregating: the broker knows the shared connection by its certificate" \
	grep -q "New client connected from .* as st-tls-agg (p[0-9], c[01], k[0-9]*, u'sn-bridge')" \
	"$T/mosquitto.log"

# ---- a client certificate from a CA the broker does not trust.
bridge_case "tls-rogue-cert" "broker 127.0.0.1:$TLS_PORT" "cafile $PKI/ca.crt" \
	"certfile $PKI/evil.crt" "keyfile $PKI/evil.key"
probe_check "tls-rogue-cert: CONNECT gets CONNACK rc 1 (congestion)" tr1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-rogue
expect CONNACK rc=1 within=10
EOF2
refused_checks st-rogue 'SSL\|TLS\|certificate\|unknown ca'

# ---- no client certificate at all.
bridge_case "tls-no-cert" "broker 127.0.0.1:$TLS_PORT" "cafile $PKI/ca.crt"
probe_check "tls-no-cert: CONNECT gets CONNACK rc 1 (congestion)" tn1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-nocert
expect CONNACK rc=1 within=10
EOF2
refused_checks st-nocert 'SSL\|TLS\|certificate\|handshake'

# ---- the bridge does not trust the broker: cafile of another CA.
bridge_case "tls-wrong-cafile" "broker 127.0.0.1:$TLS_PORT" "cafile $PKI/rogue.crt" \
	"certfile $PKI/bridge.crt" "keyfile $PKI/bridge.key"
probe_check "tls-wrong-cafile: CONNECT gets CONNACK rc 1 (congestion)" tw1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-wrongca
expect CONNACK rc=1 within=10
EOF2
refused_checks st-wrongca 'certificate verify failed'

# ---- the broker's certificate names another host: refused, unless
# tls_insecure skips the name check.
bridge_case "tls-wrong-name" "broker 127.0.0.1:$NAME_PORT" "cafile $PKI/ca.crt" \
	"certfile $PKI/bridge.crt" "keyfile $PKI/bridge.key"
probe_check "tls-wrong-name: CONNECT gets CONNACK rc 1 (congestion)" tx1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-wrongname
expect CONNACK rc=1 within=10
EOF2
refused_checks st-wrongname 'host name verification failed\|certificate verify failed'

bridge_case "tls-insecure" "broker 127.0.0.1:$NAME_PORT" "cafile $PKI/ca.crt" \
	"certfile $PKI/bridge.crt" "keyfile $PKI/bridge.key" "tls_insecure true"
probe_check "tls-insecure: the same broker is accepted with tls_insecure true" ti1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-insecure
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=tls/insecure
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=1 topic_id=$tid msg_id=2 data=no-name-check
expect PUBACK msg_id=2 rc=0
exec wait_grep $T/up.txt "^tls/insecure 1 no-name-check$" 10
EOF2

# ---- user name and password (plain listener, allow_anonymous false).
bridge_case "auth" "username $BRIDGE_USER" "password $BRIDGE_PASS"
probe_check "auth: right password: CONNACK rc 0, QoS 1 PUBLISH reaches the TLS subscriber" a1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-auth
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=tls/auth
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=1 topic_id=$tid msg_id=2 data=with-password
expect PUBACK msg_id=2 rc=0
exec wait_grep $T/up.txt "^tls/auth 1 with-password$" 10
EOF2
check "auth: the broker knows the bridge's connection by its user name" \
	grep -q "New client connected from .* as st-auth (p[0-9], c1, k60, u'$BRIDGE_USER')" \
	"$T/mosquitto.log"

bridge_case "auth-anonymous"
probe_check "auth-anonymous: without credentials CONNECT gets CONNACK rc 1" an1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-anon
expect CONNACK rc=1 within=10
EOF2
refused_checks st-anon 'not authori[sz]ed'

bridge_case "auth-wrong-password" "username $BRIDGE_USER" "password not-the-password"
probe_check "auth-wrong-password: CONNECT gets CONNACK rc 1 (congestion)" aw1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-badpw
expect CONNACK rc=1 within=10
EOF2
refused_checks st-badpw 'not authori[sz]ed'
# The shared and statistics connections retry every reconnect_max_s (1 s
# here): the refusal is news once; every retry must not log it at warn.
check "auth-wrong-password: the shared connection retried three times" \
	wait_case 10 "broker conn 0 (.*): reconnecting in" 3
n=$(case_count "warn: broker conn 0 (.*): refused")
check "auth-wrong-password: its refusal is logged at warn once, not on every retry (was $n)" \
	test "$n" -le 1
n=$(case_count "warn: broker own 0 (.*): refused")
check "auth-wrong-password: so is the statistics connection's (was $n)" test "$n" -le 1

# The broker is given the bridge's password (SIGHUP reloads the password
# file): the running bridge connects the next client, and the shared
# connection comes up on its own.
mosquitto_passwd -b "$T/passwd" "$BRIDGE_USER" not-the-password >/dev/null 2>&1 ||
	bail "mosquitto_passwd could not update $T/passwd"
kill -HUP "$BROKER_PID"
wait_grep "$T/mosquitto.log" "Reloading config" 10 || bail "mosquitto did not reload its configuration"
probe_check "auth-wrong-password: once the broker takes the password, the same bridge connects" aw3 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-badpw
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=tls/later
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=1 topic_id=$tid msg_id=2 data=accepted-at-last
expect PUBACK msg_id=2 rc=0
exec wait_grep $T/up.txt "^tls/later 1 accepted-at-last$" 10
EOF2
check "auth-wrong-password: the shared connection comes up again by itself" \
	wait_case 10 "broker conn 0 (.*): connected to"
# lib.sh's EXIT trap stops this last bridge and checks its exit status.

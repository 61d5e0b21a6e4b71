#!/usr/bin/env bash
# Installs the Debian packages snbridge needs when run as root, otherwise
# prints the one apt-get line that would, and fails. Used by `make deps`,
# which `make`, `make test` and `make demo` call first.
set -u

# package: what needs it
pkgs=(
	gcc make pkg-config         # the build
	libmosquitto-dev            # bridge: broker adapter
	libsodium-dev               # link frames: AEAD
	zlib1g-dev                  # link frames: deflate
	libcmocka-dev               # unit tests
	mosquitto mosquitto-clients # system tests and the demo: a private broker
	tshark                      # the independent decoder in the tests
	openssl                     # test certificates for TLS to the broker
)
if [ "${1:-}" = "--fuzz" ]; then
	pkgs+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "snbridge: missing Debian packages; as root run:" >&2
	echo "  $line" >&2
	exit 1
fi
echo "snbridge: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, quietly.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >&2 || { echo "snbridge: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq "${missing[@]}" >&2 || { echo "snbridge: apt-get install failed: $line" >&2; exit 1; }

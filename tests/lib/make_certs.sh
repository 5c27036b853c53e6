#!/usr/bin/env bash
# Test certificates for the TLS tests (openssl CLI, RSA 2048), written into DIR:
#
#   ca.pem, ca-key.pem                   a test CA (10 years)
#   server-cert.pem, server-key.pem      signed by the CA; subjectAltName IP:127.0.0.1 and
#                                        DNS:localhost, serverAuth (10 years)
#   client-cert.pem, client-key.pem      signed by the CA, clientAuth (client-certificate tests)
#   other-ca.pem                         an unrelated CA ("wrong CA" checks); its key is dropped
#   expired-cert.pem, expired-key.pem    signed by the CA, valid only in 2020 (long expired);
#                                        `openssl ca`, as `openssl x509 -req` cannot back-date
#
#   tests/lib/make_certs.sh DIR
#
# Does nothing when DIR/ca.pem exists; ca.pem is written last, so a DIR that has it is
# complete. Quiet on success; on failure openssl's output goes to stderr.
set -euo pipefail

readonly DAYS=3650
die() {
    echo "make_certs.sh: $*" >&2
    exit 1
}

[[ $# -eq 1 ]] || die "usage: $0 DIR"
dir=$1
[[ -e $dir/ca.pem ]] && exit 0
command -v openssl >/dev/null 2>&1 || die "openssl is not installed (apt-get install openssl)"
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.make_certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# All of openssl's output goes to a log that is shown only when a step fails.
log=$tmp/openssl.log
ossl() { openssl "$@" >>"$log" 2>&1 || { cat "$log" >&2; die "openssl $1 failed"; }; }

# One configuration for every step: no system openssl.cnf, the extensions of each kind of
# certificate, and the minimal `openssl ca` setup that signs the expired certificate.
mkdir "$tmp/ca-db"
: >"$tmp/ca-db/index.txt"
openssl rand -hex 8 >"$tmp/ca-db/serial"
cat >"$tmp/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca]
default_ca = test_ca
[test_ca]
database = $tmp/ca-db/index.txt
new_certs_dir = $tmp/ca-db
certificate = $tmp/ca.pem
private_key = $tmp/ca-key.pem
serial = $tmp/ca-db/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
EOF
cnf=(-config "$tmp/openssl.cnf")
serial() { echo "0x$(openssl rand -hex 8)"; }

# self_signed NAME CN: NAME.pem and NAME-key.pem, a CA certificate.
self_signed() {
    ossl req "${cnf[@]}" -x509 -newkey rsa:2048 -noenc -sha256 -days "$DAYS" -set_serial "$(serial)" \
        -subj "/CN=$2" -extensions ca_ext -keyout "$tmp/$1-key.pem" -out "$tmp/$1.pem"
}
# request NAME CN: NAME-key.pem and the request NAME.csr.
request() {
    ossl req "${cnf[@]}" -new -newkey rsa:2048 -noenc -subj "/CN=$2" -keyout "$tmp/$1-key.pem" \
        -out "$tmp/$1.csr"
}
# signed NAME CN EXTENSIONS: NAME-cert.pem, signed by the test CA, valid from now.
signed() {
    request "$1" "$2"
    ossl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca-key.pem" -sha256 \
        -set_serial "$(serial)" -days "$DAYS" -extfile "$tmp/openssl.cnf" -extensions "$3" \
        -out "$tmp/$1-cert.pem"
}

self_signed ca "ringsql test CA"
self_signed other-ca "ringsql unrelated test CA"
signed server localhost server_ext
signed client ringsql_test client_ext
request expired localhost
ossl ca "${cnf[@]}" -batch -notext -md sha256 -startdate 20200101000000Z -enddate 20201231000000Z \
    -extfile "$tmp/openssl.cnf" -extensions server_ext -in "$tmp/expired.csr" -out "$tmp/expired-cert.pem"

chmod 600 "$tmp"/*-key.pem
for f in ca-key.pem server-cert.pem server-key.pem client-cert.pem client-key.pem other-ca.pem \
    expired-cert.pem expired-key.pem ca.pem; do
    mv -f "$tmp/$f" "$dir/$f"
done

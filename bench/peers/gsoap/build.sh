#!/usr/bin/env bash
# Generates gSOAP C bindings from the project's WSDL and builds void_client into OUT_DIR.
#   build.sh WSDL OUT_DIR
# Needs the Debian packages gsoap, libgsoap-dev, libssl-dev and a C compiler (run.sh installs them).
set -euo pipefail
wsdl=$(realpath "$1")
out=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
cd "$out"

wsdl2h -c -o service.h "$wsdl" >wsdl2h.log 2>&1 || { cat wsdl2h.log >&2; exit 1; }

# wsdl2h folds the SOAP 1.1 and the SOAP 1.2 binding into one service and marks every operation
# of both with the protocol "SOAP"; the stubs then take the version from the namespace table,
# whose first envelope namespace is 1.2, so both would send SOAP 1.2. The second binding's
# operations carry a trailing underscore; pin each binding's version explicitly.
sed -E -i \
  -e 's/^(\/\/gsoap ns1 +service method-protocol:[[:space:]]+[A-Za-z0-9]+_) SOAP$/\1 SOAP1.2/' \
  -e 's/^(\/\/gsoap ns1 +service method-protocol:[[:space:]]+[A-Za-z0-9]+[A-Za-z0-9]) SOAP$/\1 SOAP1.1/' \
  service.h
grep -Eq 'method-protocol:[[:space:]]+DoCreditCardSecondaryVoid SOAP1\.1$' service.h
grep -Eq 'method-protocol:[[:space:]]+DoCreditCardSecondaryVoid_ SOAP1\.2$' service.h

soapcpp2 -c -C -x -L -I/usr/share/gsoap/import service.h >soapcpp2.log 2>&1 || { cat soapcpp2.log >&2; exit 1; }

# Sending through the SOAP 1.1 stub must set version 1, through the SOAP 1.2 stub version 2.
check_version() { # function version
  awk -v fn="$1" -v want="soap_set_version(soap, $2);" '
    index($0, "int SOAP_FMAC6 " fn "(") { inside = 1 }
    inside && index($0, want) { found = 1; exit }
    inside && /^}/ { exit }
    END { exit !found }' soapClient.c \
    || { echo "gsoap/build.sh: $1 does not set SOAP version $2" >&2; exit 1; }
}
check_version soap_send___ns1__DoCreditCardSecondaryVoid 1
check_version soap_send___ns1__DoCreditCardSecondaryVoid_ 2

cc -O2 -DWITH_OPENSSL -I. -o void_client "$here/void_client.c" soapC.c soapClient.c \
  -lgsoapssl -lssl -lcrypto
echo "built $out/void_client"

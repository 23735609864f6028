#!/usr/bin/env python3
"""Void payments with zeep, the way a Python integration would, and time it.

Reads the project's WSDL, picks the SOAP 1.1 or 1.2 port, and sends one
DoCreditCardSecondaryVoid per payment ID, one after the other, through a single
requests.Session (one keep-alive connection). Prints one JSON line.

Client CPU is this process's user + system time (getrusage RUSAGE_SELF) around
the timed loop only: loading the WSDL and building the client are not counted;
opening the connection (and the TLS handshake) happens in the first call and is.
"""
import argparse
import json
import os
import resource
import sys
import time

import requests
import zeep
from zeep.transports import Transport

NAMESPACE = "http://online.instamed.com/TransactionServices/Payment/v1r3/"
PORTS = {"1.1": "ServiceSoap", "1.2": "ServiceSoap12"}


def cpu_seconds():
    """(user, system) CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def percentile_ms(sorted_seconds, share):
    # Same rule as `instamed-soap bench`: the sample at round((n - 1) * share).
    if not sorted_seconds:
        return 0.0
    return sorted_seconds[round((len(sorted_seconds) - 1) * share)] * 1e3


def connections_opened(session):
    """How many connections urllib3 opened for this session (1 when keep-alive held)."""
    count = 0
    for adapter in session.adapters.values():
        manager = getattr(adapter, "poolmanager", None)  # zeep mounts a file:// adapter too
        if manager is not None:
            for key in list(manager.pools.keys()):
                count += manager.pools[key].num_connections
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wsdl", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--soap", choices=sorted(PORTS), default="1.1")
    parser.add_argument("--ca-file", help="CA certificate (PEM) that signs the server's certificate")
    parser.add_argument("--ids", required=True, help="payment IDs to void, one a line")
    parser.add_argument("--account-id", default=os.environ.get("INSTAMED_ACCOUNT_ID", ""))
    parser.add_argument("--password", default=os.environ.get("INSTAMED_PASSWORD", ""))
    parser.add_argument("--merchant-id", default="123123123")
    parser.add_argument("--store-id", default="123")
    parser.add_argument("--terminal-id", default="123")
    parser.add_argument("--calls", type=int, help="void only the first N IDs")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    with open(args.ids, encoding="ascii") as file:
        ids = [line.strip() for line in file if line.strip()]
    if args.calls is not None:
        ids = ids[: args.calls]
    if not ids:
        sys.exit("no payment IDs to void")

    session = requests.Session()
    session.auth = (args.account_id, args.password)
    # Without this, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment replace
    # session.verify (zeep passes no verify of its own), and proxies would be looked up.
    session.trust_env = False
    if args.ca_file:
        session.verify = args.ca_file
    transport = Transport(session=session, timeout=args.timeout, operation_timeout=args.timeout)
    client = zeep.Client(args.wsdl, transport=transport)
    service = client.create_service("{%s}%s" % (NAMESPACE, PORTS[args.soap]), args.endpoint)

    latencies = []
    failures = 0
    first_failure = None
    cpu_before, started = cpu_seconds(), time.perf_counter()
    for payment in ids:
        call_started = time.perf_counter()
        try:
            result = service.DoCreditCardSecondaryVoid(
                transaction={
                    "MerchantID": args.merchant_id,
                    "StoreID": args.store_id,
                    "TerminalID": args.terminal_id,
                    "PrimaryTransactionID": payment,
                    "PrimaryCardPresentStatus": "PresentManualKey",
                }
            )
            voided = (
                result is not None
                and result.TransactionStatus == "C"
                and result.PrimaryTransactionStatus == "V"
                and (result.PrimaryTransactionID or "").upper() == payment
            )
            if not voided and first_failure is None:
                first_failure = "%s not voided: %s" % (payment, ", ".join(
                    "%s=%s" % (name, getattr(result, name, None)) for name in (
                        "TransactionStatus", "PrimaryTransactionStatus", "PrimaryTransactionID",
                        "ResponseCode", "ResponseMessage")))
        except Exception as error:  # a fault, a transport error: counted, the run goes on
            voided = False
            if first_failure is None:
                first_failure = "%s: %s: %s" % (payment, type(error).__name__, error)
        latencies.append(time.perf_counter() - call_started)
        failures += not voided
    wall = time.perf_counter() - started
    cpu_after = cpu_seconds()
    user, system = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
    cpu = user + system
    connections = connections_opened(session)

    if first_failure:
        print("zeep: first failure: %s" % first_failure, file=sys.stderr)
    latencies.sort()
    calls = len(ids)
    print(json.dumps({
        "client": "zeep",
        "protocol": "soap12" if args.soap == "1.2" else "soap11",
        "scheme": "https" if args.endpoint.startswith("https:") else "http",
        "calls": calls,
        "failures": failures,
        "calls_per_s": calls / wall,
        "cpu_ms_per_call": cpu * 1e3 / calls,
        "user_ms_per_call": user * 1e3 / calls,
        "sys_ms_per_call": system * 1e3 / calls,
        "p50_ms": percentile_ms(latencies, 0.50),
        "p99_ms": percentile_ms(latencies, 0.99),
        "connections": connections,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "version": "zeep %s, lxml %s, requests %s" % (
            zeep.__version__, __import__("lxml.etree").etree.__version__, requests.__version__),
    }))
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

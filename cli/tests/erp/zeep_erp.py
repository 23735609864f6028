"""An ERP written with zeep, as many Python billing systems are: it reads the service's WSDL
from the gateway, then voids each payment three times at once (the retries of an impatient
ERP) and once more afterwards, over SOAP 1.1 or 1.2. A fault is asked again, as an ERP's retry
loop does, until the answer is settled. One JSON line per settled answer on stdout.

Usage: zeep_erp.py WSDL_URL CLIENT SECRET SOAP_VERSION PAYMENT...
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.transports import Transport

OUTLET = {"MerchantID": "123123123", "StoreID": "123", "TerminalID": "456"}


def connect(wsdl, client, secret, version):
    session = requests.Session()
    session.auth = (client, secret)
    zeep = Client(wsdl, transport=Transport(session=session), settings=Settings(strict=True))
    port = "ServiceSoap12" if version == "1.2" else "ServiceSoap"
    return zeep.bind("Service", port)


def void(service, payment):
    faults = []
    while len(faults) < 100:
        try:
            result = service.DoCreditCardSecondaryVoid(
                transaction=dict(OUTLET, PrimaryTransactionID=payment)
            )
        except Fault as fault:
            faults.append(fault.code)
            time.sleep(0.1)
            continue
        return {
            "payment": payment,
            "TransactionStatus": result.TransactionStatus,
            "PrimaryTransactionStatus": result.PrimaryTransactionStatus,
            "PrimaryTransactionID": result.PrimaryTransactionID,
            "faults": faults,
        }
    return {"payment": payment, "faults": faults}


def main():
    wsdl, client, secret, version, *payments = sys.argv[1:]
    service = connect(wsdl, client, secret, version)
    with ThreadPoolExecutor(max_workers=3 * len(payments)) as pool:
        at_once = [pool.submit(void, service, p) for p in payments for _ in range(3)]
        answers = [f.result() for f in at_once]
    answers += [void(service, p) for p in payments]
    for answer in answers:
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Peer of vault-kubernetes-token-renewer, written the way a user would
with Debian's python3-hvac: renew the token in VAULT_TOKEN_PATH at once,
then again at two thirds of each lease, until SIGTERM.

Benchmark code only (bench/run.py); never shipped.
"""
import logging
import os
import signal
import sys
import time

import hvac

logging.basicConfig(format="%(asctime)s %(message)s",
                    datefmt="%Y/%m/%d %H:%M:%S", level=logging.INFO)


def stop(signum, frame):
    logging.info("signal received - stop execution")
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
with open(os.environ["VAULT_TOKEN_PATH"]) as f:
    token = f.read().strip()
vault = hvac.Client(url=os.environ["VAULT_ADDR"], token=token,
                    verify=os.environ.get("VAULT_CACERT", True))
increment = os.environ.get("VAULT_TTL") or None
logging.info("start renewer loop")
while True:
    try:
        lease = vault.auth.token.renew_self(
            increment=increment)["auth"]["lease_duration"]
        logging.info("token renewed")
        wait = lease * 2 / 3
    except (hvac.exceptions.VaultError, OSError) as exc:
        logging.info("token renewal failed: %s", type(exc).__name__)
        wait = 1
    time.sleep(wait)

#!/usr/bin/python3
"""Peer of vault-kubernetes-authenticator, written the way a user would
with Debian's python3-hvac: log in with the pod's service-account JWT
(Kubernetes auth) and write the token to VAULT_TOKEN_PATH.

Benchmark code only (bench/run.py); never shipped.
"""
import logging
import os

import hvac

logging.basicConfig(format="%(asctime)s %(message)s",
                    datefmt="%Y/%m/%d %H:%M:%S", level=logging.INFO)
sa = os.environ.get("SERVICE_ACCOUNT_DIR",
                    "/var/run/secrets/kubernetes.io/serviceaccount")
with open(os.path.join(sa, "token")) as f:
    jwt = f.read().strip()
client = hvac.Client(url=os.environ["VAULT_ADDR"],
                     verify=os.environ.get("VAULT_CACERT", True))
answer = client.auth.kubernetes.login(
    os.environ["VAULT_ROLE"], jwt,
    mount_point=os.environ.get("VAULT_AUTH_MOUNT_PATH", "kubernetes"))
path = os.environ["VAULT_TOKEN_PATH"]
tmp = "%s.tmp.%d" % (path, os.getpid())
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
with os.fdopen(fd, "w") as f:
    f.write(answer["auth"]["client_token"])
os.replace(tmp, path)
logging.info("successfully authenticated to vault")

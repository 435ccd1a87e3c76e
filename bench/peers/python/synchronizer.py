#!/usr/bin/python3
"""Peer of vault-kubernetes-synchronizer, written the way a user would
with Debian's python3-hvac and python3-kubernetes: read each KV v2 secret
of VAULT_SECRETS (entries "mount/path" or "mount/dir/" for one directory
level, optionally ":name"), then create or update a Secret annotated with
its Vault path for each, then delete managed Secrets no longer wanted.
Every Vault read happens before any Kubernetes write.

Benchmark code only (bench/run.py); never shipped.
"""
import base64
import json
import logging
import os

import hvac
from hvac.exceptions import InvalidPath
from kubernetes import client as k8s
from kubernetes.config.incluster_config import InClusterConfigLoader

logging.basicConfig(format="%(asctime)s %(message)s",
                    datefmt="%Y/%m/%d %H:%M:%S", level=logging.INFO)
log = logging.info
sa = os.environ.get("SERVICE_ACCOUNT_DIR",
                    "/var/run/secrets/kubernetes.io/serviceaccount")
ann = os.environ.get("SYNCHRONIZER_ANNOTATION") or "vault-secret"
prefix = os.environ.get("SECRET_PREFIX", "")
namespace = os.environ.get("POD_NAMESPACE")
if not namespace:
    with open(os.path.join(sa, "namespace")) as f:
        namespace = f.read().strip()
with open(os.environ["VAULT_TOKEN_PATH"]) as f:
    token = f.read().strip()

vault = hvac.Client(url=os.environ["VAULT_ADDR"], token=token,
                    verify=os.environ.get("VAULT_CACERT", True))


def encode(value):
    if isinstance(value, str):
        if value.startswith("base64:"):
            return base64.b64encode(base64.b64decode(value[7:])).decode()
        raw = value.encode()
    else:
        raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode()


def read(mount, rel, name, wanted):
    api = "%s/data/%s" % (mount, rel)
    log("read %s from vault", api)
    try:
        answer = vault.secrets.kv.v2.read_secret_version(
            path=rel, mount_point=mount)
    except InvalidPath:
        log("secret %s not found", api)
        return
    data = {k: encode(v) for k, v in answer["data"]["data"].items()}
    wanted[prefix + name] = (api, data)


wanted = {}
for entry in os.environ["VAULT_SECRETS"].split(","):
    path, _, name = entry.partition(":")
    mount, _, rel = path.strip("/").partition("/")
    if rel.startswith("data/"):
        rel = rel[5:]
    if path.endswith("/"):
        try:
            keys = vault.secrets.kv.v2.list_secrets(
                path=rel, mount_point=mount)["data"]["keys"]
        except InvalidPath:
            continue
        for key in keys:
            if not key.endswith("/"):
                read(mount, "%s/%s" % (rel, key), key, wanted)
    else:
        read(mount, rel, name or rel.rsplit("/", 1)[-1], wanted)

InClusterConfigLoader(token_filename=os.path.join(sa, "token"),
                      cert_filename=os.path.join(sa, "ca.crt")).load_and_set()
api = k8s.CoreV1Api()
existing = {s.metadata.name: s
            for s in api.list_namespaced_secret(namespace).items}
for name, (source, data) in wanted.items():
    old = existing.get(name)
    if old is None:
        log("create secret %s from vault secret %s", name, source)
        api.create_namespaced_secret(namespace, k8s.V1Secret(
            metadata=k8s.V1ObjectMeta(name=name, annotations={ann: source}),
            type="Opaque", data=data))
        continue
    annotations = old.metadata.annotations or {}
    if ann not in annotations:
        log("WARNING: ignoring secret %s - not managed by synchronizer",
            name)
        continue
    if annotations.get(ann) == source and (old.data or {}) == data:
        log("secret %s is up to date with vault secret %s", name, source)
        continue
    log("update secret %s from vault secret %s", name, source)
    annotations[ann] = source
    old.metadata.annotations = annotations
    old.data = data
    api.replace_namespaced_secret(name, namespace, old)
for name, old in existing.items():
    if ann in (old.metadata.annotations or {}) and name not in wanted:
        log("delete secret %s", name)
        api.delete_namespaced_secret(name, namespace)
log("secrets successfully synchronized")

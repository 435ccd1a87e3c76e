#!/usr/bin/env python3
"""Prints the Secrets of a namespace much as `kubectl describe secret`
does: names, labels, annotations, type and the byte count of each key,
never the values. Used by the demo."""

import base64
import json
import ssl
import sys
import urllib.request


def main(server, ca, token_file, namespace):
    with open(token_file) as f:
        token = f.read().strip()
    ctx = ssl.create_default_context(cafile=ca)
    req = urllib.request.Request(
        "%s/api/v1/namespaces/%s/secrets" % (server, namespace),
        headers={"Authorization": "Bearer " + token,
                 "Accept": "application/json"})
    with urllib.request.urlopen(req, context=ctx) as r:
        items = json.load(r)["items"]
    for s in sorted(items, key=lambda i: i["metadata"]["name"]):
        meta = s["metadata"]
        print("Name:         %s" % meta["name"])
        print("Namespace:    %s" % meta.get("namespace", namespace))
        labels = meta.get("labels") or {}
        print("Labels:       %s" % ("\n              ".join(
            "%s=%s" % kv for kv in sorted(labels.items())) or "<none>"))
        ann = meta.get("annotations") or {}
        print("Annotations:  %s" % ("\n              ".join(
            "%s: %s" % kv for kv in sorted(ann.items())) or "<none>"))
        print()
        print("Type:  %s" % s.get("type", "Opaque"))
        print()
        print("Data")
        print("====")
        for k, v in sorted((s.get("data") or {}).items()):
            print("%s:  %d bytes" % (k, len(base64.b64decode(v))))
        print()


if __name__ == "__main__":
    main(*sys.argv[1:5])

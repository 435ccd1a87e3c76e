// validate-manifests: checks Kubernetes manifests offline against the
// schemas of the Kubernetes API (the validators the kubernetes-models
// package generates from the API's OpenAPI document): types, required
// fields, formats, and, like kubectl's strict field validation, fields the
// schema does not know. A field is unknown when the schema's validator
// never looked at it; a Proxy records every field it reads.
//
// usage: node validate-manifests.cjs FILE.yaml...
// Prints one line per document; exits 1 if any document is invalid.
"use strict";

const fs = require("fs");
const YAML = require("yaml");

function modelClass(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string")
    return null;
  // Core objects live under "v1", the others under "<group>/<version>".
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion))
    return null;
  let mod;
  try {
    mod = require("kubernetes-models/" + apiVersion);
  } catch (err) {
    return null;
  }
  const cls = mod[kind];
  return typeof cls === "function" && cls.prototype.validate ? cls : null;
}

// Wraps obj so that every own field read is recorded in seen, keyed by
// the underlying object (a field read through any wrapper counts).
function watch(obj, path, seen) {
  if (obj === null || typeof obj !== "object") return obj;
  if (!seen.has(obj)) seen.set(obj, { path, read: new Set() });
  const read = seen.get(obj).read;
  return new Proxy(obj, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof key !== "string" ||
          !Object.prototype.hasOwnProperty.call(target, key))
        return value;
      read.add(key);
      return watch(value, path + "/" + key, seen);
    },
    ownKeys(target) {
      // A map (labels, data) is enumerated: all its keys are known.
      for (const key of Reflect.ownKeys(target))
        if (typeof key === "string") read.add(key);
      return Reflect.ownKeys(target);
    },
  });
}

function validate(doc) {
  const cls = modelClass(doc.apiVersion, doc.kind);
  if (cls === null)
    return [`no schema for apiVersion ${JSON.stringify(doc.apiVersion)} ` +
            `kind ${JSON.stringify(doc.kind)}`];
  const seen = new Map();
  try {
    cls.prototype.validate.call(watch(doc, "", seen));
  } catch (err) {
    return [String(err.message || err).replace(/\s+/g, " ")];
  }
  const unknown = [];
  for (const [obj, { path, read }] of seen) {
    if (Array.isArray(obj)) continue;
    for (const key of Object.keys(obj))
      if (!read.has(key)) unknown.push(`${path}/${key}`);
  }
  return unknown.sort().map((p) => `unknown field ${p}`);
}

function main(files) {
  let bad = 0;
  let count = 0;
  if (files.length === 0) {
    console.error("usage: node validate-manifests.cjs FILE.yaml...");
    return 2;
  }
  for (const file of files) {
    let docs;
    try {
      docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
    } catch (err) {
      console.log(`invalid ${file}: ${err.message}`);
      count++;
      bad++;
      continue;
    }
    docs.forEach((d, i) => {
      const where = `${file} document ${i + 1}`;
      if (d.errors.length > 0) {
        const msg = d.errors[0].message.replace(/\s+/g, " ").trim();
        console.log(`invalid ${where}: YAML: ${msg}`);
        count++;
        bad++;
        return;
      }
      const doc = d.toJS();
      if (doc === null || doc === undefined) return;
      count++;
      const what = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
      const problems = validate(doc);
      if (problems.length === 0) {
        console.log(`valid ${where} ${what}`);
        return;
      }
      bad++;
      for (const p of problems) console.log(`invalid ${where} ${what}: ${p}`);
    });
  }
  console.log(`${count - bad} valid, ${bad} invalid`);
  return bad === 0 && count > 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));

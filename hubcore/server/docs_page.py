"""/docs: one static page that renders /openapi.json in the browser; no CDN, no framework."""

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hub serving</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:2em;border-bottom:1px solid #ccc}
details{border:1px solid #ddd;border-radius:4px;margin:.5em 0;padding:.3em .6em}
summary{cursor:pointer} code,pre,textarea{font-family:ui-monospace,monospace;font-size:.9em}
pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:25em}
textarea{width:100%;height:8em} .m{display:inline-block;width:4em;font-weight:bold}
.post{color:#0a6} .get{color:#06a} .err{color:#b00}
</style></head><body>
<h1>hub serving</h1>
<p id="intro">Loading <a href="openapi.json">openapi.json</a>&hellip;</p>
<p><label>Bearer token (only if the server was started with one):
<input id="token" type="password" size="30"></label> <button id="reload">Load</button></p>
<div id="ops"></div>
<script>
"use strict";
const el = (tag, attrs, ...kids) => { const e = document.createElement(tag);
  Object.assign(e, attrs || {}); kids.forEach(k => e.append(k)); return e; };
const headers = () => { const t = document.getElementById("token").value;
  return t ? {"Authorization": "Bearer " + t} : {}; };
function example(schema) {
  if (!schema) return null;
  if (schema.default !== undefined) return schema.default;
  if (schema.anyOf) return example(schema.anyOf[0]);
  switch (schema.type) {
    case "object": { const o = {}; for (const [k, v] of Object.entries(schema.properties || {}))
      if ((schema.required || []).includes(k)) o[k] = example(v); return o; }
    case "array": return [example(schema.items || {type: "string"})];
    case "string": return schema.format === "image" ? "<base64 image>" : "text";
    case "integer": return 1; case "number": return 1.0; case "boolean": return false;
  } return null;
}
function operation(path, method, op) {
  const body = op.requestBody && op.requestBody.content["application/json"].schema;
  const box = el("details", {}, el("summary", {},
    el("span", {className: "m " + method}, method.toUpperCase()), el("code", {}, path), " " + (op.summary || "")));
  if (op.description) box.append(el("p", {}, op.description));
  if (body) {
    box.append(el("div", {}, "Request body schema:"), el("pre", {}, JSON.stringify(body, null, 2)));
  }
  const input = el("textarea", {value: body ? JSON.stringify(example(body), null, 2) : ""});
  const out = el("pre", {}, "");
  const send = el("button", {textContent: "Send"});
  send.onclick = async () => {
    out.textContent = "...";
    const init = {method: method.toUpperCase(), headers: {...headers(), "content-type": "application/json"}};
    if (body) init.body = input.value;
    try { const r = await fetch(path, init); out.textContent = r.status + "\\n" + await r.text(); }
    catch (e) { out.textContent = String(e); }
  };
  if (body) box.append(input);
  box.append(send, out);
  return box;
}
async function load() {
  const ops = document.getElementById("ops"), intro = document.getElementById("intro");
  ops.textContent = "";
  const r = await fetch("openapi.json", {headers: headers()});
  if (!r.ok) { intro.className = "err";
    intro.textContent = r.status === 401 ? "This server needs a bearer token: type it above and press Load."
                                         : "Could not load openapi.json: HTTP " + r.status; return; }
  const spec = await r.json();
  intro.className = ""; intro.textContent = spec.info.description;
  const groups = {};
  for (const [path, item] of Object.entries(spec.paths))
    for (const [method, op] of Object.entries(item))
      (groups[(op.tags || ["other"])[0]] ||= []).push([path, method, op]);
  for (const [tag, list] of Object.entries(groups)) {
    ops.append(el("h2", {textContent: tag}));
    list.forEach(([p, m, op]) => ops.append(operation(p, m, op)));
  }
}
document.getElementById("reload").onclick = load;
load();
</script></body></html>
"""

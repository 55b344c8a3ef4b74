"""The OpenAPI 3.1 document of a running server, generated from the served signatures."""
from __future__ import annotations

from typing import Any

from .. import __version__
from ..signatures import Signature
from .v2 import accepted_datatypes, model_metadata, model_name, tensor_form

ERROR_CODES = {
    "400": "Malformed JSON",
    "401": "Missing or wrong bearer token",
    "404": "No such module or method",
    "413": "Body larger than max_body_bytes",
    "422": "Invalid input: wrong type, missing or unknown field, bad base64, undecodable image, or a limit "
           "(max_request_items, max_image_bytes); the message names the field or the limit",
    "500": "The module raised an error",
    "503": "Modules are still loading",
    "504": "No answer within timeout_s",
}
_PREDICT_ERROR = {
    "type": "object",
    "required": ["status", "msg"],
    "properties": {
        "status": {"type": "string", "description": "the HTTP status as a string; '000' only on success"},
        "msg": {"type": "string"},
        "results": {"type": "null"},
        "limit": {"type": "string", "description": "the limit breached, when one was"},
        "value": {"description": "that limit's value"},
    },
}
_V2_ERROR = {"type": "object", "required": ["error"],
             "properties": {"error": {"type": "string"}, "limit": {"type": "string"}, "value": {}}}
_TENSOR_META = {"type": "object", "required": ["name", "datatype", "shape"], "properties": {
    "name": {"type": "string"}, "datatype": {"type": "string"},
    "shape": {"type": "array", "items": {"type": "integer"}}}}
_TENSOR_OUT = {"type": "object", "required": ["name", "datatype", "shape", "data"], "properties": {
    "name": {"type": "string"}, "datatype": {"type": "string"},
    "shape": {"type": "array", "items": {"type": "integer"}}, "data": {"type": "array"},
    "parameters": {"type": "object"}}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(schema: dict, codes: tuple[str, ...]) -> dict:
    return {code: _json(schema, ERROR_CODES[code]) for code in codes}


def _predict_operation(module: str, signature: Signature, secured: bool) -> dict:
    ok = {"type": "object", "required": ["status", "msg", "results"], "properties": {
        "status": {"const": "000"}, "msg": {"type": "string"}, "results": signature.output or {}}}
    codes = ("400", "404", "413", "422", "500", "503", "504") + (("401",) if secured else ())
    return {
        "post": {
            "operationId": f"predict_{module}_{signature.name}",
            "summary": signature.description or f"{module}.{signature.name}",
            "description": _field_notes(signature),
            "tags": [module],
            "requestBody": {"required": True, "content": {"application/json": {"schema": signature.request_schema()}}},
            "responses": {"200": _json(ok, "PaddleHub-style answer; results as the method returns them"),
                          **_errors(_PREDICT_ERROR, codes)},
        }
    }


def _field_notes(signature: Signature) -> str:
    lines = []
    if signature.batch_input:
        lines.append(f"Concurrent requests are merged along `{signature.batch_input}` (dynamic batching).")
    for f in signature.remote_inputs:
        if f.kind == "image":
            lines.append(f"`{f.name}`: images as base64 strings (a data: URL prefix is accepted).")
        if f.kind == "path":
            lines.append(f"`{f.name}`: a server-side file path, refused over HTTP.")
    return "\n".join(lines)


def _tensor_input(f: Any) -> dict:
    form = tensor_form(f.schema)
    datatypes = list(accepted_datatypes(form[0])) if form else ["BYTES"]
    return {
        "type": "object",
        "required": ["name", "datatype", "shape", "data"],
        "properties": {
            "name": {"const": f.name},
            "datatype": {"enum": datatypes},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "data": {"type": "array"},
            "parameters": {"type": "object"},
        },
        "description": f.description or f.name,
    }


def _v2_operations(module: str, version: str, signature: Signature, secured: bool) -> dict[str, dict]:
    name = model_name(module, signature)
    tag = [module]
    codes = ("404",) + (("401",) if secured else ())
    infer_request = {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "inputs": {"type": "array", "items": {"anyOf": [_tensor_input(f) for f in signature.remote_inputs]}}
                      if signature.remote_inputs else {"type": "array", "maxItems": 0},
            "outputs": {"type": "array", "items": {"type": "object"}},
        },
    }
    infer_response = {"type": "object", "required": ["model_name", "outputs"], "properties": {
        "model_name": {"const": name}, "model_version": {"type": "string"}, "id": {"type": "string"},
        "outputs": {"type": "array", "items": _TENSOR_OUT}}}
    meta = model_metadata(module, version, signature)
    meta_schema = {"type": "object", "required": ["name", "versions", "platform", "inputs", "outputs"],
                   "properties": {"name": {"const": name}, "versions": {"type": "array", "items": {"type": "string"}},
                                  "platform": {"type": "string"},
                                  "inputs": {"type": "array", "items": _TENSOR_META},
                                  "outputs": {"type": "array", "items": _TENSOR_META}},
                   "example": meta}
    return {
        f"/v2/models/{name}": {"get": {
            "operationId": f"v2_metadata_{name}", "summary": f"v2 model metadata of {name}", "tags": tag,
            "responses": {"200": _json(meta_schema, "model metadata"), **_errors(_V2_ERROR, codes)}}},
        f"/v2/models/{name}/ready": {"get": {
            "operationId": f"v2_ready_{name}", "summary": f"is {name} ready", "tags": tag,
            "responses": {"200": _json({"type": "object"}, "ready"),
                          **_errors(_V2_ERROR, codes + ("503",))}}},
        f"/v2/models/{name}/infer": {"post": {
            "operationId": f"v2_infer_{name}",
            "summary": f"v2 inference on {name}: " + (signature.description or signature.name),
            "tags": tag,
            "requestBody": {"required": True, "content": {"application/json": {"schema": infer_request}}},
            "responses": {"200": _json(infer_response, "one output tensor named 'results'"),
                          **_errors(_V2_ERROR, ("400", "404", "413", "422", "500", "503", "504")
                                    + (("401",) if secured else ()))}}},
    }


def build_openapi(modules: dict[str, Any], *, secured: bool) -> dict:
    """modules: route name -> loaded module (with .version and .module.signatures)."""
    paths: dict[str, dict] = {}
    health = {"type": "object"}
    paths["/v2/health/live"] = {"get": {"operationId": "v2_live", "summary": "the server process answers",
                                        "tags": ["health"], "security": [],
                                        "responses": {"200": _json(health, "live")}}}
    paths["/v2/health/ready"] = {"get": {"operationId": "v2_ready", "summary": "every module is loaded",
                                         "tags": ["health"], "security": [],
                                         "responses": {"200": _json(health, "ready"),
                                                       "503": _json(health, "still loading or stopping")}}}
    paths["/v2"] = {"get": {"operationId": "v2_server_metadata", "summary": "v2 server metadata", "tags": ["health"],
                            "responses": {"200": _json({"type": "object"}, "server metadata"),
                                          **(_errors(_V2_ERROR, ("401",)) if secured else {})}}}
    for name, loaded in modules.items():
        sigs: dict[str, Signature] = loaded.module.signatures
        for sig in sigs.values():
            if sig.default:
                paths[f"/predict/{name}"] = _predict_operation(name, sig, secured)
        for sig in sigs.values():
            op = _predict_operation(name, sig, secured)
            op["post"]["operationId"] += "_by_name"
            paths[f"/predict/{name}/{sig.name}"] = op
            paths.update(_v2_operations(name, loaded.version, sig, secured))
    doc: dict = {
        "openapi": "3.1.0",
        "info": {"title": "hub serving", "version": __version__,
                 "description": "Routes generated from the served modules' @serving signatures. "
                                "PaddleHub clients POST /predict/<module>; Open Inference Protocol (v2) "
                                "clients use /v2/models/<module>[.<method>]/infer."},
        "paths": paths,
    }
    if secured:
        doc["components"] = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
        doc["security"] = [{"bearer": []}]
    return doc


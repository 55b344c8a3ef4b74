"""The least a Starlette app on uvicorn can do for /predict/<module>: read the JSON body, answer the
texts in PaddleHub's shape. bench_serving.py --overhead serves it beside `hub serving` running
the no-op module, to show what the server adds per request.

    python tools/bench/bare_app.py PORT
"""
from __future__ import annotations

import json
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def predict(request: Request) -> Response:
    body = json.loads(await request.body())
    answer = {"status": "000", "msg": "", "results": body["text"]}
    return Response(json.dumps(answer, ensure_ascii=False, separators=(",", ":")), media_type="application/json")


app = Starlette(routes=[Route("/predict/{module}", predict, methods=["POST"])])

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
                server_header=False, http="httptools")

"""A minimal Python function with its own Runtime API client (urllib only): the reference point
for a Python Lambda's cold start in scripts/bench. It polls for an event, answers it, repeats."""
import json
import os
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"


def handler(event):
    return {"ok": True, "echo": event}


while True:
    with urllib.request.urlopen(API + "next") as invocation:
        request_id = invocation.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(invocation.read())
    body = json.dumps(handler(event)).encode()
    urllib.request.urlopen(urllib.request.Request(API + request_id + "/response", data=body)).close()

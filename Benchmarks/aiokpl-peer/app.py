"""The benchmark peer: aiokpl behind FastAPI, the seeds' reference for a Kinesis ingestion endpoint.

The shape of aiokpl's documented usage (`async with Producer(Config(...))`, `put_record`, `outcome.wait()`), served by
FastAPI with the same two request semantics as Sluice:

  POST /v1/events            202 at once; the record is handed to the producer (fire-and-forget)
  POST /v1/events/confirmed  waits for the producer's result: 200 with shard id and sequence number, or 502

Run: STREAM=bench ENDPOINT=http://127.0.0.1:PORT uvicorn app:app --workers 2 --port 8081
"""
import contextlib
import json
import os

from aiokpl import Config, Producer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

STREAM = os.environ.get("STREAM", "bench")


@contextlib.asynccontextmanager
async def lifespan(app):
    config = Config(
        region=os.environ.get("AWS_REGION", "us-east-1"),
        endpoint_url=os.environ.get("ENDPOINT"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        verify_ssl=False,
    )
    async with Producer(config) as producer:
        app.state.producer = producer
        yield


app = FastAPI(lifespan=lifespan)


async def submit(request: Request):
    body = await request.body()
    event = json.loads(body)
    key = event.get("partition_key") or event.get("event_id") or "none"
    return await request.app.state.producer.put_record(stream=STREAM, partition_key=key, data=body)


@app.post("/v1/events")
async def events(request: Request):
    await submit(request)
    return JSONResponse({"status": "accepted"}, status_code=202)


@app.post("/v1/events/confirmed")
async def confirmed(request: Request):
    outcome = await submit(request)
    result = await outcome.wait()
    if result.success:
        return JSONResponse({"shard_id": result.shard_id, "sequence_number": result.sequence_number})
    last = result.attempts[-1] if result.attempts else None
    return JSONResponse({"error": getattr(last, "error_code", "failed")}, status_code=502)

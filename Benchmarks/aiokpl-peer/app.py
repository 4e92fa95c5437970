"""The benchmark peer: aiokpl behind FastAPI, the seeds' reference for a Kinesis ingestion endpoint.

The shape of aiokpl's documented usage (`async with Producer(Config(...))`, `put_record`, `outcome.wait()`), served by
FastAPI with the same two request semantics as Sluice:

  POST /v1/events            202 at once; the record is handed to the producer (fire-and-forget)
  POST /v1/events/confirmed  waits for the producer's result: 200 with shard id and sequence number, or 502

Run: STREAM=bench ENDPOINT=http://127.0.0.1:PORT uvicorn app:app --workers 2 --loop uvloop --http httptools --port 8081
(`uvicorn[standard]`: uvloop and httptools, as the peer is benchmarked).

With PEER_STATE_DIR set, each worker writes `<pid>.json` there every 50 ms: `{"pid", "time", "submitted",
"outstanding_records"}` (aiokpl's own count of records between `put_record` and their final result). The benchmark
reads these files to know that every worker is up and when the backlog is gone, as it asks Sluice's `/health`.
"""
import asyncio
import contextlib
import json
import os
import time

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
        app.state.submitted = 0
        reporter = asyncio.create_task(report_state(app)) if os.environ.get("PEER_STATE_DIR") else None
        try:
            yield
        finally:
            if reporter is not None:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter


async def report_state(app):
    """Writes this worker's counts to PEER_STATE_DIR/<pid>.json every 50 ms (atomically, by rename)."""
    directory = os.environ["PEER_STATE_DIR"]
    path = os.path.join(directory, f"{os.getpid()}.json")
    while True:
        state = {"pid": os.getpid(), "time": time.time(), "submitted": app.state.submitted,
                 "outstanding_records": app.state.producer.outstanding_records}
        with open(path + ".tmp", "w") as handle:
            json.dump(state, handle)
        os.replace(path + ".tmp", path)
        await asyncio.sleep(0.05)


app = FastAPI(lifespan=lifespan)


async def submit(request: Request):
    body = await request.body()
    event = json.loads(body)
    key = event.get("partition_key") or event.get("event_id") or "none"
    outcome = await request.app.state.producer.put_record(stream=STREAM, partition_key=key, data=body)
    request.app.state.submitted += 1
    return outcome


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

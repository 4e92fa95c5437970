"""moto's server (`moto_server`, same arguments) with Kinesis's `Shard.put_record` serialized by a lock.

moto's threaded server handles concurrent `PutRecords` calls in parallel threads, and its `Shard.put_record` (marked
"not safe for concurrency" in moto/kinesis/models.py) takes the shard's last sequence number + 1 and stores the record
under it: two calls on one shard at once get the same number and the second record overwrites the first. It answers
success for both, so a producer sending concurrent `PutRecords` (Sluice and aiokpl both do) loses an aggregated record
now and then *in moto*. The benchmark reads every acknowledged id back, so it needs an emulator that keeps what it
acknowledged: this runs moto unchanged apart from that lock (moto holds the GIL for that code anyway, so the lock
costs no parallelism).

Run: python3 Benchmarks/moto-server/serve.py -H 127.0.0.1 -p PORT
"""
import sys
import threading

from moto.kinesis import models
from moto.server import main

_lock = threading.Lock()
_put_record = models.Shard.put_record


def put_record(self, *args, **kwargs):
    with _lock:
        return _put_record(self, *args, **kwargs)


models.Shard.put_record = put_record

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

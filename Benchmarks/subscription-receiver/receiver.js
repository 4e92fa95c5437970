// The minimal webhook receiver of scripts/benchmark-subscriptions: answers 200 `{}` to every batch and records, per
// event, its id and the time from the gateway's `received_at` (capture) to the receipt here (same machine, same clock).
// usage: node receiver.js PORT        GET /stats → {"records":N,"batches":N,"first_ms","last_ms","ids":[…],"latency_ms":[…]}
'use strict';
const http = require('http');

const port = Number(process.argv[2]);
const ids = [];
const latency = [];
let batches = 0;
let first = 0;
let last = 0;

http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
        if (request.url === '/stats') {
            response.writeHead(200, { 'Content-Type': 'application/json' });
            return response.end(JSON.stringify({ records: ids.length, batches, first_ms: first, last_ms: last, ids, latency_ms: latency }));
        }
        const now = Date.now();
        for (const item of JSON.parse(Buffer.concat(chunks).toString('utf8'))) {
            ids.push(item.event.event_id);
            latency.push(now - Date.parse(item.event.received_at));
        }
        batches += 1;
        if (first === 0) first = now;
        last = now;
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end('{}');
    });
}).listen(port, '127.0.0.1', () => console.log(`listening ${port}`));

// A webhook receiver for the subscription tests: a few lines of HTTP adapter in front of a Lambda-style handler
// (`exports.handler = async (event) => …`), as a user would run a function written for a Kinesis trigger.
//
// usage: node webhook_receiver.js PORT   (env SIGNING_SECRET: verify Sluice-Signature)
// POST /control {"poison":[n…], "healed":bool, "delay_ms":N, "status":N}  changes its behaviour;
// GET /received  lists every record it was handed: {sequence, event_id, partition_key, n, ok, signature_ok, format,
// partition (from a Kafka source)}.
'use strict';
const http = require('http');
const crypto = require('crypto');

const port = Number(process.argv[2]);
const secret = process.env.SIGNING_SECRET || '';
const control = { poison: new Set(), healed: false, delayMs: 0, status: 0 };
const received = [];

/// The records of either format: Lambda's Kinesis event, or sluice's array of {position, event}.
function recordsOf(event) {
    if (Array.isArray(event)) {
        return event.map((item) => ({
            id: item.position.sequence ?? `${item.position.topic}-${item.position.partition}:${item.position.offset}`,
            envelope: item.event, format: 'sluice', partition: item.position.partition,
        }));
    }
    return event.Records.map((record) => ({
        id: record.kinesis.sequenceNumber,
        envelope: JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')),
        format: 'lambda',
        partitionKey: record.kinesis.partitionKey,
    }));
}

// The function, as it would be written for Lambda: report the records it could not process.
exports.handler = async (event) => {
    const batchItemFailures = [];
    for (const record of recordsOf(event)) {
        const payload = record.envelope.payload || {};
        const ok = !(payload.poison === true || control.poison.has(payload.n)) || control.healed;
        received.push({
            sequence: Number(record.id), event_id: record.envelope.event_id, partition_key: record.envelope.partition_key,
            n: payload.n, ok, signature_ok: event.__signatureOK, format: record.format, partition: record.partition,
        });
        if (!ok) batchItemFailures.push({ itemIdentifier: record.id });
    }
    return { batchItemFailures };
};

function signatureOK(header, body) {
    if (!secret) return null;
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header || '');
    if (!match) return false;
    const expected = crypto.createHmac('sha256', secret).update(match[1] + '.').update(body).digest('hex');
    const ageSeconds = Math.abs(Date.now() / 1000 - Number(match[1]));
    return ageSeconds < 300 && crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(match[2]));
}

function reply(response, status, object) {
    response.writeHead(status, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(object));
}

// The adapter: HTTP in, the handler's answer out.
http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', async () => {
        const body = Buffer.concat(chunks);
        if (request.url === '/received') return reply(response, 200, received);
        if (request.url === '/control') {
            const update = JSON.parse(body.toString('utf8'));
            if (update.poison) control.poison = new Set(update.poison);
            if (update.healed !== undefined) control.healed = update.healed;
            if (update.delay_ms !== undefined) control.delayMs = update.delay_ms;
            if (update.status !== undefined) control.status = update.status;
            return reply(response, 200, { ok: true });
        }
        if (control.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, control.delayMs));
        if (control.status !== 0) return reply(response, control.status, { error: 'told to fail' });
        const event = JSON.parse(body.toString('utf8'));
        Object.defineProperty(event, '__signatureOK', { value: signatureOK(request.headers['sluice-signature'], body) });
        reply(response, 200, await exports.handler(event));
    });
}).listen(port, '127.0.0.1', () => console.log(`listening ${port}`));

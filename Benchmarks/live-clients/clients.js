// The live-stream clients of scripts/benchmark-live: N connections to one stream, server-sent events or WebSocket,
// each counting its events and recording, per event, the time from the gateway's capture (`received_at_ms`) to its
// arrival here (same machine, same clock) in a 1 ms histogram.
// usage: node clients.js URL N OUT.json [sse|websocket]   (URL: http://… for SSE, ws://… for WebSocket)
//   prints "open N" once every connection is open (response headers, or the WebSocket's open event); reads the number
//   of events to expect from stdin (a line, once the load is over); writes OUT.json and exits once every connection
//   received that many, or on SIGTERM: {"clients","opened","messages","per_client_min","per_client_max", "gaps","cpu_s"
//   (the process's CPU seconds in all),"p50_ms","p99_ms","max_ms","first_ms","last_ms","histogram" (ms: count)}; a gap is an event id that is
//   not the one after the connection's previous event (the stream is the log in order, so none means nothing was
//   skipped).
'use strict';
const http = require('http');
const fs = require('fs');

const [url, clients, out, protocol] = [process.argv[2], Number(process.argv[3]), process.argv[4], process.argv[5] || 'sse'];
let expected = Infinity;
const histogram = new Uint32Array(60001); // 0…60 s in ms; the last bucket holds anything slower
const counts = new Array(clients).fill(0);
const lastIDs = new Array(clients).fill(-1);
let gaps = 0;
let opened = 0;
let done = 0;
let messages = 0;
let first = 0;
let last = 0;
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function percentile(fraction) {
    const target = Math.max(1, Math.ceil(messages * fraction));
    let seen = 0;
    for (let ms = 0; ms < histogram.length; ms++) {
        seen += histogram[ms];
        if (seen >= target) return ms;
    }
    return histogram.length - 1;
}

function finish() {
    let max = 0;
    for (let ms = histogram.length - 1; ms >= 0; ms--) if (histogram[ms] > 0) { max = ms; break; }
    const buckets = {}; // the histogram's nonzero buckets, so that several processes' figures can be merged
    for (let ms = 0; ms < histogram.length; ms++) if (histogram[ms] > 0) buckets[ms] = histogram[ms];
    fs.writeFileSync(out, JSON.stringify({
        cpu_s: (process.cpuUsage().user + process.cpuUsage().system) / 1e6, clients, opened, messages, gaps, per_client_min: Math.min(...counts), per_client_max: Math.max(...counts),
        p50_ms: percentile(0.5), p99_ms: percentile(0.99), max_ms: max, first_ms: first, last_ms: last, histogram: buckets,
    }));
    process.exit(0);
}

process.on('SIGTERM', finish);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (line) => {
    expected = Number(line.trim());
    done = counts.filter((count) => count >= expected).length;
    if (done === clients) finish();
});

/// One event at connection `index`: its sequence, its capture time and its arrival (Unix ms; one reading per chunk
/// of the stream, since everything in a chunk arrived together).
function received(index, id, captured, now) {
    if (lastIDs[index] >= 0 && id !== lastIDs[index] + 1) gaps += 1;
    lastIDs[index] = id;
    histogram[Math.min(histogram.length - 1, Math.max(0, now - captured))] += 1;
    messages += 1;
    if (first === 0) first = now;
    last = now;
    counts[index] += 1;
    if (counts[index] === expected) {
        done += 1;
        if (done === clients) finish();
    }
}

function opening(index) {
    opened += 1;
    if (opened === clients) console.log(`open ${clients}`);
}

function openServerSentEvents(index) {
    const request = http.get(url, { agent, headers: { Accept: 'text/event-stream' } }, (response) => {
        if (response.statusCode !== 200) {
            console.error(`connection ${index}: status ${response.statusCode}`);
            process.exit(2);
        }
        opening(index);
        let pending = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
            const now = Date.now();
            pending += chunk;
            let start = 0;
            let end;
            while ((end = pending.indexOf('\n\n', start)) >= 0) {
                const at = pending.indexOf('"received_at_ms":', start);
                if (pending.startsWith('id: ', start) && at >= 0 && at < end) { // not a comment, ping or notice
                    const id = parseInt(pending.slice(start + 4, pending.indexOf('\n', start)), 10);
                    received(index, id, parseInt(pending.slice(at + 17, at + 32), 10), now);
                }
                start = end + 2;
            }
            pending = pending.slice(start);
        });
        response.on('end', () => console.error(`connection ${index} ended after ${counts[index]} events`));
    });
    request.on('error', (error) => {
        console.error(`connection ${index}: ${error.message}`);
        process.exit(2);
    });
}

// WebSocket: a minimal RFC 6455 client on a plain TCP socket (the upgrade handshake; the server's unmasked frames,
// parsed in place; pongs, masked, for its pings). Node's built-in client and the `ws` package cost 2-4 µs per message,
// so at a million messages a second they, not the gateway, were what the run measured.
const net = require('net');
const crypto = require('crypto');

/// The decimal number at `at` in `bytes` (ASCII digits).
function number(bytes, at) {
    let value = 0;
    for (let i = at; i < bytes.length; i++) {
        const digit = bytes[i] - 48;
        if (digit < 0 || digit > 9) break;
        value = value * 10 + digit;
    }
    return value;
}

const SEQUENCE = Buffer.from('{"sequence":');
const RECEIVED = Buffer.from('"received_at_ms":');

function openWebSocket(index) {
    const target = new URL(url);
    const socket = net.connect(Number(target.port), target.hostname);
    const key = crypto.randomBytes(16).toString('base64');
    socket.write(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let pending = Buffer.alloc(0);
    let upgraded = false;
    socket.on('data', (chunk) => {
        const now = Date.now();
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let at = 0;
        if (!upgraded) {
            const end = pending.indexOf('\r\n\r\n');
            if (end < 0) return;
            if (!pending.subarray(0, end).toString('latin1').startsWith('HTTP/1.1 101')) {
                console.error(`connection ${index}: ${pending.subarray(0, end).toString('latin1').split('\r\n')[0]}`);
                process.exit(2);
            }
            upgraded = true;
            opening(index);
            at = end + 4;
        }
        while (pending.length - at >= 2) {
            const opcode = pending[at] & 0x0f;
            let length = pending[at + 1] & 0x7f;
            let header = 2;
            if (length === 126) {
                if (pending.length - at < 4) break;
                length = pending.readUInt16BE(at + 2);
                header = 4;
            } else if (length === 127) {
                if (pending.length - at < 10) break;
                length = Number(pending.readBigUInt64BE(at + 2));
                header = 10;
            }
            if (pending.length - at < header + length) break;
            const payload = at + header;
            if (opcode === 1 && pending.compare(SEQUENCE, 0, SEQUENCE.length, payload, payload + SEQUENCE.length) === 0) {
                const mark = pending.indexOf(RECEIVED, payload);
                received(index, number(pending, payload + SEQUENCE.length), number(pending, mark + RECEIVED.length), now);
            } else if (opcode === 9) { // ping: a masked pong with the same data
                const data = pending.subarray(payload, payload + length);
                const mask = crypto.randomBytes(4);
                const pong = Buffer.alloc(6 + data.length);
                pong[0] = 0x8a;
                pong[1] = 0x80 | data.length;
                mask.copy(pong, 2);
                for (let i = 0; i < data.length; i++) pong[6 + i] = data[i] ^ mask[i % 4];
                socket.write(pong);
            } else if (opcode === 8) {
                console.error(`connection ${index} closed by the gateway after ${counts[index]} events`);
            }
            at = payload + length;
        }
        pending = at < pending.length ? pending.subarray(at) : Buffer.alloc(0);
    });
    socket.on('error', (error) => {
        console.error(`connection ${index}: ${error.message}`);
        process.exit(2);
    });
    socket.on('close', () => console.error(`connection ${index} closed after ${counts[index]} events`));
}

for (let index = 0; index < clients; index++) {
    if (protocol === 'websocket') openWebSocket(index); else openServerSentEvents(index);
}

// The live-stream clients of scripts/benchmark-live: N connections to one stream, server-sent events or WebSocket,
// each counting its events and recording, per event, the time from the gateway's capture (`received_at_ms`) to its
// arrival here (same machine, same clock) in a 1 ms histogram.
// usage: node [--experimental-websocket] clients.js URL N OUT.json [sse|websocket]
//   prints "open N" once every connection is open (response headers, or the WebSocket's open event); reads the number
//   of events to expect from stdin (a line, once the load is over); writes OUT.json and exits once every connection
//   received that many, or on SIGTERM: {"clients","opened","messages","per_client_min","per_client_max", "gaps","cpu_s"
//   (the process's CPU seconds in all),"p50_ms","p99_ms","max_ms","first_ms","last_ms"}; a gap is an event id that is
//   not the one after the connection's previous event (the stream is the log in order, so none means nothing was
//   skipped). WebSocket needs Node.js 22, or 20 with --experimental-websocket (its global WebSocket).
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
    fs.writeFileSync(out, JSON.stringify({
        cpu_s: (process.cpuUsage().user + process.cpuUsage().system) / 1e6, clients, opened, messages, gaps, per_client_min: Math.min(...counts), per_client_max: Math.max(...counts),
        p50_ms: percentile(0.5), p99_ms: percentile(0.99), max_ms: max, first_ms: first, last_ms: last,
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

// The `ws` package (Debian's node-ws, through NODE_PATH=/usr/share/nodejs) when it is there: it costs the client far
// less per message than Node's built-in WebSocket, and at a million messages a second the client is the bottleneck.
let WebSocketClient = globalThis.WebSocket;
let client = 'built-in';
try {
    WebSocketClient = require('ws');
    client = 'ws';
} catch (error) {
    if (!WebSocketClient) throw new Error('no WebSocket client: install node-ws, or run Node.js 22 (or 20 with --experimental-websocket)');
}
if (protocol === 'websocket') console.error(`WebSocket client: ${client}`);

function openWebSocket(index) {
    const socket = new WebSocketClient(url);
    socket.onopen = () => opening(index);
    socket.onmessage = (message) => {
        const text = typeof message.data === 'string' ? message.data : message.data.toString();
        if (!text.startsWith('{"sequence":')) return; // a lagged notice
        const at = text.indexOf('"received_at_ms":');
        received(index, parseInt(text.slice(12, at - 1), 10), parseInt(text.slice(at + 17, at + 32), 10), Date.now());
    };
    socket.onerror = (error) => {
        console.error(`connection ${index}: ${error.message || error.type}`);
        process.exit(2);
    };
    socket.onclose = (event) => console.error(`connection ${index} closed (${event.code}) after ${counts[index]} events`);
}

for (let index = 0; index < clients; index++) {
    if (protocol === 'websocket') openWebSocket(index); else openServerSentEvents(index);
}

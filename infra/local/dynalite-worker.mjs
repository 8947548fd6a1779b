// The local DynamoDB's own thread: dynalite serves on loopback here, so its work never waits
// behind the rest of the local runtime (HTTP API, workflow, stand-ins), which shares one thread.
// Plain JavaScript, loaded by infra/local/local-dynamo.ts under any loader (tsx, vitest).
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(workerData.path ? { path: workerData.path } : {}) });
server.once('error', (error) => parentPort.postMessage({ error: error.message }));
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message === 'stop') server.close(() => parentPort.postMessage({ stopped: true }));
});

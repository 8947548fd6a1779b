// One local Lambda container: a worker thread that imports a deployed bundle (its `handler`) with
// the function's environment as `process.env`, and runs invocations posted by the local Lambda
// service (infra/local/lambda-service.ts). Plain JavaScript: it runs under whatever loads the
// runtime (tsx, vitest) without a TypeScript loader of its own, just as the Lambda runtime
// imports index.mjs.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const { entry, functionName, memorySize, logGroupName, clockOffset } = workerData;
// Deadlines are real time, whatever the clock below says.
const realNow = Date.now;

// Tests only: a clock the runtime can move forward (`LocalRuntime.advanceClock`), shared by every
// container. Installed before the bundle loads, so everything in it reads the moved time.
if (clockOffset) {
  const offset = new BigInt64Array(clockOffset);
  const RealDate = Date;
  const now = () => RealDate.now() + Number(Atomics.load(offset, 0));
  globalThis.Date = class extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(now());
      else super(...args);
    }
    static now() {
      return now();
    }
  };
}
let handler;
let initError;
try {
  handler = (await import(pathToFileURL(entry).href)).handler;
} catch (error) {
  // An error while loading the module fails every invocation of this container, as in Lambda.
  initError = error;
}

parentPort.on('message', async ({ id, event, deadline, requestId }) => {
  // What the Node.js runtime hands a handler as its context (the parts handlers and Powertools read).
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memorySize),
    awsRequestId: requestId,
    logGroupName,
    logStreamName: `local/[$LATEST]${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - realNow()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    if (initError) throw initError;
    if (typeof handler !== 'function') throw Object.assign(new Error('index.handler is undefined or not exported'), { name: 'Runtime.HandlerNotFound' });
    const result = await handler(event, context);
    parentPort.postMessage({ id, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (error) {
    // The runtime reports an error by its name and message (Step Functions matches on the name).
    if (process.env.LOCAL_LAMBDA_DEBUG) console.error(error);
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    parentPort.postMessage({ id, error: { errorType: name, errorMessage: message } });
  }
});
parentPort.postMessage({ ready: true });

/**
 * Minimal types of `dynalite` (it ships none): the local runtime and the tests start it in
 * process. Only the options we use are listed.
 */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory; in memory when absent. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    verbose?: boolean;
    debug?: boolean;
    ssl?: boolean;
  }

  /** A plain Node HTTP server speaking the DynamoDB JSON protocol; `close` also closes the store. */
  export default function dynalite(options?: DynaliteOptions): Server;
}

import type { BenchContext, Row } from './lib';
export async function workflowBench(_ctx: BenchContext): Promise<Row[]> { return []; }

import type { BenchContext, Row } from './lib';
export async function coldStartBench(_ctx: BenchContext): Promise<Row[]> { return []; }

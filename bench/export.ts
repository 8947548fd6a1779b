import type { BenchContext, Row } from './lib';
export async function exportBench(_ctx: BenchContext): Promise<Row[]> { return []; }

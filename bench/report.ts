import type { Bench, Task } from 'tinybench';

/** Prints a group as a table of mean, p50 and p99, each beside the floor's mean when it has one. */
export function report(bench: Bench, floorLabel: string): void {
  const floor = bench.tasks.find((t) => t.name === floorLabel);
  const floorMean = floor !== undefined ? latency(floor)?.mean : undefined;
  console.log(`\n${bench.name}`);
  console.table(bench.tasks.map((task) => {
    const l = latency(task);
    if (l === undefined) return { subject: task.name, error: task.result.state };
    return {
      subject: task.name,
      mean: formatMs(l.mean),
      p50: formatMs(l.p50),
      p99: formatMs(l.p99),
      samples: l.samplesCount,
      '× floor': floorMean ? (l.mean / floorMean).toFixed(2) : '',
    };
  }));
}

function latency(task: Task) {
  return 'latency' in task.result ? task.result.latency : undefined;
}

function formatMs(ms: number): string {
  return ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`;
}

// How recorded outcomes move a score: by how sure we are, not by the raw success rate, so one
// lucky success does not put an agent on top and one failure does not bury it.

/** 80% two-sided Wilson interval. */
export const OUTCOME_Z = 1.28;

export interface OutcomeFactor {
  successes: number;
  failures: number;
  /** Wilson score interval of the success rate; [0, 1] with no outcomes. */
  lower: number;
  upper: number;
  /**
   * 1 while the interval still holds 50%; above 1 (up to 1.5) once its lower bound is above
   * 50%, below 1 (down to 0.5) once its upper bound is below.
   */
  factor: number;
}

/** Scores, factors and bounds to three decimals: enough to order matches, short to read. */
export const roundScore = (n: number): number => Math.round(n * 1000) / 1000;

export function wilsonInterval(successes: number, total: number, z: number = OUTCOME_Z): { lower: number; upper: number } {
  if (total === 0) return { lower: 0, upper: 1 };
  const p = successes / total;
  const z2 = z * z;
  const centre = p + z2 / (2 * total);
  const spread = z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total));
  const denominator = 1 + z2 / total;
  return { lower: (centre - spread) / denominator, upper: (centre + spread) / denominator };
}

export function outcomeFactor(successes: number, total: number): OutcomeFactor {
  const { lower, upper } = wilsonInterval(successes, total);
  const factor = lower > 0.5 ? 1 + (lower - 0.5) : upper < 0.5 ? 1 - (0.5 - upper) : 1;
  return { successes, failures: total - successes, lower: roundScore(lower), upper: roundScore(upper), factor: roundScore(factor) };
}

/**
 * The median the bench reports everywhere (peer figures over rounds, the pipeline's policy comparison):
 * the middle value, or the mean of the two middle values for an even count; NaN for none. One definition
 * so every table means the same thing by "median".
 */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// Medians and spreads for the bench's rounds.

export interface Spread {
  median: number
  min: number
  max: number
  /** Every round's value, in the order measured. */
  samples: number[]
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export function spread(values: readonly number[]): Spread {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    samples: [...values],
  }
}

/** "212 (204–230)": the median with the min–max of the rounds beside it. */
export function formatSpread(s: Spread | undefined, digits = 0): string {
  if (!s || Number.isNaN(s.median)) return '—'
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`
}

/** The list rotated by `by`: each round starts somewhere else, so no item always follows another. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = ((by % items.length) + items.length) % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

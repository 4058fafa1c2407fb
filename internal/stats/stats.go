// Package stats holds the one definition of a percentile that every
// benchmark figure and report of reserver uses, so that a p99 means the
// same thing on every BENCH line.
package stats

import "math"

// Percentile is the p-th percentile (0–100) of sorted by the nearest-rank
// method: the smallest value with at least p% of the values at or below
// it (p = 0 gives the minimum, 100 the maximum). sorted must be in
// ascending order; an empty slice gives the zero value.
func Percentile[T any](sorted []T, p float64) T {
	var zero T
	n := len(sorted)
	if n == 0 {
		return zero
	}
	i := int(math.Ceil(p/100*float64(n))) - 1
	return sorted[min(max(i, 0), n-1)]
}

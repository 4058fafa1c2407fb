package stats

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	ten := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p    float64
		want int
	}{{0, 1}, {10, 1}, {11, 2}, {50, 5}, {51, 6}, {90, 9}, {99, 10}, {100, 10}} {
		require.Equal(t, tc.want, Percentile(ten, tc.p), "p%g", tc.p)
	}
	// With 20 trials a p99 is the maximum: a figure to say so, not hide.
	twenty := make([]time.Duration, 20)
	for i := range twenty {
		twenty[i] = time.Duration(i+1) * time.Millisecond
	}
	require.Equal(t, 20*time.Millisecond, Percentile(twenty, 99))
	require.Equal(t, 10*time.Millisecond, Percentile(twenty, 50))
	require.Equal(t, 7, Percentile([]int{7}, 99))
	require.Zero(t, Percentile([]float64(nil), 50))
}

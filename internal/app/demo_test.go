package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is an io.Writer the demo's goroutines may share.
type syncBuffer struct {
	mu chan struct{}
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

// `reserver demo` books on both simulated sites; on the cart site the
// API computes the opening from the profile's rolling rule, the hold is
// checked out, and the SMS is in the booking's language.
func TestDemoBooksOnBothFlavors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		flavor string
		want   []string
	}{
		{"egov", []string{"simulated egov booking site", "submit → success", "예약 완료"}},
		{"cart", []string{"simulated cart booking site", "prelogin → success", "submit → held", "held: checking out",
			"contact → success", "confirm → success", "booked: reservation RS-", "court", "booked. Reservation no. RS-"}},
	} {
		t.Run(tc.flavor, func(t *testing.T) {
			t.Parallel()
			b := setupDaemon(t, nil)
			out := &syncBuffer{mu: make(chan struct{}, 1)}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := Demo(ctx, b.env, DemoOptions{OpenIn: 2 * time.Second, Skew: 700 * time.Millisecond, Flavor: tc.flavor, Out: out})
			require.NoError(t, err, out.String())
			for _, w := range tc.want {
				require.Contains(t, out.String(), w)
			}
			require.NotContains(t, out.String(), "pass1234")
		})
	}
	b := setupDaemon(t, nil)
	err := Demo(context.Background(), b.env, DemoOptions{Flavor: "shop", Out: &syncBuffer{mu: make(chan struct{}, 1)}})
	require.ErrorContains(t, err, `unknown flavor "shop" (egov or cart)`)
}

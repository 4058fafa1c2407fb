package session_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
	"reserver/internal/session"
	"reserver/internal/sitesim"
)

// A submit prepared after the page visit (the daemon does it before the
// opening) books like one rendered at sending time; it carries the values
// of the moment it was prepared, knows its login generation, and is sent
// once.
func TestPreparedSubmitBooksAndIsSentOnce(t *testing.T) {
	b := setupSim(t, "courtsim.yaml", sitesim.Options{})
	ctx := context.Background()
	s := b.session(t, "user001")
	_, _, err := s.Login(ctx, 0)
	require.NoError(t, err)
	d := booking(b.prof, "3", "10:00", "홍길동")
	tr, err := s.Do(ctx, profile.StepTrace, d)
	require.NoError(t, err)
	require.Equal(t, profile.ClassSuccess, tr.Class)

	p, err := s.Prepare(profile.StepSubmit, d)
	require.NoError(t, err)
	require.Equal(t, s.Generation(), p.Generation)
	res, err := s.Send(ctx, p)
	require.NoError(t, err)
	require.Equal(t, profile.ClassSuccess, res.Class, res.Excerpt)
	require.Equal(t, profile.StepSubmit, res.Step)
	require.NotEmpty(t, res.Reservation)
	require.Len(t, b.srv.Ledger().Reservations, 1)

	again, err := s.Send(ctx, p)
	require.ErrorIs(t, err, session.ErrPreparedSent)
	require.Nil(t, again)
	require.Len(t, b.srv.Ledger().Submits, 1, "a second Send of one prepared request sends nothing")

	// After a new login the prepared request is of the old generation.
	p2, err := s.Prepare(profile.StepSubmit, d)
	require.NoError(t, err)
	_, _, err = s.Login(ctx, s.Generation())
	require.NoError(t, err)
	require.Less(t, p2.Generation, s.Generation())
}

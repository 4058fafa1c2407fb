package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/tenant"
)

// holdRunning leaves booking id running under a live lease of instance.
func (e reviewEnv) holdRunning(t *testing.T, id int64, instance string) {
	t.Helper()
	ctx := context.Background()
	_, err := e.store.Claim(ctx, id, instance, time.Now(), time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.NoError(t, e.store.Transition(ctx, id, booking.Armed, booking.Running, booking.Change{Instance: instance}))
}

// honour plays the instance: once it sees the cancel request of id, it
// acts. The channel gives act's error.
func (e reviewEnv) honour(id int64, instance string, act func(ctx context.Context) error) <-chan error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	done := make(chan error, 1)
	go func() {
		defer cancel()
		for ctx.Err() == nil {
			ids, err := e.store.CancelRequests(ctx, instance)
			if err != nil {
				done <- err
				return
			}
			if slices.Contains(ids, id) {
				done <- act(ctx)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		done <- ctx.Err()
	}()
	return done
}

func TestCancelCommand(t *testing.T) {
	t.Parallel()
	for _, dialect := range []database.Dialect{database.SQLite, database.MySQL} {
		t.Run(string(dialect), func(t *testing.T) {
			e := newReviewEnv(t, dialect)
			opens := time.Now().Add(time.Hour).UTC().Truncate(time.Second)

			queued := e.seed(t, "courtsim", "1", opens, booking.Queued, "")
			out, errOut, code := e.run(t, "cancel", fmt.Sprint(queued))
			require.Equal(t, 0, code, errOut)
			require.Equal(t, fmt.Sprintf("booking %d cancelled\n", queued), out)
			require.Empty(t, errOut)
			entries, err := tenant.NewStore(e.store.DB()).AuditLog(context.Background(), time.Now().Add(-time.Hour), 10)
			require.NoError(t, err)
			var cancels []tenant.AuditEntry
			for _, a := range entries {
				if a.Action == tenant.ActionCancel {
					cancels = append(cancels, a)
				}
			}
			require.Len(t, cancels, 1, "the cancel is in the audit trail")
			require.Equal(t, queued, *cancels[0].BookingID)
			require.Equal(t, "cli", cancels[0].Actor.Role)
			require.Equal(t, "cli: cancelled", cancels[0].Detail)
			out, _, code = e.run(t, "cancel", fmt.Sprint(queued))
			require.Equal(t, 0, code)
			require.Equal(t, fmt.Sprintf("booking %d was already cancelled (user_cancelled)\n", queued), out)

			honoured := e.seed(t, "courtsim", "2", opens, booking.Queued, "")
			e.holdRunning(t, honoured, "inst-b")
			done := e.honour(honoured, "inst-b", func(ctx context.Context) error {
				return e.store.FinishCancel(ctx, honoured, booking.Running, "inst-b", time.Now())
			})
			out, errOut, code = e.run(t, "cancel", "--operator", fmt.Sprint(honoured))
			require.NoError(t, <-done)
			require.Equal(t, 0, code, errOut)
			require.Equal(t, fmt.Sprintf("booking %d cancelled\n", honoured), out)
			got, err := e.store.Get(context.Background(), booking.Scope{All: true}, honoured)
			require.NoError(t, err)
			require.Equal(t, booking.ReasonOperator, got.Reason)

			booked := e.seed(t, "courtsim", "3", opens, booking.Queued, "")
			e.holdRunning(t, booked, "inst-b")
			done = e.honour(booked, "inst-b", func(ctx context.Context) error {
				return e.store.Succeed(ctx, booked, booking.Running, "inst-b", booking.Reserved{No: "R-555"}, nil, time.Now())
			})
			out, errOut, code = e.run(t, "cancel", fmt.Sprint(booked))
			require.NoError(t, <-done)
			require.Equal(t, 2, code)
			require.Equal(t, fmt.Sprintf("booking %d was booked before the cancel took effect: reservation R-555 (court 3, 2026-12-01 10:00-11:00)\n", booked), out)
			require.Empty(t, errOut, "the one line says it")

			stuck := e.seed(t, "courtsim", "4", opens, booking.Queued, "")
			e.holdRunning(t, stuck, "inst-b")
			out, _, code = e.run(t, "cancel", "--wait", "300ms", fmt.Sprint(stuck))
			require.Equal(t, 3, code)
			require.Equal(t, fmt.Sprintf("cancel of booking %d requested; instance inst-b is still running it (state running)\n", stuck), out)

			failed := e.seed(t, "courtsim", "5", opens, booking.Failed, booking.ReasonSoldOut, "sold_out")
			out, _, code = e.run(t, "cancel", fmt.Sprint(failed))
			require.Equal(t, 4, code)
			require.Equal(t, fmt.Sprintf("booking %d had already failed (sold_out); nothing to cancel\n", failed), out)

			for _, bad := range []struct{ arg, want string }{{"x", "expected a positive integer"}, {"999", "booking not found"}} {
				out, errOut, code := e.run(t, "cancel", bad.arg)
				require.Equal(t, 1, code)
				require.Empty(t, out)
				require.Contains(t, errOut, bad.want)
			}
		})
	}
}

// `reserver failures` lists the bookings flagged for review, whatever
// their state, with what a person must do.
func TestFailuresCommandShowsReviews(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t, database.SQLite)
	ctx := context.Background()
	opens := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	failed := e.seed(t, "courtsim", "1", opens, booking.Failed, booking.ReasonWindow, "not_open")
	late := e.seed(t, "courtsim", "2", opens, booking.Armed, "", "success")
	review, err := e.store.RecordLateReservation(ctx, late, booking.Reserved{No: "R-7"}, nil, time.Now())
	require.NoError(t, err)
	require.Equal(t, booking.ReviewLateSuccess, review)
	_, err = e.store.RecordLateReservation(ctx, failed, booking.Reserved{No: "R-8"}, nil, time.Now())
	require.NoError(t, err)

	out, errOut, code := e.run(t, "failures")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, fmt.Sprintf(`(?m)^%d\s.*\s+succeeded\s+2\s`, late), out)
	require.Regexp(t, fmt.Sprintf(`(?m)^%d\s.*\s+window_closed\s+2\s`, failed), out)
	i := strings.Index(out, "\nneeds review:\n")
	require.Positive(t, i, out)
	require.Regexp(t, fmt.Sprintf(`(?m)^  %d\s+succeeded\s+R-7\s+late_success\s*$`, late), out[i:])
	require.Regexp(t, fmt.Sprintf(`(?m)^  %d\s+failed\s+R-8\s+reservation_after_failed\s+the site holds reservation R-8 although the booking failed; a person must keep or cancel it there$`, failed), out[i:])

	out, _, code = e.run(t, "failures", "--json", "--review", "late_success")
	require.Equal(t, 0, code)
	require.Contains(t, out, `"review": "late_success"`)
	require.Contains(t, out, `"state": "succeeded"`)
	require.Contains(t, out, `"reservation_no": "R-7"`)
	require.NotContains(t, out, "R-8")
}

// Too late to cancel a booking of several choices: the line names the
// choice the site booked, so that a person can find it there.
func TestCancelOutcomeNamesTheChoiceBooked(t *testing.T) {
	t.Parallel()
	list := `[{"court":"3","date":"2026-12-10","start":"10:00","end":"11:00"},{"court":"4","date":"2026-12-10","start":"10:00","end":"11:00"}]`
	won := 2
	b := &booking.Booking{ID: 7, State: booking.Succeeded, ReservationNo: "R-1", Court: "3", PlayDate: "2026-12-10", StartTime: "10:00", EndTime: "11:00",
		ChoiceList: &list, WonChoice: &won}
	line, code := cancelOutcome(b, false)
	require.Equal(t, exitBooked, code)
	require.Equal(t, "booking 7 was booked before the cancel took effect: reservation R-1 (choice 2 of 2, court 4, 2026-12-10 10:00-11:00)", line)
}

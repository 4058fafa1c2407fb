package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"reserver/internal/api"
	"reserver/internal/app"
	"reserver/internal/booking"
	"reserver/internal/tenant"
)

// Exit statuses of `reserver cancel` other than 0 (cancelled) and 1 (an
// error: no such booking, no database).
const (
	exitBooked    = 2 // the site had booked it before the cancel took effect
	exitRequested = 3 // requested; the instance running it has not stopped yet
	exitFailed    = 4 // it had already failed: nothing to cancel
)

func cancelCmd(c *common) *cobra.Command {
	var operator bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "cancel BOOKING_ID [--operator]",
		Short: "Cancel a booking; one a daemon instance is running is asked to stop, and the answer says how it ended",
		Long: "cancel cancels a booking at once when no daemon instance is running it. One that an\n" +
			"instance is running may have a submit on the wire: the instance is asked to stop before\n" +
			"its next request, and cancel waits for it (--wait) and prints how the booking ended.\n" +
			"The cancel is recorded as the owner's (user_cancelled) unless --operator is given.\n\n" +
			"Exit status: 0 cancelled (now or before); 1 an error (no such booking, no database);\n" +
			"2 the site had booked it before the cancel took effect (cancel the reservation on the\n" +
			"site if it is not wanted); 3 requested, but the instance is still running it after\n" +
			"--wait (see reserver status); 4 it had already failed, nothing to cancel.",
		Args: cobra.ExactArgs(1),
		RunE: c.withEnv(func(cmd *cobra.Command, args []string, env *app.Env) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("booking id %q: expected a positive integer", args[0])
			}
			reason := booking.ReasonUser
			if operator {
				reason = booking.ReasonOperator
			}
			b, err := env.Bookings.CancelAndWait(cmd.Context(), booking.Scope{All: true}, id, reason, wait)
			switch {
			case errors.Is(err, booking.ErrNotFound):
				return fmt.Errorf("booking %d: %w", id, err)
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
				if b == nil {
					return err
				}
				// Interrupted while waiting: the request stands.
			case err != nil && !errors.Is(err, booking.ErrTerminal):
				return err
			}
			line, code := cancelOutcome(b, errors.Is(err, booking.ErrTerminal))
			if aerr := env.Tenants.Audit(context.WithoutCancel(cmd.Context()), tenant.AuditEntry{
				Actor: c.cliActor(), Action: tenant.ActionCancel, BookingID: &id, Detail: "cli: " + string(b.State),
			}); aerr != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: the audit entry of this cancel was not written:", aerr)
			}
			fmt.Fprintln(cmd.OutOrStdout(), line)
			if code != 0 {
				return exitError{code: code, err: errors.New(line), quiet: true}
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&operator, "operator", false, "record the cancel as an operator's (reason operator_cancel)")
	cmd.Flags().DurationVar(&wait, "wait", api.CancelWaitDefault, "how long to wait for the instance running the booking")
	return cmd
}

// cancelOutcome is the one line and the exit status for what became of a
// booking after a cancel; before says it had finished before the cancel.
func cancelOutcome(b *booking.Booking, before bool) (string, int) {
	switch {
	case b.State == booking.Succeeded:
		// The slot booked, so that a person can find it on the site.
		slot := b.Slot().String()
		if n := len(b.Choices()); n > 1 {
			slot = fmt.Sprintf("choice %d of %d, %s", b.BookedChoice(), n, slot)
		}
		return fmt.Sprintf("booking %d was booked before the cancel took effect: reservation %s (%s)", b.ID, b.ReservationNo, slot), exitBooked
	case b.State == booking.Cancelled && before:
		return fmt.Sprintf("booking %d was already cancelled (%s)", b.ID, b.Reason), 0
	case b.State == booking.Cancelled:
		return fmt.Sprintf("booking %d cancelled", b.ID), 0
	case b.State == booking.Failed:
		return fmt.Sprintf("booking %d had already failed (%s); nothing to cancel", b.ID, b.Reason), exitFailed
	}
	return fmt.Sprintf("cancel of booking %d requested; instance %s is still running it (state %s)", b.ID, b.ClaimedBy, b.State), exitRequested
}

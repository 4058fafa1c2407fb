package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"reserver/internal/api"
	"reserver/internal/booking"
	"reserver/internal/sitetime"
)

// The operator's review commands read the database directly, like
// `reserver migrate`: they run on a host that has the configuration, not
// through the API.

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// classOrder is the order classes are listed in; others follow by name.
var classOrder = []string{"success", "not_open", "sold_out", "already_mine", "session_expired", "blocked", "retry", "fatal", "unknown"}

// clockRows is how many of a failed booking's latest attempts `failures`
// reads: one is shown, all of them estimate the site's clock.
const clockRows = 50

// stepOrder is the order the steps other than the submit are listed in;
// others follow by name.
var stepOrder = []string{"login", "trace", "probe", "verify"}

// stepSummary writes counts by step and class, the submit's outcomes apart
// from the steps around it: "submit: not_open×12 sold_out×1; other: login
// success×1, trace success×2".
func stepSummary(steps map[string]map[string]int) string {
	var parts []string
	if m := steps["submit"]; len(m) > 0 {
		parts = append(parts, "submit: "+classCounts(m))
	}
	var names []string
	for k := range steps {
		if k != "submit" {
			names = append(names, k)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := rankIn(stepOrder, a) - rankIn(stepOrder, b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	var other []string
	for _, k := range names {
		other = append(other, k+" "+classCounts(steps[k]))
	}
	if len(other) > 0 {
		parts = append(parts, "other: "+strings.Join(other, ", "))
	}
	return strings.Join(parts, "; ")
}

// classCounts writes one step's counts by class: "not_open×12 sold_out×1".
func classCounts(m map[string]int) string {
	keys := sortedClasses(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// rankIn is k's place in order, or len(order) when it is not listed.
func rankIn(order []string, k string) int {
	if i := slices.Index(order, k); i >= 0 {
		return i
	}
	return len(order)
}

// sortedClasses returns m's classes in classOrder, others after by name.
func sortedClasses(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := rankIn(classOrder, a) - rankIn(classOrder, b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return keys
}

// slotCell is the slot a table shows for b, the one booked or else its
// first choice: "2026-12-10 10:00-11:00" (its court is in the COURT
// column).
func slotCell(c booking.Choice) string {
	return fmt.Sprintf("%s %s-%s", c.Date, c.Start, c.End)
}

// choicesCell is the CHOICES column for b: how many choices it has ("1",
// "3"), and which of them the site booked ("2 of 3").
func choicesCell(b *booking.Booking) string {
	n := len(b.Choices())
	if won := b.BookedChoice(); won > 0 && n > 1 {
		return fmt.Sprintf("%d of %d", won, n)
	}
	return strconv.Itoa(n)
}

// clip shortens s to n runes for a table cell, on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func failuresCmd(c *common) *cobra.Command {
	var since, until, site, reason, review string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "failures [--since 24h] [--site S] [--reason R] [--json]",
		Short: "List failed and review-flagged bookings with their reasons and attempt counts (operator review)",
		Long: "failures lists failed bookings of every tenant, newest first: the reason, the site,\n" +
			"when, the attempts counted by step and response class (the submit's apart from the\n" +
			"login and trace) and the last answer. Bookings flagged for\n" +
			"review (a reservation recorded late, a second one, or one made for a booking that had\n" +
			"failed or been cancelled) are listed too, whatever their state, and again below the\n" +
			"table with what a person must do. --since and --until take an RFC 3339 instant or a\n" +
			"duration back from now (90m, 24h, 7d). FAILED AT is in the site's time zone with its\n" +
			"offset; an unknown --reason or --review is an error naming the known ones. COURT and\n" +
			"SLOT are the slot the site booked (a late reservation), else the first choice; CHOICES\n" +
			"counts the booking's choices (alternative slots): 3, or 2 of 3 once its 2nd was booked.\n" +
			"See one booking's attempts with: reserver attempts ID",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			f := booking.FailureFilter{Site: site, Limit: limit, LastAttempts: clockRows}
			var err error
			if reason != "" {
				if f.Reason, err = booking.ParseReason(reason); err != nil {
					return fmt.Errorf("--reason: %w", err)
				}
			}
			if review != "" {
				if f.Review, err = booking.ParseReview(review); err != nil {
					return fmt.Errorf("--review: %w", err)
				}
			}
			if since != "" {
				if f.Since, err = api.ParseSince(since, now); err != nil {
					return fmt.Errorf("--since %q: %w", since, err)
				}
			}
			if until != "" {
				if f.Until, err = api.ParseSince(until, now); err != nil {
					return fmt.Errorf("--until %q: %w", until, err)
				}
			}
			env, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer env.Close()
			items, err := env.Bookings.Failures(cmd.Context(), f)
			if err != nil {
				return err
			}
			zones := c.zones(env.Config, cmd.ErrOrStderr())
			out := cmd.OutOrStdout()
			if asJSON {
				return writeFailuresJSON(out, items, zones)
			}
			if len(items) == 0 {
				fmt.Fprintln(out, "no failed bookings match")
				return nil
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "ID\tFAILED AT\tSITE\tACCOUNT\tCOURT\tSLOT\tCHOICES\tREASON\tATTEMPTS\tBY CLASS\tLAST ANSWER")
			for _, it := range items {
				b := it.Booking
				finished := ""
				if b.FinishedAt != nil {
					finished = sitetime.Format(*b.FinishedAt, zones.of(b.Site))
				}
				user := ""
				if b.Account != nil {
					user = b.Account.Username
				}
				last := ""
				if n := len(it.Last); n > 0 {
					a := it.Last[n-1]
					last = fmt.Sprintf("%s → %s %d", a.Step, a.Class, a.Status)
					if a.WaitedFor != "" {
						last += " (" + waited(a) + ")"
					}
					if a.Excerpt != "" {
						last += ": " + clip(a.Excerpt, 40)
					}
				}
				why := string(b.Reason)
				if b.State != booking.Failed {
					why = string(b.State) // flagged for review, shown below
				}
				// The slot booked (a success flagged for review), else the first choice.
				slot := b.Slot()
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n",
					b.ID, finished, b.Site, user, slot.Court, slotCell(slot), choicesCell(&b),
					why, it.Attempts, stepSummary(it.Steps), last)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if err := writeReviews(out, items); err != nil {
				return err
			}
			if len(items) == limit {
				fmt.Fprintf(out, "(the newest %d; narrow with --since/--site/--reason or raise --limit)\n", limit)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "24h", "failed (or flagged for review) at or after this (RFC 3339, or 90m, 24h, 7d back from now)")
	cmd.Flags().StringVar(&until, "until", "", "failed (or flagged) before this (same forms as --since)")
	cmd.Flags().StringVar(&site, "site", "", "only this site profile")
	cmd.Flags().StringVar(&reason, "reason", "", "only this reason ("+reasonList()+")")
	cmd.Flags().StringVar(&review, "review", "", "only bookings flagged with this review ("+strings.Join(booking.Reviews, ", ")+")")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many (1-500)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// reasonList is the reason codes a filter takes.
func reasonList() string {
	parts := make([]string, len(booking.Reasons))
	for i, r := range booking.Reasons {
		parts[i] = string(r)
	}
	return strings.Join(parts, ", ")
}

// waited says why an attempt waited before it was sent and how long:
// "waited host_ceiling 20.5 ms"; "" when it did not.
func waited(a booking.Attempt) string {
	if a.WaitedFor == "" {
		return ""
	}
	return fmt.Sprintf("waited %s %.1f ms", a.WaitedFor, float64(a.WaitedUS)/1000)
}

// writeReviews lists, after the failures table, the bookings flagged for
// review with what a person must do; nothing when there are none.
func writeReviews(w io.Writer, items []booking.Failure) error {
	tw := newTable(w)
	n := 0
	for _, it := range items {
		b := it.Booking
		if b.Review == "" {
			continue
		}
		if n == 0 {
			fmt.Fprintf(w, "\nneeds review:\n")
			fmt.Fprintln(tw, "  ID\tSTATE\tRESERVATION\tREVIEW\tNOTE")
		}
		n++
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", b.ID, b.State, b.ReservationNo, b.Review, b.ReviewNote)
	}
	return tw.Flush()
}

// failureJSON is one failure as `failures --json` prints it.
type failureJSON struct {
	ID      int64  `json:"id"`
	Tenant  int64  `json:"tenant_id"`
	Site    string `json:"site"`
	Account string `json:"account"`
	Court   string `json:"court"`
	Date    string `json:"date"`
	Start   string `json:"start"`
	End     string `json:"end"`
	// Choices are the booking's slots in order (court, date, start and
	// end above are the first); WonChoice and Booked the one the site
	// booked, when it did (a success flagged for review).
	Choices   []booking.Choice `json:"choices"`
	WonChoice int              `json:"won_choice,omitempty"`
	Booked    *booking.Choice  `json:"booked,omitempty"`
	OpensAt   time.Time        `json:"opens_at"`
	// OpensAtLocal and FinishedAtLocal are the instants in the site's
	// time zone with its offset, for a person.
	OpensAtLocal    string         `json:"opens_at_local"`
	FinishedAt      *time.Time     `json:"finished_at,omitempty"`
	FinishedAtLocal string         `json:"finished_at_local,omitempty"`
	State           string         `json:"state"`
	Reason          string         `json:"reason"`
	Reservation     string         `json:"reservation_no,omitempty"`
	Review          string         `json:"review,omitempty"`
	ReviewNote      string         `json:"review_note,omitempty"`
	Attempts        int            `json:"attempt_count"`
	Classes         map[string]int `json:"classes"`
	// Steps counts the attempts by step, then class.
	Steps       map[string]map[string]int `json:"steps"`
	LastAttempt *attemptJSON              `json:"last_attempt,omitempty"`
	// SiteClock says how last_attempt.offset_ms was put on the site's
	// clock: booking.SiteClock.String of the latest attempts.
	SiteClock string `json:"site_clock,omitempty"`
}

type attemptJSON struct {
	Seq    int       `json:"seq"`
	Step   string    `json:"step"`
	SentAt time.Time `json:"sent_at"`
	// SentAtLocal is sent_at in the site's time zone (the sender's clock).
	SentAtLocal string  `json:"sent_at_local"`
	OffsetMS    float64 `json:"offset_ms"`
	// Offset is offset_ms as a person reads it: "T+12.3 ms" on the
	// site's clock.
	Offset    string  `json:"offset"`
	Status    int     `json:"status"`
	Class     string  `json:"class"`
	LatencyMS float64 `json:"latency_ms"`
	Egress    string  `json:"egress,omitempty"`
	Instance  string  `json:"instance,omitempty"`
	Excerpt   string  `json:"excerpt,omitempty"`
	Error     string  `json:"error,omitempty"`
	// WaitedFor says why the request waited before it was sent (one of
	// booking.Wait*; empty when it did not), WaitedMS for how long.
	WaitedFor string  `json:"waited_for,omitempty"`
	WaitedMS  float64 `json:"waited_ms"`
	// Choice is the booking's 1-based choice the request was for (absent:
	// none in particular, such as a login).
	Choice int `json:"choice,omitempty"`
}

// toAttemptJSON writes a; offset_ms is from the opening instant on the
// site's clock as clk estimates it; loc is the site's zone.
func toAttemptJSON(a booking.Attempt, opensAt time.Time, clk booking.SiteClock, loc *time.Location) attemptJSON {
	off := clk.SinceOpening(a.SentAt, opensAt)
	return attemptJSON{
		Seq: a.Seq, Step: a.Step, SentAt: a.SentAt, SentAtLocal: sitetime.FormatMilli(a.SentAt, loc),
		OffsetMS: off, Offset: sitetime.SinceOpening(msDuration(off)), Status: a.Status,
		Class: a.Class, LatencyMS: float64(a.LatencyUS) / 1000, Egress: a.Egress, Instance: a.Instance,
		Excerpt: a.Excerpt, Error: a.Error, WaitedFor: a.WaitedFor, WaitedMS: float64(a.WaitedUS) / 1000,
		Choice: a.Choice,
	}
}

// msDuration is ms milliseconds as a duration.
func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

func writeFailuresJSON(w io.Writer, items []booking.Failure, zones siteZones) error {
	out := make([]failureJSON, 0, len(items))
	for _, it := range items {
		b := it.Booking
		f := failureJSON{
			ID: b.ID, Tenant: b.TenantID, Site: b.Site, Court: b.Court, Date: b.PlayDate, Start: b.StartTime, End: b.EndTime,
			OpensAt: b.OpensAt, OpensAtLocal: sitetime.Format(b.OpensAt, zones.of(b.Site)),
			FinishedAt: b.FinishedAt, State: string(b.State), Reason: string(b.Reason),
			Reservation: b.ReservationNo, Review: b.Review, ReviewNote: b.ReviewNote, Attempts: it.Attempts, Classes: it.Classes, Steps: it.Steps,
			Choices: b.Choices(),
		}
		if w := b.BookedChoice(); w > 0 {
			c := b.Slot()
			f.WonChoice, f.Booked = w, &c
		}
		if b.FinishedAt != nil {
			f.FinishedAtLocal = sitetime.Format(*b.FinishedAt, zones.of(b.Site))
		}
		if b.Account != nil {
			f.Account = b.Account.Username
		}
		if n := len(it.Last); n > 0 {
			clk := booking.SiteClockFor(&b, it.Last)
			a := toAttemptJSON(it.Last[n-1], b.OpensAt, clk, zones.of(b.Site))
			f.LastAttempt = &a
			f.SiteClock = clk.String()
		}
		out = append(out, f)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func attemptsCmd(c *common) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "attempts BOOKING_ID",
		Short: "Show one booking's attempt log, timed from its opening instant on the site's clock",
		Long: "attempts prints every request the daemon made for a booking: when it was sent from the\n" +
			"opening instant in milliseconds on the site's clock (negative: before it), the step,\n" +
			"the HTTP status, the response class, the latency, why it waited before it was sent and\n" +
			"for how long in ms (WAITED: booking_rate, host_ceiling, egress_ceiling, egress_cooling,\n" +
			"clock_remeasure; - when it did not), the egress and a short redacted excerpt. CHOICE is\n" +
			"the booking's choice (alternative slot, 1 the first) a request was for, blank for none in\n" +
			"particular (a login); a booking of several choices lists them above the table. The\n" +
			"opening instant T is shown in the site's time zone with its offset. The site's clock is\n" +
			"estimated from the answers' Date headers; the line above the table says by how much it\n" +
			"differs from ours and how sure that is.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("booking id %q: expected a positive integer", args[0])
			}
			env, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer env.Close()
			b, err := env.Bookings.Get(cmd.Context(), booking.Scope{All: true}, id)
			if err != nil {
				return fmt.Errorf("booking %d: %w", id, err)
			}
			var rows []booking.Attempt
			var after int64
			for {
				page, err := env.Bookings.Attempts(cmd.Context(), id, after, 1000)
				if err != nil {
					return err
				}
				rows = append(rows, page...)
				if len(page) < 1000 {
					break
				}
				after = page[len(page)-1].ID
			}
			out := cmd.OutOrStdout()
			clk := booking.SiteClockFor(b, rows)
			loc := c.zones(env.Config, cmd.ErrOrStderr()).of(b.Site)
			if asJSON {
				items := make([]attemptJSON, 0, len(rows))
				for _, a := range rows {
					items = append(items, toAttemptJSON(a, b.OpensAt, clk, loc))
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			state := string(b.State)
			if b.Reason != "" {
				state += " (" + string(b.Reason) + ")"
			}
			if b.ReservationNo != "" {
				state += ", reservation " + b.ReservationNo
			}
			if cs := b.Choices(); len(cs) > 1 {
				won := b.BookedChoice()
				if won > 0 {
					state += fmt.Sprintf(", booked choice %d", won)
				}
				fmt.Fprintf(out, "booking %d on %s, %d choices: %s\n", b.ID, b.Site, len(cs), state)
				for i, ch := range cs {
					mark := ""
					if i+1 == won {
						mark = " (booked)"
					}
					fmt.Fprintf(out, "  choice %d: %s%s\n", i+1, ch, mark)
				}
			} else {
				fmt.Fprintf(out, "booking %d on %s, court %s, %s %s-%s: %s\n", b.ID, b.Site, b.Court, b.PlayDate, b.StartTime, b.EndTime, state)
			}
			fmt.Fprintf(out, "opening instant T = %s on the site's clock (%s); %d attempts\n",
				sitetime.FormatMilli(b.OpensAt, loc), sitetime.UTC(b.OpensAt), len(rows))
			if len(rows) == 0 {
				return nil
			}
			fmt.Fprintln(out, clk.String())
			tw := newTable(out)
			fmt.Fprintln(tw, "SEQ\tT+MS\tSTEP\tCHOICE\tSTATUS\tCLASS\tLATENCY MS\tWAITED\tEGRESS\tINSTANCE\tEXCERPT")
			for _, a := range rows {
				ex := a.Excerpt
				if a.Error != "" {
					ex = strings.TrimSpace(ex + " [" + a.Error + "]")
				}
				wait := "-"
				if a.WaitedFor != "" {
					wait = fmt.Sprintf("%s %.1f", a.WaitedFor, float64(a.WaitedUS)/1000)
				}
				choice := ""
				if a.Choice > 0 {
					choice = strconv.Itoa(a.Choice)
				}
				fmt.Fprintf(tw, "%d\t%+.1f\t%s\t%s\t%d\t%s\t%.1f\t%s\t%s\t%s\t%s\n",
					a.Seq, clk.SinceOpening(a.SentAt, b.OpensAt), a.Step, choice, a.Status, a.Class,
					float64(a.LatencyUS)/1000, wait, a.Egress, a.Instance, clip(ex, 60))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

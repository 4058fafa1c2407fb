package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"reserver/internal/api"
	"reserver/internal/app"
	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/series"
	"reserver/internal/sitetime"
)

func seriesCmd(c *common) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "series",
		Short: "Create, list, show, pause, resume and end recurring bookings",
		Long: "A series books one slot on each date of its rule (weekdays at a time, or a cron\n" +
			"expression in the site's zone) within a season, less its skipped dates, with the\n" +
			"choices and notify settings of a booking. The daemon creates each occurrence's\n" +
			"booking when its opening is within daemon.series_horizon (default 14 days); each is\n" +
			"an ordinary booking (reserver cancel, reserver attempts). See docs/series.md.",
	}
	cmd.AddCommand(seriesCreateCmd(c), seriesListCmd(c), seriesShowCmd(c),
		seriesStateCmd(c, "pause", series.Paused, "Pause a series: nothing is created until it is resumed"),
		seriesStateCmd(c, "resume", series.Active, "Resume a paused series (openings passed meanwhile are not booked)"),
		seriesStateCmd(c, "end", series.Ended, "End a series: nothing more is created (bookings made stay; cancel them one by one)"))
	return cmd
}

func seriesCreateCmd(c *common) *cobra.Command {
	var tenantName, file, passwordEnv string
	cmd := &cobra.Command{
		Use:   "create --tenant NAME --file SERIES.json [--password-env VAR]",
		Short: "Create a series from a POST /v1/series document (- reads standard input)",
		Args:  cobra.NoArgs,
		RunE: c.withEnv(func(cmd *cobra.Command, _ []string, env *app.Env) error {
			body, err := readDoc(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			if passwordEnv != "" {
				pw, err := c.secretFrom(passwordEnv)
				if err != nil {
					return err
				}
				if body, err = withPassword(body, pw); err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
			}
			profiles, err := env.LoadProfiles()
			if err != nil {
				return err
			}
			v, probs := api.DecodeSeries(body, app.Catalog(profiles), env.Limits(), time.Now())
			if len(probs) > 0 {
				lines := make([]string, len(probs))
				for i, p := range probs {
					lines[i] = "  " + strings.TrimPrefix(p.Field+": ", ": ") + p.Detail
				}
				return fmt.Errorf("%s: the series has problems:\n%s", file, strings.Join(lines, "\n"))
			}
			tn, err := env.Tenants.Get(cmd.Context(), tenantName)
			if err != nil {
				return fmt.Errorf("tenant %q: not found (create it with: reserver token create --tenant %s)", tenantName, tenantName)
			}
			b := v.Booking
			sr, _, err := env.Series().Create(cmd.Context(), series.NewSeries{
				TenantID: tn.ID, Site: b.Site, Username: b.Username, Password: b.Password, Court: b.Court,
				Rule: v.Rule, From: v.From, Until: v.Until, Skip: v.Skip,
				WindowSeconds: b.Window, RatePerSecond: b.Rate, Phone: b.Phone, BookerName: b.Name, Fields: b.Fields,
				Choices: v.Choices, NotifyOn: b.NotifyOn, NotifyLanguage: b.NotifyLanguage,
			})
			if errors.Is(err, booking.ErrAccountOwned) {
				return fmt.Errorf("the account %q on site %q is registered by another tenant", b.Username, b.Site)
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, w := range v.Warnings {
				fmt.Fprintln(out, "warning:", w)
			}
			fmt.Fprintf(out, "created series %d for tenant %s: %s\n", sr.ID, tenantName, describe(sr))
			for _, l := range settings(sr, profiles) {
				fmt.Fprintln(out, l)
			}
			return writeNext(cmd.Context(), out, env, profiles, sr.ID, 5)
		}),
	}
	cmd.Flags().StringVar(&tenantName, "tenant", "", "the tenant the series and its bookings belong to")
	cmd.Flags().StringVar(&file, "file", "", "the series document (JSON, as POST /v1/series takes); - for standard input")
	cmd.Flags().StringVar(&passwordEnv, "password-env", "", "read account.password from this environment variable")
	_ = cmd.MarkFlagRequired("tenant")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func readDoc(stdin io.Reader, file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(file)
}

// withPassword sets account.password in a JSON document.
func withPassword(body []byte, pw string) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	acct := map[string]json.RawMessage{}
	if raw, ok := doc["account"]; ok {
		if err := json.Unmarshal(raw, &acct); err != nil {
			return nil, errors.New("account: expected an object")
		}
	}
	p, _ := json.Marshal(pw)
	acct["password"] = p
	a, _ := json.Marshal(acct)
	doc["account"] = a
	return json.Marshal(doc)
}

// describe is a series' rule and season in one line.
func describe(sr *series.Series) string {
	rule := "every " + sr.Weekdays + " " + sr.StartTime + "-" + sr.EndTime
	if sr.Cron != "" {
		rule = fmt.Sprintf("cron %q, %d min", sr.Cron, sr.SlotMinutes)
	}
	s := fmt.Sprintf("%s court %s, %s, %s to %s", sr.Site, sr.Court, rule, sr.SeasonFrom, sr.SeasonUntil)
	if skip := sr.SkipDates(); len(skip) > 0 {
		s += ", skipping " + strings.Join(skip, ", ")
	}
	return s
}

// settings are the lines that show a series' choices and notify
// settings, when it has them: "choices: court 3, court 4, any court
// 12:00-13:00" (a run of choices at one time that is every court of the
// site's profile, in its order, is "any court"; a choice at the series'
// own times shows none) and "notify: always, en".
func settings(sr *series.Series, profiles map[string]*profile.Profile) []string {
	var out []string
	if cs := sr.Choices(); cs != nil {
		var all []string
		if p := profiles[sr.Site]; p != nil && p.Courts != nil {
			all, _ = p.Courts.Expand("any")
		}
		var parts []string
		for i := 0; i < len(cs); {
			c := cs[i]
			at := ""
			if c.Start != sr.StartTime || c.End != sr.EndTime {
				at = " " + c.Start + "-" + c.End
			}
			if n := len(all); n > 1 && i+n <= len(cs) && slices.EqualFunc(cs[i:i+n], all, func(x booking.Choice, court string) bool {
				return x.Court == court && x.Start == c.Start && x.End == c.End
			}) {
				parts = append(parts, "any court"+at)
				i += n
				continue
			}
			parts = append(parts, "court "+c.Court+at)
			i++
		}
		out = append(out, "choices: "+strings.Join(parts, ", "))
	}
	if sr.NotifyOn != "" || sr.NotifyLanguage != "" {
		n := "notify: " + cmp.Or(sr.NotifyOn, "default")
		if sr.NotifyLanguage != "" {
			n += ", " + sr.NotifyLanguage
		}
		out = append(out, n)
	}
	return out
}

func seriesListCmd(c *common) *cobra.Command {
	var tenantName, state string
	var upcoming bool
	var next int
	cmd := &cobra.Command{
		Use:   "list [--tenant NAME] [--state active|paused|ended] [--upcoming [--next N]]",
		Short: "List series; with --upcoming, every active or paused series' next occurrences by opening",
		Args:  cobra.NoArgs,
		RunE: c.withEnv(func(cmd *cobra.Command, _ []string, env *app.Env) error {
			out := cmd.OutOrStdout()
			if upcoming {
				profiles, err := env.LoadProfiles()
				if err != nil {
					return err
				}
				return writeNext(cmd.Context(), out, env, profiles, 0, next)
			}
			f := series.ListFilter{Scope: booking.Scope{All: true}}
			if tenantName != "" {
				tn, err := env.Tenants.Get(cmd.Context(), tenantName)
				if err != nil {
					return fmt.Errorf("tenant %q: not found", tenantName)
				}
				f.Scope = booking.Scope{TenantID: tn.ID}
			}
			if state != "" {
				st, err := series.ParseState(state)
				if err != nil {
					return fmt.Errorf("--state: %w", err)
				}
				f.States = []series.State{st}
			}
			items, err := env.Series().List(cmd.Context(), f)
			if err != nil {
				return err
			}
			if len(items) == 0 {
				fmt.Fprintln(out, "no series (create one with: reserver series create --tenant NAME --file SERIES.json)")
				return nil
			}
			names, err := env.Tenants.Names(cmd.Context(), tenantIDs(items))
			if err != nil {
				return err
			}
			// The profiles name the courts "any court" stands for; without
			// them the choices are listed one by one.
			profiles, _ := env.LoadProfiles()
			tw := newTable(out)
			fmt.Fprintln(tw, "ID\tTENANT\tSTATE\tACCOUNT\tSERIES")
			for i := range items {
				sr := &items[i]
				desc := strings.Join(append([]string{describe(sr)}, settings(sr, profiles)...), "; ")
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", sr.ID, names[sr.TenantID], sr.State, sr.Username, desc)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().StringVar(&tenantName, "tenant", "", "only this tenant's series")
	cmd.Flags().StringVar(&state, "state", "", "only series in this state")
	cmd.Flags().BoolVar(&upcoming, "upcoming", false, "list the next occurrences of every active or paused series instead")
	cmd.Flags().IntVar(&next, "next", 3, "with --upcoming: how many occurrences still to be created to show per series")
	return cmd
}

func tenantIDs(items []series.Series) []int64 {
	ids := make([]int64, len(items))
	for i := range items {
		ids[i] = items[i].TenantID
	}
	return ids
}

// writeNext lists the next occurrences (of series id only, unless 0):
// created ones with their booking, then up to n per series still to be
// created, by opening. `reserver status` can show the same.
func writeNext(ctx context.Context, w io.Writer, env *app.Env, profiles map[string]*profile.Profile, id int64, n int) error {
	now := time.Now()
	next, err := env.Series().Upcoming(ctx, app.SeriesSites(profiles), now, n)
	if err != nil {
		return err
	}
	var rows []series.Next
	for _, x := range next {
		if id == 0 || x.Series.ID == id {
			rows = append(rows, x)
		}
	}
	fmt.Fprintf(w, "next series occurrences: %d\n", len(rows))
	if len(rows) == 0 {
		return nil
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "  SERIES\tSITE\tCOURT\tSLOT\tOPENS AT\tBOOKING")
	for _, x := range rows {
		loc := time.UTC
		if p := profiles[x.Series.Site]; p != nil {
			loc = p.Location
		}
		bk := "to be created"
		switch {
		case x.BookingID != nil:
			bk = strconv.FormatInt(*x.BookingID, 10)
		case x.Note != "":
			bk = x.Note
		case x.Series.State == series.Paused:
			bk = "paused"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s %s-%s\t%s\t%s\n", x.Series.ID, x.Series.Site, x.Series.Court, x.Date, x.Start, x.End,
			sitetime.Format(x.OpensAt, loc)+" ("+sitetime.Until(now, x.OpensAt)+")", bk)
	}
	return tw.Flush()
}

func seriesShowCmd(c *common) *cobra.Command {
	return &cobra.Command{
		Use:   "show SERIES_ID",
		Short: "Show a series, the occurrences created so far and the next ones",
		Args:  cobra.ExactArgs(1),
		RunE: c.withEnv(func(cmd *cobra.Command, args []string, env *app.Env) error {
			id, err := seriesID(args[0])
			if err != nil {
				return err
			}
			sr, err := env.Series().Get(cmd.Context(), booking.Scope{All: true}, id)
			if err != nil {
				return fmt.Errorf("series %d: %w", id, err)
			}
			profiles, err := env.LoadProfiles()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "series %d (%s): %s\naccount %s, window %d s, %g req/s\n", sr.ID, sr.State, describe(sr), sr.Username, sr.WindowSeconds, sr.RatePerSecond)
			for _, l := range settings(sr, profiles) {
				fmt.Fprintln(out, l)
			}
			occ, err := env.Series().Occurrences(cmd.Context(), sr.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "occurrences created: %d\n", len(occ[sr.ID]))
			if len(occ[sr.ID]) > 0 {
				tw := newTable(out)
				fmt.Fprintln(tw, "  DATE\tSLOT\tBOOKING\tSTATE")
				for _, o := range occ[sr.ID] {
					bk, state := "-", o.Note
					if o.BookingID != nil {
						bk = strconv.FormatInt(*o.BookingID, 10)
						if b, err := env.Bookings.Get(cmd.Context(), booking.Scope{All: true}, *o.BookingID); err == nil {
							state = string(b.State)
						}
					}
					fmt.Fprintf(tw, "  %s\t%s-%s\t%s\t%s\n", o.PlayDate, o.StartTime, o.EndTime, bk, state)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if sr.State == series.Ended {
				return nil
			}
			return writeNext(cmd.Context(), out, env, profiles, sr.ID, 5)
		}),
	}
}

func seriesID(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("series id %q: expected a positive integer", arg)
	}
	return id, nil
}

func seriesStateCmd(c *common, verb string, to series.State, short string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " SERIES_ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: c.withEnv(func(cmd *cobra.Command, args []string, env *app.Env) error {
			id, err := seriesID(args[0])
			if err != nil {
				return err
			}
			sr, err := env.Series().SetState(cmd.Context(), booking.Scope{All: true}, id, to)
			switch {
			case errors.Is(err, series.ErrEnded):
				return fmt.Errorf("series %d has ended and cannot be %sd: create a new series", id, verb)
			case err != nil:
				return fmt.Errorf("series %d: %w", id, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "series %d is %s\n", sr.ID, sr.State)
			return nil
		}),
	}
}

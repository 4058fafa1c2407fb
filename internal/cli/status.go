package cli

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"reserver/internal/app"
	"reserver/internal/booking"
	"reserver/internal/sitetime"
	"reserver/internal/stats"
)

func statusCmd(c *common) *cobra.Command {
	var next int
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the live daemon instances, the armed and running bookings and the next openings",
		Long: "status lists the daemon instances alive: each writes a heartbeat row every heartbeat\n" +
			"(daemon.heartbeat, default 2s), holding bookings or not, and counts as alive while its\n" +
			"latest beat is at most three of its heartbeats old (or while it holds an unexpired\n" +
			"lease). Instances that stopped beating in the last day are listed as gone. Then the armed\n" +
			"and running bookings, the next queued openings, the next occurrences of recurring\n" +
			"bookings (series) and each site's opening edge. Instants are in the site's time zone\n" +
			"with its offset (an instance's in the sites' one zone, or UTC).",
		Args: cobra.NoArgs,
		RunE: c.withEnv(func(cmd *cobra.Command, _ []string, env *app.Env) error {
			zones := c.zones(env.Config, cmd.ErrOrStderr())
			now := time.Now()
			st, err := env.Bookings.Status(cmd.Context(), now, next)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err := writeInstances(out, now, st, zones.common()); err != nil {
				return err
			}
			fmt.Fprintf(out, "\narmed or running: %d\n", len(st.Active))
			if len(st.Active) > 0 {
				tw := newTable(out)
				fmt.Fprintln(tw, "  ID\tSTATE\tSITE\tOPENS AT\tINSTANCE")
				for _, b := range st.Active {
					inst := b.ClaimedBy
					if b.LeaseUntil == nil || b.LeaseUntil.Before(now) {
						inst += " (lease expired)"
					}
					fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", b.ID, b.State, b.Site, when(now, b.OpensAt, zones.of(b.Site)), strings.TrimSpace(inst))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "\nnext openings (queued): %d shown\n", len(st.Next))
			if len(st.Next) > 0 {
				tw := newTable(out)
				// The first choice's court and slot, and how many choices.
				fmt.Fprintln(tw, "  ID\tSITE\tCOURT\tSLOT\tCHOICES\tOPENS AT")
				for _, b := range st.Next {
					fmt.Fprintf(tw, "  %d\t%s\t%s\t%s %s-%s\t%s\t%s\n", b.ID, b.Site, b.Court, b.PlayDate, b.StartTime, b.EndTime,
						choicesCell(&b), when(now, b.OpensAt, zones.of(b.Site)))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			// Recurring bookings: what their series will create next.
			if profiles, perr := c.profiles(env.Config); perr == nil {
				fmt.Fprintln(out)
				if err := writeNext(cmd.Context(), out, env, profiles, 0, 2); err != nil {
					return err
				}
			}
			edges, err := env.Bookings.Edges(cmd.Context(), "", statusEdgeOpenings)
			if err != nil {
				return err
			}
			fmt.Fprintln(out)
			return writeSiteEdges(out, edges)
		}),
	}
	cmd.Flags().IntVar(&next, "next", 10, "how many queued openings to show")
	return cmd
}

// writeInstances lists the instances alive (idle ones with 0 bookings)
// and those gone in the last day.
func writeInstances(w io.Writer, now time.Time, st *booking.Status, loc *time.Location) error {
	fmt.Fprintf(w, "instances alive: %d\n", len(st.Instances))
	if len(st.Instances) > 0 {
		tw := newTable(w)
		fmt.Fprintln(tw, "  INSTANCE\tBOOKINGS\tHOST\tSTARTED\tLAST BEAT\tLEASE UNTIL")
		for _, in := range st.Instances {
			lease := "-"
			if !in.LeaseUntil.IsZero() {
				lease = when(now, in.LeaseUntil, loc)
			}
			started, beat := "-", "no heartbeat row (alive by its lease)"
			if !in.SeenAt.IsZero() {
				started, beat = when(now, in.StartedAt, loc), sitetime.Until(now, in.SeenAt)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\n", in.Name, in.Bookings, cmp.Or(in.Host, "-"), started, beat, lease)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(st.Gone) > 0 {
		fmt.Fprintf(w, "instances gone (no heartbeat for %d beats; last day): %d\n", booking.InstanceAliveBeats, len(st.Gone))
		tw := newTable(w)
		fmt.Fprintln(tw, "  INSTANCE\tHOST\tLAST BEAT")
		for _, in := range st.Gone {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", in.Name, cmp.Or(in.Host, "-"), when(now, in.SeenAt, loc))
		}
		return tw.Flush()
	}
	return nil
}

// statusEdgeOpenings is how many of each site's latest openings `status`
// shows the edge of.
const statusEdgeOpenings = 10

// writeSiteEdges writes one line per site: the medians (p50) over its openings
// of the latest arrival answered not_open and of the earliest answered
// open, the number of openings, the loosest precision, then each opening's
// pair newest first. edges is Store.Edges' answer (newest first).
func writeSiteEdges(w io.Writer, edges []booking.OpeningEdge) error {
	if len(edges) == 0 {
		_, err := fmt.Fprintln(w, "site edges: none recorded yet")
		return err
	}
	var sites []string
	bySite := map[string][]booking.OpeningEdge{}
	for _, e := range edges {
		if _, ok := bySite[e.Site]; !ok {
			sites = append(sites, e.Site)
		}
		bySite[e.Site] = append(bySite[e.Site], e)
	}
	slices.Sort(sites)
	fmt.Fprintf(w, "site edges (arrival on the site's clock − T, last %d openings):\n", statusEdgeOpenings)
	tw := newTable(w)
	fmt.Fprintln(tw, "  SITE\tOPENINGS\tCLOSED MEDIAN ms\tOPEN MEDIAN ms\tWITHIN ms\tNEWEST FIRST closed/open ms")
	for _, site := range sites {
		var closed, open []time.Duration
		var within time.Duration
		pairs := make([]string, 0, len(bySite[site]))
		for _, e := range bySite[site] {
			if e.ClosedMax != nil {
				closed = append(closed, *e.ClosedMax)
			}
			if e.OpenMin != nil {
				open = append(open, *e.OpenMin)
			}
			within = max(within, e.Within)
			pairs = append(pairs, signedMS(e.ClosedMax)+"/"+signedMS(e.OpenMin))
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t±%.1f\t%s\n", site, len(bySite[site]),
			signedMS(edgeMedian(closed)), signedMS(edgeMedian(open)), edgeMS(within), strings.Join(pairs, " "))
	}
	return tw.Flush()
}

// signedMS is d in milliseconds with its sign ("+0.8", "-1.2"), "?" for nil.
func signedMS(d *time.Duration) string {
	if d == nil {
		return "?"
	}
	return fmt.Sprintf("%+.1f", edgeMS(*d))
}

func edgeMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// edgeMedian is the median of ds by stats.Percentile (nearest rank, the
// one percentile of every figure reserver prints), nil for none.
func edgeMedian(ds []time.Duration) *time.Duration {
	if len(ds) == 0 {
		return nil
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := stats.Percentile(s, 50)
	return &m
}

package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"reserver/internal/api"
	"reserver/internal/app"
	"reserver/internal/tenant"
)

// auditLimitDefault bounds what `reserver audit` prints unless --limit
// says otherwise: the newest entries of the period.
const auditLimitDefault = 500

func auditCmd(c *common) *cobra.Command {
	var since string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit [--since 24h] [--json]",
		Short: "Print the audit trail: who signed in or out of the operator page, cancelled, created or revoked tokens",
		Long: "audit prints the operator actions recorded since --since, oldest first: when, who (tenant,\n" +
			"role and token prefix, or the local user for the command line), what, which booking or\n" +
			"token, from which address. Tokens appear only as their prefix.",
		Args: cobra.NoArgs,
		RunE: c.withEnv(func(cmd *cobra.Command, _ []string, env *app.Env) error {
			from, err := api.ParseSince(since, time.Now())
			if err != nil {
				return fmt.Errorf("--since %q: %w", since, err)
			}
			if limit < 1 {
				return fmt.Errorf("--limit %d: expected at least 1", limit)
			}
			items, err := env.Tenants.AuditLog(cmd.Context(), from, limit)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if items == nil {
					items = []tenant.AuditEntry{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			if len(items) == 0 {
				fmt.Fprintf(out, "no audit entries since %s\n", stamp(&from))
				return nil
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "WHEN\tWHO\tACTION\tTARGET\tFROM\tDETAIL")
			for _, e := range items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(&e.At), who(e.Actor), e.Action, target(e), e.Actor.Remote, clip(e.Detail, 80))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(items) == limit {
				fmt.Fprintf(out, "(the newest %d; narrow with --since or raise --limit)\n", limit)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&since, "since", "24h", "entries at or after this (RFC 3339, or 90m, 24h, 7d back from now)")
	cmd.Flags().IntVar(&limit, "limit", auditLimitDefault, "print at most this many (the newest)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// who names an actor: "ops (operator, rsv_abc123)", "alice (cli)", or the
// prefix alone for a refused sign-in.
func who(a tenant.Actor) string {
	var extra []string
	if a.Role != "" {
		extra = append(extra, a.Role)
	}
	if a.Prefix != "" {
		extra = append(extra, a.Prefix)
	}
	name := a.Name
	if name == "" {
		name = "?"
	}
	if len(extra) == 0 {
		return name
	}
	return name + " (" + strings.Join(extra, ", ") + ")"
}

// target names what an entry acted on: "booking 12", "token rsv_abc123",
// or "-".
func target(e tenant.AuditEntry) string {
	switch {
	case e.BookingID != nil:
		return fmt.Sprintf("booking %d", *e.BookingID)
	case e.TokenPrefix != "":
		return "token " + e.TokenPrefix
	}
	return "-"
}

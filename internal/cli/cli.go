// Package cli holds the command lines of both binaries (cobra): flag
// parsing and output only; the work is done by the app package.
package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"reserver/internal/api"
	"reserver/internal/app"
	"reserver/internal/config"
	"reserver/internal/profile"
	"reserver/internal/tenant"
)

// IO is where a command writes.
type IO struct {
	Out, Err io.Writer
	Getenv   func(string) string
}

// StdIO is the process's own streams and environment.
func StdIO() IO { return IO{Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv} }

// Reserver runs the reserver command line and returns the exit status.
func Reserver(ctx context.Context, args []string, io IO) int {
	return execute(ctx, reserverCmd(io), args, io)
}

// API runs the cmd/api command line and returns the exit status.
func API(ctx context.Context, args []string, io IO) int {
	return execute(ctx, apiCmd(io), args, io)
}

func execute(ctx context.Context, root *cobra.Command, args []string, io IO) int {
	root.SetArgs(args)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SilenceUsage = true
	root.SilenceErrors = true
	if err := root.ExecuteContext(ctx); err != nil {
		if e, ok := err.(exitError); !ok || !e.quiet {
			fmt.Fprintln(io.Err, "error:", err)
		}
		return exitCode(err)
	}
	return 0
}

// exitError carries an exit status other than 1. quiet means the command
// has already said why (its one line of output is the answer), so no
// "error:" line follows.
type exitError struct {
	code  int
	err   error
	quiet bool
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if e, ok := err.(exitError); ok {
		return e.code
	}
	return 1
}

// common holds the flags every command shares.
type common struct {
	configPath string
	io         IO
}

func (c *common) load() (config.Config, error) {
	return config.Load(c.configPath, c.io.Getenv)
}

// profiles loads cfg's site profiles with their environment overrides.
func (c *common) profiles(cfg config.Config) (map[string]*profile.Profile, error) {
	return app.LoadProfiles(cfg.SitesDir, func(k string) (string, bool) {
		v := c.io.Getenv(k)
		return v, v != ""
	})
}

// secretFrom reads a password from the variable a --password-env flag names.
func (c *common) secretFrom(name string) (string, error) {
	v := c.io.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("--password-env %s: the variable is empty or not set", name)
	}
	return v, nil
}

// apiLimits are cfg's booking limits as the API's decoder takes them.
func apiLimits(cfg config.Config) api.Limits {
	lim := cfg.Limits
	return api.Limits{DefaultRate: lim.DefaultRate, MaxRate: lim.MaxRate,
		DefaultWindow: lim.DefaultWindow, MinWindow: lim.MinWindow, MaxWindow: lim.MaxWindow}
}

// open loads the configuration and opens the environment.
func (c *common) open(ctx context.Context) (*app.Env, error) {
	cfg, err := c.load()
	if err != nil {
		return nil, err
	}
	log, err := app.NewLogger(cfg)
	if err != nil {
		return nil, err
	}
	return app.Open(ctx, cfg, log)
}

// withEnv wraps a command's work with opening the environment (config,
// logger, migrated database) and closing it afterwards.
func (c *common) withEnv(fn func(cmd *cobra.Command, args []string, env *app.Env) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		env, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		defer env.Close()
		return fn(cmd, args, env)
	}
}

func reserverCmd(io IO) *cobra.Command {
	c := &common{io: io}
	root := &cobra.Command{
		Use:   "reserver",
		Short: "Book public courts the instant a booking site opens",
		Long: "reserver runs queued bookings against booking sites at their opening instant.\n" +
			"With no configuration it uses var/reserver.db (SQLite) and var/secret.key.",
	}
	root.PersistentFlags().StringVar(&c.configPath, "config", "", "YAML configuration file (default: $RESERVER_CONFIG, or built-in defaults)")
	root.AddCommand(migrateCmd(c), tokenCmd(c), runCmd(c), demoCmd(c), checkCmd(c), profileCmd(c), failuresCmd(c), attemptsCmd(c), statusCmd(c), cancelCmd(c), auditCmd(c), seriesCmd(c))
	return root
}

func migrateCmd(c *common) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations",
		Args:  cobra.NoArgs,
		RunE: c.withEnv(func(cmd *cobra.Command, _ []string, env *app.Env) error {
			fmt.Fprintf(cmd.OutOrStdout(), "database %s is up to date\n", env.DB.Dialect)
			return nil
		}),
	}
}

func tokenCmd(c *common) *cobra.Command {
	tok := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens"}
	tok.AddCommand(tokenCreateCmd(c), tokenListCmd(c), tokenRevokeCmd(c))
	return tok
}

// cliActor is who acts from the command line, for the audit trail: the
// local user.
func (c *common) cliActor() tenant.Actor {
	user := cmp.Or(c.io.Getenv("USER"), c.io.Getenv("USERNAME"), "unknown")
	return tenant.Actor{Name: user, Role: "cli", Remote: "local"}
}

func tokenCreateCmd(c *common) *cobra.Command {
	var tenantName, role string
	var expires time.Duration
	create := &cobra.Command{
		Use:   "create --tenant NAME [--role operator] [--expires 720h]",
		Short: "Create an API token; the token is printed as the last line, once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := tenant.ParseRole(role)
			if err != nil {
				return err
			}
			if expires < 0 {
				return fmt.Errorf("--expires %s: %w", expires, tenant.ErrBadExpiry)
			}
			env, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer env.Close()
			is, err := env.Tenants.Issue(cmd.Context(), tenant.NewToken{Tenant: tenantName, Role: r, Expires: expires, By: c.cliActor()})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			until := "it does not expire"
			if is.Info.ExpiresAt != nil {
				until = "it expires " + stamp(is.Info.ExpiresAt)
			}
			fmt.Fprintf(out, "created %s token %d (%s) for tenant %q; %s; it is shown only now:\n", r, is.Info.ID, is.Info.Prefix, tenantName, until)
			fmt.Fprintln(out, is.Token)
			return nil
		},
	}
	create.Flags().StringVar(&tenantName, "tenant", "", "tenant name (created if new)")
	create.Flags().StringVar(&role, "role", string(tenant.RoleUser), "user or operator")
	create.Flags().DurationVar(&expires, "expires", 0, "the token expires this long after now, e.g. 720h (default: never)")
	_ = create.MarkFlagRequired("tenant")
	return create
}

func tokenListCmd(c *common) *cobra.Command {
	var tenantName string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--tenant NAME] [--json]",
		Short: "List API tokens: tenant, role, prefix, created, last used, expiry, revoked (never the token)",
		Long: "list shows every token by its ID and prefix, never the token or its hash. LAST USED is\n" +
			"noted at most once a minute per token, so it may be up to a minute old.",
		Args: cobra.NoArgs,
		RunE: c.withEnv(func(cmd *cobra.Command, _ []string, env *app.Env) error {
			items, err := env.Tenants.ListTokens(cmd.Context(), tenantName)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			now := time.Now()
			if asJSON {
				type item struct {
					tenant.TokenInfo
					State string `json:"state"`
				}
				list := make([]item, len(items))
				for i, t := range items {
					list[i] = item{t, t.State(now)}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			if len(items) == 0 {
				fmt.Fprintln(out, "no tokens (create one with: reserver token create --tenant NAME)")
				return nil
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "ID\tTENANT\tROLE\tPREFIX\tSTATE\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
			for _, t := range items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Tenant, t.Role, t.Prefix, t.State(now),
					stamp(&t.CreatedAt), cmp.Or(stamp(t.LastUsedAt), "never"), cmp.Or(stamp(t.ExpiresAt), "never"), cmp.Or(stamp(t.RevokedAt), "-"))
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().StringVar(&tenantName, "tenant", "", "only this tenant's tokens")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func tokenRevokeCmd(c *common) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke PREFIX|ID",
		Short: "Revoke an API token at once: the API answers 401 and its operator page sessions end",
		Args:  cobra.ExactArgs(1),
		RunE: c.withEnv(func(cmd *cobra.Command, args []string, env *app.Env) error {
			t, err := env.Tenants.Revoke(cmd.Context(), args[0], c.cliActor())
			out := cmd.OutOrStdout()
			switch {
			case errors.Is(err, tenant.ErrAlreadyRevoked):
				fmt.Fprintf(out, "token %d (%s, tenant %s) was already revoked at %s\n", t.ID, t.Prefix, t.Tenant, stamp(t.RevokedAt))
				return nil
			case err != nil:
				return fmt.Errorf("revoke %q: %w", args[0], err)
			}
			fmt.Fprintf(out, "revoked %s token %d (%s) of tenant %s\n", t.Role, t.ID, t.Prefix, t.Tenant)
			return nil
		}),
	}
}

// stamp writes an instant in UTC, or "" for none.
func stamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func apiCmd(io IO) *cobra.Command {
	c := &common{io: io}
	var addr string
	root := &cobra.Command{
		Use:   "api",
		Short: "Serve the reserver REST API",
		Args:  cobra.NoArgs,
		RunE: c.withEnv(func(cmd *cobra.Command, _ []string, env *app.Env) error {
			defer env.Log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit
			if addr == "" {
				addr = env.Config.API.Addr
			}
			profiles, err := env.LoadProfiles()
			if err != nil {
				return err
			}
			return app.ServeAPI(cmd.Context(), env, app.Catalog(profiles), addr, func(a net.Addr) {
				fmt.Fprintf(cmd.OutOrStdout(), "reserver api listening on http://%s\n", a)
			})
		}),
	}
	root.Flags().StringVar(&c.configPath, "config", "", "YAML configuration file (default: $RESERVER_CONFIG, or built-in defaults)")
	root.Flags().StringVar(&addr, "addr", "", "listen address (default: $RESERVER_API_ADDR or 127.0.0.1:8080)")
	return root
}

func runCmd(c *common) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the booking daemon until SIGTERM",
		Long: "run claims bookings from the database, pre-warms a session before each opening,\n" +
			"fires the first submit to arrive at the opening instant on the site's clock and keeps\n" +
			"trying at the booking's rate until it wins, loses or the window closes.",
		Args: cobra.NoArgs,
		RunE: c.withEnv(func(cmd *cobra.Command, _ []string, env *app.Env) error {
			defer env.Log.Sync() //nolint:errcheck // nothing to do about a failed flush at exit
			profiles, err := env.LoadProfiles()
			if err != nil {
				return err
			}
			cfg, err := env.DaemonConfig(profiles)
			if err != nil {
				return err
			}
			return app.RunDaemon(cmd.Context(), env, cfg)
		}),
	}
}

func demoCmd(c *common) *cobra.Command {
	var o app.DemoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Book a court on a simulated site, end to end, on this machine (make run)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.load()
			if err != nil {
				return err
			}
			if c.io.Getenv("RESERVER_LOG_FORMAT") == "" {
				cfg.Log.Format = "console"
			}
			if c.io.Getenv("RESERVER_LOG_LEVEL") == "" {
				cfg.Log.Level = "warn"
			}
			log, err := app.NewLogger(cfg)
			if err != nil {
				return err
			}
			env, err := app.Open(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer env.Close()
			o.Out = cmd.OutOrStdout()
			return app.Demo(cmd.Context(), env, o)
		},
	}
	cmd.Flags().DurationVar(&o.OpenIn, "open-in", 65*time.Second, "the simulated site opens this long after the start")
	cmd.Flags().DurationVar(&o.Skew, "skew", 1700*time.Millisecond, "the simulated site's clock runs this far ahead of ours (negative: behind)")
	cmd.Flags().DurationVar(&o.Late, "late", 0, "the site really opens this long after the booking's opens_at")
	cmd.Flags().IntVar(&o.BlockRPS, "block-rps", 0, "the site blocks an address sending more than this many requests a second (0: never)")
	cmd.Flags().IntVar(&o.Egresses, "egresses", 1, "route through this many local source addresses (127.0.0.2, ...)")
	cmd.Flags().StringVar(&o.Flavor, "flavor", "egov", "the simulated site: egov (courtsim, a legacy eGov site) or cart (cartsim: a JSON API with a cart and checkout)")
	return cmd
}

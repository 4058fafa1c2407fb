package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"reserver/internal/api"
	"reserver/internal/app"
	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/session"
)

func profileCmd(c *common) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Work on site profiles",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(profileRenderCmd(c), profileDraftCmd(c))
	return cmd
}

// passwordPlaceholder stands for the password when none is given: the
// login is shown with the password masked either way.
const passwordPlaceholder = "<password>"

func profileRenderCmd(c *common) *cobra.Command {
	var site, bookingFile, step, passwordEnv string
	var given []string
	cmd := &cobra.Command{
		Use:   "render --booking FILE [--site NAME] [--step NAME] [--password-env VAR]",
		Short: "Print exactly what each step of a site profile would send for a booking, sending nothing",
		Long: "render loads the site profile (every problem is reported with file:line) and prints, for\n" +
			"each step in the order a booking meets them (or only --step), the method, URL, headers and\n" +
			"body it would send for the booking in FILE (the same JSON document as a POST /v1/bookings\n" +
			"body). Values only the site can give stand as placeholders: <X.name> for an extraction of\n" +
			"an earlier step, <cookie NAME> for a cookie; --x NAME=VALUE gives an extraction a value\n" +
			"(a path the site hands out must start with /). Passwords, secret fields and tokens are\n" +
			"masked as ***. Nothing is sent.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.load()
			if err != nil {
				return err
			}
			profiles, err := c.profiles(cfg)
			if err != nil {
				return err
			}
			password := passwordPlaceholder
			if passwordEnv != "" {
				if password, err = c.secretFrom(passwordEnv); err != nil {
					return err
				}
			}
			fb, err := readBookingFile(bookingFile, api.Defaults{Site: site, Username: "<username>", Password: password},
				app.Catalog(profiles), apiLimits(cfg))
			if err != nil {
				return err
			}
			if site != "" && fb.Site != site {
				return fmt.Errorf("--booking %s is for site %q, but --site says %q", bookingFile, fb.Site, site)
			}
			prof, ok := profiles[fb.Site]
			if !ok {
				return errors.New("give --site, or a booking file that names its site")
			}
			for _, w := range prof.Warnings {
				fmt.Fprintf(cmd.OutOrStdout(), "warning %s\n", w)
			}
			x := map[string]string{}
			for _, kv := range given {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--x %q: give NAME=VALUE", kv)
				}
				x[k] = v
			}
			data := profile.Data{
				X:       x,
				Booking: templateData(fb, booking.Choice{Court: fb.Court, Date: fb.Date, Start: fb.Start, End: fb.End}, prof.Location),
				Account: profile.AccountData{Username: fb.Username, Password: fb.Password},
				Now:     time.Now().In(prof.Location),
			}
			return session.Preview(prof, &data, step, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&site, "site", "", "site profile name (default: the file's site)")
	f.StringVar(&bookingFile, "booking", "", "booking JSON file (a POST /v1/bookings document)")
	f.StringVar(&step, "step", "", "show only this step")
	f.StringArrayVar(&given, "x", nil, "NAME=VALUE: the value of an extraction (repeatable)")
	f.StringVar(&passwordEnv, "password-env", "", "environment variable with the site password (it is masked either way)")
	_ = cmd.MarkFlagRequired("booking")
	return cmd
}

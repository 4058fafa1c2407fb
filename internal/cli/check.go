package cli

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"reserver/internal/api"
	"reserver/internal/app"
	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/session"
)

func checkCmd(c *common) *cobra.Command {
	var site, account, passwordEnv, bookingArg, baseURL string
	var submit bool
	var choice int
	cmd := &cobra.Command{
		Use:   "check --booking FILE|ID [--site NAME] [--account USER] [--password-env VAR] [--choice N] [--submit]",
		Short: "Rehearse a booking against its site: login, trace, (with --submit) submit, verify",
		Long: "check prints the site profile's load warnings, replays its login and trace steps (and\n" +
			"the submit with --submit, which really books), then its verify step, saying whether the\n" +
			"slot is booked, and prints the site's clock offset. Run it the day before.\n" +
			"--booking is a JSON file holding the same document as a POST /v1/bookings body, or the\n" +
			"id of a stored booking. The file's site and account are used when it has them; --site\n" +
			"and --account fill what it leaves out and must agree with what it says. The password is\n" +
			"read from the variable named by --password-env (which wins) or the file's\n" +
			"account.password, and is never printed. The file's opens_at is not checked: a rehearsal\n" +
			"may be for a slot whose opening has passed. A booking with choices rehearses its\n" +
			"first choice, or the one --choice N names (1-based).\n" +
			"Exit status: 0 when the flow is healthy; 2 when it is not: a step failed, the submit\n" +
			"(with --submit) did not succeed, or verify gave an answer the daemon could not act on;\n" +
			"the last line it prints then says which (e.g. \"unhealthy: submit answered sold_out\").\n" +
			"1 when the rehearsal could not run (a bad flag, booking or profile).",
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
			var data profile.Data
			var choices []booking.Choice // the booking's, in order
			acct := profile.AccountData{Username: account}
			if passwordEnv != "" {
				if acct.Password, err = c.secretFrom(passwordEnv); err != nil {
					return err
				}
			}
			if id, err := strconv.ParseInt(bookingArg, 10, 64); err == nil {
				env, err := c.open(cmd.Context())
				if err != nil {
					return err
				}
				defer env.Close()
				b, err := env.Bookings.Get(cmd.Context(), booking.Scope{All: true}, id)
				if err != nil {
					return fmt.Errorf("booking %d: %w", id, err)
				}
				if site != "" && b.Site != site {
					return fmt.Errorf("booking %d is for site %q, not %q", id, b.Site, site)
				}
				site = b.Site
				choices = b.Choices()
				if p, ok := profiles[site]; ok && choice >= 1 && choice <= len(choices) {
					data = profile.Data{Booking: b.ChoiceTemplateData(p.Location, choices[choice-1])}
				}
				if acct.Username == "" {
					acct.Username = b.Account.Username
				}
				if acct.Password == "" {
					if acct.Password, err = env.Bookings.Password(b.Account); err != nil {
						return err
					}
				}
			} else {
				fb, err := readBookingFile(bookingArg, api.Defaults{Site: site, Username: account, Password: acct.Password},
					app.Catalog(profiles), apiLimits(cfg))
				if err != nil {
					return err
				}
				if site != "" && fb.Site != site {
					return fmt.Errorf("--booking %s is for site %q, but --site says %q", bookingArg, fb.Site, site)
				}
				if account != "" && fb.Username != account {
					return fmt.Errorf("--booking %s is for account %q, but --account says %q", bookingArg, fb.Username, account)
				}
				site, acct.Username = fb.Site, fb.Username
				// The environment wins over the file: it is where a password
				// that must not sit in a file comes from.
				acct.Password = cmp.Or(acct.Password, fb.Password)
				choices = fb.Choices
				if len(choices) == 0 {
					choices = []booking.Choice{{Court: fb.Court, Date: fb.Date, Start: fb.Start, End: fb.End}}
				}
				if p, ok := profiles[site]; ok && choice >= 1 && choice <= len(choices) {
					data = profile.Data{Booking: templateData(fb, choices[choice-1], p.Location)}
				}
			}
			if choice < 1 || choice > len(choices) {
				return fmt.Errorf("--choice %d: the booking has %d choice(s); give 1 to %d", choice, len(choices), len(choices))
			}
			if len(choices) > 1 {
				fmt.Fprintf(cmd.OutOrStdout(), "rehearsing choice %d of %d: %s\n", choice, len(choices), choices[choice-1])
			}
			prof, ok := profiles[site]
			switch {
			case site == "":
				return errors.New("give --site, or a booking file that names its site")
			case !ok:
				return fmt.Errorf("unknown site %q: no profile of that name in %s", site, cfg.SitesDir)
			}
			if baseURL != "" {
				if prof, err = prof.WithBaseURL(baseURL); err != nil {
					return err
				}
			}
			if acct.Username == "" || acct.Password == "" {
				return errors.New("give --account and --password-env (the password is read from that variable, never from the command line)")
			}
			data.X = map[string]string{}
			tr := http.DefaultTransport.(*http.Transport).Clone()
			defer tr.CloseIdleConnections()
			healthy, err := session.Rehearse(cmd.Context(), prof, acct, &data, session.RehearseOptions{Submit: submit, Transport: tr}, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if !healthy {
				return exitError{code: 2, err: errors.New("the rehearsal found the flow unhealthy (see above)")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&site, "site", "", "site profile name")
	f.StringVar(&account, "account", "", "login name on the site")
	f.StringVar(&passwordEnv, "password-env", "", "name of the environment variable holding the site password")
	f.StringVar(&bookingArg, "booking", "", "booking JSON file, or the id of a stored booking")
	f.StringVar(&baseURL, "base-url", "", "send to this base URL instead of the profile's (a rehearsal site)")
	f.BoolVar(&submit, "submit", false, "also send the submit step: this really books")
	f.IntVar(&choice, "choice", 1, "which of the booking's choices to rehearse (1-based)")
	_ = cmd.MarkFlagRequired("booking")
	return cmd
}

// readBookingFile reads a booking file: a POST /v1/bookings document,
// decoded and validated by the API's own decoder after def has filled
// what the file leaves out. Problems with opens_at are left out: the
// rehearsal does not use it, and one for a play date that has already
// opened is still worth rehearsing.
func readBookingFile(path string, def api.Defaults, sites api.Sites, lim api.Limits) (api.Booking, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return api.Booking{}, fmt.Errorf("--booking: %w", err)
	}
	b, probs := api.DecodeBooking(raw, def, sites, lim, time.Now())
	var errs []error
	for _, p := range probs {
		switch {
		case p.Field == "opens_at":
			continue
		case p.Field == "site" && def.Site == "":
			p.Detail += " (or give --site)"
		case p.Field == "account.password" && def.Password == "":
			p.Detail += " (or give --password-env)"
		case (p.Field == "account" || p.Field == "account.username") && def.Username == "":
			p.Detail += " (or give --account and --password-env)"
		}
		if p.Field == "" {
			errs = append(errs, errors.New(p.Detail))
		} else {
			errs = append(errs, fmt.Errorf("%s: %s", p.Field, p.Detail))
		}
	}
	if len(errs) > 0 {
		return api.Booking{}, fmt.Errorf("--booking %s: %w", path, errors.Join(errs...))
	}
	return b, nil
}

// templateData is what a profile's templates see of a booking file trying
// choice c, as booking.Booking.ChoiceTemplateData makes it of a stored
// booking: a missing or invalid "people" field counts as one player.
func templateData(b api.Booking, c booking.Choice, loc *time.Location) profile.BookingData {
	people, err := strconv.Atoi(b.Fields["people"])
	if err != nil || people <= 0 {
		people = 1
	}
	date, _ := time.ParseInLocation(time.DateOnly, c.Date, loc)
	return profile.BookingData{
		Court: c.Court, Date: date, Start: c.Start, End: c.End, Phone: b.Phone, Name: b.Name,
		People: people, Fields: b.Fields, OpensAt: b.OpensAt,
	}
}

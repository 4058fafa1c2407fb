package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"reserver/internal/app"
	"reserver/internal/booking"
	"reserver/internal/profile"
	"reserver/internal/session"
)

// bookingFile is the JSON a rehearsal reads with --booking FILE: the
// booking part of a POST /v1/bookings body.
type bookingFile struct {
	Court  any               `json:"court"`
	Date   string            `json:"date"`
	Start  string            `json:"start"`
	End    string            `json:"end"`
	Name   string            `json:"name"`
	Phone  string            `json:"phone"`
	People int               `json:"people"`
	Fields map[string]string `json:"fields"`
}

func checkCmd(c *common) *cobra.Command {
	var site, account, passwordEnv, bookingArg, baseURL string
	var submit bool
	cmd := &cobra.Command{
		Use:   "check --site NAME --booking FILE|ID [--account USER --password-env VAR] [--submit]",
		Short: "Rehearse a booking against its site: login, trace, (with --submit) submit, verify",
		Long: "check prints the site profile's load warnings, replays its login and trace steps (and\n" +
			"the submit with --submit, which really books), then its verify step, saying whether the\n" +
			"slot is booked, and prints the site's clock offset. The exit status is 0 when the flow\n" +
			"is healthy, 2 when it is not (a step failed, or verify gave an answer the daemon could\n" +
			"not act on). Run it the day before.\n" +
			"--booking is a JSON file (court, date, start, end, name, phone, people, fields) or the\n" +
			"id of a stored booking, whose account is used unless --account is given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.load()
			if err != nil {
				return err
			}
			profiles, err := app.LoadProfiles(cfg.SitesDir, func(k string) (string, bool) {
				v := c.io.Getenv(k)
				return v, v != ""
			})
			if err != nil {
				return err
			}
			prof, ok := profiles[site]
			if !ok {
				return fmt.Errorf("unknown site %q: no profile of that name in %s", site, cfg.SitesDir)
			}
			if baseURL != "" {
				if prof, err = prof.WithBaseURL(baseURL); err != nil {
					return err
				}
			}
			var data profile.Data
			acct := profile.AccountData{Username: account}
			if passwordEnv != "" {
				acct.Password = c.io.Getenv(passwordEnv)
				if acct.Password == "" {
					return fmt.Errorf("--password-env %s: the variable is empty or not set", passwordEnv)
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
				if b.Site != site {
					return fmt.Errorf("booking %d is for site %q, not %q", id, b.Site, site)
				}
				data = profile.Data{Booking: b.TemplateData(prof.Location)}
				if acct.Username == "" {
					acct.Username = b.Account.Username
				}
				if acct.Password == "" {
					if acct.Password, err = env.Bookings.Password(b.Account); err != nil {
						return err
					}
				}
			} else {
				bd, err := readBookingFile(bookingArg, prof)
				if err != nil {
					return err
				}
				data = profile.Data{Booking: bd}
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
	_ = cmd.MarkFlagRequired("site")
	_ = cmd.MarkFlagRequired("booking")
	return cmd
}

func readBookingFile(path string, prof *profile.Profile) (profile.BookingData, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return profile.BookingData{}, fmt.Errorf("--booking: %w", err)
	}
	var f bookingFile
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		return profile.BookingData{}, fmt.Errorf("--booking %s: %w (expected court, date, start, end, name, phone, people, fields)", path, err)
	}
	date, err := time.ParseInLocation("2006-01-02", f.Date, prof.Location)
	if err != nil {
		return profile.BookingData{}, fmt.Errorf("--booking %s: date %q: expected YYYY-MM-DD", path, f.Date)
	}
	for _, t := range []string{f.Start, f.End} {
		if _, err := time.Parse("15:04", t); err != nil {
			return profile.BookingData{}, fmt.Errorf("--booking %s: time %q: expected HH:MM", path, t)
		}
	}
	if f.Fields == nil {
		f.Fields = map[string]string{}
	}
	if probs := prof.ValidateFields(f.Fields); len(probs) > 0 {
		return profile.BookingData{}, fmt.Errorf("--booking %s: %v", path, errors.Join(asErrors(probs)...))
	}
	return profile.BookingData{
		Court: fmt.Sprint(f.Court), Date: date, Start: f.Start, End: f.End, Name: f.Name,
		Phone: f.Phone, People: max(f.People, 1), Fields: f.Fields,
	}, nil
}

func asErrors(probs []profile.FieldError) []error {
	out := make([]error, len(probs))
	for i, p := range probs {
		out[i] = p
	}
	return out
}

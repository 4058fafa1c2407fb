package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"reserver/internal/draft"
	"reserver/internal/har"
)

func profileDraftCmd(c *common) *cobra.Command {
	var harFile, bookingFile, name, out, passwordEnv string
	cmd := &cobra.Command{
		Use:   "draft --har recording.har --booking sample.json --password-env VAR [--name NAME] [-o FILE]",
		Short: "Draft a site profile from a browser recording (HAR) of one booking made by hand",
		Long: "draft reads the browser's own export (HAR 1.2, \"Save all as HAR\" in Chromium's or\n" +
			"Firefox's developer tools) of logging in and booking one slot by hand, and the booking\n" +
			"that was made (the same JSON document as a POST /v1/bookings body: court, date, start,\n" +
			"end, name, phone, account.username). The password is read from the variable named by\n" +
			"--password-env: it is how the login is found, and it never appears in the draft.\n" +
			"It prints a report (what it found per step, every value it correlated, every guess)\n" +
			"and writes the profile (YAML, a comment on every inferred choice) to -o or stdout.\n" +
			"Then rehearse it: reserver check --site NAME --booking FILE --submit.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if passwordEnv == "" {
				return errors.New("give --password-env VAR: the password of the recorded login, read from that variable")
			}
			password, err := c.secretFrom(passwordEnv)
			if err != nil {
				return err
			}
			f, err := os.Open(harFile)
			if err != nil {
				return fmt.Errorf("--har: %w", err)
			}
			defer f.Close()
			h, err := har.Read(f)
			if err != nil {
				return fmt.Errorf("--har %s: %w", harFile, err)
			}
			sample, err := readSample(bookingFile)
			if err != nil {
				return err
			}
			sample.Password = password
			res, err := draft.Draft(h, draft.Options{Name: name, Sample: sample})
			if res != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "draft report:")
				for _, line := range res.Report {
					fmt.Fprintln(cmd.ErrOrStderr(), "  "+line)
				}
			}
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(res.YAML)
				return err
			}
			if err := os.WriteFile(out, res.YAML, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (site %s): rehearse it with reserver check --site %s --booking %s --submit\n",
				out, res.Profile.Name, res.Profile.Name, bookingFile)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&harFile, "har", "", "the browser's HAR export of one booking made by hand")
	fl.StringVar(&bookingFile, "booking", "", "the booking that was made (a POST /v1/bookings document)")
	fl.StringVar(&passwordEnv, "password-env", "", "environment variable holding the site password used in the recording")
	fl.StringVar(&name, "name", "", "profile name (default: from the site's host)")
	fl.StringVarP(&out, "output", "o", "", "write the profile here (default: stdout)")
	_ = cmd.MarkFlagRequired("har")
	_ = cmd.MarkFlagRequired("booking")
	return cmd
}

// readSample reads the booking that was recorded. Its site need not exist
// yet (the profile is what is being written), so it is read here rather
// than by the API's decoder; the fields a draft needs are checked.
func readSample(path string) (draft.Sample, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return draft.Sample{}, fmt.Errorf("--booking: %w", err)
	}
	var doc struct {
		Court   json.RawMessage `json:"court"`
		Date    string          `json:"date"`
		Start   string          `json:"start"`
		End     string          `json:"end"`
		Name    string          `json:"name"`
		Phone   string          `json:"phone"`
		Account struct {
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"account"`
		Fields map[string]json.RawMessage `json:"fields"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		return draft.Sample{}, fmt.Errorf("--booking %s: %w", path, err)
	}
	s := draft.Sample{Court: scalar(doc.Court), Date: doc.Date, Start: doc.Start, End: doc.End, Name: doc.Name,
		Phone: doc.Phone, Username: doc.Account.Username, Fields: map[string]string{}}
	for k, v := range doc.Fields {
		s.Fields[k] = scalar(v)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"court", s.Court}, {"date", s.Date}, {"start", s.Start},
		{"end", s.End}, {"name", s.Name}, {"phone", s.Phone}, {"account.username", s.Username}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return draft.Sample{}, fmt.Errorf("--booking %s: missing %s: the draft finds the booking's values in the recording by them",
			path, strings.Join(missing, ", "))
	}
	if doc.Account.Password != "" {
		return draft.Sample{}, fmt.Errorf("--booking %s: remove account.password from the file; give it with --password-env", path)
	}
	return s, nil
}

// scalar is a JSON string or number as text.
func scalar(r json.RawMessage) string {
	var s string
	if json.Unmarshal(r, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(r))
}

// Package profile is the declarative language that describes one booking
// site: its base URL, charset, time zone, opening rule, the booking fields it
// needs, the courts and slot grid it offers (CheckSlot), where its pages
// say their message (Step.Message), and the HTTP steps (login, trace,
// submit, verify, probe) with their templates, extractions and
// classification rules.
//
// A new site is a YAML file under configs/sites, not Go code. This package
// loads and completely validates such files (every problem is reported with
// file:line), renders a step into a ready-to-send request, and classifies a
// response with a pure function. It owns no network code: sending requests,
// cookies and sessions belong to internal/session.
package profile

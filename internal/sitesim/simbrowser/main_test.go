package simbrowser

import (
	"testing"

	"go.uber.org/goleak"
)

// The recorder's worker, the dialog handler and the browser's goroutines
// must all be gone once a test has cancelled its contexts.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

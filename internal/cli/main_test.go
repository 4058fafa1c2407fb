package cli

import (
	"testing"

	"go.uber.org/goleak"
)

// The commands start servers and daemons; none may outlive its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
